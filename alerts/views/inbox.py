"""A person's notifications: the inbox, the top-bar badge count, opening one."""

from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.http import require_GET

from alerts import selectors
from alerts.kinds import Channel
from alerts.models import Notification
from alerts.services.inbox import notifications_mark_read
from mes.roles import perm


class InboxView(View):
    """Every signed-in person may read their own notifications (operators may be named in a
    chain); opening the alert itself needs handle_alerts."""

    def get(self, request):
        return render(request, "alerts/inbox.html", {
            "title": _("Notifications"),
            "notifications": selectors.inbox(request.user),
            "can_open": request.user.has_perm(perm("handle_alerts")),
        })

    def post(self, request):
        notifications_mark_read(actor=request.user)
        return redirect("alerts:inbox")


@require_GET
def notify_badge(request):
    """The unread count for the top bar (one query)."""
    return JsonResponse({"unread": selectors.unread_count(request.user)})


def notification_open(request, pk):
    """Mark one notification read and go to its alert (or back to the inbox)."""
    n = get_object_or_404(Notification, pk=pk, recipient=request.user, channel=Channel.IN_APP)
    if n.read_at is None:
        notifications_mark_read(actor=request.user, ids=[n.pk])
    if request.user.has_perm(perm("handle_alerts")):
        return redirect(reverse("alerts:alert_detail", args=[n.alert_id]))
    return redirect("alerts:inbox")
