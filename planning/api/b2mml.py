"""B2MML over HTTP: import an OperationsSchedule (production orders), export schedules and
master data (MaterialInformation, EquipmentInformation). Bodies are XML, at most 2 MB."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from mes.api.base import XmlApiView, xml_response
from planning.b2mml.masterdata import equipment_information_export, material_information_export
from planning.b2mml.schedule import operations_schedule_export, operations_schedule_import
from planning.models import ProductionOrder

XML = {(200, "application/xml"): OpenApiTypes.STR}
EXPORT_LIMIT = 1000


class ScheduleImportSerializer(serializers.Serializer):
    created = serializers.ListField(child=serializers.CharField())
    updated = serializers.ListField(child=serializers.CharField())
    unchanged = serializers.ListField(child=serializers.CharField())
    validated = serializers.BooleanField(help_text="Checked against MESA's XSD.")


class OperationsScheduleView(XmlApiView):
    access = {"read": (("erp", "planning:read"), "view_planning"),
              "write": (("erp", "planning:write"), "manage_planning")}

    @extend_schema(parameters=[
        OpenApiParameter("status", str, many=True, enum=ProductionOrder.Status.values),
        OpenApiParameter("number", str, many=True)], responses=XML,
        operation_id="b2mml_operations_schedule_export")
    def get(self, request):
        """Production orders as an OperationsSchedule (newest 1000)."""
        orders = ProductionOrder.objects.select_related("item").order_by("-created_at", "-id")
        statuses = [s for s in request.query_params.getlist("status")
                    if s in ProductionOrder.Status.values]
        if request.query_params.getlist("status"):
            orders = orders.filter(status__in=statuses)
        if request.query_params.getlist("number"):
            orders = orders.filter(number__in=request.query_params.getlist("number")[:1000])
        return xml_response(operations_schedule_export(orders[:EXPORT_LIMIT]),
                            "operations-schedule.xml")

    @extend_schema(request={"application/xml": OpenApiTypes.STR},
                   responses=ScheduleImportSerializer,
                   operation_id="b2mml_operations_schedule_import")
    def post(self, request):
        """Create or update production orders from an OperationsSchedule (all or nothing)."""
        result = operations_schedule_import(actor=request.user, data=self.xml_body(request))
        return Response(ScheduleImportSerializer(result).data)


class MaterialInformationView(XmlApiView):
    access = {"read": (("erp", "planning:read"), "view_planning")}

    @extend_schema(responses=XML, operation_id="b2mml_material_information")
    def get(self, request):
        """Items as MaterialDefinitions, their current BOM lines as AssemblyDefinitions."""
        return xml_response(material_information_export(), "material-information.xml")


class EquipmentInformationView(XmlApiView):
    access = {"read": (("erp", "planning:read"), "view_planning")}

    @extend_schema(responses=XML, operation_id="b2mml_equipment_information")
    def get(self, request):
        """The plant (site, workshops, lines, work centers, equipment) as Equipment."""
        return xml_response(equipment_information_export(), "equipment-information.xml")
