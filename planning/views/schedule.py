"""Scheduling pages: runs and versions, a version's difference and apply/discard, Gantt charts
with a task side panel and pins, rush orders (插单) and order changes (换单).

Views parse, call one service or selector, render. A computing version's card (and the version
page's body) polls every second and gets status 286 — stop polling — once it is done.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from mes.forms import add_service_errors
from mes.roles import perm
from planning import gantt
from planning import selectors_schedule as sel
from planning.forms_schedule import (
    ApplyForm,
    DiscardForm,
    GanttFilterForm,
    OrderChangeForm,
    PinForm,
    RushOrderForm,
    ScheduleRunForm,
    UnpinForm,
)
from planning.models import ProductionOrder, ScheduleVersion, Task
from planning.services import pins
from planning.services.changes import order_change_preview, rush_order_preview
from planning.services.schedule import schedule_apply, schedule_discard, schedule_request

V = ScheduleVersion.Status
STOP_POLLING = 286  # htmx: stop the "every 1s" trigger, still swap the answer in
INVALID = 422
TABS = (
    ("planning:schedule", _("Schedule"), "view_planning"),
    ("planning:schedule_gantt", _("Gantt"), "view_planning"),
    ("planning:schedule_rush", _("Rush order"), "manage_planning"),
)


def _require(request, capability):
    if not request.user.has_perm(perm(capability)):
        raise PermissionDenied


def _can_manage(request) -> bool:
    return request.user.has_perm(perm("manage_planning"))


def _tabs(request, active):
    return [(name, label, name == active) for name, label, cap in TABS
            if request.user.has_perm(perm(cap))]


def _route(name, *args) -> str | None:
    """A page another engineer's app provides, or None while it does not exist."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def _decorate(version: ScheduleVersion) -> ScheduleVersion:
    version.makespan_text = sel.duration_text(version.makespan_minutes)
    version.weighted_tardiness_text = sel.grouped_text(version.weighted_tardiness)
    version.percent = round((version.progress or 0) * 100)
    return version


# --- Schedule page and runs -----------------------------------------------------------------
@require_GET
def schedule_index(request):
    _require(request, "view_planning")
    return _index(request, ScheduleRunForm())


def _index(request, form, status=200):
    versions = [_decorate(v) for v in sel.versions_recent()]
    current = sel.version_current()
    return render(request, "planning/schedule/index.html", {
        "title": _g("Schedule"), "tabs": _tabs(request, "planning:schedule"),
        "current": _decorate(current) if current else None, "versions": versions,
        "can_manage": _can_manage(request),
        "form": form,
    }, status=status)


@require_POST
def schedule_run(request):
    _require(request, "manage_planning")
    form = ScheduleRunForm(request.POST)
    if form.is_valid():
        try:
            version = schedule_request(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            # No flash message: the version page's body says it computes and is swapped for
            # the result when done, while a message would stay above it until the next page.
            return redirect("planning:schedule_version", pk=version.pk)
    return _index(request, form, status=INVALID)


@require_GET
def version_card(request, pk):
    """One version's card: what the schedule page polls while the version computes."""
    _require(request, "view_planning")
    try:
        version = _decorate(sel.version_card(pk))
    except ScheduleVersion.DoesNotExist:
        raise Http404 from None
    status = 200 if version.status == V.RUNNING else STOP_POLLING
    return render(request, "planning/schedule/_version_card.html", {"v": version},
                  status=status)


# --- One version: difference, apply, discard ------------------------------------------------
def _version(pk) -> ScheduleVersion:
    try:
        return _decorate(sel.version_get(pk))
    except ScheduleVersion.DoesNotExist:
        raise Http404 from None


def _version_context(request, version, **extra):
    context = {
        "v": version, "title": _g("Schedule S%(v)s") % {"v": version.pk},
        "tabs": _tabs(request, "planning:schedule"), "can_manage": _can_manage(request),
        "apply_form": ApplyForm(prefix="apply"), "discard_form": DiscardForm(prefix="discard"),
    }
    if version.status != V.RUNNING:
        context["diff"] = diff = sel.version_diff(version)
        if request.user.has_perm(perm("report_work")):  # station pages are for reporting
            for wc in diff.affected:
                wc.station_url = _route("execution:station", wc.code)
    if version.status in (V.READY, V.APPLIED, V.SUPERSEDED) and version.tasks:
        context.update(_gantt_context(request, version=version, push_url=False))
    context.update(extra)
    return context


@require_GET
def version_detail(request, pk):
    _require(request, "view_planning")
    version = _version(pk)
    if request.htmx and request.htmx.target == "version-body":
        status = 200 if version.status == V.RUNNING else STOP_POLLING
        return render(request, "planning/schedule/_version_body.html",
                      _version_context(request, version), status=status)
    return render(request, "planning/schedule/version.html", _version_context(request, version))


@require_POST
def version_apply(request, pk):
    _require(request, "manage_planning")
    version = get_object_or_404(ScheduleVersion, pk=pk)
    form = ApplyForm(request.POST, prefix="apply")
    if form.is_valid():
        try:
            schedule_apply(actor=request.user, version=version, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _g("Schedule S%(v)s is now the current schedule; the "
                                         "stations concerned were told.") % {"v": version.pk})
    return redirect("planning:schedule_version", pk=version.pk)


@require_POST
def version_discard(request, pk):
    _require(request, "manage_planning")
    version = get_object_or_404(ScheduleVersion, pk=pk)
    form = DiscardForm(request.POST, prefix="discard")
    if form.is_valid():
        try:
            schedule_discard(actor=request.user, version=version,
                             reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _g("Schedule S%(v)s was discarded.") % {"v": version.pk})
        return redirect("planning:schedule_version", pk=version.pk)
    return render(request, "planning/schedule/version.html",
                  _version_context(request, _version(pk), discard_form=form), status=INVALID)


# --- Gantt ----------------------------------------------------------------------------------
def _gantt_context(request, *, version=None, push_url=True):
    params = request.GET.copy()
    if version is None and params.get("version"):
        try:
            version = sel.version_card(int(params["version"]))
        except (ValueError, ScheduleVersion.DoesNotExist):
            raise Http404 from None
    # Embedded in the version page: its swaps must not push the Gantt page's URL.
    embed = bool(params.get("embed")) or not push_url
    form = GanttFilterForm(params)
    form.is_valid()
    f = sel.GanttFilter(version=version, **form.filters())
    if f.scale is None:  # no zoom chosen: one that shows the whole plan
        f.scale = gantt.scale_for(sel.plan_span_minutes(version))
    base = reverse("planning:schedule_task", args=[0])[:-2]

    def row_href(kind, obj):
        if kind == "wc":
            return query(work_center=obj.pk, view="wc", order=None)
        return reverse("planning:work_order_detail", args=[obj.pk])

    def query(**changes):
        q = {k: v for k, v in params.items() if v not in ("", None)}
        if version is not None:
            q["version"] = version.pk
        if embed:
            q["embed"] = 1
        for k, v in changes.items():
            if v is None:
                q.pop(k, None)
            else:
                q[k] = v
        return f"{reverse('planning:schedule_gantt')}?{urlencode(q)}"

    chart = sel.gantt_chart(f, task_href=lambda pk: f"{base}{pk}/", row_href=row_href)
    start = timezone.localtime(chart.start)
    fmt = "%Y-%m-%dT%H:%M"
    return {
        "gantt_svg": gantt.render_svg(chart), "chart": chart, "gantt_form": form,
        "gantt_filter": f, "gantt_version": version, "push_url": not embed,
        "order_numbers": sel.gantt_order_numbers(),
        "scales": [(code, s.label, query(scale=code), code == f.scale.code)
                   for code, s in gantt.SCALES.items()],
        "views": [("wc", _("By work center"), query(view="wc"), f.view == "wc"),
                  ("order", _("By production order"), query(view="order"), f.view == "order")],
        "earlier_url": query(start=(start - f.scale.span).strftime(fmt)),
        "later_url": query(start=(start + f.scale.span).strftime(fmt)),
        "now_url": query(start=None),
        "gantt_url": query(),
    }


@require_GET
def gantt_page(request):
    _require(request, "view_planning")
    context = _gantt_context(request)
    if request.htmx and request.htmx.target == "gantt":
        return render(request, "planning/schedule/_gantt.html", context)
    context.update({"title": _g("Gantt"), "tabs": _tabs(request, "planning:schedule_gantt"),
                    "current": sel.version_current()})
    return render(request, "planning/schedule/gantt.html", context)


# --- A task: side panel and pins ------------------------------------------------------------
def _task_context(request, task, **extra):
    can_manage = _can_manage(request)
    context = {"task": task, "can_manage": can_manage,
               "title": f"{task.work_order.number}/{task.seq} {task.name}",
               "pinnable": task.status in pins.PINNABLE,
               "order_gantt_url": reverse("planning:schedule_gantt") + "?" + urlencode(
                   {"view": "order", "order": task.work_order.production_order.number})}
    if can_manage and "pin_form" not in extra:
        context["pin_form"] = PinForm(prefix="pin", initial={
            "start": task.pinned_start and timezone.localtime(task.pinned_start),
            "work_center": task.pinned_work_center_id}, work_centers=sel.pin_work_centers())
        context["unpin_form"] = UnpinForm(prefix="unpin")
    context.update(extra)
    return context


def _task(pk) -> Task:
    try:
        return sel.task_detail(pk)
    except Task.DoesNotExist:
        raise Http404 from None


def _task_answer(request, task, status=200, **extra):
    context = _task_context(request, task, **extra)
    if request.htmx:
        response = render(request, "planning/schedule/_task_panel.html", context)
        if extra.get("notices"):
            response["HX-Trigger"] = "gantt-changed"  # the chart redraws the pin mark
        return response
    context["tabs"] = _tabs(request, "planning:schedule_gantt")
    return render(request, "planning/schedule/task.html", context, status=status)


@require_GET
def task_panel(request, pk):
    _require(request, "view_planning")
    return _task_answer(request, _task(pk))


@require_POST
def task_pin(request, pk):
    _require(request, "manage_planning")
    task = _task(pk)
    form = PinForm(request.POST, prefix="pin", work_centers=sel.pin_work_centers())
    if form.is_valid():
        data = form.cleaned_data
        try:
            pins.task_pin(actor=request.user, task=task, start=data["start"],
                          work_center=data["work_center"], reason=data["reason"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _pinned(request, pk, _g("Pinned. The next scheduler run keeps it there."))
    return _task_answer(request, task, status=INVALID, pin_form=form,
                        unpin_form=UnpinForm(prefix="unpin"))


@require_POST
def task_unpin(request, pk):
    _require(request, "manage_planning")
    task = _task(pk)
    form = UnpinForm(request.POST, prefix="unpin")
    if form.is_valid():
        try:
            pins.task_unpin(actor=request.user, task=task, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _pinned(request, pk, _g("Unpinned. The next run places it freely."))
    pin_form = PinForm(prefix="pin", work_centers=sel.pin_work_centers())
    return _task_answer(request, task, status=INVALID, pin_form=pin_form, unpin_form=form)


def _pinned(request, pk, text):
    if request.htmx:
        return _task_answer(request, _task(pk), notices=[text])
    messages.success(request, text)
    return redirect("planning:schedule_task", pk=pk)


# --- Rush orders and order changes ----------------------------------------------------------
def rush_order(request):
    """插单: enter the order, see its impact on a what-if schedule, then apply or discard."""
    _require(request, "manage_planning")
    form = RushOrderForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            version = rush_order_preview(actor=request.user, **form.service_kwargs())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect("planning:schedule_version", pk=version.pk)
    from planning.selectors import code_names, made_items_with_routing

    return render(request, "planning/schedule/rush.html", {
        "form": form, "title": _g("Insert a rush order"),
        "tabs": _tabs(request, "planning:schedule_rush"),
        "item_codes": code_names(made_items_with_routing()),
    }, status=INVALID if form.errors else 200)


CHANGEABLE = (ProductionOrder.Status.RELEASED, ProductionOrder.Status.IN_PROGRESS)


def order_change(request, pk):
    """换单: change a released order's quantity, due date or priority through a preview."""
    _require(request, "manage_planning")
    order = get_object_or_404(ProductionOrder.objects.select_related("item"), pk=pk)
    if order.status not in CHANGEABLE:
        messages.error(request, _g("%(order)s is %(status)s: only a released order is changed "
                                   "through a schedule preview.")
                       % {"order": order, "status": order.get_status_display()})
        return redirect("planning:order_detail", pk=order.pk)
    form = OrderChangeForm(request.POST or None, order=order)
    if request.method == "POST" and form.is_valid():
        try:
            version = order_change_preview(actor=request.user, order=order,
                                           reason=form.cleaned_data["reason"],
                                           time_limit=form.cleaned_data["time_limit"],
                                           **form.changes())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect("planning:schedule_version", pk=version.pk)
    return render(request, "planning/schedule/order_change.html", {
        "form": form, "order": order, "tabs": _tabs(request, "planning:schedule"),
        "title": _g("Change %(order)s") % {"order": order},
    }, status=INVALID if form.errors else 200)
