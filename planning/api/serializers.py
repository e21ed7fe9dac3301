"""Planning serializers. Records are named by their codes/numbers (what an ERP knows), ids are
given too. Write serializers only parse and type-check; the services decide."""

from decimal import Decimal

from django.utils.translation import gettext as _
from rest_framework import serializers

from mes.api import fields
from planning import selectors
from planning.models import (
    BOMLine,
    BOMVersion,
    Item,
    Priority,
    ProductionOrder,
    Routing,
    RoutingStep,
    Task,
    WorkCenter,
    WorkOrder,
)


def code_field(queryset, **kwargs):
    return fields.CodeRelatedField(slug_field="code", queryset=queryset, **kwargs)


def code_ref(source, **kwargs):
    return serializers.CharField(source=source, read_only=True, **kwargs)


CODED = ["id", "code", "name", "name_en", "active"]


class ItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = Item
        fields = [*CODED, "kind", "uom", "discrete", "description"]


class BOMLineSerializer(serializers.ModelSerializer):
    child = code_field(Item.objects.all())
    quantity_per = serializers.DecimalField(max_digits=14, decimal_places=4,
                                            min_value=Decimal("0.0001"))
    bom = fields.IdRelatedField(queryset=BOMVersion.objects.all())

    class Meta:
        model = BOMLine
        fields = ["id", "bom", "position", "child", "quantity_per", "scrap_pct", "optional",
                  "operation_seq"]

    def validate(self, data):
        # The same checks as the BOM line form: no cycles, a step the routing has.
        bom = data.get("bom") or self.instance.bom
        child = data.get("child") or (self.instance.child if self.instance else None)
        if child is not None:
            cycle = selectors.bom_cycle_path(bom.item_id, child.pk)
            if cycle:
                raise serializers.ValidationError({"child": _(
                    "This line would make a BOM cycle: %(path)s.") % {
                        "path": " → ".join(cycle)}}, code="cycle")
        seq = data.get("operation_seq")
        if seq is not None:
            steps = set(RoutingStep.objects.filter(routing__item_id=bom.item_id,
                                                   routing__active=True)
                        .values_list("seq", flat=True))
            if steps and seq not in steps:
                raise serializers.ValidationError({"operation_seq": _(
                    "The active routing has no step %(seq)s.") % {"seq": seq}}, code="step")
        return data


class BOMVersionSerializer(serializers.ModelSerializer):
    item = code_field(Item.objects.all())
    lines = BOMLineSerializer(many=True, read_only=True)

    class Meta:
        model = BOMVersion
        fields = ["id", "item", "version", "effective_from", "effective_to", "active", "note",
                  "lines"]
        validators = []  # (item, version) uniqueness is the model's: full_clean names it


class RoutingStepSerializer(serializers.ModelSerializer):
    routing = fields.IdRelatedField(queryset=Routing.objects.all())
    work_center = code_field(WorkCenter.objects.all())

    class Meta:
        model = RoutingStep
        fields = ["id", "routing", "seq", "name", "work_center", "setup_minutes",
                  "run_minutes_per_unit", "is_qc_checkpoint", "inspection_plan_code",
                  "wait_for_qc"]
        validators = []


class RoutingSerializer(serializers.ModelSerializer):
    item = code_field(Item.objects.all())
    steps = RoutingStepSerializer(many=True, read_only=True)

    class Meta:
        model = Routing
        fields = ["id", "item", "version", "active", "note", "steps"]
        validators = []


class ProductionOrderSerializer(serializers.ModelSerializer):
    item = code_ref("item.code")
    work_orders = serializers.IntegerField(source="n_work_orders", read_only=True)

    class Meta:
        model = ProductionOrder
        fields = ["id", "number", "item", "quantity", "due", "release_date", "priority",
                  "customer", "sales_order_ref", "erp_ref", "notes", "status", "created_at",
                  "exploded_at", "work_orders"]
        read_only_fields = fields


class ProductionOrderWriteSerializer(serializers.Serializer):
    """Fields a planner may set; on update only the ones sent change."""

    number = serializers.CharField(max_length=40, required=False,
                                   help_text="Empty: the next PO<date>-NNNN number.")
    item = code_field(Item.objects.all())
    quantity = serializers.DecimalField(max_digits=14, decimal_places=4)
    due = fields.DateTimeField()
    release_date = fields.DateTimeField(required=False, allow_null=True)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    customer = serializers.CharField(max_length=120, required=False, allow_blank=True)
    sales_order_ref = serializers.CharField(max_length=60, required=False, allow_blank=True)
    notes = serializers.CharField(max_length=4000, required=False, allow_blank=True)
    erp_ref = serializers.CharField(max_length=80, required=False, allow_null=True,
                                    allow_blank=True)
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True,
                                   write_only=True, help_text="Kept in the audit log.")


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True)


class RequiredReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class ExplosionSerializer(serializers.Serializer):
    work_orders = serializers.IntegerField()
    tasks = serializers.IntegerField()
    levels = serializers.IntegerField()


class RefusedSerializer(serializers.Serializer):
    work_order = serializers.CharField()
    problems = serializers.ListField(child=serializers.CharField())


class ReleaseSerializer(serializers.Serializer):
    released = serializers.ListField(child=serializers.CharField())
    refused = RefusedSerializer(many=True)


class WorkOrderSerializer(serializers.ModelSerializer):
    production_order = code_ref("production_order.number")
    parent = serializers.SlugRelatedField(slug_field="number", read_only=True, allow_null=True)
    item = code_ref("item.code")
    line = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = WorkOrder
        fields = ["id", "number", "production_order", "parent", "level", "item", "quantity",
                  "status", "due", "priority", "line", "planned_start", "planned_end",
                  "actual_start", "actual_end", "released_at"]
        read_only_fields = fields


class TaskSerializer(serializers.ModelSerializer):
    work_order = code_ref("work_order.number")
    work_center = code_ref("work_center.code")

    class Meta:
        model = Task
        fields = ["id", "work_order", "seq", "name", "kind", "origin", "work_center",
                  "quantity", "qty_good", "qty_scrap", "qty_rework", "qty_qc_accepted",
                  "status", "is_qc_checkpoint", "wait_for_qc", "planned_start", "planned_end",
                  "actual_start", "actual_end"]
        read_only_fields = fields


class WorkOrderReleaseSerializer(serializers.Serializer):
    work_orders = serializers.ListField(child=serializers.CharField(max_length=60),
                                        min_length=1, max_length=1000,
                                        help_text="Work order numbers.")
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True)
