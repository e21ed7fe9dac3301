from django.urls import path

from planning.views import masterdata, orders

app_name = "planning"

urlpatterns = [
    # --- master data: plant, items, BOMs, routings (planning/views/masterdata.py) ---------------
    path("plant/work-centers/", masterdata.WorkCenterListView.as_view(),
         name="work_center_list"),
    path("items/", masterdata.ItemListView.as_view(), name="item_list"),
    # --- production orders, work orders, release (planning/views/orders.py) -------------------
    path("orders/", orders.ProductionOrderListView.as_view(), name="order_list"),
    # --- import / export (planning/views/io.py) -----------------------------------------------
    # --- travelers (planning/views/travelers.py) ----------------------------------------------
]
