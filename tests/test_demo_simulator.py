"""The demo plant and the simulator: realistic, deterministic, through the real services."""

import datetime
import io
from unittest import mock

import pytest
import time_machine
from django.core.management import call_command
from django.db.models import Count
from django.utils import timezone

from alerts.services.focus_queue import focus_suspended
from dashboards.demo.plant import demo_plant_load
from dashboards.demo.simulator import Simulator
from execution.models import TaskActivity, WorkReport
from mes.models import AuditEntry, User
from mes.roles import ROLE_LABELS
from planning.models import Item, ProductionOrder, Task, WorkCenter, Workshop
from planning.services.orders import production_order_create, production_order_explode
from quality.models import Inspection, InspectionPlan

START = datetime.datetime(2026, 11, 16, 5, 0, tzinfo=datetime.UTC)  # a Monday, 13:00 local


@pytest.mark.django_db
def test_demo_plant_is_realistic():
    assert demo_plant_load()
    assert not demo_plant_load()  # once
    assert set(Workshop.objects.values_list("code", flat=True)) == {"MACH", "ASSY"}
    assert 18 <= WorkCenter.objects.count() <= 22
    assert WorkCenter.objects.filter(calendar=None).count() == 0
    products = Item.objects.filter(code__in=["GB-100", "GB-200", "MT-5", "PM-50", "VL-25",
                                             "CV-300", "HY-10", "FN-400", "CP-20", "SP-KIT"])
    assert products.count() == 10
    planner = User.objects.get(username="planner")
    depths = []
    for item in products:
        order = production_order_create(actor=planner, item=item, quantity=2,
                                        due=timezone.now() + datetime.timedelta(days=5))
        depths.append(production_order_explode(actor=planner, order=order).levels)
    assert min(depths) >= 2 and max(depths) >= 5 and sorted(depths)[5] >= 3
    assert InspectionPlan.objects.count() >= 4
    people = User.objects.filter(is_active=True)
    assert 28 <= people.count() <= 35
    roles = set(people.values_list("groups__name", flat=True))
    assert roles >= set(ROLE_LABELS)
    assert people.exclude(badge_code=None).count() == people.count()
    assert Item.objects.exclude(name_en="").count() == Item.objects.count()


def fingerprint():
    return {
        "orders": list(ProductionOrder.objects.order_by("number").values_list(
            "number", "item__code", "quantity", "priority")),
        "reports": list(WorkReport.objects.order_by("reported_at", "client_token").values_list(
            "task__work_order__number", "task__seq", "good", "scrap", "reported_at",
            "operator__username")),
        "inspections": list(Inspection.objects.order_by("created_at", "id").values_list(
            "work_order__number", "status", "qty_failed")),
    }


@pytest.mark.django_db
def test_demo_work_centers_are_in_service_from_the_first_day_of_history():
    """OEE must not count the days before the demo's history as time the plant stood idle."""
    with time_machine.travel(START, tick=False):
        call_command("demo_load", days=0, stdout=io.StringIO())
    days = set(WorkCenter.objects.values_list("in_service_from", flat=True))
    assert days == {START.date()}


def run_sim(steps=30, seed=7):
    # As the demo history runs it (dashboards.demo.history): alerts come from the sweeps the
    # simulator runs at its simulated times, not from focused evaluations, whose requests go
    # through Redis on the sender's thread at real times (so the order of a run would follow
    # the machine's speed, not the seed).
    with focus_suspended(), time_machine.travel(START, tick=False) as traveller:
        call_command("flush", interactive=False, verbosity=0)
        demo_plant_load()
        sim = Simulator(seed=seed, history=True, scheduler_every_hours=24)
        now = START
        for _ in range(steps):
            traveller.move_to(now)
            sim.step(now, 20)
            now += datetime.timedelta(minutes=20)
    return sim, fingerprint()


@pytest.mark.django_db(transaction=True)
def test_a_schedule_applied_at_the_real_time_does_not_stop_the_history():
    """`make run` serves pages while the history is made: a planner applying a schedule now
    makes every schedule the history computes at its past times stale; it goes on without."""
    from planning.services.schedule import schedule_apply, schedule_compute, schedule_request

    sim, _ = run_sim(steps=3)
    planner = User.objects.get(username="planner")
    version = schedule_compute(schedule_request(actor=planner, reason="now", enqueue=False,
                                                heuristic_only=True).pk)
    schedule_apply(actor=planner, version=version)  # at the real time
    with time_machine.travel(START + datetime.timedelta(hours=1), tick=False):
        sim.last_schedule = None  # re-plan at the next step
        sim.step(timezone.now(), 20)
    assert sim.counters["plans_refused"] == 1


@pytest.mark.django_db(transaction=True)
def test_the_history_leaves_alone_an_order_made_at_the_real_time():
    """`make run` serves pages while the history is made at past times: an order a planner
    creates and releases now is not worked (nor inspected, nor accepted) by the history at
    times before it existed; the history's own orders are."""
    from planning.services.orders import production_order_release

    sim, _ = run_sim(steps=3)
    planner = User.objects.get(username="planner")
    order = production_order_create(actor=planner, item=Item.objects.get(code="SP-KIT"),
                                    quantity=2, due=timezone.now() + datetime.timedelta(days=3))
    production_order_explode(actor=planner, order=order)
    production_order_release(actor=planner, order=order)  # at the real time
    before = WorkReport.objects.count()
    with focus_suspended(), time_machine.travel(START, tick=False) as traveller:
        sim.last_schedule = None  # re-plan, with the new order, at the next step
        now = START + datetime.timedelta(hours=1)
        for _ in range(36):
            traveller.move_to(now)
            sim.step(now, 20)
            now += datetime.timedelta(minutes=20)
    assert WorkReport.objects.count() > before  # the history went on
    mine = {"task__work_order__production_order": order}
    assert not WorkReport.objects.filter(**mine).exists()
    assert not TaskActivity.objects.filter(**mine).exists()


@pytest.mark.django_db(transaction=True)
def test_simulator_is_deterministic_for_a_seed():
    sim1, first = run_sim(seed=7)
    sim2, second = run_sim(seed=7)
    assert first == second
    assert sim1.counters == sim2.counters
    assert len(first["reports"]) > 10 and first["orders"]
    # Component lots are scanned in as steps that consume them start (traceability).
    assert sim1.counters["lots_issued"] > 0
    _sim3, other = run_sim(seed=8)
    assert other != first


@pytest.mark.django_db(transaction=True)
def test_simulator_acts_only_through_the_services():
    import execution.services.reporting as reporting

    calls = {"report": 0, "start": 0}
    real_report, real_start = reporting.task_report_quantity, reporting.task_start

    def counted_report(**kw):
        result = real_report(**kw)
        calls["report"] += result.created
        return result

    def counted_start(**kw):
        result = real_start(**kw)
        calls["start"] += result.created
        return result

    with mock.patch("dashboards.demo.simulator.task_report_quantity", counted_report), \
            mock.patch("dashboards.demo.simulator.task_start", counted_start):
        run_sim(steps=24, seed=3)
    assert calls["report"] == WorkReport.objects.count() > 0
    assert calls["start"] == TaskActivity.objects.filter(kind="start").count() > 0
    # every report changed its task through the audited service path
    audited = AuditEntry.objects.filter(content_type__model="task", action="update",
                                        reason__startswith="work report").count()
    assert audited == WorkReport.objects.count()
    # no operator reported where they are not assigned
    bad = WorkReport.objects.exclude(operator__work_centers=models_f("work_center")).count()
    assert bad == 0
    assert WorkReport.objects.values("client_token").annotate(n=Count("id")).filter(
        n__gt=1).count() == 0


def models_f(name):
    from django.db.models import F

    return F(name)


@pytest.mark.django_db
@pytest.mark.parametrize("choice", ["rework", "scrap"])
def test_simulated_qc_has_units_that_went_on_used_as_is(make_user, choice):
    """10 → 20 (QC checkpoint) → 30 not waiting for QC: step 30 took all 10 before the
    inspection at 20 failed 3. Neither rework nor scrap is possible at 20 any more
    (units_went_on): the simulated QC does not crash; it has a manager approve them for use
    as is, as the refusal says, and the simulation goes on."""
    import uuid

    from execution.services.reporting import task_report_quantity
    from quality.models import Nonconformance
    from quality.services.inspections import inspection_record
    from tests.factories_execution import released_order
    from tests.factories_quality import DefectCodeFactory, measured_plan

    op, qc = make_user("operator"), make_user("qc_inspector")
    manager = make_user("manager")
    plan = measured_plan(sampling="every", sample_n=2)
    wo, tasks, wc = released_order(steps=3, qty="10")
    Task = tasks[0].__class__
    Task.objects.filter(pk=tasks[1].pk).update(is_qc_checkpoint=True,
                                                inspection_plan_code=plan.code)
    for task in wo.tasks.order_by("seq"):
        task_report_quantity(operator=op, task=task, work_center=wc,
                             client_token=uuid.uuid4().hex, good=10)
    insp = Inspection.objects.get(task=tasks[1])
    inspection_record(inspector=qc, inspection=insp,
                      results={ch.pk: {"value": "10.2"} for ch in insp.plan.characteristics.all()},
                      qty_failed=3, defect_code=DefectCodeFactory(code="D01"))
    nc = Nonconformance.objects.get()
    sim = Simulator(seed=1)
    sim.rates.rework_share = 1.0 if choice == "rework" else 0.0
    now = timezone.now()
    sim.due_actions[("nc", nc.pk)] = now  # decided now
    sim._qc(now)
    nc.refresh_from_db()
    assert (nc.disposition, nc.status, nc.approved_by) == ("use_as_is", "closed", manager)
    assert sim.counters["used_as_is"] == 1
    sim._qc(now)  # decided: nothing more to do
    assert sim.counters["used_as_is"] == 1


@pytest.mark.django_db
def test_simulated_rework_goes_back_to_the_step_that_made_the_units(make_user):
    """Units failed at an inspection station (which measures, it makes nothing) are reworked
    by the simulated QC at the step before it, where they were made."""
    import uuid

    from execution.services.reporting import task_report_quantity
    from quality.models import Nonconformance
    from quality.services.inspections import inspection_record
    from tests.factories import WorkCenterFactory
    from tests.factories_execution import released_order
    from tests.factories_quality import DefectCodeFactory, measured_plan

    op, qc = make_user("operator"), make_user("qc_inspector")
    plan = measured_plan(sampling="every", sample_n=2)
    wo, (turn, check), lathe = released_order(steps=2, qty="10")
    qcm = WorkCenterFactory(code="WC-QCM")
    Task.objects.filter(pk=check.pk).update(is_qc_checkpoint=True, wait_for_qc=True,
                                            inspection_plan_code=plan.code, work_center=qcm)
    for task, wc in ((turn, lathe), (check, qcm)):
        task_report_quantity(operator=op, task=task, work_center=wc,
                             client_token=uuid.uuid4().hex, good=10)
    insp = Inspection.objects.get(task=check)
    inspection_record(inspector=qc, inspection=insp,
                      results={ch.pk: {"value": "10.2"} for ch in insp.plan.characteristics.all()},
                      qty_failed=3, defect_code=DefectCodeFactory(code="D01"))
    nc = Nonconformance.objects.get()
    sim = Simulator(seed=1)
    sim.rates.rework_share = 1.0
    now = timezone.now()
    sim.due_actions[("nc", nc.pk)] = now
    sim._qc(now)
    nc.refresh_from_db()
    assert nc.disposition == "rework" and nc.rework_task.work_center == lathe
