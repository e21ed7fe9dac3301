"""/api/: every resource, the ERP and B2MML exchange, the OpenAPI schema and its docs page.

Routes are listed here, in one place. Work orders and tasks are served by the highest app that
adds actions to them (quality: accept/reject; execution: start/report/complete); alerts and
KPI values by dashboards, the top app.
"""

from django.urls import include, path
from rest_framework.routers import APIRootView, DefaultRouter

from dashboards.api import views as dashboards
from execution.api import views as execution
from mes.api import docs
from mes.api.base import ApiMixin
from planning.api import urls as planning_urls
from planning.api import views as planning
from quality.api import erp as quality_erp
from quality.api import views as quality

app_name = "api"


class ApiRootView(ApiMixin, APIRootView):
    access = {"read": ((), None)}
    schema = None  # a list of links, not part of the OpenAPI document


class Router(DefaultRouter):
    APIRootView = ApiRootView
    include_format_suffixes = False


router = Router()
router.register("items", planning.ItemViewSet, basename="item")
router.register("bom-versions", planning.BOMVersionViewSet, basename="bom-version")
router.register("bom-lines", planning.BOMLineViewSet, basename="bom-line")
router.register("routings", planning.RoutingViewSet, basename="routing")
router.register("routing-steps", planning.RoutingStepViewSet, basename="routing-step")
router.register("production-orders", planning.ProductionOrderViewSet,
                basename="production-order")
router.register("work-orders", quality.WorkOrderViewSet, basename="work-order")
router.register("tasks", execution.TaskViewSet, basename="task")
router.register("work-reports", execution.WorkReportViewSet, basename="work-report")
router.register("equipment", execution.EquipmentViewSet, basename="equipment")
router.register("downtime", execution.DowntimeViewSet, basename="downtime")
router.register("material-issues", execution.MaterialIssueViewSet, basename="material-issue")
router.register("inspections", quality.InspectionViewSet, basename="inspection")
router.register("nonconformances", quality.NonconformanceViewSet, basename="nonconformance")
router.register("alerts", dashboards.AlertViewSet, basename="alert")

urlpatterns = [
    path("schema/", docs.SchemaView.as_view(), name="schema"),
    path("docs/", docs.docs_page, name="docs"),
    path("kpis/", dashboards.KpiView.as_view(), name="kpis"),
    path("erp/feed/", quality_erp.ErpFeedView.as_view(), name="erp-feed"),
    path("b2mml/operations-performance/", quality_erp.OperationsPerformanceView.as_view(),
         name="b2mml-operations-performance"),
    *planning_urls.urlpatterns,
    path("manage/", include("mes.api.pages")),
    path("", include(router.urls)),
]
