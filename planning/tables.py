"""The planning list tables. Count columns read annotations made by planning.selectors."""

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from mes.tables import BaseTable, LocalDateTimeColumn, LocalizedNameColumn, YesNoColumn
from planning.models import (
    BOMVersion,
    Equipment,
    Item,
    Line,
    ProductionOrder,
    Routing,
    ShiftCalendar,
    Site,
    WorkCenter,
    WorkOrder,
    Workshop,
)
from planning.selectors import plain_quantity

# Where each record's own page is; records without one link to the page that shows them.
DETAIL_URLS = {
    Site: "planning:site_detail",
    Workshop: "planning:workshop_detail",
    Line: "planning:line_detail",
    WorkCenter: "planning:work_center_detail",
    Equipment: "planning:equipment_detail",
    ShiftCalendar: "planning:calendar_detail",
    Item: "planning:item_detail",
    BOMVersion: "planning:bom_detail",
    Routing: "planning:routing_detail",
    ProductionOrder: "planning:order_detail",
    WorkOrder: "planning:work_order_detail",
}


def detail_url(obj) -> str | None:
    name = DETAIL_URLS.get(type(obj))
    return reverse(name, args=[obj.pk]) if name and obj is not None else None


def linked(accessor: str | None = None):
    """linkify callable: the record (or the related record at `accessor`) to its page."""
    def link(record):
        target = record
        for part in (accessor.split("__") if accessor else ()):
            target = getattr(target, part, None)
        return detail_url(target) if target is not None else None
    return link


class StatusColumn(tables.Column):
    """A status as a coloured badge (CSS classes status-<value> in planning.css).

    django-tables2 hands render() the choice's label; the class needs the stored value.
    """

    css_prefix = "status"

    def render(self, value, record, bound_column):
        raw = getattr(record, bound_column.accessor)
        return format_html('<span class="badge {}-{}">{}</span>', self.css_prefix, raw, value)

    def value(self, value, **kwargs):
        return value


class PriorityColumn(StatusColumn):
    css_prefix = "prio"


class QuantityColumn(tables.Column):
    def render(self, value):
        return plain_quantity(value)

    def value(self, value):
        return value


class CodedNamedTable(BaseTable):
    code = tables.Column(linkify=linked())
    name = tables.Column(verbose_name=_("Name"))
    active = YesNoColumn()


class SiteTable(CodedNamedTable):
    workshop_count = tables.Column(verbose_name=_("Workshops"))

    class Meta(BaseTable.Meta):
        model = Site
        fields = ("code", "name", "name_en", "workshop_count", "active")


class WorkshopTable(CodedNamedTable):
    site = tables.Column(linkify=linked("site"), order_by=("site__code",))
    line_count = tables.Column(verbose_name=_("Lines"))

    class Meta(BaseTable.Meta):
        model = Workshop
        fields = ("code", "name", "name_en", "site", "line_count", "active")


class LineTable(CodedNamedTable):
    workshop = tables.Column(linkify=linked("workshop"), order_by=("workshop__code",))
    work_center_count = tables.Column(verbose_name=_("Work centers"))

    class Meta(BaseTable.Meta):
        model = Line
        fields = ("code", "name", "name_en", "workshop", "work_center_count", "active")


class WorkCenterTable(CodedNamedTable):
    # No English column beside it: the name in the language of the page.
    name = LocalizedNameColumn(verbose_name=_("Name"))
    line = tables.Column(linkify=linked("line"), order_by=("line__code",))
    calendar = tables.Column(linkify=linked("calendar"), order_by=("calendar__code",))
    operator_count = tables.Column(verbose_name=_("Operators"))
    equipment_count = tables.Column(verbose_name=_("Equipment"))

    class Meta(BaseTable.Meta):
        model = WorkCenter
        fields = ("code", "name", "line", "machines", "cost_center", "lead", "calendar",
                  "operator_count", "equipment_count", "active")


class EquipmentTable(CodedNamedTable):
    work_center = tables.Column(linkify=linked("work_center"), order_by=("work_center__code",))

    class Meta(BaseTable.Meta):
        model = Equipment
        fields = ("code", "name", "name_en", "work_center", "model_no", "active")


class ShiftCalendarTable(CodedNamedTable):
    shift_count = tables.Column(verbose_name=_("Shifts per week"))
    holiday_count = tables.Column(verbose_name=_("Holidays"))
    work_center_count = tables.Column(verbose_name=_("Work centers"))

    class Meta(BaseTable.Meta):
        model = ShiftCalendar
        fields = ("code", "name", "name_en", "shift_count", "holiday_count",
                  "work_center_count", "active")


class ItemTable(CodedNamedTable):
    kind = StatusColumn(verbose_name=_("Made or bought"))
    discrete = YesNoColumn()
    bom_count = tables.Column(verbose_name=_("BOM versions"))
    has_routing = YesNoColumn(verbose_name=_("Routing"))
    used_in_count = tables.Column(verbose_name=_("Used in"))

    class Meta(BaseTable.Meta):
        model = Item
        fields = ("code", "name", "name_en", "kind", "uom", "discrete", "bom_count",
                  "has_routing", "used_in_count", "active")


class ProductionOrderTable(BaseTable):
    number = tables.Column(linkify=linked())
    item = tables.Column(linkify=linked("item"), order_by=("item__code",))
    quantity = QuantityColumn()
    due = LocalDateTimeColumn()
    priority = PriorityColumn()
    status = StatusColumn()
    work_order_count = tables.Column(verbose_name=_("Work orders"))
    created_at = LocalDateTimeColumn()

    class Meta(BaseTable.Meta):
        model = ProductionOrder
        fields = ("number", "item", "quantity", "due", "priority", "customer", "sales_order_ref",
                  "status", "work_order_count", "created_at")
