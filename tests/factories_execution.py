"""A released work order ready for the floor, for execution tests."""

from decimal import Decimal

from django.utils import timezone

from execution.models import ScrapReason
from planning.services.orders import (
    production_order_create,
    production_order_explode,
    production_order_release,
)
from tests.factories import UserFactory, make_product


def released_order(levels=1, steps=3, qty="10", planner=None, work_center=None,
                   released_ago: timezone.timedelta | None = None):
    """(work order at level 0, its tasks in order, work center) — released (`released_ago`:
    that long ago, for tests that report work done in the past: none can be dated before
    the release)."""
    planner = planner or UserFactory(roles=["planner"])
    top, _made, wc = make_product(levels, steps=steps, work_center=work_center)
    order = production_order_create(actor=planner, item=top, quantity=Decimal(qty),
                                    due=timezone.now() + timezone.timedelta(days=3))
    production_order_explode(actor=planner, order=order)
    production_order_release(actor=planner, order=order)
    if released_ago is not None:
        order.work_orders.update(released_at=timezone.now() - released_ago)
    wo = order.work_orders.get(level=0)
    return wo, list(wo.tasks.order_by("seq")), wc


def scrap_reason(code="DIM"):
    return ScrapReason.objects.get_or_create(code=code, defaults={"name": "尺寸超差",
                                                                  "name_en": "Dimension"})[0]
