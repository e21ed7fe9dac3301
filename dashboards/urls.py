from django.urls import path

from dashboards import views_board, views_kpi, views_orders, views_report
from mes.views import app_index

app_name = "dashboards"

urlpatterns = [
    path("", app_index, {"app_label": "dashboards"}, name="index"),  # the address typed by hand
    path("board/", views_board.BoardView.as_view(), name="board"),
    path("board/_grid", views_board.BoardGridView.as_view(), name="board_grid"),
    path("orders/", views_orders.OrderProgressView.as_view(), name="order_progress"),
    path("kpis/", views_kpi.KpiIndexView.as_view(), name="kpi_index"),
    path("kpis/targets/", views_kpi.KpiTargetsView.as_view(), name="kpi_targets"),
    path("kpis/report/", views_report.MonthlyReportView.as_view(), name="kpi_report"),
    path("kpis/<slug:key>/", views_kpi.KpiDetailView.as_view(), name="kpi_detail"),
    path("kpis/<slug:key>/records/<slug:part>/", views_kpi.KpiRecordsView.as_view(),
         name="kpi_records"),
]
