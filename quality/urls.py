from django.urls import path

from mes.views import app_index
from quality.views import (
    acceptance,
    archive,
    inspections,
    nonconformance,
    plans,
    stats,
    trace,
)

app_name = "quality"

urlpatterns = [
    path("", app_index, {"app_label": "quality"}, name="index"),  # the address typed by hand
    # --- QC queue and recording (quality/views/inspections.py) --------------------------------
    path("queue/", inspections.QCQueueView.as_view(), name="qc_queue"),
    path("inspections/", inspections.InspectionListView.as_view(), name="inspection_list"),
    path("inspections/<int:pk>/", inspections.inspection_detail, name="inspection_detail"),
    path("inspections/<int:pk>/record/", inspections.record, name="record"),
    path("results/<int:pk>/photo/", inspections.result_photo, name="result_photo"),
    # --- nonconformance and disposition (quality/views/nonconformance.py) ---------------------
    path("nonconformances/", nonconformance.NonconformanceListView.as_view(), name="nc_list"),
    path("nonconformances/<int:pk>/", nonconformance.nc_detail, name="nc_detail"),
    path("nonconformances/<int:pk>/disposition/", nonconformance.nc_disposition,
         name="nc_disposition"),
    # --- acceptance (quality/views/acceptance.py) ---------------------------------------------
    path("acceptance/", acceptance.AcceptanceQueueView.as_view(), name="acceptance_queue"),
    path("acceptance/<int:pk>/", acceptance.acceptance, name="acceptance"),
    path("acceptance/<int:pk>/accept/", acceptance.accept, name="accept"),
    path("acceptance/<int:pk>/reject/", acceptance.reject, name="reject"),
    # --- archive (quality/views/archive.py) ---------------------------------------------------
    path("archive/", archive.ArchiveListView.as_view(), name="archive_list"),
    path("archive/<int:pk>/", archive.archive_detail, name="archive_detail"),
    path("archive/<int:pk>/record.json", archive.archive_json, name="archive_json"),
    path("archive/<int:pk>/record.xlsx", archive.archive_xlsx, name="archive_xlsx"),
    path("archive/<int:pk>/reopen/", archive.archive_reopen, name="archive_reopen"),
    path("archive/work-order/<int:pk>/", archive.archive_of_work_order,
         name="archive_of_work_order"),
    # --- traceability (quality/views/trace.py) ------------------------------------------------
    path("trace/", trace.trace, name="trace"),
    path("trace/work-order/<int:pk>/", trace.trace_work_order, name="trace_work_order"),
    path("trace/lot/", trace.trace_lot, name="trace_lot"),
    # --- statistics (quality/views/stats.py) --------------------------------------------------
    path("stats/", stats.stats, name="stats"),
    # --- inspection plans and defect codes (quality/views/plans.py) ---------------------------
    path("plans/", plans.PlanListView.as_view(), name="plan_list"),
    path("plans/add/", plans.plan_form, name="plan_add"),
    path("plans/<int:pk>/", plans.plan_detail, name="plan_detail"),
    path("plans/<int:pk>/edit/", plans.plan_form, name="plan_edit"),
    path("plans/<int:plan_pk>/characteristics/add/", plans.characteristic_add,
         name="characteristic_add"),
    path("characteristics/<int:pk>/", plans.characteristic_row, name="characteristic_row"),
    path("characteristics/<int:pk>/edit/", plans.characteristic_edit,
         name="characteristic_edit"),
    path("characteristics/<int:pk>/delete/", plans.CharacteristicDeleteView.as_view(),
         name="characteristic_delete"),
    path("defect-codes/", plans.DefectCodeListView.as_view(), name="defect_list"),
    path("defect-codes/add/", plans.defect_form, name="defect_add"),
    path("defect-codes/<int:pk>/edit/", plans.defect_form, name="defect_edit"),
]
