"""The alert list (live), an alert's page, and the actions people take on an alert."""

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from alerts import forms, selectors
from alerts.filtersets import AlertFilterSet
from alerts.messages import render_message
from alerts.models import Alert
from alerts.services import lifecycle
from alerts.services.common import allowed_alert_actions
from alerts.tables import AlertTable
from mes.generic import CapabilityRequiredMixin, ObjectListView
from mes.roles import perm

LIVE_EVENTS = ("alert.raised", "alert.acknowledged", "alert.resolved", "alert.closed",
               "alert.escalated", "alert.cleared", "alert.recurred", "alert.reassigned")


class AlertListView(ObjectListView):
    capability = "handle_alerts"
    filterset_class = AlertFilterSet
    table_class = AlertTable
    template_name = "alerts/alert_list.html"
    partial_template_name = "alerts/_alert_table.html"
    export_basename = "alerts"

    def get_queryset(self):
        return selectors.alert_list_queryset()

    @property
    def title(self):
        return _("Alerts")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["live_trigger"] = ", ".join(f"sse:{e} delay:300ms" for e in LIVE_EVENTS) + \
            ", alerts-changed from:body"
        context["can_configure"] = self.request.user.has_perm(perm("configure_alerts"))
        return context


class AlertDetailView(CapabilityRequiredMixin, View):
    capability = "handle_alerts"

    def get(self, request, pk):
        try:
            alert = selectors.alert_detail(pk)
        except Alert.DoesNotExist:
            raise Http404(_("No such alert.")) from None
        return render(request, "alerts/alert_detail.html", {
            "title": _("Alert #%(id)s") % {"id": alert.pk},
            "alert": alert,
            "message": render_message(alert.kind, alert.data, alert.message),
            "subject_url": selectors.subject_url(alert, user=request.user),
            "timeline": selectors.alert_timeline(alert),
            "notifications": selectors.alert_notifications(alert),
            "actions": allowed_alert_actions(alert),
            "forms": {"resolve": forms.ResolveForm(), "comment": forms.CommentForm(),
                      "reassign": forms.ReassignForm(), "acknowledge": forms.AcknowledgeForm(),
                      "close": forms.CloseForm()},
            "response_minutes": _minutes(alert.raised_at, alert.acknowledged_at),
            "resolution_minutes": _minutes(alert.raised_at, alert.resolved_at),
        })


def _minutes(start, end):
    return None if end is None else round((end - start).total_seconds() / 60)


# the confirmations are lazy: this table is built at import, in whatever language was active
ACTIONS = {
    "acknowledge": (forms.AcknowledgeForm,
                    lambda a, u, d: lifecycle.alert_acknowledge(actor=u, alert=a, note=d["note"]),
                    gettext_lazy("Alert #%(id)s acknowledged.")),
    "resolve": (forms.ResolveForm,
                lambda a, u, d: lifecycle.alert_resolve(actor=u, alert=a, cause=d["cause"],
                                                        action=d["action"]),
                gettext_lazy("Alert #%(id)s resolved.")),
    "close": (forms.CloseForm,
              lambda a, u, d: lifecycle.alert_close(actor=u, alert=a, note=d["note"]),
              gettext_lazy("Alert #%(id)s closed.")),
    "comment": (forms.CommentForm,
                lambda a, u, d: lifecycle.alert_comment(actor=u, alert=a, text=d["text"]),
                gettext_lazy("Comment added to alert #%(id)s.")),
    "reassign": (forms.ReassignForm,
                 lambda a, u, d: lifecycle.alert_reassign(actor=u, alert=a,
                                                          assignee=d["assignee"],
                                                          reason=d["reason"]),
                 gettext_lazy("Alert #%(id)s reassigned.")),
    "escalate": (forms.AcknowledgeForm,
                 lambda a, u, d: lifecycle.alert_escalate(actor=u, alert=a, reason=d["note"]),
                 gettext_lazy("Alert #%(id)s escalated.")),
}


class AlertActionView(CapabilityRequiredMixin, View):
    """GET: the action's form (for the list's dialog). POST: do it. htmx gets 204 and an
    `alerts-changed` trigger with what was done on success, or the form with the reason on
    refusal; a plain form post goes back to the alert's page."""

    capability = "handle_alerts"

    def dispatch(self, request, *args, pk, action, **kwargs):
        if not self.has_permission():  # refuse before saying whether the alert exists
            return self.handle_no_permission()
        if action not in ACTIONS:
            raise Http404(_("Unknown action."))
        self.action = action
        self.alert = Alert.objects.select_related("rule").filter(pk=pk).first()
        if self.alert is None:
            raise Http404(_("No such alert."))
        return super().dispatch(request, *args, **kwargs)

    def render_form(self, form, status=200):
        return render(self.request, "alerts/_action_form.html", {
            "alert": self.alert, "action": self.action, "form": form,
            "message": render_message(self.alert.kind, self.alert.data, self.alert.message),
        }, status=status)

    def get(self, request):
        return self.render_form(ACTIONS[self.action][0]())

    def post(self, request):
        form_class, run, done = ACTIONS[self.action]
        form = form_class(request.POST)
        error = None
        if form.is_valid():
            try:
                run(self.alert, request.user, form.cleaned_data)
            except ValidationError as exc:
                error = exc
                if hasattr(exc, "error_dict"):
                    for field, errors in exc.message_dict.items():
                        form.add_error(field if field in form.fields else None, errors)
                else:
                    form.add_error(None, exc.messages)
        else:
            error = True
        if request.htmx:
            if error:
                return self.render_form(form)
            response = HttpResponse(status=204)
            # The list says what was done (static/mes/alerts.js): the row alone may only
            # change its status, or leave the list under its filter.
            response["HX-Trigger"] = json.dumps(
                {"alerts-changed": {"message": str(done % {"id": self.alert.pk})}})
            return response
        if error:
            messages.error(request, " ".join(
                str(m) for errs in form.errors.values() for m in errs))
        else:
            messages.success(request, done % {"id": self.alert.pk})
        return redirect(reverse("alerts:alert_detail", args=[self.alert.pk]))
