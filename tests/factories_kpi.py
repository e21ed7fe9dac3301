"""KPI and board test data: records written directly with the timestamps a scenario needs.

The services stamp records with "now"; KPI tests need them at chosen times around period
boundaries, so these factories write the rows the services would have written.
"""

import datetime
import itertools
import uuid
from decimal import Decimal

import factory
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from execution.models import DowntimeEvent, EquipmentState, WorkReport
from planning import models as pm
from quality.models import DefectCode, Inspection, Nonconformance
from tests.factories import (
    ItemFactory,
    LineFactory,
    ProductionOrderFactory,
    UserFactory,
    WorkCenterFactory,
)

TZ = datetime.timezone(datetime.timedelta(hours=8))  # Asia/Shanghai, the test plant's zone


def at(day: str, hhmm: str = "00:00") -> datetime.datetime:
    """'2026-03-01', '08:30' -> an aware plant-time datetime."""
    return datetime.datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=TZ)


class EquipmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = pm.Equipment

    work_center = factory.SubFactory(WorkCenterFactory)
    code = factory.Sequence(lambda n: f"EQ{n:03d}")
    name = factory.Sequence(lambda n: f"设备{n}")
    name_en = factory.Sequence(lambda n: f"Machine {n}")


def work_order(*, line=None, due, actual_end=None, status=None, quantity="10",
               work_centers=(), order=None, planned=None, priority=1, level=0, parent=None):
    """A work order with one task per work center given (quantity each as the order)."""
    line = line or (work_centers[0].line if work_centers else LineFactory())
    order = order or ProductionOrderFactory(due=due, quantity=Decimal(quantity),
                                            status=pm.ProductionOrder.Status.RELEASED)
    status = status or (pm.WorkOrder.Status.AWAITING_ACCEPTANCE if actual_end
                        else pm.WorkOrder.Status.RELEASED)
    wo = pm.WorkOrder.objects.create(
        number=f"WO-{uuid.uuid4().hex[:10]}", production_order=order, parent=parent,
        level=level, item=order.item if level == 0 else ItemFactory(), quantity=Decimal(quantity),
        line=line, status=status, due=due, actual_end=actual_end, priority=priority)
    for seq, wc in enumerate(work_centers, start=1):
        start, end = (planned[seq - 1] if planned else (None, None))
        pm.Task.objects.create(
            work_order=wo, seq=seq * 10, name=f"工序{seq}", work_center=wc,
            quantity=Decimal(quantity), run_minutes_per_unit=Decimal("6"),
            status=pm.Task.Status.DONE if actual_end else pm.Task.Status.RELEASED,
            planned_start=start, planned_end=end)
    return wo


def rework_task(wo, origin=None, quantity="2"):
    origin = origin or wo.tasks.first()
    return pm.Task.objects.create(
        work_order=wo, seq=origin.seq + 1, name=f"返工 {origin.name}", kind=pm.Task.Kind.REWORK,
        origin=origin, work_center=origin.work_center, quantity=Decimal(quantity),
        status=pm.Task.Status.DONE)


def report(task, *, work_end, reported_at=None, good="1", scrap="0", operator=None,
           work_center=None):
    return WorkReport.objects.create(
        task=task, operator=operator or UserFactory(), work_center=work_center or task.work_center,
        good=Decimal(good), scrap=Decimal(scrap), work_start=work_end - datetime.timedelta(
            minutes=30), work_end=work_end, reported_at=reported_at or work_end,
        client_token=uuid.uuid4().hex)


def downtime(equipment, start, end=None, *, planned=False):
    return DowntimeEvent.objects.create(equipment=equipment, start=start, end=end,
                                        planned=planned)


def equipment_state(equipment, state):
    return EquipmentState.objects.update_or_create(equipment=equipment,
                                                   defaults={"state": state})[0]


def inspection(task, *, quantity, passed, loop=0, inspected_at):
    quantity, passed = Decimal(quantity), Decimal(passed)
    return Inspection.objects.create(
        task=task, work_order=task.work_order, origin_task=task.origin or task, loop=loop,
        quantity=quantity, sample_size=quantity, qty_passed=passed,
        qty_failed=quantity - passed, inspected_at=inspected_at, created_at=inspected_at,
        status=Inspection.Status.PASSED if passed == quantity else Inspection.Status.FAILED)


def defect(code="D01"):
    return DefectCode.objects.get_or_create(code=code, defaults={"name": f"缺陷{code}",
                                                                 "name_en": f"Defect {code}"})[0]


def nonconformance(insp, *, quantity, code="D01", disposition="rework", created_at=None):
    return Nonconformance.objects.create(
        number=f"NC-{uuid.uuid4().hex[:8]}", inspection=insp, work_order=insp.work_order,
        responsible_task=insp.origin_task, defect_code=defect(code),
        quantity=Decimal(quantity), disposition=disposition,
        created_at=created_at or insp.inspected_at)


def alert_rule(code="R-KPI", severity="warning"):
    from alerts.models import AlertRule

    return AlertRule.objects.get_or_create(code=code, defaults={
        "name": "测试规则", "kind": "downtime", "severity": severity, "minutes": 5})[0]


_subject = itertools.count(1)


def alert(*, raised_at, acknowledged_at=None, resolved_at=None, work_center=None,
          severity="warning", status=None):
    from alerts.models import Alert

    status = status or ("resolved" if resolved_at else "acknowledged" if acknowledged_at
                        else "open")
    wc = work_center
    return Alert.objects.create(
        rule=alert_rule(f"R-{severity}", severity), kind="downtime", severity=severity,
        status=status, content_type=ContentType.objects.get_for_model(pm.WorkCenter),
        object_id=next(_subject), subject_repr=str(wc or "plant"),
        work_center=wc, line=wc.line if wc else None,
        workshop=wc.line.workshop if wc else None, message="停机", raised_at=raised_at,
        acknowledged_at=acknowledged_at, resolved_at=resolved_at,
        cause="原因" if resolved_at else "", action="措施" if resolved_at else "")


def now_local() -> datetime.datetime:
    return timezone.localtime()


def plant_activity(n: int, work_centers, *, now=None):
    """n of everything, around now: completed and open work orders with tasks planned today,
    reports, stops, alerts, inspections and nonconformances. For query-count pins."""
    now = now or timezone.now()
    hour = datetime.timedelta(hours=1)
    for i in range(n):
        wc = work_centers[i % len(work_centers)]
        eq = EquipmentFactory(work_center=wc)
        equipment_state(eq, ("running", "down", "idle", "setup")[i % 4])
        done = work_order(work_centers=[wc], due=now + hour, actual_end=now - hour)
        if i % 2:
            rework_task(done)
        open_wo = work_order(work_centers=[wc, wc], due=now + 24 * hour,
                             planned=[(now - 2 * hour, now + hour), (now + hour, now + 3 * hour)])
        task = open_wo.tasks.order_by("seq").first()
        task.status = pm.Task.Status.IN_PROGRESS
        task.save(update_fields=["status"])
        report(task, work_end=now - hour, reported_at=now - hour + datetime.timedelta(
            minutes=40 * (i % 2)))  # every other one late
        downtime(eq, now - 3 * hour, now - 2 * hour)
        alert(raised_at=now - 2 * hour, acknowledged_at=now - hour if i % 2 else None,
              work_center=wc, severity=("critical", "warning", "info")[i % 3])
        insp = inspection(task, quantity="5", passed="4", inspected_at=now - hour)
        nonconformance(insp, quantity="1", code=f"D{i % 3:02d}")
