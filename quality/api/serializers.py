"""Quality serializers."""

from decimal import Decimal

from rest_framework import serializers

from mes.api import fields
from planning.models import WorkCenter
from quality.models import Characteristic, DefectCode, Inspection, InspectionResult, Nonconformance
from quality.services.inspections import NOTES_MAX


class CharacteristicSerializer(serializers.ModelSerializer):
    class Meta:
        model = Characteristic
        fields = ["id", "seq", "name", "kind", "nominal", "lower", "upper", "unit",
                  "photo_required"]
        read_only_fields = fields


class InspectionResultSerializer(serializers.ModelSerializer):
    class Meta:
        model = InspectionResult
        fields = ["characteristic", "value", "passed", "note"]
        read_only_fields = fields


class InspectionSerializer(serializers.ModelSerializer):
    work_order = serializers.CharField(source="work_order.number", read_only=True)
    operation = serializers.IntegerField(source="origin_task.seq", read_only=True)
    plan = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    inspector = serializers.SlugRelatedField(slug_field="username", read_only=True,
                                             allow_null=True)
    characteristics = CharacteristicSerializer(source="plan.characteristics", many=True,
                                               read_only=True, allow_null=True)
    results = InspectionResultSerializer(many=True, read_only=True)

    class Meta:
        model = Inspection
        fields = ["id", "work_order", "task", "operation", "plan", "loop", "quantity",
                  "sample_size", "qty_passed", "qty_failed", "status", "created_at",
                  "inspected_at", "inspector", "notes", "characteristics", "results"]
        read_only_fields = fields


class ResultInputSerializer(serializers.Serializer):
    characteristic = serializers.IntegerField(min_value=1)
    value = serializers.DecimalField(max_digits=14, decimal_places=5, required=False,
                                     allow_null=True, help_text="For measured characteristics.")
    passed = serializers.BooleanField(required=False, allow_null=True,
                                      help_text="For pass/fail characteristics.")
    note = serializers.CharField(max_length=200, required=False, allow_blank=True)


class InspectionRecordSerializer(serializers.Serializer):
    results = ResultInputSerializer(many=True, required=False, max_length=200)
    verdict = serializers.ChoiceField(choices=["passed", "failed"], required=False,
                                      help_text="Only for inspections without a plan.")
    qty_failed = serializers.DecimalField(max_digits=14, decimal_places=4, required=False,
                                          allow_null=True, min_value=Decimal(0))
    defect_code = fields.CodeRelatedField(slug_field="code", required=False, allow_null=True,
                                          queryset=DefectCode.objects.filter(active=True))
    notes = serializers.CharField(max_length=NOTES_MAX, required=False, allow_blank=True)


class NonconformanceSerializer(serializers.ModelSerializer):
    work_order = serializers.CharField(source="work_order.number", read_only=True)
    operation = serializers.IntegerField(source="responsible_task.seq", read_only=True)
    defect_code = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Nonconformance
        fields = ["id", "number", "inspection", "work_order", "operation", "defect_code",
                  "quantity", "disposition", "status", "loop", "rework_task", "description",
                  "created_at", "closed_at"]
        read_only_fields = fields


class DispositionSerializer(serializers.Serializer):
    disposition = serializers.ChoiceField(choices=["rework", "scrap", "use_as_is"])
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    work_center = fields.CodeRelatedField(
        slug_field="code", queryset=WorkCenter.objects.filter(active=True), required=False,
        allow_null=True, help_text="Rework elsewhere than the responsible step's station.")
