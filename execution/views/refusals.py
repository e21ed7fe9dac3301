"""Refused scans and reports, for the workshop lead to follow up (with CSV/XLSX export).

Capability: `handle_alerts`. A refused scan is an exception on the floor (a wrong traveler, an
unknown badge, an over-report), and the people who follow up exceptions are the ones who handle
alerts: leads, QC, planners, managers. Operators do not see each other's refusals here; each
sees their own at once on the station screen.
"""

from functools import cached_property

import django_filters
import django_tables2 as tables
from django.db.models import Q
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from execution.models import ScanRefusal
from execution.selectors import PayloadPart, refusal_payload_parts
from mes.filtersets import PlausibleDateTimeFilter
from mes.generic import ObjectListView
from mes.models import User
from mes.roles import has_any
from mes.tables import BaseTable, LocalDateTimeColumn
from planning.models import WorkCenter


class ScanRefusalFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    work_center = django_filters.ModelChoiceFilter(
        label=_("Station"), queryset=WorkCenter.objects.order_by("code"))
    operator = django_filters.ModelChoiceFilter(
        label=_("Operator"), queryset=User.objects.filter(badge_code__isnull=False))
    action = django_filters.CharFilter(label=_("Action"))
    since = PlausibleDateTimeFilter(field_name="at", lookup_expr="gte", label=_("Since"))
    until = PlausibleDateTimeFilter(field_name="at", lookup_expr="lte", label=_("Until"))

    class Meta:
        model = ScanRefusal
        fields = ["q", "work_center", "operator", "action", "since", "until"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(reason__icontains=value) | Q(payload__icontains=value))


class ScanRefusalTable(BaseTable):
    at = LocalDateTimeColumn(format="Y-m-d H:i:s")
    work_center = tables.Column(verbose_name=_("Station"), accessor="work_center__code")
    operator = tables.Column(verbose_name=_("Operator"))
    reason = tables.Column(attrs={"td": {"class": "wrap"}})
    payload = tables.Column(attrs={"td": {"class": "wrap"}})

    class Meta(BaseTable.Meta):
        model = ScanRefusal
        fields = ("at", "work_center", "operator", "action", "reason", "payload")

    @cached_property
    def _payloads(self) -> dict[int, list[PayloadPart]]:
        """What each refusal this table shows sent, resolved for the page's rows at once (or
        every row, in an export): a fixed number of queries."""
        return refusal_payload_parts(row.record for row in self.paginated_rows)

    @cached_property
    def _links(self) -> bool:
        request = getattr(self, "request", None)
        return request is not None and has_any(request.user, ("view_planning",))

    def render_payload(self, record):
        parts = self._payloads.get(record.pk, [])
        return format_html_join(" · ", "{}", ((self._part_html(p),) for p in parts))

    def value_payload(self, record):
        """The export: the same, as text."""
        return " · ".join(f"{label}: {shown}" for label, shown, _url in map(
            self._part_shown, self._payloads.get(record.pk, [])))

    def _part_shown(self, part: PayloadPart) -> tuple[str, str, str]:
        """(label, what it was and names, the work order's page or "")."""
        label = str(PAYLOAD_LABELS.get(part.field, part.field))
        if part.unknown:
            return label, gettext("%(value)s (not found)") % {"value": part.value}, ""
        if part.field in NAMED_BY_VALUE and part.subject:
            shown = part.subject  # an id or a state's key: what it names is what the lead needs
        elif part.subject:
            shown = f"{part.value} → {part.subject}"
        else:
            shown = part.value
        url = (reverse("planning:work_order_detail", args=[part.work_order_id])
               if part.work_order_id and self._links else "")
        return label, shown, url

    def _part_html(self, part: PayloadPart):
        label, shown, url = self._part_shown(part)
        if url:
            return format_html('<span class="muted">{}:</span> <a href="{}">{}</a>', label, url,
                               shown)
        return format_html('<span class="muted">{}:</span> {}', label, shown)

    def render_reason(self, record):
        return record.reason_shown  # in the reader's language (the export too)

    def render_action(self, value):
        api, _sep, name = value.rpartition(":")
        label = ACTION_LABELS.get(name, name)
        return gettext("API: %(action)s") % {"action": label} if api else label


# What a refused attempt sent, field by field (execution.selectors.PAYLOAD_FIELDS).
PAYLOAD_LABELS = {
    "scan": _("Scanned"), "task": _("Task"), "good": _("Good"), "scrap": _("Scrap"),
    "scrap_reason": _("Scrap reason"), "item_code": _("Component"), "lot_code": _("Lot"),
    "quantity": _("Quantity"), "equipment": _("Equipment"), "state": _("State"),
    "reason": _("Reason"), "short_reason": _("Reason for completing short"),
}

# Fields whose value is an id (or a key) the lead has no use for: shown as what it names.
NAMED_BY_VALUE = frozenset({"task", "scrap_reason", "equipment", "reason", "state"})

# What the station (or the API) was asked to do, as the ScanRefusal rows record it.
ACTION_LABELS = {
    "scan": _("scan"), "report": _("report quantities"), "material": _("material issue"),
    "equipment": _("equipment state"), "start": _("start"), "pause": _("pause"),
    "resume": _("resume"), "complete": _("complete"),
}


class ScanRefusalListView(ObjectListView):
    capability = "handle_alerts"
    queryset = ScanRefusal.objects.select_related("work_center", "operator")
    filterset_class = ScanRefusalFilterSet
    table_class = ScanRefusalTable
    export_basename = "refused-scans"
    title = _("Refused scans")
