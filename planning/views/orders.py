from django.utils.translation import gettext_lazy as _

from mes.generic import ObjectListView
from planning.models import ProductionOrder
from planning.tables import ProductionOrderTable


class ProductionOrderListView(ObjectListView):
    capability = "view_planning"
    queryset = ProductionOrder.objects.select_related("item")
    table_class = ProductionOrderTable
    filterset_fields = ["status", "priority"]
    title = _("Production orders")
    export_basename = "production-orders"
