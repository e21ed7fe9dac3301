"""List filters of the quality pages."""

import datetime

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mes.forms import PlausibleDateField
from planning.models import Line, WorkOrder, Workshop
from quality.models import (
    ArchivedRecord,
    DefectCode,
    Inspection,
    InspectionPlan,
    Nonconformance,
)

SEARCH = {"type": "search"}
YES_NO_ANY = forms.Select(choices=[("", _("Any")), ("true", _("Yes")), ("false", _("No"))])

# "Waiting longer than": the choice's value -> its age.
AGES = {"1h": datetime.timedelta(hours=1), "4h": datetime.timedelta(hours=4),
        "1d": datetime.timedelta(days=1)}


class ScopeFilterSet(django_filters.FilterSet):
    """Workshop and line of the step a record belongs to (`task_path` names that step)."""

    task_path = "origin_task"
    workshop = django_filters.ModelChoiceFilter(
        label=_("Workshop"), queryset=Workshop.objects.filter(active=True), method="by_workshop")
    line = django_filters.ModelChoiceFilter(
        label=_("Line"), queryset=Line.objects.filter(active=True), method="by_line")

    def by_workshop(self, queryset, name, value):
        return queryset.filter(**{f"{self.task_path}__work_center__line__workshop": value})

    def by_line(self, queryset, name, value):
        return queryset.filter(**{f"{self.task_path}__work_center__line": value})


class QCQueueFilterSet(ScopeFilterSet):
    age = django_filters.ChoiceFilter(
        label=_("Waiting longer than"), method="by_age", empty_label=_("Any time"),
        choices=[("1h", _("1 hour")), ("4h", _("4 hours")), ("1d", _("1 day"))])

    class Meta:
        model = Inspection
        fields = ["workshop", "line", "age"]

    def by_age(self, queryset, name, value):
        return queryset.filter(created_at__lte=timezone.now() - AGES[value])


class InspectionFilterSet(ScopeFilterSet):
    q = django_filters.CharFilter(label=_("Work order"), method="search",
                                  widget=forms.TextInput(attrs=SEARCH))
    status = django_filters.ChoiceFilter(label=_("Status"), choices=Inspection.Status.choices)
    loop = django_filters.BooleanFilter(label=_("Re-inspection"), method="by_loop",
                                        widget=YES_NO_ANY)

    class Meta:
        model = Inspection
        fields = ["q", "status", "loop", "workshop", "line"]

    def search(self, queryset, name, value):
        return queryset.filter(work_order__number__icontains=value)

    def by_loop(self, queryset, name, value):
        return queryset.filter(loop__gt=0) if value else queryset.filter(loop=0)


class NonconformanceFilterSet(ScopeFilterSet):
    task_path = "responsible_task"
    q = django_filters.CharFilter(label=_("Search"), method="search",
                                  widget=forms.TextInput(attrs=SEARCH | {
                                      "placeholder": _("number or work order")}))
    status = django_filters.ChoiceFilter(label=_("Status"),
                                         choices=Nonconformance.Status.choices)
    disposition = django_filters.ChoiceFilter(label=_("Disposition"),
                                              choices=Nonconformance.Disposition.choices)
    defect_code = django_filters.ModelChoiceFilter(label=_("Defect code"),
                                                   queryset=DefectCode.objects.all())

    class Meta:
        model = Nonconformance
        fields = ["q", "status", "disposition", "defect_code", "workshop", "line"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(number__icontains=value)
                               | Q(work_order__number__icontains=value))


class AcceptanceQueueFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Work order"), method="search",
                                  widget=forms.TextInput(attrs=SEARCH))
    line = django_filters.ModelChoiceFilter(label=_("Line"),
                                            queryset=Line.objects.filter(active=True))

    class Meta:
        model = WorkOrder
        fields = ["q", "line"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(number__icontains=value)
                               | Q(production_order__number__icontains=value))


class ArchiveFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Work order"), method="search",
                                  widget=forms.TextInput(attrs=SEARCH))
    current = django_filters.BooleanFilter(label=_("Current (not re-opened)"),
                                           field_name="superseded_at", lookup_expr="isnull",
                                           widget=YES_NO_ANY)

    class Meta:
        model = ArchivedRecord
        fields = ["q", "current"]

    def search(self, queryset, name, value):
        return queryset.filter(work_order__number__icontains=value)


class InspectionPlanFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search",
                                  widget=forms.TextInput(attrs=SEARCH))
    sampling = django_filters.ChoiceFilter(label=_("Sampling"),
                                           choices=InspectionPlan.Sampling.choices)
    active = django_filters.BooleanFilter(label=_("Active"), widget=YES_NO_ANY)

    class Meta:
        model = InspectionPlan
        fields = ["q", "sampling", "active"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(code__icontains=value) | Q(name__icontains=value)
                               | Q(name_en__icontains=value) | Q(item__code__icontains=value))


class DefectCodeFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search",
                                  widget=forms.TextInput(attrs=SEARCH))
    active = django_filters.BooleanFilter(label=_("Active"), widget=YES_NO_ANY)

    class Meta:
        model = DefectCode
        fields = ["q", "active"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(code__icontains=value) | Q(name__icontains=value)
                               | Q(name_en__icontains=value))


class StatsFilterForm(forms.Form):
    """Period (dates, inclusive) and scope of the statistics page."""

    start = PlausibleDateField(label=_("From"), required=False,
                               widget=forms.DateInput(attrs={"type": "date"}))
    end = PlausibleDateField(label=_("To"), required=False,
                             widget=forms.DateInput(attrs={"type": "date"}))
    workshop = forms.ModelChoiceField(label=_("Workshop"), required=False,
                                      queryset=Workshop.objects.filter(active=True))
    line = forms.ModelChoiceField(label=_("Line"), required=False,
                                  queryset=Line.objects.filter(active=True))

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            self.add_error("end", _("The end is before the start."))
        return data
