"""Factories and builders for the planning UI tests (plant records, calendars, work orders)."""

import datetime
import itertools
from decimal import Decimal

import factory
from django.utils import timezone

from planning import models as pm
from tests.factories import (
    BOMLineFactory,
    BOMVersionFactory,
    ItemFactory,
    ProductionOrderFactory,
    RoutingFactory,
    RoutingStepFactory,
    WorkCenterFactory,
)

_codes = itertools.count(1)


class EquipmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = pm.Equipment

    work_center = factory.SubFactory(WorkCenterFactory)
    code = factory.Sequence(lambda n: f"EQ{n:03d}")
    name = factory.Sequence(lambda n: f"设备{n}")
    model_no = "CNC-200"


class ShiftCalendarFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = pm.ShiftCalendar

    code = factory.Sequence(lambda n: f"CAL{n}")
    name = factory.Sequence(lambda n: f"两班制{n}")
    name_en = "Two shifts"


class ShiftFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = pm.Shift

    calendar = factory.SubFactory(ShiftCalendarFactory)
    name = "早班"
    weekday = 0
    start = datetime.time(8, 0)
    end = datetime.time(17, 0)
    breaks = factory.LazyFunction(lambda: [["12:00", "13:00"]])


class HolidayFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = pm.Holiday

    calendar = factory.SubFactory(ShiftCalendarFactory)
    date = datetime.date(2026, 10, 1)
    name = "国庆节"


class WorkOrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = pm.WorkOrder

    production_order = factory.SubFactory(ProductionOrderFactory)
    number = factory.Sequence(lambda n: f"WO-{n:05d}")
    item = factory.SelfAttribute("production_order.item")
    quantity = Decimal("10")
    due = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=5))


class TaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = pm.Task

    work_order = factory.SubFactory(WorkOrderFactory)
    seq = factory.Sequence(lambda n: (n + 1) * 10)
    name = factory.Sequence(lambda n: f"工序{n}")
    work_center = factory.SubFactory(WorkCenterFactory)
    quantity = Decimal("10")


def routed_item(work_center=None, **kwargs) -> pm.Item:
    """A made item with an active one-step routing: what a production order may be for."""
    item = ItemFactory(**kwargs)
    RoutingStepFactory(routing=RoutingFactory(item=item),
                       work_center=work_center or WorkCenterFactory())
    return item


def make_bom_tree(branching=(5, 5, 6), extra_top=20, *, scrap_pct=Decimal("0")):
    """A multi-level BOM built with bulk inserts: the top item has branching[0] made children,
    each of those branching[1] made children, ..., the last level is bought; plus `extra_top`
    bought components on the top item. Returns (top item, number of BOM lines).

    (5, 5, 6) + 20 → 5 + 25 + 150 + 20 = 200 lines over 3 levels.
    """
    run = next(_codes)
    top = pm.Item.objects.create(code=f"T{run}-TOP", name="顶层成品", name_en="Top")
    parents = [top]
    lines = 0
    for depth, width in enumerate(branching):
        last = depth == len(branching) - 1
        kind = pm.Item.Kind.BUY if last else pm.Item.Kind.MAKE
        boms = pm.BOMVersion.objects.bulk_create(
            [pm.BOMVersion(item=p, version="1") for p in parents])
        children = pm.Item.objects.bulk_create([
            pm.Item(code=f"T{run}-{depth}-{i}-{j}", name=f"零件{depth}-{i}-{j}", kind=kind)
            for i in range(len(parents)) for j in range(width)])
        pm.BOMLine.objects.bulk_create([
            pm.BOMLine(bom=boms[i], child=children[i * width + j], position=(j + 1) * 10,
                       quantity_per=Decimal(j % 3 + 1), scrap_pct=scrap_pct)
            for i in range(len(parents)) for j in range(width)])
        lines += len(children)
        if depth == 0:
            top_bom = boms[0]
        parents = children
    bought = pm.Item.objects.bulk_create([
        pm.Item(code=f"T{run}-B-{k}", name=f"外购件{k}", kind=pm.Item.Kind.BUY)
        for k in range(extra_top)])
    pm.BOMLine.objects.bulk_create([
        pm.BOMLine(bom=top_bom, child=b, position=1000 + k, quantity_per=Decimal("0.5"))
        for k, b in enumerate(bought)])
    return top, lines + extra_top


__all__ = ["BOMLineFactory", "BOMVersionFactory", "EquipmentFactory", "HolidayFactory",
           "ItemFactory", "ShiftCalendarFactory", "ShiftFactory", "TaskFactory",
           "WorkOrderFactory", "make_bom_tree", "routed_item"]
