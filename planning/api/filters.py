"""API filters for planning lists (django-filter; records named by code or number)."""

import django_filters as filters
from django.db.models import Q

from mes.api.fields import IsoDateTimeFilter
from planning.models import (
    BOMLine,
    BOMVersion,
    Item,
    Priority,
    ProductionOrder,
    Routing,
    RoutingStep,
    Task,
    WorkOrder,
)


class ItemFilter(filters.FilterSet):
    q = filters.CharFilter(method="search", help_text="Code or name contains.")

    class Meta:
        model = Item
        fields = ["code", "kind", "active"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(code__icontains=value) | Q(name__icontains=value)
                               | Q(name_en__icontains=value))


class BOMVersionFilter(filters.FilterSet):
    item = filters.CharFilter(field_name="item__code")

    class Meta:
        model = BOMVersion
        fields = ["item", "active"]


class BOMLineFilter(filters.FilterSet):
    child = filters.CharFilter(field_name="child__code")

    class Meta:
        model = BOMLine
        fields = ["bom", "child"]


class RoutingFilter(filters.FilterSet):
    item = filters.CharFilter(field_name="item__code")

    class Meta:
        model = Routing
        fields = ["item", "active"]


class RoutingStepFilter(filters.FilterSet):
    work_center = filters.CharFilter(field_name="work_center__code")

    class Meta:
        model = RoutingStep
        fields = ["routing", "work_center"]


class ProductionOrderFilter(filters.FilterSet):
    item = filters.CharFilter(field_name="item__code")
    status = filters.MultipleChoiceFilter(choices=ProductionOrder.Status.choices)
    priority = filters.ChoiceFilter(choices=Priority.choices)
    due_after = IsoDateTimeFilter(field_name="due", lookup_expr="gte")
    due_before = IsoDateTimeFilter(field_name="due", lookup_expr="lt")

    class Meta:
        model = ProductionOrder
        fields = ["number", "erp_ref", "item", "status", "priority", "due_after", "due_before"]


class WorkOrderFilter(filters.FilterSet):
    production_order = filters.CharFilter(field_name="production_order__number")
    item = filters.CharFilter(field_name="item__code")
    status = filters.MultipleChoiceFilter(choices=WorkOrder.Status.choices)

    class Meta:
        model = WorkOrder
        fields = ["number", "production_order", "item", "status", "level"]


class TaskFilter(filters.FilterSet):
    work_order = filters.CharFilter(field_name="work_order__number")
    production_order = filters.CharFilter(field_name="work_order__production_order__number")
    work_center = filters.CharFilter(field_name="work_center__code")
    status = filters.MultipleChoiceFilter(choices=Task.Status.choices)

    class Meta:
        model = Task
        fields = ["work_order", "production_order", "work_center", "status", "kind"]
