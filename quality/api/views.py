"""Quality API: record inspections, decide nonconformances, accept or reject finished work
orders, through quality.services like the QC pages."""

import re

import django_filters as filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from mes.api.base import ApiViewSet
from mes.api.errors import Conflict
from planning.api import views as planning_views
from planning.api.serializers import ReasonSerializer, RequiredReasonSerializer, WorkOrderSerializer
from quality import selectors
from quality.api import serializers as s
from quality.models import Characteristic, Inspection, Nonconformance
from quality.services.acceptance import work_order_accept, work_order_reject
from quality.services.inspections import inspection_record
from quality.services.nonconformance import nonconformance_disposition

READ = (("quality:read", "quality:write"), "view_execution")
INSPECT = (("quality:write",), "inspect_quality")
ACCEPT = (("quality:write",), "accept_work")
_CHAR_FIELD = re.compile(r"^c(\d+)$")


def validated(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class InspectionFilter(filters.FilterSet):
    work_order = filters.CharFilter(field_name="work_order__number")
    plan = filters.CharFilter(field_name="plan__code")

    class Meta:
        model = Inspection
        fields = ["work_order", "status", "plan", "task"]


class InspectionViewSet(ApiViewSet):
    queryset = selectors.inspection_list().prefetch_related("results", "plan__characteristics")
    serializer_class = s.InspectionSerializer
    filterset_class = InspectionFilter
    access = {"read": READ, "record": INSPECT}

    @extend_schema(request=s.InspectionRecordSerializer, responses=s.InspectionSerializer)
    @action(detail=True, methods=["post"])
    def record(self, request, pk=None):
        """Record the results; a failure (with a defect code) opens a nonconformance."""
        data = validated(s.InspectionRecordSerializer, request.data)
        inspection = self.get_object()
        results = {}
        for row in data.get("results", []):
            results[row["characteristic"]] = {k: row[k] for k in ("value", "passed", "note")
                                              if row.get(k) is not None}
        known = set(Characteristic.objects.filter(plan_id=inspection.plan_id)
                    .values_list("pk", flat=True)) if inspection.plan_id else set()
        unknown = sorted(set(results) - known)
        if unknown:
            raise ValidationError({"results": [_("Characteristic %(id)s is not in this "
                                                 "inspection's plan.") % {"id": unknown[0]}]},
                                  code="unknown")
        try:
            inspection_record(inspector=request.user, inspection=inspection, results=results,
                              qty_failed=data.get("qty_failed"),
                              defect_code=data.get("defect_code"),
                              notes=data.get("notes", ""), verdict=data.get("verdict"))
        except DjangoValidationError as exc:
            raise _named(exc) from None
        return Response(self.get_serializer(self.get_queryset().get(pk=inspection.pk)).data)


def _named(exc: DjangoValidationError) -> DjangoValidationError:
    """The service names characteristics c<id> (form fields); the API calls them results.<id>."""
    if not hasattr(exc, "error_dict"):
        return exc
    renamed = {}
    for field, errors in exc.error_dict.items():
        match = _CHAR_FIELD.match(field or "")
        renamed[f"results.{match.group(1)}" if match else field] = errors
    return DjangoValidationError(renamed)


class NonconformanceFilter(filters.FilterSet):
    work_order = filters.CharFilter(field_name="work_order__number")
    defect_code = filters.CharFilter(field_name="defect_code__code")

    class Meta:
        model = Nonconformance
        fields = ["work_order", "status", "disposition", "defect_code"]


class NonconformanceViewSet(ApiViewSet):
    queryset = selectors.nonconformance_list()
    serializer_class = s.NonconformanceSerializer
    filterset_class = NonconformanceFilter
    access = {"read": READ, "disposition": INSPECT}

    @extend_schema(request=s.DispositionSerializer, responses=s.NonconformanceSerializer)
    @action(detail=True, methods=["post"])
    def disposition(self, request, pk=None):
        """Rework (a rework task is created), scrap, or use as is (needs an approver)."""
        data = validated(s.DispositionSerializer, request.data)
        nc = self.get_object()
        if nc.status != Nonconformance.Status.OPEN or \
                nc.disposition != Nonconformance.Disposition.PENDING:
            raise Conflict(_("%(nc)s has already been decided.") % {"nc": nc}, code="decided",
                           field="disposition")
        nonconformance_disposition(actor=request.user, nonconformance=nc,
                                   disposition=data["disposition"],
                                   reason=data.get("reason", ""),
                                   work_center=data.get("work_center"))
        return Response(self.get_serializer(self.get_queryset().get(pk=nc.pk)).data)


class WorkOrderViewSet(planning_views.WorkOrderViewSet):
    """Work orders, with planning's actions and acceptance (验收)."""

    access = {**planning_views.WorkOrderViewSet.access, "accept": ACCEPT, "reject": ACCEPT}

    @extend_schema(request=ReasonSerializer, responses=WorkOrderSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request, number=None):
        """Accept a work order awaiting acceptance: it is archived (immutable record)."""
        data = validated(ReasonSerializer, request.data)
        wo = self.get_object()
        try:
            work_order_accept(actor=request.user, work_order=wo, reason=data.get("reason", ""))
        except DjangoValidationError as exc:
            # What blocks acceptance is the work order's state (open steps, open NCs): 409.
            raise Conflict(exc.messages, code="blocked") from None
        return self._answer(wo)

    @extend_schema(request=RequiredReasonSerializer, responses=WorkOrderSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, number=None):
        """Send it back to the floor: its last step is re-opened."""
        data = validated(RequiredReasonSerializer, request.data)
        wo = work_order_reject(actor=request.user, work_order=self.get_object(),
                               reason=data["reason"])
        return self._answer(wo)
