"""Configuring alerts (configure_alerts): rules with their escalation chains, webhooks."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views import View

from alerts.filtersets import AlertRuleFilterSet, WebhookEndpointFilterSet
from alerts.forms import AlertRuleForm, EscalationFormSet, WebhookEndpointForm
from alerts.kinds import THRESHOLDS, Channel
from alerts.models import AlertRule, EscalationLevel, WebhookEndpoint
from alerts.services.config import (
    DEFAULT_CHAIN,
    RULE_FIELDS,
    alert_rule_save,
    webhook_endpoint_save,
    webhook_endpoint_test,
)
from alerts.tables import AlertRuleTable, WebhookEndpointTable
from mes.generic import CapabilityRequiredMixin, ObjectListView


class RuleListView(ObjectListView):
    capability = "configure_alerts"
    filterset_class = AlertRuleFilterSet
    table_class = AlertRuleTable
    template_name = "alerts/config_list.html"
    export_basename = "alert-rules"

    def get_queryset(self):
        return AlertRule.objects.select_related("workshop", "line", "work_center") \
            .prefetch_related(Prefetch("levels", EscalationLevel.objects.order_by("level")))

    @property
    def title(self):
        return _("Alert rules")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["add_url"] = "alerts:rule_add"
        context["add_label"] = _("New rule")
        context["other"] = ("alerts:webhook_list", _("Webhook endpoints"))
        return context


class WebhookListView(ObjectListView):
    capability = "configure_alerts"
    filterset_class = WebhookEndpointFilterSet
    table_class = WebhookEndpointTable
    template_name = "alerts/config_list.html"
    export_basename = "webhooks"

    def get_queryset(self):
        return WebhookEndpoint.objects.all()

    @property
    def title(self):
        return _("Webhook endpoints")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["add_url"] = "alerts:webhook_add"
        context["add_label"] = _("New endpoint")
        context["other"] = ("alerts:rule_list", _("Alert rules"))
        return context


def _initial_levels(rule):
    if rule is None:
        return [{"after_minutes": lv["after_minutes"],
                 "notify_responsible": lv.get("notify_responsible", False),
                 "roles": lv.get("roles", []), "channels": lv.get("channels", [])}
                for lv in DEFAULT_CHAIN]
    return [{"after_minutes": lv.after_minutes, "notify_responsible": lv.notify_responsible,
             "roles": lv.roles, "channels": lv.channels, "people": list(lv.people.all()),
             "webhooks": list(lv.webhooks.all())}
            for lv in rule.levels.order_by("level").prefetch_related("people", "webhooks")]


class RuleFormView(CapabilityRequiredMixin, View):
    capability = "configure_alerts"

    def dispatch(self, request, *args, pk=None, **kwargs):
        if not self.has_permission():
            return self.handle_no_permission()
        self.rule = get_object_or_404(AlertRule, pk=pk) if pk else None
        return super().dispatch(request, *args, **kwargs)

    def page(self, form, formset, chain_errors=(), status=200):
        return render(self.request, "alerts/rule_form.html", {
            "title": (_("Alert rule %(code)s") % {"code": self.rule.code}) if self.rule
            else _("New alert rule"),
            "form": form, "formset": formset, "chain_errors": chain_errors,
            # kind -> threshold field -> what it means (the page shows only the kind's fields)
            "threshold_help": {kind: {field: str(meaning) for field, (_req, meaning)
                                      in spec.items()} for kind, spec in THRESHOLDS.items()},
        }, status=status)

    def get(self, request):
        return self.page(AlertRuleForm(instance=self.rule),
                         EscalationFormSet(initial=_initial_levels(self.rule), prefix="levels"))

    def post(self, request):
        form = AlertRuleForm(request.POST, instance=self.rule)
        formset = EscalationFormSet(request.POST, prefix="levels")
        if not (form.is_valid() and formset.is_valid()):
            return self.page(form, formset, formset.non_form_errors(), status=422)
        levels = [{"level": i, "after_minutes": f.cleaned_data.get("after_minutes"),
                   "notify_responsible": f.cleaned_data.get("notify_responsible"),
                   "roles": f.cleaned_data.get("roles") or [],
                   "people": list(f.cleaned_data.get("people") or []),
                   "channels": f.cleaned_data.get("channels") or [],
                   "webhooks": list(f.cleaned_data.get("webhooks") or [])}
                  for i, f in enumerate((f for f in formset.forms
                                         if f.has_changed() and not _deleted(f)), start=1)]
        fields = {k: v for k, v in form.cleaned_data.items() if k in RULE_FIELDS}
        try:
            rule = alert_rule_save(actor=request.user, rule=self.rule, fields=fields,
                                   levels=levels)
        except ValidationError as exc:
            chain = []
            for field, errors in exc.message_dict.items():
                if field == "levels":
                    chain += errors
                else:
                    form.add_error(field if field in form.fields else None, errors)
            return self.page(form, formset, chain, status=422)
        messages.success(request, _("Rule %(code)s saved.") % {"code": rule.code})
        return redirect("alerts:rule_list")


def _deleted(form) -> bool:
    return bool(form.cleaned_data.get("DELETE"))


class WebhookFormView(CapabilityRequiredMixin, View):
    capability = "configure_alerts"

    def dispatch(self, request, *args, pk=None, **kwargs):
        if not self.has_permission():
            return self.handle_no_permission()
        self.endpoint = get_object_or_404(WebhookEndpoint, pk=pk) if pk else None
        return super().dispatch(request, *args, **kwargs)

    def page(self, form, status=200, test=None):
        return render(self.request, "alerts/webhook_form.html", {
            "title": str(self.endpoint) if self.endpoint else _("New webhook endpoint"),
            "form": form, "endpoint": self.endpoint, "test": test,
            "webhook_channel": Channel.WEBHOOK}, status=status)

    def get(self, request):
        return self.page(WebhookEndpointForm(instance=self.endpoint))

    def post(self, request):
        form = WebhookEndpointForm(request.POST, instance=self.endpoint)
        if not form.is_valid():
            return self.page(form, status=422)
        try:
            endpoint = webhook_endpoint_save(actor=request.user, endpoint=self.endpoint,
                                             fields=form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
            return self.page(form, status=422)
        messages.success(request, _("Webhook endpoint %(name)s saved.") % {"name": endpoint})
        return redirect("alerts:webhook_edit", pk=endpoint.pk)


class WebhookTestView(CapabilityRequiredMixin, View):
    """Send a test message now and show what the receiver said."""

    capability = "configure_alerts"

    def post(self, request, pk):
        endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
        ok, detail = webhook_endpoint_test(actor=request.user, endpoint=endpoint)
        if request.htmx:
            return render(request, "alerts/_webhook_test.html", {"test": {"ok": ok,
                                                                         "detail": detail}})
        (messages.success if ok else messages.error)(request, detail)
        return redirect("alerts:webhook_edit", pk=endpoint.pk)
