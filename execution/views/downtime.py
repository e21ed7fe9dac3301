"""Recorded stops of the plant's equipment: the list, and one stop with a lead's corrections.

Everyone who sees stations sees the stops; correcting one (times, reason, planned, note)
needs `correct_downtime` (workshop leads), and each correction says why and is audit-logged
(execution.services.equipment.downtime_edit).
"""

import django_filters
import django_tables2 as tables
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views import View

from execution.forms import DowntimeEditForm
from execution.models import DowntimeEvent, DowntimeReason
from execution.services.equipment import downtime_edit
from mes.forms import add_service_errors
from mes.generic import CapabilityRequiredMixin, ObjectListView
from mes.roles import perm
from mes.tables import BaseTable, LocalDateTimeColumn
from planning.history import history_for
from planning.models import Equipment, WorkCenter


class DowntimeFilterSet(django_filters.FilterSet):
    work_center = django_filters.ModelChoiceFilter(
        label=_("Station"), field_name="equipment__work_center",
        queryset=WorkCenter.objects.order_by("code"))
    equipment = django_filters.ModelChoiceFilter(label=capfirst(_("equipment")),
                                                 queryset=Equipment.objects.order_by("code"))
    reason = django_filters.ModelChoiceFilter(label=capfirst(_("reason")),
                                              queryset=DowntimeReason.objects.order_by("code"))
    planned = django_filters.BooleanFilter(label=capfirst(_("planned")))
    ongoing = django_filters.BooleanFilter(label=capfirst(_("still going on")), field_name="end",
                                           lookup_expr="isnull")
    since = django_filters.DateTimeFilter(field_name="start", lookup_expr="gte",
                                          label=_("Since"))
    until = django_filters.DateTimeFilter(field_name="start", lookup_expr="lte",
                                          label=_("Until"))

    class Meta:
        model = DowntimeEvent
        fields = ["work_center", "equipment", "reason", "planned", "ongoing", "since", "until"]


class DowntimeTable(BaseTable):
    start = LocalDateTimeColumn(linkify=("execution:downtime_detail", {"pk": tables.A("pk")}))
    end = LocalDateTimeColumn()
    minutes = tables.Column(verbose_name=_("minutes"), empty_values=(), orderable=False)
    equipment = tables.Column(verbose_name=_("Equipment"), accessor="equipment__code")
    work_center = tables.Column(verbose_name=_("Station"),
                                accessor="equipment__work_center__code")
    reason = tables.Column()
    reported_by = tables.Column()

    class Meta(BaseTable.Meta):
        model = DowntimeEvent
        fields = ("start", "end", "minutes", "equipment", "work_center", "reason", "planned",
                  "reported_by", "note")
        row_attrs = {"data-testid": "downtime-row"}

    def render_end(self, value):
        if value is None:  # (a template column renders empty values too)
            return gettext("still going on")
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")

    def value_end(self, value):
        # An export's End stays a time or nothing: a stop going on has none yet.
        return "" if value is None else timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")

    def render_minutes(self, record):
        minutes = stop_minutes(record)
        return (gettext("%(n)s (still going on)") % {"n": minutes} if record.end is None
                else minutes)

    def value_minutes(self, record):
        return stop_minutes(record)


def stop_minutes(stop: DowntimeEvent) -> int:
    end = stop.end or timezone.now()
    return max(0, round((end - stop.start).total_seconds() / 60))


class DowntimeListView(ObjectListView):
    capability = "view_execution"
    queryset = DowntimeEvent.objects.select_related("equipment", "equipment__work_center",
                                                    "reason", "reported_by")
    filterset_class = DowntimeFilterSet
    table_class = DowntimeTable
    export_basename = "downtime"
    title = _("Downtime")


class DowntimeDetailView(CapabilityRequiredMixin, View):
    """One stop: what was recorded, the lead's correction form, the change history."""

    capability = "view_execution"

    def stop(self, pk) -> DowntimeEvent:
        return get_object_or_404(DowntimeEvent.objects.select_related(
            "equipment", "equipment__work_center", "reason", "reported_by"), pk=pk)

    def get(self, request, pk):
        stop = self.stop(pk)
        return self.page(request, stop, DowntimeEditForm(stop=stop))

    def post(self, request, pk):
        if not request.user.has_perm(perm("correct_downtime")):
            raise PermissionDenied
        stop = self.stop(pk)
        form = DowntimeEditForm(request.POST, stop=stop)
        if form.is_valid():
            data = form.cleaned_data
            try:
                downtime_edit(actor=request.user, downtime=stop, start=data.get("start"),
                              end=data.get("end"), reason=data["reason"],
                              planned=data["planned"], note=data["note"], why=data["why"])
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, gettext("Stop of %(eq)s corrected.")
                                 % {"eq": stop.equipment.code})
                return redirect("execution:downtime_detail", pk=stop.pk)
        return self.page(request, stop, form, status=400)

    def page(self, request, stop, form, status=200):
        return render(request, "execution/downtime_detail.html", {
            "title": gettext("Stop of %(eq)s") % {"eq": stop.equipment.code},
            "stop": stop, "attrs": _attrs(stop), "form": form,
            "can_correct": request.user.has_perm(perm("correct_downtime")),
            "history": history_for(stop),
        }, status=status)


def _attrs(stop: DowntimeEvent) -> list[dict]:
    """The stop's recorded values as planning/_attrs.html shows them."""
    def local(moment):
        return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else None

    label = {f.name: f.verbose_name for f in DowntimeEvent._meta.fields}
    eq, wc = stop.equipment, stop.equipment.work_center
    return [
        {"label": label["equipment"], "value": f"{eq.code} {eq.display_name}"},
        {"label": _("Station"), "value": f"{wc.code} {wc.display_name}"},
        {"label": label["start"], "value": local(stop.start)},
        {"label": label["end"], "value": local(stop.end) or gettext("still going on")},
        {"label": _("minutes"), "value": stop_minutes(stop)},
        {"label": label["reason"], "value": str(stop.reason) if stop.reason else None},
        {"label": label["planned"], "value": stop.planned, "kind": "bool"},
        {"label": label["reported_by"], "value": str(stop.reported_by or "") or None},
        {"label": label["note"], "value": stop.note},
    ]


