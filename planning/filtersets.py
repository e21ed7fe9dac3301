"""List filters of the planning pages. `q` searches the usual text columns of each list."""

import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from planning.models import (
    Equipment,
    Item,
    Line,
    Priority,
    ProductionOrder,
    ShiftCalendar,
    Site,
    WorkCenter,
    Workshop,
)

SEARCH = {"type": "search", "placeholder": _("code or name")}
YES_NO_ANY = forms.Select(choices=[("", _("Any")), ("true", _("Yes")), ("false", _("No"))])


class CodedNamedFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search",
                                  widget=forms.TextInput(attrs=SEARCH))
    active = django_filters.BooleanFilter(label=_("Active"), widget=YES_NO_ANY)

    def search(self, queryset, name, value):
        return queryset.filter(Q(code__icontains=value) | Q(name__icontains=value)
                               | Q(name_en__icontains=value))


class SiteFilterSet(CodedNamedFilterSet):
    class Meta:
        model = Site
        fields = ["q", "active"]


class WorkshopFilterSet(CodedNamedFilterSet):
    class Meta:
        model = Workshop
        fields = ["q", "site", "active"]


class LineFilterSet(CodedNamedFilterSet):
    site = django_filters.ModelChoiceFilter(field_name="workshop__site", label=_("Site"),
                                            queryset=Site.objects.all())

    class Meta:
        model = Line
        fields = ["q", "site", "workshop", "active"]


class WorkCenterFilterSet(CodedNamedFilterSet):
    workshop = django_filters.ModelChoiceFilter(field_name="line__workshop", label=_("Workshop"),
                                                queryset=Workshop.objects.all())

    class Meta:
        model = WorkCenter
        fields = ["q", "workshop", "line", "calendar", "active"]

    def search(self, queryset, name, value):
        return super().search(queryset, name, value) | queryset.filter(
            cost_center__icontains=value)


class EquipmentFilterSet(CodedNamedFilterSet):
    class Meta:
        model = Equipment
        fields = ["q", "work_center", "active"]

    def search(self, queryset, name, value):
        return super().search(queryset, name, value) | queryset.filter(
            model_no__icontains=value)


class ShiftCalendarFilterSet(CodedNamedFilterSet):
    class Meta:
        model = ShiftCalendar
        fields = ["q", "active"]


class ItemFilterSet(CodedNamedFilterSet):
    has_routing = django_filters.BooleanFilter(label=_("Has a routing"), method="filter_routing",
                                               widget=YES_NO_ANY)
    has_bom = django_filters.BooleanFilter(label=_("Has a BOM"), method="filter_bom",
                                           widget=YES_NO_ANY)

    class Meta:
        model = Item
        fields = ["q", "kind", "has_bom", "has_routing", "active"]

    def filter_routing(self, queryset, name, value):
        return queryset.filter(has_routing=value)

    def filter_bom(self, queryset, name, value):
        return queryset.filter(bom_count__gt=0) if value else queryset.filter(bom_count=0)


class ProductionOrderFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Search"), method="search",
        widget=forms.TextInput(attrs={"type": "search",
                                      "placeholder": _("number, customer, sales order")}))
    status = django_filters.ChoiceFilter(
        label=_("Status"), method="filter_status", empty_label=_("Any"),
        choices=[("open", _("open (not completed or cancelled)")),
                 *ProductionOrder.Status.choices])
    priority = django_filters.ChoiceFilter(choices=Priority.choices, label=_("Priority"),
                                           empty_label=_("Any"))
    customer = django_filters.CharFilter(lookup_expr="icontains", label=_("Customer"))
    due_after = django_filters.DateFilter(field_name="due", lookup_expr="date__gte",
                                          label=_("Due from"),
                                          widget=forms.DateInput(attrs={"type": "date"}))
    due_before = django_filters.DateFilter(field_name="due", lookup_expr="date__lte",
                                           label=_("Due until"),
                                           widget=forms.DateInput(attrs={"type": "date"}))

    class Meta:
        model = ProductionOrder
        fields = ["q", "status", "priority", "customer", "due_after", "due_before"]

    def filter_status(self, queryset, name, value):
        if value == "open":
            return queryset.exclude(status__in=[ProductionOrder.Status.COMPLETED,
                                                ProductionOrder.Status.CANCELLED])
        return queryset.filter(status=value)

    def search(self, queryset, name, value):
        return queryset.filter(Q(number__icontains=value) | Q(customer__icontains=value)
                               | Q(sales_order_ref__icontains=value)
                               | Q(item__code__icontains=value))
