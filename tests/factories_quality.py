"""Quality test data: plans, defect codes, and work orders taken through the loop by services."""

import uuid
from decimal import Decimal

import factory

from execution.services.materials import material_issue
from execution.services.reporting import task_report_quantity
from planning.models import MaterialRequirement, Task
from quality.models import Characteristic, DefectCode, Inspection, InspectionPlan
from quality.services.acceptance import work_order_accept
from quality.services.inspections import inspection_record
from tests.factories_execution import released_order


class DefectCodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DefectCode
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"D{n:02d}")
    name = "尺寸超差"
    name_en = "Out of tolerance"


class InspectionPlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InspectionPlan

    code = factory.Sequence(lambda n: f"IP-{n:03d}")
    name = "外径检验"
    name_en = "Outer diameter"
    max_rework_loops = 2


class CharacteristicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Characteristic

    plan = factory.SubFactory(InspectionPlanFactory)
    seq = factory.Sequence(lambda n: (n + 1) * 10)
    name = "外径"
    kind = Characteristic.Kind.MEASURED
    nominal = Decimal("10")
    lower = Decimal("9.95")
    upper = Decimal("10.05")
    unit = "mm"


def measured_plan(**kwargs) -> InspectionPlan:
    """A plan with one measured characteristic: 外径 10 ± 0.05 mm."""
    plan = InspectionPlanFactory(**kwargs)
    CharacteristicFactory(plan=plan)
    return plan


def qc_order(plan: InspectionPlan | None, qty="10", **kwargs):
    """A released 3-step work order whose step 2 is a QC checkpoint the next step waits for."""
    wo, tasks, wc = released_order(steps=3, qty=qty, **kwargs)
    Task.objects.filter(pk=tasks[1].pk).update(
        is_qc_checkpoint=True, wait_for_qc=True,
        inspection_plan_code=plan.code if plan is not None else "")
    for t in tasks:
        t.refresh_from_db()
    return wo, tasks, wc


def report(task, operator, work_center, good=0, scrap=0, **kwargs):
    return task_report_quantity(operator=operator, task=task, work_center=work_center,
                                client_token=uuid.uuid4().hex, good=good, scrap=scrap,
                                **kwargs)


def issue_lot(wo, task, operator, work_center, lot_code="LOT-A1"):
    req = MaterialRequirement.objects.filter(work_order=wo).select_related("item").first()
    return material_issue(operator=operator, task=task, work_center=work_center,
                          item_code=req.item.code, lot_code=lot_code,
                          quantity=str(req.quantity), client_token=uuid.uuid4().hex)


def pending_inspection(plan, operator, qty="10", lot_code=None, **kwargs):
    """(inspection waiting at step 2, work order, its tasks, work center)."""
    wo, tasks, wc = qc_order(plan, qty=qty, **kwargs)
    if lot_code:
        issue_lot(wo, tasks[0], operator, wc, lot_code)
    report(tasks[0], operator, wc, good=qty)
    report(tasks[1], operator, wc, good=qty)
    insp = Inspection.objects.get(task=tasks[1], status=Inspection.Status.PENDING)
    return insp, wo, tasks, wc


def pass_inspection(insp, inspector, value="10"):
    results = {ch.pk: {"value": value} if ch.kind == "measured" else {"passed": True}
               for ch in insp.plan.characteristics.all()} if insp.plan else {}
    return inspection_record(inspector=inspector, inspection=insp, results=results,
                             verdict=None if insp.plan else "passed")


def accepted_order(plan, operator, inspector, lead, qty="4", lot_code="LOT-A1", **kwargs):
    """A work order taken through reports, a passed inspection and acceptance: its archive."""
    insp, wo, tasks, wc = pending_inspection(plan, operator, qty=qty, lot_code=lot_code,
                                             **kwargs)
    pass_inspection(insp, inspector)
    report(tasks[2], operator, wc, good=qty)
    wo.refresh_from_db()
    return work_order_accept(actor=lead, work_order=wo)
