"""Builders for the scheduling UI tests: released orders on shared work centers, a run."""

import datetime
import itertools
from decimal import Decimal

from django.utils import timezone

from planning.models import Shift, ShiftCalendar
from planning.services.orders import (
    production_order_create,
    production_order_explode,
    production_order_release,
)
from planning.services.schedule import schedule_apply, schedule_compute, schedule_request
from tests.factories import UserFactory, WorkCenterFactory, make_product


def released_orders(n=2, *, steps=3, qty="5", levels=1, work_center=None, due_days=3,
                    planner=None):
    """`n` released production orders of one product; returns (orders, work center)."""
    planner = planner or UserFactory(roles=["planner"])
    wc = work_center or WorkCenterFactory()
    top, _made, wc = make_product(levels, steps=steps, work_center=wc)
    orders = []
    for _i in range(n):
        order = production_order_create(actor=planner, item=top, quantity=Decimal(qty),
                                        due=timezone.now() + datetime.timedelta(days=due_days))
        production_order_explode(actor=planner, order=order)
        production_order_release(actor=planner, order=order)
        orders.append(order)
    return orders, wc


def day_shift_calendar(code="DAY"):
    """Monday to Saturday 08:00–17:00 with a lunch break: nights and Sundays are off."""
    cal = ShiftCalendar.objects.create(code=code, name="白班", name_en="Day shift")
    for day in range(6):
        Shift.objects.create(calendar=cal, name="白班", weekday=day, start=datetime.time(8),
                             end=datetime.time(17), breaks=[["12:00", "13:00"]])
    return cal


def computed(actor, *, reason="test run", time_limit=0.5, **kw):
    """A computed version (the worker's job, done here)."""
    version = schedule_request(actor=actor, reason=reason, time_limit=time_limit, **kw)
    return schedule_compute(version.pk)


def applied(actor, **kw):
    version = computed(actor, **kw)
    assert version.status == "ready", version.error
    return schedule_apply(actor=actor, version=version)


_bulk_numbers = itertools.count(1)


def bulk_version(tasks=1000, *, work_centers=30, per_order=8, planner=None):
    """A ready version over `tasks` released tasks (bulk inserts: big plants, fast tests)."""
    from planning.models import (
        ProductionOrder,
        ScheduleEntry,
        ScheduleVersion,
        Task,
        TaskLink,
        WorkOrder,
    )
    from tests.factories import ItemFactory

    planner = planner or UserFactory(roles=["planner"])
    wcs = [WorkCenterFactory(machines=1 + i % 3) for i in range(work_centers)]
    item = ItemFactory()
    now = timezone.now().replace(second=0, microsecond=0)
    order = ProductionOrder.objects.create(number=f"PO-BULK-{next(_bulk_numbers)}", item=item,
                                           quantity=1, due=now + datetime.timedelta(days=5),
                                           status="released")
    wos = WorkOrder.objects.bulk_create([
        WorkOrder(number=f"{order.number}-{i:04d}", production_order=order, item=item,
                  quantity=1, due=now + datetime.timedelta(days=1 + i % 9), status="released")
        for i in range(tasks // per_order)])
    rows = Task.objects.bulk_create([
        Task(work_order=wo, seq=10 * (s + 1), name=f"op{s}", quantity=1, status="released",
             work_center=wcs[(w * 7 + s) % work_centers], run_minutes_per_unit=Decimal(45))
        for w, wo in enumerate(wos) for s in range(per_order)])
    TaskLink.objects.bulk_create([TaskLink(predecessor=a, successor=b)
                                  for a, b in zip(rows, rows[1:], strict=False)
                                  if a.work_order_id == b.work_order_id])
    version = ScheduleVersion.objects.create(created_by=planner, reason="bulk", origin=now,
                                             status="ready", tasks=len(rows),
                                             makespan_minutes=14 * 24 * 60)
    ScheduleEntry.objects.bulk_create([
        ScheduleEntry(version=version, task=t, work_center_id=t.work_center_id, machine=0,
                      start=now + datetime.timedelta(minutes=50 * i),
                      end=now + datetime.timedelta(minutes=50 * i + 45))
        for i, t in enumerate(rows)])
    return version, order
