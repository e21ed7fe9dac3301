from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import Group
from django.db import connection
from django.db.models import Prefetch
from django.http import (
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponsePermanentRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from mes import selectors, services
from mes.context_processors import nav_entries
from mes.filtersets import AuditEntryFilterSet, UserFilterSet
from mes.generic import ObjectListView
from mes.models import AuditEntry, Event, User
from mes.roles import ROLE_LABELS
from mes.stream import event_stream, parse_topics
from mes.tables import AuditEntryTable, UserTable


def home(request):
    return render(request, "mes/home.html", {
        "role_labels": [ROLE_LABELS.get(g, g) for g in request.user.role_names],
    })


@require_GET
def app_index(request, app_label: str):
    """An app's address typed by hand (/planning/, /execution/ …): its first page this user may
    open, in navigation order; the home page (which lists what they can do) when none."""
    for entry in nav_entries(request.user, app_label=app_label):
        return redirect(entry["url"])
    return redirect("home")


@login_not_required
@require_GET
def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")


@login_not_required
@require_GET
def favicon(request):
    """Browsers ask for /favicon.ico whatever the page links: point them at the icon (no 404
    logged on every first visit)."""
    return HttpResponsePermanentRedirect(static("mes/favicon.svg"))


# --- Live events ----------------------------------------------------------------------------
def live(request):
    return render(request, "mes/live.html", {"events": selectors.demo_events_recent()})


def live_events(request):
    return render(request, "mes/_live_events.html", {"events": selectors.demo_events_recent()})


@require_POST
def live_post(request):
    text = request.POST.get("text", "").strip()
    try:
        services.demo_message_post(actor=request.user, text=text)
    except services.ValidationError as exc:
        return render(request, "mes/_live_form.html", {"error": exc.messages[0], "text": text},
                      status=422)
    return render(request, "mes/_live_form.html", {})


async def events_stream(request):
    """SSE: `?topics=a,b,prefix*`; resumes after `Last-Event-ID` (or `?last_event_id=`)."""
    user = await request.auser()
    if not user.is_authenticated:
        return HttpResponse(status=401)
    try:
        exact, prefixes = parse_topics(request.GET.get("topics", ""))
    except ValueError as exc:
        return HttpResponseBadRequest(f"topics: {exc}")
    for topic in exact | set(prefixes):
        if topic.startswith("user:") and topic != f"user:{user.pk}":
            return HttpResponse(_("You can only follow your own notifications."), status=403)
    raw_last = request.headers.get("Last-Event-ID") or request.GET.get("last_event_id")
    last_event_id = None
    if raw_last not in (None, ""):
        try:
            last_event_id = int(raw_last)
        except ValueError:
            return HttpResponseBadRequest("Last-Event-ID must be an integer")
        if last_event_id < 0:
            return HttpResponseBadRequest("Last-Event-ID must not be negative")
    response = StreamingHttpResponse(event_stream(exact, prefixes, last_event_id),
                                     content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: do not buffer the stream
    return response


# --- Lists ----------------------------------------------------------------------------------
class AuditEntryListView(ObjectListView):
    capability = "view_audit"
    queryset = AuditEntry.objects.select_related("content_type")
    filterset_class = AuditEntryFilterSet
    table_class = AuditEntryTable
    export_basename = "audit-log"

    @property
    def title(self):
        return _("Audit log")


class UserListView(ObjectListView):
    capability = "manage_users"
    queryset = User.objects.prefetch_related(Prefetch("groups", queryset=Group.objects.all()))
    filterset_class = UserFilterSet
    table_class = UserTable
    export_basename = "employees"

    @property
    def title(self):
        return _("Employees")


@require_GET
def whoami(request):
    return JsonResponse({"username": request.user.username, "roles": request.user.role_names})


@require_POST
def bench_insert(request):
    """Benchmark baseline only (MES_BENCH_VIEWS=1): a bare view that inserts one row."""
    Event.objects.create(topic="bench", kind="bench.insert")
    return HttpResponse("ok", content_type="text/plain")
