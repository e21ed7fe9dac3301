"""Alerts (read) and KPI values for a period and scope, for BI tools and an ERP's reports."""

import datetime

import django_filters as filters
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from alerts.models import Alert
from alerts.selectors import alert_list_queryset
from dashboards.kpis import KPIS, formula
from dashboards.periods import Period, Scope
from dashboards.selectors.kpi_pages import kpi_targets, lines_in_scope, meets, target_for
from mes.api.base import ApiView, ApiViewSet
from mes.api.fields import IsoDateTimeFilter, check_date
from planning.models import Line, WorkCenter, Workshop

MAX_DAYS = 400


class AlertSerializer(serializers.ModelSerializer):
    rule = serializers.CharField(source="rule.code", read_only=True)
    work_center = serializers.SlugRelatedField(slug_field="code", read_only=True,
                                               allow_null=True)
    assignee = serializers.SlugRelatedField(slug_field="username", read_only=True,
                                            allow_null=True)

    class Meta:
        model = Alert
        fields = ["id", "rule", "kind", "severity", "status", "subject_repr", "message",
                  "work_center", "task", "work_order", "raised_at", "acknowledged_at",
                  "resolved_at", "closed_at", "escalation_level", "assignee", "cause",
                  "action", "auto_resolved"]
        read_only_fields = fields


class AlertFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(choices=Alert.Status.choices)
    work_center = filters.CharFilter(field_name="work_center__code")
    raised_after = IsoDateTimeFilter(field_name="raised_at", lookup_expr="gte")

    class Meta:
        model = Alert
        fields = ["status", "kind", "severity", "work_center", "raised_after"]


class AlertViewSet(ApiViewSet):
    queryset = alert_list_queryset().order_by("-raised_at", "-id")
    serializer_class = AlertSerializer
    filterset_class = AlertFilter
    access = {"read": (("alerts:read",), "handle_alerts")}


class KpiValueSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    unit = serializers.CharField(allow_blank=True)
    value = serializers.FloatField(allow_null=True)
    numerator = serializers.FloatField(allow_null=True)
    denominator = serializers.FloatField(allow_null=True)
    target = serializers.FloatField(allow_null=True)
    meets_target = serializers.BooleanField(allow_null=True)
    better = serializers.CharField(allow_blank=True)
    formula = serializers.CharField()


class KpiResponseSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField(help_text="Exclusive.")
    scope = serializers.DictField(child=serializers.IntegerField())
    kpis = KpiValueSerializer(many=True)


def _date(params, name, default) -> datetime.date:
    raw = params.get(name)
    if not raw:
        return default
    try:
        return check_date(datetime.date.fromisoformat(raw), name)
    except ValueError:
        raise ValidationError({name: [_("A date as YYYY-MM-DD.")]}, code="invalid") from None


def _scope(params) -> Scope:
    found = {}
    for name, model in (("workshop", Workshop), ("line", Line), ("work_center", WorkCenter)):
        code = params.get(name)
        if code:
            pk = model.objects.filter(code=code).values_list("pk", flat=True).first()
            if pk is None:
                raise ValidationError({name: [_("No %(what)s has this code.") % {
                    "what": model._meta.verbose_name}]}, code="does_not_exist")
            found[name] = pk
    return Scope.of(**found)


class KpiView(ApiView):
    access = {"read": (("kpi:read",), "view_dashboards")}

    @extend_schema(parameters=[
        OpenApiParameter("start", str, description="First plant day (YYYY-MM-DD); default: "
                                                   "30 days ago."),
        OpenApiParameter("end", str, description="Last plant day, included; default today."),
        OpenApiParameter("kpi", str, many=True, enum=list(KPIS)),
        OpenApiParameter("workshop", str), OpenApiParameter("line", str),
        OpenApiParameter("work_center", str),
    ], responses=KpiResponseSerializer, operation_id="kpis")
    def get(self, request):
        """KPI values computed from the recorded events (one definition each, as on the KPI
        pages), with their targets."""
        params = request.query_params
        today = timezone.localdate()
        last = _date(params, "end", today)
        first = _date(params, "start", last - datetime.timedelta(days=29))
        if first > last or (last - first).days > MAX_DAYS:
            raise ValidationError({"start": [_("The period must run forward and span at most "
                                               "%(n)d days.") % {"n": MAX_DAYS}]},
                                  code="invalid")
        keys = params.getlist("kpi") or list(KPIS)
        unknown = [k for k in keys if k not in KPIS]
        if unknown:
            raise ValidationError({"kpi": [_("Unknown KPI %(k)s.") % {"k": unknown[0]}]},
                                  code="invalid")
        period, scope = Period.of_dates(first, last), _scope(params)
        targets, n_lines = kpi_targets(), lines_in_scope(scope)
        rows = []
        for key in keys:
            kdef = KPIS[key]
            figure = kdef.grouped(period, scope)[None]
            target = target_for(kdef, targets, period, n_lines)
            rows.append({"key": key, "label": str(kdef.label), "unit": kdef.unit,
                         "value": figure.value, "numerator": figure.numerator,
                         "denominator": figure.denominator, "target": target,
                         "meets_target": meets(kdef, figure.value, target),
                         "better": kdef.better, "formula": formula(kdef)})
        return Response(KpiResponseSerializer({
            "start": period.start, "end": period.end, "scope": scope.params(),
            "kpis": rows}).data)
