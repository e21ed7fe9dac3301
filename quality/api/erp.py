"""ERP-facing reads of quality: the change feed (JSON) and OperationsPerformance (B2MML)."""

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from mes.api import fields
from mes.api.base import ApiView, XmlApiView, xml_response
from quality.api.feed import DEFAULT_LIMIT, MAX_LIMIT, erp_feed
from quality.b2mml import finished_work_orders, operations_performance_export

QTY = {"max_digits": 20, "decimal_places": 4, "required": False}
EXPORT_LIMIT = 500


class FeedEntrySerializer(serializers.Serializer):
    cursor = serializers.CharField(help_text="e<event id> or c<consumption id>.")
    type = serializers.ChoiceField(choices=["report", "scrap", "completed", "accepted",
                                            "consumption"])
    at = serializers.DateTimeField()
    work_order = serializers.CharField()
    production_order = serializers.CharField()
    erp_ref = serializers.CharField(allow_null=True)
    item = serializers.CharField()
    operation = serializers.IntegerField(required=False, allow_null=True)
    last_operation = serializers.BooleanField(required=False)
    good = serializers.DecimalField(**QTY)
    scrap = serializers.DecimalField(**QTY)
    completed = serializers.DecimalField(**QTY, help_text="Good at the last operation.")
    quantity = serializers.DecimalField(**QTY)
    scrap_reason = serializers.CharField(required=False, allow_null=True)
    report = serializers.IntegerField(required=False)
    operator = serializers.CharField(required=False)
    defect_code = serializers.CharField(required=False)
    nonconformance = serializers.CharField(required=False)
    component = serializers.CharField(required=False)
    lot = serializers.CharField(required=False)
    consumption = serializers.IntegerField(required=False)


class ComponentSerializer(serializers.Serializer):
    component = serializers.CharField()
    quantity = serializers.DecimalField(max_digits=20, decimal_places=4)


class FeedWorkOrderSerializer(serializers.Serializer):
    work_order = serializers.CharField()
    production_order = serializers.CharField()
    erp_ref = serializers.CharField(allow_null=True)
    item = serializers.CharField()
    completed = serializers.DecimalField(max_digits=20, decimal_places=4)
    scrap = serializers.DecimalField(max_digits=20, decimal_places=4)
    consumption = ComponentSerializer(many=True)


class FeedSerializer(serializers.Serializer):
    cursor = serializers.CharField()
    next_cursor = serializers.CharField(help_text="Send it as `cursor` next time.")
    more = serializers.BooleanField(help_text="Poll again at once: the page was full.")
    waiting = serializers.BooleanField(
        help_text="Stopped before a transaction that may still commit; poll again shortly.")
    entries = FeedEntrySerializer(many=True)
    work_orders = FeedWorkOrderSerializer(many=True, help_text="This page, per work order.")


FEED_PARAMS = {"cursor", "limit", "format"}


class ErpFeedView(ApiView):
    access = {"read": (("erp",), "view_planning")}

    @extend_schema(parameters=[
        OpenApiParameter("cursor", str, description="next_cursor of the previous answer "
                                                    "(empty: from the beginning).",
                         pattern=r"^\d{1,18}-\d{1,18}$"),
        OpenApiParameter("limit", int, description=f"Rows scanned per source (≤ {MAX_LIMIT})."),
    ], responses=FeedSerializer, operation_id="erp_feed")
    def get(self, request):
        """Completions, scrap and consumption per work order since a cursor."""
        unknown = sorted(set(request.query_params) - FEED_PARAMS)
        if unknown:  # e.g. ?since=…: answering from the beginning would book everything again
            raise ValidationError({unknown[0]: [_(
                "The feed does not take “%(name)s”: it is read from a cursor (send the last "
                "answer's next_cursor as cursor), with an optional limit.") % {
                    "name": unknown[0][:40]}]}, code="unknown_parameter")
        raw_limit = request.query_params.get("limit") or str(DEFAULT_LIMIT)
        # isdigit() alone lets "²" through to int(), which refuses it.
        whole = raw_limit.isascii() and raw_limit.isdigit()
        if not whole or not 1 <= int(raw_limit) <= MAX_LIMIT:
            raise ValidationError({"limit": [_("A whole number from 1 to %(max)d.") % {
                "max": MAX_LIMIT}]}, code="invalid")
        try:
            page = erp_feed(cursor=request.query_params.get("cursor"), limit=int(raw_limit))
        except ValueError:
            raise ValidationError({"cursor": [_("Not a feed cursor: send next_cursor as it "
                                                "came (e.g. 120-35).")]},
                                  code="invalid") from None
        return Response(FeedSerializer(page).data)


class OperationsPerformanceView(XmlApiView):
    access = {"read": (("erp", "quality:read"), "view_planning")}

    @extend_schema(parameters=[
        OpenApiParameter("production_order", str, many=True),
        OpenApiParameter("since", OpenApiTypes.DATETIME,
                         description="Finished (actual end) at or after."),
    ], responses={(200, "application/xml"): OpenApiTypes.STR},
        operation_id="b2mml_operations_performance")
    def get(self, request):
        """Work orders awaiting acceptance or accepted, as an OperationsPerformance."""
        wos = finished_work_orders()
        orders = request.query_params.getlist("production_order")
        if orders:
            wos = wos.filter(production_order__number__in=orders[:1000])
        since = request.query_params.get("since")
        if since:
            field = fields.DateTimeField()
            try:
                wos = wos.filter(actual_end__gte=field.to_internal_value(since))
            except serializers.ValidationError as exc:
                raise ValidationError({"since": exc.detail}) from None
        return xml_response(operations_performance_export(wos[:EXPORT_LIMIT]),
                            "operations-performance.xml")
