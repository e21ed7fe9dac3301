"""Execution API: the station's actions for devices and integrations, through the same
services as the station pages (execution.services), with the same client tokens. A refusal is
answered with the station's reason and kept for the lead (ScanRefusal), like at a station."""

import django_filters as filters
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError

from execution.api import serializers as s
from execution.models import (
    DowntimeEvent,
    EquipmentState,
    EquipmentStateChange,
    MaterialConsumption,
    WorkReport,
)
from execution.services import reporting
from execution.services.equipment import equipment_set_state
from execution.services.materials import material_issue
from execution.services.refusals import refusal_reason
from mes.api.base import ApiViewSet, created_or_repeated
from mes.api.fields import IsoDateTimeFilter
from planning.api import views as planning_views
from planning.api.serializers import TaskSerializer
from planning.models import Equipment, Task
from planning.travelers import TASK, scan_resolve

REPORT = (("execution:report", "devices"), "report_work")
READ = (("execution:read", "execution:report", "devices"), "view_execution")
# Station refusals name no field; the API names the input they are about.
REFUSAL_FIELDS = {
    "no_badge": "operator_badge", "unknown_badge": "operator_badge",
    "inactive_badge": "operator_badge", "not_assigned": "operator_badge",
    "wrong_station": "work_center", "bad_token": "client_token", "too_many": "good",
    "nothing_to_report": "good", "wrong_equipment": "equipment", "unknown_task": "task",
    "empty": "scan", "malformed": "scan", "unknown": "scan", "wrong_kind": "scan",
}


class StationMixin:
    """Resolve who works where, and keep refusals for the lead once the request rolled back."""

    error_fields = REFUSAL_FIELDS
    refusal = None

    def station_context(self, request, data, task, action_name):
        work_center = data.get("work_center") or task.work_center
        badge = (data.get("operator_badge") or "").strip()
        self.refusal = {"work_center": work_center, "operator": request.user,
                        "action": f"api:{action_name}",
                        "payload": f"task={task.pk} " + " ".join(
                            f"{k}={v}" for k, v in data.items()
                            if k in ("good", "scrap", "item_code", "lot_code", "quantity"))}
        operator = reporting.operator_by_badge(badge) if badge else request.user
        self.refusal["operator"] = operator
        return operator, work_center

    def handle_exception(self, exc):
        if not isinstance(exc, reporting.StationRefusal):
            self.refusal = None
        elif self.refusal is not None:
            self.refusal["reason"], self.refusal["reason_key"] = refusal_reason(exc,
                                                                                named=False)
        return super().handle_exception(exc)

    def after_commit(self, request, response):
        if self.refusal and "reason" in self.refusal and response.status_code >= 400:
            reporting.scan_refusal_log(**self.refusal)


def validated(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class TaskViewSet(StationMixin, planning_views.TaskViewSet):
    """Tasks, and the station actions on them (start, pause, resume, complete)."""

    access = {**planning_views.TaskViewSet.access, "start": REPORT, "pause": REPORT,
              "resume": REPORT, "complete": REPORT}

    def _act(self, request, service, name, serializer=s.TaskActionSerializer, passed=()):
        """Run a station action; `passed`: fields of the serializer given to the service."""
        data = validated(serializer, request.data)
        task = self.get_object()
        operator, work_center = self.station_context(request, data, task, name)
        extra = {k: data[k] for k in passed if k in data}
        result = service(operator=operator, task=task, work_center=work_center,
                         client_token=data["client_token"], at=data.get("at"), **extra)
        task = self.get_queryset().get(pk=result.task.pk)
        return created_or_repeated({"created": result.created,
                                    "task": TaskSerializer(task).data}, result.created)

    @extend_schema(request=s.TaskActionSerializer,
                   responses={200: s.TaskActionResultSerializer,
                              201: s.TaskActionResultSerializer})
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        return self._act(request, reporting.task_start, "start")

    @extend_schema(request=s.TaskActionSerializer,
                   responses={200: s.TaskActionResultSerializer,
                              201: s.TaskActionResultSerializer})
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        return self._act(request, reporting.task_pause, "pause")

    @extend_schema(request=s.TaskActionSerializer,
                   responses={200: s.TaskActionResultSerializer,
                              201: s.TaskActionResultSerializer})
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        return self._act(request, reporting.task_resume, "resume")

    @extend_schema(request=s.TaskCompleteSerializer,
                   responses={200: s.TaskActionResultSerializer,
                              201: s.TaskActionResultSerializer})
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        return self._act(request, reporting.task_complete, "complete",
                         s.TaskCompleteSerializer, passed=("short_reason",))


class WorkReportFilter(filters.FilterSet):
    work_order = filters.CharFilter(field_name="task__work_order__number")
    work_center = filters.CharFilter(field_name="work_center__code")
    since = IsoDateTimeFilter(field_name="reported_at", lookup_expr="gte")

    class Meta:
        model = WorkReport
        fields = ["task", "work_order", "work_center", "since", "late"]


class WorkReportViewSet(StationMixin, ApiViewSet):
    """Work reports (报工): list them, or report good and scrap on a task."""

    queryset = (WorkReport.objects.select_related("task", "task__work_order", "operator",
                                                  "work_center", "equipment", "scrap_reason")
                .order_by("-id"))
    serializer_class = s.WorkReportSerializer
    filterset_class = WorkReportFilter
    access = {"read": READ, "create": REPORT}

    @extend_schema(request=s.WorkReportCreateSerializer,
                   responses={200: s.WorkReportResultSerializer,
                              201: s.WorkReportResultSerializer})
    def create(self, request, *args, **kwargs):
        data = validated(s.WorkReportCreateSerializer, request.data)
        task = self._task(data)
        operator, work_center = self.station_context(request, data, task, "report")
        result = reporting.task_report_quantity(
            operator=operator, task=task, work_center=work_center,
            client_token=data["client_token"], good=data["good"], scrap=data["scrap"],
            scrap_reason=data.get("scrap_reason"), work_start=data.get("work_start"),
            work_end=data.get("work_end"), equipment=data.get("equipment"),
            note=data.get("note", ""))
        report = self.get_queryset().get(pk=result.report.pk)
        task = Task.objects.select_related("work_order", "work_center").get(pk=report.task_id)
        return created_or_repeated({
            "created": result.created, "task_completed": result.task_completed,
            "report": s.WorkReportSerializer(report).data,
            "task": TaskSerializer(task).data}, result.created)

    def _task(self, data) -> Task:
        if data.get("scan"):
            return scan_resolve(data["scan"], kinds={TASK}).task
        if not data.get("task"):
            raise ValidationError({"task": [_("Give the task id or its scanned code.")]},
                                  code="required")
        task = Task.objects.select_related("work_center").filter(pk=data["task"]).first()
        if task is None:
            raise ValidationError({"task": [_("No task has this id.")]}, code="unknown")
        return task


class EquipmentFilter(filters.FilterSet):
    work_center = filters.CharFilter(field_name="work_center__code")
    state = filters.CharFilter(field_name="state__state")

    class Meta:
        model = Equipment
        fields = ["work_center", "state", "active"]


class EquipmentViewSet(ApiViewSet):
    """Equipment with its current state; devices post state changes by equipment code."""

    queryset = (Equipment.objects.select_related("work_center", "state", "state__reason")
                .order_by("code"))
    serializer_class = s.EquipmentSerializer
    filterset_class = EquipmentFilter
    lookup_field = "code"
    lookup_value_regex = "[^/]+"
    access = {"read": READ, "state": (("devices", "execution:report"), "report_work")}

    @extend_schema(request=s.EquipmentStateInputSerializer,
                   responses={200: s.EquipmentStateResultSerializer,
                              201: s.EquipmentStateResultSerializer})
    @action(detail=True, methods=["post"])
    def state(self, request, code=None):
        """Set the equipment's state; `down` opens a downtime (needs a reason)."""
        data = validated(s.EquipmentStateInputSerializer, request.data)
        equipment = self.get_object()
        token = data["client_token"].strip()
        try:
            with transaction.atomic():
                # Requests for one machine queue here, so a retry racing its original sees
                # the original's row and is answered as a repeat.
                EquipmentState.objects.select_for_update().filter(equipment=equipment).first()
                change = EquipmentStateChange.objects.filter(client_token=token).first()
                created = False
                if change is None:
                    equipment_set_state(actor=request.user, equipment=equipment,
                                        state=data["state"], reason=data.get("reason"),
                                        note=data.get("note", ""), at=data.get("at"),
                                        client_token=token)
                    # No row: the machine was already in that state; nothing was recorded.
                    change = EquipmentStateChange.objects.filter(client_token=token).first()
                    created = change is not None
        except IntegrityError:  # the first state row of a machine, made twice at once
            change, created = EquipmentStateChange.objects.filter(client_token=token).first(), False
        if change is not None and change.equipment_id != equipment.pk:
            raise ValidationError({"client_token": [_("This token was used for %(eq)s.") % {
                "eq": change.equipment.code}]}, code="token_reused")
        equipment = self.get_queryset().get(pk=equipment.pk)
        return created_or_repeated({"created": created,
                                    "change": s.EquipmentStateChangeSerializer(change).data
                                    if change else None,
                                    "equipment": s.EquipmentSerializer(equipment).data},
                                   created)


class DowntimeFilter(filters.FilterSet):
    equipment = filters.CharFilter(field_name="equipment__code")
    open = filters.BooleanFilter(field_name="end", lookup_expr="isnull")
    since = IsoDateTimeFilter(field_name="start", lookup_expr="gte")

    class Meta:
        model = DowntimeEvent
        fields = ["equipment", "planned", "open", "since"]


class DowntimeViewSet(ApiViewSet):
    queryset = DowntimeEvent.objects.select_related("equipment", "reason").order_by("-id")
    serializer_class = s.DowntimeSerializer
    filterset_class = DowntimeFilter
    access = {"read": READ}


class MaterialIssueViewSet(StationMixin, ApiViewSet):
    """Component lots issued to work orders (traceability); devices scan lots in."""

    queryset = (MaterialConsumption.objects.select_related("work_order", "item", "operator")
                .order_by("-id"))
    serializer_class = s.MaterialConsumptionSerializer
    filterset_fields = ["task", "lot_code"]
    access = {"read": READ, "create": REPORT}

    @extend_schema(request=s.MaterialIssueInputSerializer,
                   responses={200: s.MaterialIssueResultSerializer,
                              201: s.MaterialIssueResultSerializer})
    def create(self, request, *args, **kwargs):
        data = validated(s.MaterialIssueInputSerializer, request.data)
        task = Task.objects.select_related("work_center").filter(pk=data["task"]).first()
        if task is None:
            raise ValidationError({"task": [_("No task has this id.")]}, code="unknown")
        operator, work_center = self.station_context(request, data, task, "material")
        token = data["client_token"].strip()
        seen = MaterialConsumption.objects.filter(client_token=token).exists()
        consumption = material_issue(operator=operator, task=task, work_center=work_center,
                                     item_code=data["item_code"], lot_code=data["lot_code"],
                                     quantity=data["quantity"], client_token=token)
        consumption = self.get_queryset().get(pk=consumption.pk)
        return created_or_repeated({"created": not seen, "consumption":
                                    s.MaterialConsumptionSerializer(consumption).data},
                                   not seen)
