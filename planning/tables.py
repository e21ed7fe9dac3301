import django_tables2 as tables

from mes.tables import BaseTable
from planning.models import Item, ProductionOrder, WorkCenter


class WorkCenterTable(BaseTable):
    code = tables.Column()

    class Meta(BaseTable.Meta):
        model = WorkCenter
        fields = ("code", "name", "name_en", "line", "machines", "cost_center", "lead", "active")


class ItemTable(BaseTable):
    class Meta(BaseTable.Meta):
        model = Item
        fields = ("code", "name", "name_en", "kind", "uom", "active")


class ProductionOrderTable(BaseTable):
    class Meta(BaseTable.Meta):
        model = ProductionOrder
        fields = ("number", "item", "quantity", "due", "priority", "customer", "status")
