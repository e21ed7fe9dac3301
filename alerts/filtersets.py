"""Filters of the alert list: state, kind, severity, scope, person, age."""

import datetime

import django_filters
from django import forms
from django.db.models import Q
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from alerts.kinds import Kind, Severity
from alerts.models import Alert, AlertRule, WebhookEndpoint
from mes.models import User
from planning.models import Line, WorkCenter, Workshop

STATE_CHOICES = [
    ("active", _("open or acknowledged")),
    ("open", _("open")),
    ("acknowledged", _("acknowledged")),
    ("resolved", _("resolved")),
    ("closed", _("closed")),
    ("all", _("all")),
]
AGE_CHOICES = [("1", _("older than 1 h")), ("4", _("older than 4 h")),
               ("12", _("older than half a day")), ("24", _("older than a day"))]


class AlertFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search",
                                  widget=forms.TextInput(attrs={"type": "search"}))
    state = django_filters.ChoiceFilter(label=_("State"), choices=STATE_CHOICES,
                                        method="by_state", empty_label=None)
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=Kind.choices)
    severity = django_filters.ChoiceFilter(label=_("Severity"), choices=Severity.choices)
    workshop = django_filters.ModelChoiceFilter(label=_("Workshop"),
                                                queryset=Workshop.objects.all())
    line = django_filters.ModelChoiceFilter(label=_("Line"), queryset=Line.objects.all())
    work_center = django_filters.ModelChoiceFilter(label=_("Work center"),
                                                   queryset=WorkCenter.objects.all())
    person = django_filters.ModelChoiceFilter(
        label=_("Person"), method="by_person",
        queryset=User.objects.filter(is_active=True, groups__isnull=False).distinct())
    age = django_filters.ChoiceFilter(label=_("Age"), choices=AGE_CHOICES, method="by_age")

    class Meta:
        model = Alert
        fields = ["q", "state", "kind", "severity", "workshop", "line", "work_center",
                  "person", "age"]

    def __init__(self, data=None, *args, **kwargs):
        # The list opens on what still needs someone, as its State field says (the first
        # visit, with no query, showed every alert under that field).
        data = data.copy() if data is not None else QueryDict(mutable=True)
        if not data.get("state"):
            data["state"] = "active"
        super().__init__(data, *args, **kwargs)

    def search(self, queryset, name, value):
        return queryset.filter(Q(subject_repr__icontains=value) | Q(message__icontains=value)
                               | Q(rule__code__icontains=value) | Q(rule__name__icontains=value))

    def by_state(self, queryset, name, value):
        if value == "active":
            return queryset.filter(status__in=Alert.ACTIVE)
        if value == "all":
            return queryset
        return queryset.filter(status=value)

    def by_person(self, queryset, name, value):
        return queryset.filter(Q(assignee=value) | Q(acknowledged_by=value)
                               | Q(resolved_by=value))

    def by_age(self, queryset, name, value):
        return queryset.filter(raised_at__lte=timezone.now()
                               - datetime.timedelta(hours=int(value)))


class AlertRuleFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search",
                                  widget=forms.TextInput(attrs={"type": "search"}))

    class Meta:
        model = AlertRule
        fields = ["q", "kind", "severity", "scope", "active"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(code__icontains=value) | Q(name__icontains=value)
                               | Q(name_en__icontains=value))


class WebhookEndpointFilterSet(django_filters.FilterSet):
    class Meta:
        model = WebhookEndpoint
        fields = ["kind", "active"]
