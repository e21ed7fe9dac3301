"""ERP order exchange: PUT an order under the ERP's own reference, as often as needed.

PUT /api/erp/orders/<erp_ref>/ is a full representation: the first time it creates a draft
order (201), again with the same body it changes nothing (200), with other values it updates a
draft or planned order (200). A released order must be changed through a plan change: a PUT
that would change it is refused with 409 naming the field; resending its unchanged body is
still 200, so an ERP may retry blindly.
"""

from django.db import IntegrityError, transaction
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from mes.api import fields
from mes.api.base import ApiView
from mes.api.errors import Conflict
from mes.system_text import system_text
from planning.api.serializers import ProductionOrderSerializer, code_field
from planning.models import Item, Priority, ProductionOrder
from planning.services.orders import (
    production_order_create,
    production_order_explode,
    production_order_update,
)

PO = ProductionOrder.Status
ERP_REF = OpenApiParameter("erp_ref", str, OpenApiParameter.PATH,
                           description="The ERP's order reference (unique).")


class ErpOrderSerializer(serializers.Serializer):
    number = serializers.CharField(max_length=40, required=False,
                                   help_text="Order number for a new order; default: "
                                             "the next PO<date>-NNNN.")
    item = code_field(Item.objects.all())
    quantity = serializers.DecimalField(max_digits=14, decimal_places=4)
    due = fields.DateTimeField()
    release_date = fields.DateTimeField(required=False, allow_null=True, default=None)
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.NORMAL)
    customer = serializers.CharField(max_length=120, allow_blank=True, default="")
    sales_order_ref = serializers.CharField(max_length=60, allow_blank=True, default="")
    notes = serializers.CharField(max_length=4000, allow_blank=True, default="")
    explode = serializers.BooleanField(default=False, write_only=True,
                                       help_text="Also explode a new or draft order.")


def _lookup(erp_ref: str) -> str:
    erp_ref = (erp_ref or "").strip()
    if not erp_ref or len(erp_ref) > 80:
        raise serializers.ValidationError({"erp_ref": [_("An ERP reference of 1 to 80 "
                                                         "characters is needed.")]})
    return erp_ref


class ErpOrderView(ApiView):
    access = {"read": (("erp",), "view_planning"), "write": (("erp",), "manage_planning")}

    @extend_schema(parameters=[ERP_REF], responses=ProductionOrderSerializer,
                   operation_id="erp_orders_retrieve")
    def get(self, request, erp_ref):
        order = get_object_or_404(ProductionOrder.objects.select_related("item"),
                                  erp_ref=_lookup(erp_ref))
        return Response(_data(order))

    @extend_schema(parameters=[ERP_REF], request=ErpOrderSerializer,
                   responses={200: ProductionOrderSerializer, 201: ProductionOrderSerializer},
                   operation_id="erp_orders_put")
    def put(self, request, erp_ref):
        erp_ref = _lookup(erp_ref)
        serializer = ErpOrderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        for attempt in range(2):
            try:
                with transaction.atomic():
                    order, created = self._upsert(request.user, erp_ref, dict(data))
                break
            except IntegrityError:
                # The same new order arrived twice at once: the other one won; read it back.
                if attempt:
                    raise Conflict(_("Order %(ref)s was being written by another request; "
                                     "send it again.") % {"ref": erp_ref},
                                   code="duplicate") from None
        return Response(_data(order), status=201 if created else 200)

    def _upsert(self, actor, erp_ref, data):
        explode = data.pop("explode")
        number = data.pop("number", None)
        order = (ProductionOrder.objects.select_for_update().select_related("item")
                 .filter(erp_ref=erp_ref).first())
        if order is None:
            order = production_order_create(actor=actor, erp_ref=erp_ref, number=number,
                                            reason=system_text("ERP"), **data)
            if explode:
                production_order_explode(actor=actor, order=order)
            return order, True
        if number and number != order.number:
            raise Conflict(_("ERP order %(ref)s is our order %(number)s; the number cannot "
                             "change.") % {"ref": erp_ref, "number": order.number},
                           code="number_mismatch", field="number")
        changes = {k: v for k, v in data.items() if getattr(order, k) != v}
        if changes and order.status not in (PO.DRAFT, PO.PLANNED):
            field = sorted(changes)[0]
            raise Conflict(_("%(order)s is %(status)s: change %(field)s through a plan change "
                             "(rush order or order change), not the ERP interface.") % {
                "order": order.number, "status": order.get_status_display(),
                "field": field}, code="released", field=field)
        if changes:
            order = production_order_update(actor=actor, order=order, reason=system_text("ERP"),
                                            **changes)
        if explode and order.status == PO.DRAFT:
            production_order_explode(actor=actor, order=order)
        return order, False


def _data(order) -> dict:
    from django.db.models import Count

    order = (ProductionOrder.objects.select_related("item")
             .annotate(n_work_orders=Count("work_orders")).get(pk=order.pk))
    return ProductionOrderSerializer(order).data
