from django.utils.translation import gettext_lazy as _

from mes.generic import ObjectListView
from planning.models import Item, WorkCenter
from planning.tables import ItemTable, WorkCenterTable


class WorkCenterListView(ObjectListView):
    capability = "view_planning"
    queryset = WorkCenter.objects.select_related("line", "lead")
    table_class = WorkCenterTable
    filterset_fields = ["line", "active"]
    title = _("Work centers")
    export_basename = "work-centers"


class ItemListView(ObjectListView):
    capability = "view_planning"
    queryset = Item.objects.all()
    table_class = ItemTable
    filterset_fields = ["kind", "active"]
    title = _("Items")
    export_basename = "items"
