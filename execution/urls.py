from django.urls import path

from execution.views import actions, downtime, refusals, station
from mes.views import app_index

app_name = "execution"

urlpatterns = [
    path("", app_index, {"app_label": "execution"}, name="index"),  # the address typed by hand
    # --- stations (execution/views/station.py, actions.py) ------------------------------------
    path("stations/", station.StationListView.as_view(), name="station_list"),
    path("stations/<str:code>/", station.StationPageView.as_view(), name="station"),
    path("stations/<str:code>/dispatch/", station.DispatchPartialView.as_view(),
         name="station_dispatch"),
    path("stations/<str:code>/task-panel/", station.TaskPanelPartialView.as_view(),
         name="station_task_panel"),
    path("stations/<str:code>/equipment/", station.EquipmentPanelView.as_view(),
         name="station_equipment"),
    path("stations/<str:code>/scan/", station.ScanView.as_view(), name="station_scan"),
    path("stations/<str:code>/operator/clear/", station.OperatorClearView.as_view(),
         name="station_operator_clear"),
    path("stations/<str:code>/task/<str:action>/", actions.TaskActionView.as_view(),
         name="station_task_action"),
    path("stations/<str:code>/report/", actions.ReportView.as_view(), name="station_report"),
    path("stations/<str:code>/material/", actions.MaterialIssueView.as_view(),
         name="station_material"),
    path("stations/<str:code>/equipment/state/", actions.EquipmentStateView.as_view(),
         name="station_equipment_state"),
    # --- refused scans, for leads (execution/views/refusals.py) -------------------------------
    path("refused-scans/", refusals.ScanRefusalListView.as_view(), name="refusal_list"),
    # --- recorded stops, corrected by leads (execution/views/downtime.py) ---------------------
    path("downtime/", downtime.DowntimeListView.as_view(), name="downtime_list"),
    path("downtime/<int:pk>/", downtime.DowntimeDetailView.as_view(), name="downtime_detail"),
]
