"""Refused scans and reports, for the workshop lead to follow up (with CSV/XLSX export).

Capability: `handle_alerts`. A refused scan is an exception on the floor (a wrong traveler, an
unknown badge, an over-report), and the people who follow up exceptions are the ones who handle
alerts: leads, QC, planners, managers. Operators do not see each other's refusals here; each
sees their own at once on the station screen.
"""

import django_filters
import django_tables2 as tables
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from execution.models import ScanRefusal
from mes.filtersets import PlausibleDateTimeFilter
from mes.generic import ObjectListView
from mes.models import User
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
    payload = tables.Column(attrs={"td": {"class": "wrap mono"}})

    class Meta(BaseTable.Meta):
        model = ScanRefusal
        fields = ("at", "work_center", "operator", "action", "reason", "payload")

    def render_reason(self, record):
        return record.reason_shown  # in the reader's language (the export too)

    def render_action(self, value):
        api, _sep, name = value.rpartition(":")
        label = ACTION_LABELS.get(name, name)
        return gettext("API: %(action)s") % {"action": label} if api else label


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
