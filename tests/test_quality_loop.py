"""The quality loop: inspection at a checkpoint, failure, automatic rework, re-inspection,
acceptance with reconciliation, archive and traceability."""

import uuid
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from execution.services.materials import material_issue
from execution.services.reporting import task_report_quantity
from planning.models import MaterialRequirement, RoutingStep, Task, WorkOrder
from quality.models import (
    ArchivedRecord,
    Characteristic,
    DefectCode,
    Inspection,
    InspectionPlan,
    Nonconformance,
)
from quality.selectors import trace_backward, trace_forward
from quality.services.acceptance import (
    acceptance_blockers,
    archive_verify,
    reconciliation,
    work_order_accept,
    work_order_reject,
    work_order_reopen,
)
from quality.services.inspections import inspection_record
from quality.services.nonconformance import nonconformance_disposition
from tests.factories_execution import released_order, scrap_reason

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan():
    p = InspectionPlan.objects.create(code="IP-DIA", name="外径检验", max_rework_loops=1)
    Characteristic.objects.create(plan=p, name="外径", kind="measured", nominal=Decimal("10"),
                                  lower=Decimal("9.95"), upper=Decimal("10.05"), unit="mm")
    return p


@pytest.fixture
def defect():
    return DefectCode.objects.create(code="D01", name="尺寸超差", name_en="Out of tolerance")


@pytest.fixture
def people(make_user):
    return {"op": make_user("operator"), "qc": make_user("qc_inspector"),
            "lead": make_user("workshop_lead"), "mgr": make_user("manager")}


def qc_order(plan, qty="10"):
    """3 steps; step 2 is a QC checkpoint whose next step waits for QC."""
    RoutingStep.objects.none()
    wo, tasks, wc = released_order(steps=3, qty=qty)
    Task.objects.filter(pk=tasks[1].pk).update(is_qc_checkpoint=True, wait_for_qc=True,
                                                inspection_plan_code=plan.code)
    for t in tasks:
        t.refresh_from_db()
    return wo, tasks, wc


def rep(task, op, wc, good=0, scrap=0, **kw):
    return task_report_quantity(operator=op, task=task, work_center=wc,
                                client_token=uuid.uuid4().hex, good=good, scrap=scrap, **kw)


def measure(insp, qc, value, **kw):
    ch = insp.plan.characteristics.get()
    return inspection_record(inspector=qc, inspection=insp, results={ch.pk: {"value": value}},
                             **kw)


def test_fail_rework_reinspect_accept_archive_trace(plan, defect, people):
    op, qc, lead = people["op"], people["qc"], people["lead"]
    wo, (t1, t2, t3), wc = qc_order(plan)
    req = MaterialRequirement.objects.filter(work_order=wo).first()
    material_issue(operator=op, task=t1, work_center=wc, item_code=req.item.code,
                   lot_code="LOT-A1", quantity=str(req.quantity), client_token=uuid.uuid4().hex)
    rep(t1, op, wc, good=10)
    rep(t2, op, wc, good=10)
    insp = Inspection.objects.get()
    assert (insp.quantity, insp.status) == (Decimal(10), "pending")
    # the next step waits for QC
    with pytest.raises(ValidationError, match="Only 0 left"):
        rep(t3, op, wc, good=1)
    with pytest.raises(ValidationError, match="defect code"):
        measure(insp, qc, "10.2", qty_failed="3")
    measure(insp, qc, "10.2", qty_failed="3", defect_code=defect, notes="burr")
    insp.refresh_from_db()
    assert (insp.status, insp.qty_passed, insp.qty_failed) == ("failed", 7, 3)
    nc = Nonconformance.objects.get()
    assert nc.responsible_task_id == t2.pk and nc.quantity == 3 and nc.operator == op
    rep(t3, op, wc, good=7)  # the 7 that passed may go on
    nonconformance_disposition(actor=qc, nonconformance=nc, disposition="rework")
    nc.refresh_from_db()
    rework = nc.rework_task
    assert rework.kind == "rework" and rework.origin_id == t2.pk
    assert rework.work_center_id == t2.work_center_id and rework.status == "released"
    t2.refresh_from_db()
    assert (t2.qty_good, t2.qty_rework) == (7, 3)
    # operator reworks: 2 good, 1 scrap
    rep(rework, op, wc, good=2, scrap=1, scrap_reason=scrap_reason())
    t2.refresh_from_db()
    assert (t2.qty_scrap, t2.qty_rework) == (1, 2)
    reinspect = Inspection.objects.get(loop=1)
    assert reinspect.quantity == 2
    wo.refresh_from_db()
    assert "awaiting" not in wo.status or acceptance_blockers(wo)
    measure(reinspect, qc, "10.01")
    t2.refresh_from_db()
    assert (t2.qty_good, t2.qty_rework, t2.qty_qc_accepted) == (9, 0, 9)
    nc.refresh_from_db()
    assert nc.status == "closed"
    # Closed by the rework's inspection: why, in each reader's language.
    from django.utils import translation

    from mes.models import AuditEntry

    closed = AuditEntry.objects.filter(content_type__model="nonconformance",
                                       object_id=str(nc.pk)).order_by("-pk").first()
    with translation.override("zh-hans"):
        assert closed.reason_shown == "返工完成"
    with translation.override("en"):
        assert closed.reason_shown == "rework finished"
    rep(t3, op, wc, good=2)
    wo.refresh_from_db()
    assert wo.status == WorkOrder.Status.AWAITING_ACCEPTANCE
    assert acceptance_blockers(wo) == []
    record = work_order_accept(actor=lead, work_order=wo)
    wo.refresh_from_db()
    assert wo.status == "accepted" and archive_verify(record)
    assert {n["number"] for n in record.data["nonconformances"]} == {nc.number}
    assert len(record.data["inspections"]) == 2 and record.data["consumptions"][0][
        "lot_code"] == "LOT-A1"
    back = trace_backward(wo)
    assert {c.lot_code for c in back["lots"]} == {"LOT-A1"}
    assert op in {r.operator for r in back["reports"]}
    forward = trace_forward("LOT-A1")
    assert wo in forward["work_orders"]
    # archived: the floor cannot report on it any more
    with pytest.raises(ValidationError):
        rep(t3, op, wc, good=1)
    with pytest.raises(PermissionDenied):
        work_order_reopen(actor=lead, work_order=wo, reason="customer complaint")
    work_order_reopen(actor=people["mgr"], work_order=wo, reason="customer complaint")
    assert ArchivedRecord.objects.get().superseded_at is not None


def test_rework_loops_exceeded_forces_scrap_or_approval(plan, defect, people):
    op, qc = people["op"], people["qc"]
    _wo, (t1, t2, _t3), wc = qc_order(plan, qty="4")
    rep(t1, op, wc, good=4)
    rep(t2, op, wc, good=4)
    measure(Inspection.objects.get(), qc, "11", qty_failed="2", defect_code=defect)
    nc = Nonconformance.objects.get()
    nonconformance_disposition(actor=qc, nonconformance=nc, disposition="rework")
    nc.refresh_from_db()
    rep(nc.rework_task, op, wc, good=2)
    measure(Inspection.objects.get(loop=1), qc, "11", defect_code=defect)
    nc2 = Nonconformance.objects.get(loop=1)
    with pytest.raises(ValidationError, match="reworked 1 times"):
        nonconformance_disposition(actor=qc, nonconformance=nc2, disposition="rework")
    with pytest.raises(PermissionDenied):
        nonconformance_disposition(actor=qc, nonconformance=nc2, disposition="use_as_is",
                                   reason="cosmetic")
    nonconformance_disposition(actor=qc, nonconformance=nc2, disposition="scrap")
    t2.refresh_from_db()
    assert (t2.qty_good, t2.qty_scrap, t2.qty_rework, t2.qty_qc_accepted) == (2, 2, 0, 2)


def test_use_as_is_needs_approver_and_counts_accepted(plan, defect, people):
    op, qc, mgr = people["op"], people["qc"], people["mgr"]
    _wo, (t1, t2, _t3), wc = qc_order(plan, qty="5")
    rep(t1, op, wc, good=5)
    rep(t2, op, wc, good=5)
    measure(Inspection.objects.get(), qc, "10.3", qty_failed="1", defect_code=defect)
    nc = Nonconformance.objects.get()
    with pytest.raises(ValidationError, match="why"):
        nonconformance_disposition(actor=mgr, nonconformance=nc, disposition="use_as_is")
    nonconformance_disposition(actor=mgr, nonconformance=nc, disposition="use_as_is",
                               reason="customer deviation 12")
    t2.refresh_from_db()
    assert (t2.qty_good, t2.qty_qc_accepted) == (5, 5)
    nc.refresh_from_db()
    assert nc.approved_by == mgr and nc.status == "closed"


def test_reconciliation_names_each_gap(plan, people):
    op = people["op"]
    wo, (t1, t2, t3), wc = qc_order(plan, qty="10")
    rep(t1, op, wc, good=9, scrap=1, scrap_reason=scrap_reason())
    Task.objects.filter(pk=t2.pk).update(qty_good=8, qty_qc_accepted=7, status="done")
    Task.objects.filter(pk=t3.pk).update(qty_good=7, status="done")
    problems = reconciliation(wo)
    assert any(f"step {t2.seq}: 9 passed on, but 8 good + 0 scrap" in p for p in problems)
    assert any("8 good, but 7 passed inspection" in p for p in problems)


def test_blockers_listed_and_reject_reopens_last_step(plan, defect, people):
    op, qc, lead = people["op"], people["qc"], people["lead"]
    wo, (t1, t2, t3), wc = qc_order(plan, qty="2")
    rep(t1, op, wc, good=2)
    rep(t2, op, wc, good=2)
    blockers = acceptance_blockers(wo)
    assert any("not awaiting acceptance" in b for b in blockers)
    assert any("1 inspection not yet recorded" in b for b in blockers)
    measure(Inspection.objects.get(), qc, "10")
    rep(t3, op, wc, good=2)
    wo.refresh_from_db()
    with pytest.raises(ValidationError, match="why"):
        work_order_reject(actor=lead, work_order=wo, reason="")
    work_order_reject(actor=lead, work_order=wo, reason="label missing")
    wo.refresh_from_db()
    t3.refresh_from_db()
    assert wo.status == "in_progress" and t3.status == "in_progress"
    with pytest.raises(PermissionDenied):
        work_order_accept(actor=op, work_order=wo)


def test_measurement_must_be_a_number(plan, people):
    op, qc = people["op"], people["qc"]
    _wo, (t1, t2, _t3), wc = qc_order(plan, qty="1")
    rep(t1, op, wc, good=1)
    rep(t2, op, wc, good=1)
    insp = Inspection.objects.get()
    for bad in ["abc", "", "1e999", "NaN"]:
        with pytest.raises(ValidationError, match="number|Enter the measured"):
            measure(insp, qc, bad)
    insp.refresh_from_db()
    assert insp.status == "pending" and not insp.results.exists()


def test_reject_puts_the_work_order_back_unfinished(plan, people):
    """Rejected (or re-opened by rework), a work order is no longer finished: its actual finish
    is cleared, and its history names just what changed."""
    from mes.models import AuditEntry

    op, lead = people["op"], people["lead"]
    wo, (t1,), wc = released_order(steps=1, qty="2")
    rep(t1, op, wc, good=2)
    wo.refresh_from_db()
    assert wo.status == WorkOrder.Status.AWAITING_ACCEPTANCE and wo.actual_end
    work_order_reject(actor=lead, work_order=wo, reason="burrs on the edge")
    wo.refresh_from_db()
    assert wo.status == WorkOrder.Status.IN_PROGRESS and wo.actual_end is None
    entry = AuditEntry.objects.filter(content_type__model="workorder",
                                      object_id=str(wo.pk)).latest("id")
    assert entry.changed_fields == ["actual_end", "status"]


def test_a_new_rework_task_is_next_on_its_station_ahead_of_a_waiting_step(plan, defect,
                                                                          people):
    """A fresh rework task (no plan yet, so last in schedule order) sat under Later while the
    station's one Next slot went to the step after the QC checkpoint, waiting for units that
    had all failed; the rework can be done now, the waiting step cannot."""
    import datetime

    from django.utils import timezone

    from execution.selectors import dispatch_list

    op, qc = people["op"], people["qc"]
    _wo, (t1, t2, t3), wc = qc_order(plan)
    start = timezone.now() + datetime.timedelta(hours=1)
    Task.objects.filter(pk=t3.pk).update(planned_start=start,
                                         planned_end=start + datetime.timedelta(hours=1))
    rep(t1, op, wc, good=10)
    rep(t2, op, wc, good=10)
    measure(Inspection.objects.get(), qc, "10.2", qty_failed="10", defect_code=defect)
    rework = nonconformance_disposition(actor=qc, nonconformance=Nonconformance.objects.get(),
                                        disposition="rework").rework_task
    lists = dispatch_list(wc)
    rows = {r.task.pk: r for r in lists.current + lists.next + lists.later}
    assert rows[t3.pk].waiting and rework.planned_start is None
    assert [r.task.pk for r in lists.next] == [rework.pk]
    assert [r.task.pk for r in lists.later] == [t3.pk]
    assert rows[rework.pk].ready and not rows[t3.pk].ready


def test_a_new_rework_task_is_not_late_before_it_has_a_plan(plan, defect, people, make_user):
    """A rework task goes to its station at once but is planned by the next schedule run, as
    any task the schedule has not placed: until then it has no planned start, so neither the
    station's list nor the schedule-lag alert calls it late (it used to get its creation time
    as planned start and read "late start" the moment it was made). Once planned, it is
    judged against that plan like every other task."""
    import datetime

    from django.utils import timezone

    from alerts.kinds import Kind
    from alerts.models import Alert
    from alerts.services.sweep import alerts_sweep
    from execution.selectors import dispatch_list
    from planning.services.schedule import schedule_apply, schedule_compute, schedule_request
    from tests.factories_alerts import make_rule

    op, qc = people["op"], people["qc"]
    _wo, (t1, t2, _t3), wc = qc_order(plan)
    rep(t1, op, wc, good=10)
    rep(t2, op, wc, good=10)
    measure(Inspection.objects.get(), qc, "10.2", qty_failed="3", defect_code=defect)
    nc = nonconformance_disposition(actor=qc, nonconformance=Nonconformance.objects.get(),
                                    disposition="rework")
    rework = nc.rework_task

    def late(at):
        lists = dispatch_list(rework.work_center, now=at)
        return {r.task.pk: r.late for r in lists.current + lists.next + lists.later}[rework.pk]

    later = timezone.now() + datetime.timedelta(hours=2)
    assert late(timezone.now()) == late(later) == ""
    assert (rework.status, rework.planned_start, rework.planned_end) == ("released", None, None)
    make_rule(Kind.SCHEDULE_LAG, minutes=30)
    alerts_sweep(now=later)
    assert not Alert.objects.filter(kind=Kind.SCHEDULE_LAG, task_id=rework.pk).exists()

    planner = make_user("planner")
    version = schedule_compute(schedule_request(actor=planner, reason="re-plan",
                                                heuristic_only=True, enqueue=False).pk)
    schedule_apply(actor=planner, version=version)
    rework.refresh_from_db()
    assert rework.planned_start is not None and rework.planned_end is not None
    assert late(rework.planned_start - datetime.timedelta(minutes=1)) == ""
    assert late(rework.planned_start + (rework.planned_end - rework.planned_start) / 2) == "start"


def test_the_rework_column_says_it_counts_units_now_in_rework(plan, defect, people, make_user,
                                                             client):
    """The tasks' rework figure is what is in rework now (it is 0 again once the units are
    back good): the work order's task list, the acceptance reconciliation and the archive
    head it "In rework" (返工中), not "Rework", which read like units ever reworked (those
    are the rework task's own row)."""
    import re

    from django.urls import reverse

    from quality.views.archive_sections import sections

    op, qc = people["op"], people["qc"]
    wo, (t1, t2, t3), wc = qc_order(plan)
    rep(t1, op, wc, good=10)
    rep(t2, op, wc, good=10)
    measure(Inspection.objects.get(), qc, "10.2", qty_failed="3", defect_code=defect)
    nc = nonconformance_disposition(actor=qc, nonconformance=Nonconformance.objects.get(),
                                    disposition="rework")
    client.force_login(make_user("planner"))
    url = reverse("planning:work_order_detail", args=[wo.pk])

    def column(page):
        """The header and each row's value of the rework column."""
        table = page[page.index('data-testid="tasks"'):]
        heads = re.findall(r"<th[^>]*>(.*?)</th>", table[:table.index("</thead>")])
        at = heads.index(next(h for h in heads if "rework" in h.lower() or "返工" in h))
        body = table[table.index("<tbody>"):table.index("</tbody>")]
        rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
        return heads[at], [re.sub(r"<[^>]+>|\s", "",
                                  re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)[at])
                           for r in rows]

    assert column(client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()) == (
        "In rework", ["0", "3", "0", "0"])  # step 1, step 2, its rework task, step 3
    rep(nc.rework_task, op, wc, good=3)
    measure(Inspection.objects.get(loop=1), qc, "10.01")
    rep(t3, op, wc, good=10)
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert column(page) == ("In rework", ["0", "0", "0", "0"])
    rework_row = page[page.index('<tr class="rework"'):]
    assert ">3<" in rework_row[:rework_row.index("</tr>")]  # the rework task's own quantity
    assert column(client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode())[0] == (
        "返工中")
    client.force_login(people["lead"])
    accept_page = client.get(reverse("quality:acceptance", args=[wo.pk]),
                             HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert ">In rework</th>" in accept_page and ">Rework</th>" not in accept_page
    record = work_order_accept(actor=people["lead"], work_order=wo)
    (tasks,) = [s for s in sections(record.data) if s["key"] == "tasks"]
    assert "in rework" in [str(h) for h in tasks["headers"]]


def test_a_rework_tasks_name_is_in_the_plants_language_whoever_decided(plan, defect, people,
                                                                         settings):
    """An inspector whose browser spoke English sent units to rework in a Chinese plant; the
    operators' station, the board and the traveler read "Rework: 外径检验 (NC…)" for good
    among tasks named "返工：…". A task's name is the plant's (its operation names are the
    plant's master data): it is written in the plant's language, not the decider's."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "zh-hans"
    op, qc = people["op"], people["qc"]
    _wo, (t1, t2, _t3), wc = qc_order(plan)
    rep(t1, op, wc, good=10)
    rep(t2, op, wc, good=10)
    measure(Inspection.objects.get(), qc, "10.2", qty_failed="3", defect_code=defect)
    with translation.override("en"):
        nc = nonconformance_disposition(actor=qc, nonconformance=Nonconformance.objects.get(),
                                        disposition="rework")
    assert nc.rework_task.name == f"返工：{t2.name}（{nc.number}）"
