"""Execution serializers. Devices name things by code (work center, equipment, reasons) and
send a client token per submission: the same token never counts twice."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from execution.models import (
    DowntimeEvent,
    DowntimeReason,
    EquipmentState,
    EquipmentStateChange,
    MaterialConsumption,
    ScrapReason,
    WorkReport,
)
from mes.api import fields
from planning.api.serializers import TaskSerializer, code_field
from planning.models import Equipment, WorkCenter


@extend_schema_field({"oneOf": [{"type": "string", "example": "12.5"}, {"type": "number"}]})
class QuantityField(serializers.Field):
    """A quantity as a station reads one: decimal text ("12", "0.25") or a JSON number, checked
    by the service with the station's own rules and words (execution.services.quantities:
    "1e3" or "1,5" is no number, a fraction of a discrete item is refused, at most four
    decimals): the same input is refused the same way, 422, naming the field."""

    default_error_messages = {"invalid": "Send the quantity as decimal text or a number."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, str | int | float):
            self.fail("invalid")
        return data[:40] if isinstance(data, str) else data

    def to_representation(self, value):
        return str(value)
RETRY_DOC = ("A fresh random string per submission (≤ 64 chars); resending the same "
                    "token returns the first result and changes nothing.")


class StationInputSerializer(serializers.Serializer):
    client_token = serializers.CharField(max_length=64, help_text=RETRY_DOC)
    operator_badge = serializers.CharField(
        max_length=64, required=False, allow_blank=True,
        help_text="The operator's badge code; default: the API user.")
    work_center = code_field(WorkCenter.objects.filter(active=True), required=False,
                             help_text="Station code; default: the task's work center.")


class TaskActionSerializer(StationInputSerializer):
    at = fields.DateTimeField(required=False, help_text="When it happened; default now.")


class TaskCompleteSerializer(TaskActionSerializer):
    short_reason = serializers.CharField(
        required=False, allow_blank=True, max_length=200,
        help_text="Required when units the task was given are not reported (neither good nor "
                  "scrap): why it completes short. Without it such a completion is refused "
                  "(422, code short_reason_missing, naming how many units). A rework task "
                  "never completes short (422, code rework_short): report its units as good "
                  "or scrap.")


class TaskActionResultSerializer(serializers.Serializer):
    created = serializers.BooleanField(help_text="False: this token had been recorded before.")
    task = TaskSerializer()


class WorkReportSerializer(serializers.ModelSerializer):
    work_order = serializers.CharField(source="task.work_order.number", read_only=True)
    operation = serializers.IntegerField(source="task.seq", read_only=True)
    operator = serializers.CharField(source="operator.username", read_only=True)
    work_center = serializers.CharField(source="work_center.code", read_only=True)
    equipment = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    scrap_reason = serializers.SlugRelatedField(slug_field="code", read_only=True,
                                                allow_null=True)

    class Meta:
        model = WorkReport
        fields = ["id", "task", "work_order", "operation", "operator", "work_center",
                  "equipment", "good", "scrap", "scrap_reason", "work_start", "work_end",
                  "reported_at", "late", "note", "client_token"]
        read_only_fields = fields


class WorkReportCreateSerializer(StationInputSerializer):
    task = serializers.IntegerField(required=False, min_value=1, help_text="Task id, or:")
    scan = serializers.CharField(max_length=200, required=False,
                                 help_text="The task's traveler QR code (MES:T:…).")
    good = QuantityField(default="0")
    scrap = QuantityField(default="0")
    scrap_reason = code_field(ScrapReason.objects.all(), required=False, allow_null=True)
    equipment = code_field(Equipment.objects.all(), required=False, allow_null=True)
    work_start = fields.DateTimeField(required=False)
    work_end = fields.DateTimeField(required=False)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True)


class WorkReportResultSerializer(serializers.Serializer):
    created = serializers.BooleanField()
    task_completed = serializers.BooleanField()
    report = WorkReportSerializer()
    task = TaskSerializer()


class EquipmentSerializer(serializers.ModelSerializer):
    work_center = serializers.CharField(source="work_center.code", read_only=True)
    state = serializers.SerializerMethodField()
    reason = serializers.SerializerMethodField()
    since = serializers.SerializerMethodField()

    class Meta:
        model = Equipment
        fields = ["id", "code", "name", "name_en", "active", "work_center", "model_no",
                  "state", "reason", "since"]
        read_only_fields = fields

    def _state(self, eq):
        try:
            return eq.state
        except EquipmentState.DoesNotExist:
            return None

    def get_state(self, eq) -> str | None:
        state = self._state(eq)
        return state.state if state else None

    def get_reason(self, eq) -> str | None:
        state = self._state(eq)
        return state.reason.code if state and state.reason else None

    def get_since(self, eq) -> str | None:
        state = self._state(eq)
        return serializers.DateTimeField().to_representation(state.since) if state else None


class EquipmentStateInputSerializer(serializers.Serializer):
    client_token = serializers.CharField(max_length=64, help_text=RETRY_DOC)
    state = serializers.ChoiceField(choices=EquipmentState.State.choices)
    reason = code_field(DowntimeReason.objects.all(), required=False, allow_null=True,
                        help_text="Downtime reason code (needed for down).")
    note = serializers.CharField(max_length=200, required=False, allow_blank=True)
    at = fields.DateTimeField(required=False, help_text="When it changed; default now.")


class EquipmentStateChangeSerializer(serializers.ModelSerializer):
    equipment = serializers.CharField(source="equipment.code", read_only=True)
    reason = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = EquipmentStateChange
        fields = ["id", "equipment", "state", "previous", "reason", "at", "by",
                  "client_token"]
        read_only_fields = fields


class EquipmentStateResultSerializer(serializers.Serializer):
    created = serializers.BooleanField()
    change = EquipmentStateChangeSerializer(allow_null=True)
    equipment = EquipmentSerializer()


class DowntimeSerializer(serializers.ModelSerializer):
    equipment = serializers.CharField(source="equipment.code", read_only=True)
    reason = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = DowntimeEvent
        fields = ["id", "equipment", "reason", "start", "end", "planned", "note"]
        read_only_fields = fields


class MaterialIssueInputSerializer(StationInputSerializer):
    task = serializers.IntegerField(min_value=1)
    item_code = serializers.CharField(max_length=40)
    lot_code = serializers.CharField(max_length=80)
    quantity = QuantityField()


class MaterialConsumptionSerializer(serializers.ModelSerializer):
    work_order = serializers.CharField(source="work_order.number", read_only=True)
    item = serializers.CharField(source="item.code", read_only=True)
    operator = serializers.CharField(source="operator.username", read_only=True)

    class Meta:
        model = MaterialConsumption
        fields = ["id", "work_order", "task", "item", "lot_code", "quantity", "operator", "at",
                  "client_token"]
        read_only_fields = fields


class MaterialIssueResultSerializer(serializers.Serializer):
    created = serializers.BooleanField()
    consumption = MaterialConsumptionSerializer()
