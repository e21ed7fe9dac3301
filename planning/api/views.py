"""Planning API views: master data (saved by master_record_save), production orders, work
orders and tasks (changed by planning.services.orders)."""

from django.db.models import Count, Prefetch
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.response import Response

from mes.api.base import ApiViewSet, call_service
from mes.api.errors import Conflict
from mes.audit import snapshot
from mes.labels import join_list
from mes.system_text import system_text
from planning.api import filters
from planning.api import serializers as s
from planning.models import (
    BOMLine,
    BOMVersion,
    Item,
    ProductionOrder,
    Routing,
    RoutingStep,
    Task,
    WorkOrder,
)
from planning.services.masterdata import master_record_save
from planning.services.orders import (
    production_order_create,
    production_order_explode,
    production_order_release,
    production_order_update,
    work_order_cancel,
    work_order_hold,
    work_order_resume,
    work_orders_release,
)

PO = ProductionOrder.Status
PLANNING_READ = (("planning:read", "erp"), "view_planning")
PLANNING_WRITE = (("planning:write",), "manage_planning")


class MasterDataViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, ApiViewSet):
    """Create and change master data through master_record_save (validated, audit-logged)."""

    access = {"read": PLANNING_READ, "write": PLANNING_WRITE}

    def perform_create(self, serializer):
        instance = self.get_queryset().model(**serializer.validated_data)
        serializer.instance = master_record_save(actor=self.request.user, instance=instance,
                                                 reason=system_text("API"))

    def perform_update(self, serializer):
        instance = serializer.instance
        before = snapshot(instance)
        for name, value in serializer.validated_data.items():
            setattr(instance, name, value)
        serializer.instance = master_record_save(actor=self.request.user, instance=instance,
                                                 before=before, reason=system_text("API"))


class ItemViewSet(MasterDataViewSet):
    queryset = Item.objects.order_by("code")
    serializer_class = s.ItemSerializer
    filterset_class = filters.ItemFilter


class BOMVersionViewSet(MasterDataViewSet):
    queryset = (BOMVersion.objects.select_related("item").order_by("item__code", "version")
                .prefetch_related(Prefetch("lines", BOMLine.objects.select_related("child"))))
    serializer_class = s.BOMVersionSerializer
    filterset_class = filters.BOMVersionFilter


class BOMLineViewSet(MasterDataViewSet):
    queryset = BOMLine.objects.select_related("child", "bom").order_by("bom_id", "position",
                                                                       "id")
    serializer_class = s.BOMLineSerializer
    filterset_class = filters.BOMLineFilter


class RoutingViewSet(MasterDataViewSet):
    queryset = (Routing.objects.select_related("item").order_by("item__code", "version")
                .prefetch_related(Prefetch("steps", RoutingStep.objects.select_related(
                    "work_center"))))
    serializer_class = s.RoutingSerializer
    filterset_class = filters.RoutingFilter


class RoutingStepViewSet(MasterDataViewSet):
    queryset = RoutingStep.objects.select_related("work_center").order_by("routing_id", "seq")
    serializer_class = s.RoutingStepSerializer
    filterset_class = filters.RoutingStepFilter


def release_data(result) -> dict:
    return {"released": [wo.number for wo in result.released],
            "refused": [{"work_order": wo.number, "problems": [str(p) for p in problems]}
                        for wo, problems in result.refused]}


def lock_changeable(order: ProductionOrder) -> ProductionOrder:
    """Lock the order; released (or later) orders change through a plan change: 409."""
    order = ProductionOrder.objects.select_for_update().get(pk=order.pk)
    if order.status not in (PO.DRAFT, PO.PLANNED):
        raise Conflict(_("%(order)s is %(status)s: released orders change through a plan "
                         "change, not here.") % {"order": order,
                                                 "status": order.get_status_display()},
                       code="released", field="status")
    return order


class ProductionOrderViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, ApiViewSet):
    queryset = (ProductionOrder.objects.select_related("item")
                .annotate(n_work_orders=Count("work_orders")).order_by("-created_at", "-id"))
    serializer_class = s.ProductionOrderSerializer
    filterset_class = filters.ProductionOrderFilter
    access = {"read": PLANNING_READ, "write": PLANNING_WRITE}

    def get_serializer_class(self):
        if self.action in ("create", "update", "partial_update"):
            return s.ProductionOrderWriteSerializer
        return super().get_serializer_class()

    def _answer(self, order, status=200):
        order = self.get_queryset().get(pk=order.pk)
        return Response(s.ProductionOrderSerializer(order).data, status=status)

    @extend_schema(request=s.ProductionOrderWriteSerializer,
                   responses={201: s.ProductionOrderSerializer})
    def create(self, request, *args, **kwargs):
        data = self.get_serializer_data(request.data)
        reason = data.pop("reason", "")
        order = call_service(production_order_create, actor=request.user, reason=reason, **data)
        return self._answer(order, 201)

    @extend_schema(request=s.ProductionOrderWriteSerializer,
                   responses={200: s.ProductionOrderSerializer})
    def update(self, request, *args, **kwargs):
        order = lock_changeable(self.get_object())
        data = self.get_serializer_data(request.data, partial=kwargs.get("partial", False))
        reason = data.pop("reason", "")
        data.pop("number", None)  # the number is the order's identity
        changes = {k: v for k, v in data.items() if getattr(order, k) != v}
        if changes:
            order = call_service(production_order_update, actor=request.user, order=order,
                                 reason=reason, **changes)
        return self._answer(order)

    def get_serializer_data(self, data, partial=False) -> dict:
        serializer = s.ProductionOrderWriteSerializer(data=data, partial=partial)
        serializer.is_valid(raise_exception=True)
        out = dict(serializer.validated_data)
        if "erp_ref" in out:
            out["erp_ref"] = out["erp_ref"] or None
        return out

    @extend_schema(request=None, responses=s.ExplosionSerializer)
    @action(detail=True, methods=["post"])
    def explode(self, request, pk=None):
        """Explode the BOM into work orders and tasks (draft or planned orders)."""
        result = production_order_explode(actor=request.user, order=self.get_object())
        return Response({"work_orders": result.work_orders, "tasks": result.tasks,
                         "levels": result.levels})

    @extend_schema(request=s.ReasonSerializer, responses=s.ReleaseSerializer)
    @action(detail=True, methods=["post"])
    def release(self, request, pk=None):
        """Release every draft work order of the order; refused ones say why."""
        data = validated(s.ReasonSerializer, request.data)
        result = production_order_release(actor=request.user, order=self.get_object(),
                                          reason=data.get("reason", ""))
        return Response(release_data(result))


def validated(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class WorkOrderViewSet(ApiViewSet):
    queryset = (WorkOrder.objects.select_related("production_order", "parent", "item", "line")
                .order_by("production_order_id", "level", "number"))
    serializer_class = s.WorkOrderSerializer
    filterset_class = filters.WorkOrderFilter
    lookup_field = "number"
    lookup_value_regex = "[^/]+"
    access = {"read": PLANNING_READ, "write": PLANNING_WRITE}

    def _answer(self, wo):
        return Response(self.get_serializer(self.get_queryset().get(pk=wo.pk)).data)

    @extend_schema(request=s.ReasonSerializer, responses=s.ReleaseSerializer,
                   operation_id="work_orders_release")
    @action(detail=True, methods=["post"], url_path="release")
    def release_one(self, request, number=None):
        data = validated(s.ReasonSerializer, request.data)
        result = work_orders_release(actor=request.user, work_orders=[self.get_object()],
                                     reason=data.get("reason", ""))
        return Response(release_data(result))

    @extend_schema(request=s.WorkOrderReleaseSerializer, responses=s.ReleaseSerializer,
                   operation_id="work_orders_release_many")
    @action(detail=False, methods=["post"], url_path="release")
    def release_many(self, request):
        data = validated(s.WorkOrderReleaseSerializer, request.data)
        numbers = list(dict.fromkeys(data["work_orders"]))
        found = dict(WorkOrder.objects.filter(number__in=numbers).values_list("number", "pk"))
        missing = [n for n in numbers if n not in found]
        if missing:
            from rest_framework.exceptions import ValidationError

            raise ValidationError({"work_orders": [_("Unknown work order(s): %(list)s.") % {
                "list": join_list(missing[:20])}]}, code="unknown")
        result = work_orders_release(actor=request.user, work_orders=list(found.values()),
                                     reason=data.get("reason", ""))
        return Response(release_data(result))

    def _transition(self, request, service):
        data = validated(s.RequiredReasonSerializer, request.data)
        wo = service(actor=request.user, work_order=self.get_object(), reason=data["reason"])
        return self._answer(wo)

    @extend_schema(request=s.RequiredReasonSerializer, responses=s.WorkOrderSerializer)
    @action(detail=True, methods=["post"])
    def hold(self, request, number=None):
        return self._transition(request, work_order_hold)

    @extend_schema(request=s.RequiredReasonSerializer, responses=s.WorkOrderSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request, number=None):
        return self._transition(request, work_order_resume)

    @extend_schema(request=s.RequiredReasonSerializer, responses=s.WorkOrderSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, number=None):
        return self._transition(request, work_order_cancel)


class TaskViewSet(ApiViewSet):
    queryset = (Task.objects.select_related("work_order", "work_center")
                .order_by("work_order_id", "seq", "id"))
    serializer_class = s.TaskSerializer
    filterset_class = filters.TaskFilter
    access = {"read": (("planning:read", "execution:read", "execution:report", "devices"),
                       "view_execution")}
