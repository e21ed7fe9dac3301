"""Tables of the alerts pages (django-tables2). Rows need no queries of their own: the list
queryset selects the rule, work center and assignee with the alerts."""

import django_tables2 as tables
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from alerts.messages import render_message
from alerts.models import Alert, AlertRule, WebhookEndpoint
from alerts.selectors import age_hours, subject_url
from mes.tables import BaseTable, LocalDateTimeColumn, YesNoColumn

SEVERITY_CLASS = {"critical": "badge-bad", "warning": "badge-warn", "info": ""}
STATUS_CLASS = {"open": "badge-bad", "acknowledged": "badge-warn", "resolved": "badge-ok",
                "closed": ""}


class AlertTable(BaseTable):
    severity = tables.Column(verbose_name=_("severity"), order_by=("rank", "-raised_at"))
    raised_at = LocalDateTimeColumn(verbose_name=_("raised"))
    age = tables.Column(verbose_name=_("age"), empty_values=(), orderable=False)
    rule = tables.Column(verbose_name=_("rule"), order_by=("rule__code",))
    subject_repr = tables.Column(verbose_name=_("subject"))
    message = tables.Column(verbose_name=_("message"), orderable=False,
                            attrs={"td": {"class": "col-wrap"}})
    work_center = tables.Column(verbose_name=_("work center"), order_by=("work_center__code",))
    status = tables.Column(verbose_name=_("status"))
    escalation_level = tables.Column(verbose_name=_("level"))
    assignee = tables.Column(verbose_name=_("assignee"))
    row_actions = tables.TemplateColumn(template_name="alerts/_row_actions.html",
                                        verbose_name=_("actions"), orderable=False,
                                        exclude_from_export=True, empty_values=())

    class Meta(BaseTable.Meta):
        model = Alert
        fields = ("severity", "status", "row_actions", "rule", "subject_repr", "message",
                  "age", "raised_at", "work_center", "escalation_level", "assignee")
        order_by = ("severity",)
        row_attrs = {"data-alert": lambda record: record.pk,
                     "data-status": lambda record: record.status,
                     "data-testid": "alert-row",
                     "class": lambda record: f"alert-row alert-{record.severity}"}

    def render_severity(self, record):
        return format_html('<span class="badge {}">{}</span>',
                           SEVERITY_CLASS.get(record.severity, ""),
                           record.get_severity_display())

    def value_severity(self, record):
        return record.get_severity_display()

    def render_age(self, record):
        hours = age_hours(record, timezone.now())
        text = (gettext("%(n)s min") % {"n": f"{hours * 60:.0f}"} if hours < 1
                else gettext("%(n)s h") % {"n": f"{hours:.1f}"})
        late = record.is_active and hours >= 12  # the half-day response target
        return format_html('<span class="{}">{}</span>', "age-late" if late else "", text)

    def value_age(self, record):
        return f"{age_hours(record, timezone.now()):.2f}"

    def render_rule(self, record):
        return format_html('<a href="{}" title="{}" hx-boost="false">{}</a>',
                           reverse("alerts:alert_detail", args=[record.pk]), record.rule.code,
                           record.rule.display_name)

    def value_rule(self, record):
        return record.rule.code

    def render_subject_repr(self, record):
        url = subject_url(record, user=self.request.user)
        if url:
            return format_html('<a href="{}" hx-boost="false">{}</a>', url, record.subject_repr)
        return record.subject_repr

    def value_subject_repr(self, record):
        return record.subject_repr

    def render_message(self, record):
        return render_message(record.kind, record.data, record.message)

    def value_message(self, record):
        return self.render_message(record)

    def render_work_center(self, record):
        return record.work_center.code if record.work_center else "—"

    def render_status(self, record):
        return format_html('<span class="badge {}" data-testid="alert-status">{}</span>',
                           STATUS_CLASS.get(record.status, ""), record.get_status_display())

    def value_status(self, record):
        return record.get_status_display()


class AlertRuleTable(BaseTable):
    code = tables.Column(linkify=lambda record: reverse("alerts:rule_edit", args=[record.pk]))
    scope = tables.Column(verbose_name=_("scope"), accessor="scope_display",
                          order_by=("scope",))
    thresholds = tables.Column(verbose_name=_("thresholds"), empty_values=(), orderable=False)
    chain = tables.Column(verbose_name=_("escalation"), empty_values=(), orderable=False)

    class Meta(BaseTable.Meta):
        model = AlertRule
        fields = ("code", "name", "kind", "severity", "scope", "thresholds", "chain",
                  "auto_resolve", "active")

    def render_thresholds(self, record):
        parts = []
        if record.minutes is not None:
            parts.append(gettext("%(n)s min") % {"n": record.minutes})
        if record.percent is not None:
            parts.append(f"{record.percent.normalize():f} %")
        if record.window_hours is not None:
            parts.append(f"{record.window_hours.normalize():f} h")
        if record.min_quantity is not None:
            parts.append(f"≥ {record.min_quantity.normalize():f}")
        return " · ".join(parts) or "—"

    def value_thresholds(self, record):
        return self.render_thresholds(record)

    def render_chain(self, record):
        # levels are prefetched by the view
        return " → ".join(f"L{lv.level} +{lv.after_minutes}′" for lv in record.levels.all()) \
            or "—"

    def value_chain(self, record):
        return self.render_chain(record)


class WebhookEndpointTable(BaseTable):
    name = tables.Column(linkify=lambda record: reverse("alerts:webhook_edit",
                                                        args=[record.pk]))
    url = tables.Column(verbose_name=_("URL"))
    has_secret = YesNoColumn(verbose_name=_("signed"), empty_values=(), orderable=False)

    class Meta(BaseTable.Meta):
        model = WebhookEndpoint
        fields = ("name", "kind", "url", "has_secret", "timeout_seconds", "active")

    def render_url(self, record):
        # Robot keys travel in the query string: show where it goes, not the key.
        base, _sep, query = record.url.partition("?")
        return f"{base}?…" if query else base

    def value_url(self, record):
        return self.render_url(record)

    def render_has_secret(self, record):
        return "✔" if record.secret else "—"

    def value_has_secret(self, record):
        return bool(record.secret)
