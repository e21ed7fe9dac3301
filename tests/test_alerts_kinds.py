"""Each kind of alert fires from realistic shop-floor data, once per subject, and clears."""

import uuid
from decimal import Decimal

import pytest
import time_machine
from django.db import transaction

from alerts.kinds import Kind, Scope
from alerts.models import Alert
from alerts.services.sweep import alerts_sweep
from execution.services.reporting import task_pause, task_resume
from mes.events import domain_event_publish
from mes.models import Event
from quality.models import Inspection, Nonconformance
from quality.services.nonconformance import nonconformance_disposition
from tests.factories import WorkCenterFactory
from tests.factories_alerts import (
    defect_code,
    eager_fixture,  # noqa: F401  (the `eager` fixture)
    english_fixture,  # noqa: F401  (the `english` fixture)
    equipment_for,
    make_checkpoint,
    make_rule,
    measure,
    minutes,
    now,
    qc_plan,
    report,
    schedule,
    start,
    stop,
)
from tests.factories_execution import released_order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


@pytest.fixture
def people(make_user):
    return {"op": make_user("operator"), "qc": make_user("qc_inspector"),
            "lead": make_user("workshop_lead"), "mgr": make_user("manager")}


def alerts(kind):
    return list(Alert.objects.filter(kind=kind).order_by("pk"))


def test_schedule_lag_fires_once_and_resolves_when_started(people):
    wo, (t1, t2, _t3), wc = released_order(steps=3)
    t0 = now()
    schedule(t1, t0 - minutes(45), t0 + minutes(30))
    schedule(t2, t0 - minutes(10), t0 + minutes(60))  # late by less than the threshold
    make_rule(Kind.SCHEDULE_LAG, minutes=30)
    result = alerts_sweep(now=t0)
    assert result.outcome.raised == 1
    (alert,) = alerts(Kind.SCHEDULE_LAG)
    assert (alert.task_id, alert.work_order_id, alert.work_center_id) == (t1.pk, wo.pk, wc.pk)
    assert alert.line_id == wc.line_id and alert.workshop_id == wc.line.workshop_id
    assert alert.subject_repr == str(t1) and "45 min" in alert.message
    # repeated sweeps: still exactly one alert for this rule and task
    for n in range(3):
        alerts_sweep(now=t0 + minutes(n))
    assert len(alerts(Kind.SCHEDULE_LAG)) == 1
    start(t1, people["op"], wc)
    alerts_sweep(now=t0 + minutes(5))
    alert.refresh_from_db()
    assert alert.status == "resolved" and alert.auto_resolved
    assert alert.condition_cleared_at is not None and alert.cause and alert.action
    # t2 is now late too (and t1, started, never fires again)
    alerts_sweep(now=t0 + minutes(25))
    assert [a.task_id for a in alerts(Kind.SCHEDULE_LAG)] == [t1.pk, t2.pk]


def test_progress_lag_against_time_proportional_plan(people):
    _wo, (t1, *_), wc = released_order(steps=2, qty="10")
    t0 = now()
    schedule(t1, t0 - minutes(120), t0 + minutes(120))
    report(t1, people["op"], wc, good=1)  # 10 % done at the half-way point: 40 points behind
    make_rule(Kind.PROGRESS_LAG, percent=Decimal("20"))
    alerts_sweep(now=t0)
    (alert,) = alerts(Kind.PROGRESS_LAG)
    assert alert.data["actual_pct"] == 10.0 and 49 < alert.data["expected_pct"] < 51
    report(t1, people["op"], wc, good=4)  # 50 %: on plan
    alerts_sweep(now=t0)
    alert.refresh_from_db()
    assert alert.status == "resolved"


def test_due_date_risk_from_remaining_work_and_from_the_schedule(people):
    wo, tasks, _wc = released_order(steps=3, qty="10")
    make_rule(Kind.DUE_DATE_RISK)
    # 3 × (10 min setup + 1.5 min × 10) = 75 min of work left
    alerts_sweep(now=wo.due - minutes(90))
    assert alerts(Kind.DUE_DATE_RISK) == []
    alerts_sweep(now=wo.due - minutes(60))
    (alert,) = alerts(Kind.DUE_DATE_RISK)
    assert alert.object_id == wo.pk and alert.data["remaining_minutes"] == 75
    assert alert.work_center_id == tasks[0].work_center_id
    # a schedule ending after the due time is a risk even with time to spare
    wo2, tasks2, _ = released_order(steps=1)
    schedule(tasks2[0], wo2.due - minutes(30), wo2.due + minutes(30))
    alerts_sweep(now=wo2.due - minutes(24 * 60))
    assert {a.object_id for a in alerts(Kind.DUE_DATE_RISK)} == {wo.pk, wo2.pk}


def test_overdue_report_after_planned_end_plus_grace(people):
    _wo, (t1, *_), wc = released_order(steps=2)
    t0 = now()
    report(t1, people["op"], wc, good=2)
    schedule(t1, t0 - minutes(120), t0 - minutes(10))
    make_rule(Kind.OVERDUE_REPORT, minutes=30)
    alerts_sweep(now=t0 + minutes(20))  # a report within the grace window
    assert alerts(Kind.OVERDUE_REPORT) == []
    alerts_sweep(now=t0 + minutes(45))
    (alert,) = alerts(Kind.OVERDUE_REPORT)
    assert alert.task_id == t1.pk and alert.data["over_minutes"] == 55


@pytest.fixture
def qc_situation(people):
    """Step 2 of 3 is a QC checkpoint; 10 reported good on it, waiting for inspection."""
    plan = qc_plan(max_loops=1)
    wo, (t1, t2, t3), wc = released_order(steps=3, qty="10")
    t2 = make_checkpoint(t2, plan)
    report(t1, people["op"], wc, good=10)
    report(t2, people["op"], wc, good=10)
    return wo, (t1, t2, t3), wc, Inspection.objects.get()


def test_failed_inspection_alert_raised_right_after_recording(people, qc_situation, eager,
                                                              django_capture_on_commit_callbacks):
    wo, (_t1, t2, _t3), wc, insp = qc_situation
    make_rule(Kind.INSPECTION_FAILED)
    with django_capture_on_commit_callbacks(execute=True):
        measure(insp, people["qc"], "10.2", qty_failed="3", defect_code=defect_code())
    (alert,) = alerts(Kind.INSPECTION_FAILED)  # event-driven: no sweep needed
    assert (alert.object_id, alert.task_id, alert.work_center_id) == (insp.pk, t2.pk, wc.pk)
    assert alert.data["failed"] == "3"
    # an event, not a condition: the sweep never raises it again, even once it is closed
    alerts_sweep()
    Alert.objects.filter(pk=alert.pk).update(status="closed", cause="x", action="y",
                                             resolved_at=now())
    alerts_sweep()
    assert len(alerts(Kind.INSPECTION_FAILED)) == 1


def test_defect_rate_over_rolling_window_per_work_center(people, qc_situation):
    _wo, _tasks, wc, insp = qc_situation
    measure(insp, people["qc"], "10.2", qty_failed="3", defect_code=defect_code())
    make_rule(Kind.DEFECT_RATE, percent=Decimal("10"), window_hours=Decimal("4"),
              min_quantity=Decimal("5"))
    make_rule(Kind.DEFECT_RATE, percent=Decimal("50"), window_hours=Decimal("4"))
    alerts_sweep()
    (alert,) = alerts(Kind.DEFECT_RATE)  # 30 % > 10 %; not > 50 %
    assert alert.object_id == wc.pk and alert.data["rate"] == "30.0"
    # outside the window the rate is nothing: the condition clears
    insp.refresh_from_db()
    alerts_sweep(now=insp.inspected_at + minutes(5 * 60))
    alert.refresh_from_db()
    assert alert.status == "resolved"


def test_rework_loops_exceeded(people, qc_situation):
    _wo, (_t1, t2, _t3), wc, insp = qc_situation
    make_rule(Kind.REWORK_LOOPS)
    measure(insp, people["qc"], "10.2", qty_failed="2", defect_code=defect_code())
    first = Nonconformance.objects.get()
    alerts_sweep()
    assert alerts(Kind.REWORK_LOOPS) == []  # loop 0 of 1 allowed
    nonconformance_disposition(actor=people["qc"], nonconformance=first, disposition="rework")
    first.refresh_from_db()
    report(first.rework_task, people["op"], wc, good=2)
    reinspection = Inspection.objects.get(loop=1)
    measure(reinspection, people["qc"], "10.3", defect_code=defect_code())
    second = Nonconformance.objects.get(loop=1)
    alerts_sweep()
    (alert,) = alerts(Kind.REWORK_LOOPS)
    assert alert.object_id == second.pk and alert.task_id == t2.pk
    assert alert.data == {"nc": second.number, "loop": 1, "limit": 1}
    nonconformance_disposition(actor=people["qc"], nonconformance=second, disposition="scrap")
    alerts_sweep()
    alert.refresh_from_db()
    assert alert.status == "resolved"


def test_unplanned_downtime_fires_after_n_minutes_and_resolves_on_restart(
        people, eager, django_capture_on_commit_callbacks):
    wc = WorkCenterFactory()
    machine = equipment_for(wc)
    t0 = now() - minutes(20)
    stop(machine, people["lead"], at=t0)
    make_rule(Kind.DOWNTIME, minutes=15)
    alerts_sweep(now=t0 + minutes(10))
    assert alerts(Kind.DOWNTIME) == []
    alerts_sweep(now=t0 + minutes(20))
    (alert,) = alerts(Kind.DOWNTIME)
    assert alert.equipment_id == machine.pk and alert.work_center_id == wc.pk
    from execution.services.equipment import equipment_set_state

    with django_capture_on_commit_callbacks(execute=True):  # event-driven: clears at once
        equipment_set_state(actor=people["lead"], equipment=machine, state="running")
    alert.refresh_from_db()
    assert alert.status == "resolved" and alert.auto_resolved


def test_plan_change_raises_information_and_groups_repeated_changes(
        people, eager, django_capture_on_commit_callbacks):
    wo, _tasks, _wc = released_order(steps=2)
    make_rule(Kind.PLAN_CHANGE, severity="info")
    for reason in ("rush order", "quantity +5"):
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            domain_event_publish("plan.changed", production_order_id=wo.production_order_id,
                                 work_order_ids=[wo.pk], reason=reason)
    (alert,) = alerts(Kind.PLAN_CHANGE)
    assert alert.severity == "info" and alert.object_id == wo.production_order_id
    assert "rush order" in alert.message
    assert [c.text for c in alert.comments.all()] == ["The plan changed again: quantity +5"]


def test_scope_limits_a_rule_to_its_work_center(people):
    _wo, (t1, *_), wc = released_order(steps=2)
    _wo2, (u1, *_), other = released_order(steps=2)
    t0 = now()
    schedule(t1, t0 - minutes(60), t0)
    schedule(u1, t0 - minutes(60), t0)
    make_rule(Kind.SCHEDULE_LAG, minutes=30, scope=Scope.WORK_CENTER, work_center=other)
    make_rule(Kind.SCHEDULE_LAG, minutes=30, scope=Scope.WORKSHOP,
              workshop=wc.line.workshop)
    alerts_sweep(now=t0)
    got = {(a.rule.scope, a.task_id) for a in alerts(Kind.SCHEDULE_LAG)}
    assert got == {(Scope.WORK_CENTER, u1.pk), (Scope.WORKSHOP, t1.pk)}


def test_report_triggers_event_driven_evaluation(people, eager,
                                                 django_capture_on_commit_callbacks):
    _wo, (t1, *_), wc = released_order(steps=2, qty="10")
    t0 = now()
    schedule(t1, t0 - minutes(120), t0 + minutes(120))
    start(t1, people["op"], wc)
    make_rule(Kind.PROGRESS_LAG, percent=Decimal("20"))
    alerts_sweep()
    (alert,) = alerts(Kind.PROGRESS_LAG)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        report(t1, people["op"], wc, good=6)
    assert callbacks  # a Celery task was enqueued after the report committed
    alert.refresh_from_db()
    assert alert.status == "resolved"
    assert Event.objects.filter(kind="alert.resolved", topic=f"wc:{wc.pk}").exists()


def test_condition_cleared_without_auto_resolve_and_coming_back(people):
    _wo, (t1, *_), wc = released_order(steps=2, qty="10")
    t0 = now()
    schedule(t1, t0 - minutes(120), t0 + minutes(120))
    report(t1, people["op"], wc, good=1)
    make_rule(Kind.PROGRESS_LAG, percent=Decimal("20"), auto_resolve=False)
    alerts_sweep(now=t0)
    (alert,) = alerts(Kind.PROGRESS_LAG)
    alerts_sweep(now=t0 - minutes(90))  # earlier in the plan: 12.5 % expected, 10 % done
    alert.refresh_from_db()
    assert alert.status == "open" and alert.condition_cleared_at is not None
    assert alert.next_escalation_at is None  # nothing to escalate while the condition is gone
    alerts_sweep(now=t0)
    alert.refresh_from_db()
    assert alert.condition_cleared_at is None and len(alerts(Kind.PROGRESS_LAG)) == 1


def test_starting_a_late_task_clears_its_schedule_lag_alert_without_a_sweep(
        people, eager, django_capture_on_commit_callbacks):
    t0 = now().replace(microsecond=0)
    with time_machine.travel(t0, tick=False) as clock:
        _wo, (t1, t2, _t3), wc = released_order(steps=3)
        schedule(t1, t0 - minutes(45), t0 + minutes(30))
        schedule(t2, t0 - minutes(40), t0 + minutes(60))
        make_rule(Kind.SCHEDULE_LAG, minutes=30)
        alerts_sweep()
        first, second = alerts(Kind.SCHEDULE_LAG)
        clock.shift(minutes(3))
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            start(t1, people["op"], wc)
        assert callbacks  # the evaluation was enqueued once the start committed
    first.refresh_from_db()
    assert (first.status, first.auto_resolved) == ("resolved", True)
    assert first.resolved_at == first.condition_cleared_at == t0 + minutes(3)
    assert Event.objects.filter(kind="alert.resolved", topic=f"wc:{wc.pk}",
                                payload__alert=first.pk).exists()
    second.refresh_from_db()  # the other late task was not started: its alert stays open
    assert second.status == "open" and second.condition_cleared_at is None


def test_pause_and_resume_evaluate_the_task_at_once(people, eager,
                                                    django_capture_on_commit_callbacks):
    t0 = now().replace(microsecond=0)
    with time_machine.travel(t0 - minutes(100), tick=False) as clock:
        _wo, (t1, *_), wc = released_order(steps=2)
        schedule(t1, t0 - minutes(100), t0 - minutes(30))
        start(t1, people["op"], wc)
        make_rule(Kind.OVERDUE_REPORT, minutes=10)
        clock.move_to(t0)
        alerts_sweep()  # running past its end + grace with no report
        (overdue,) = alerts(Kind.OVERDUE_REPORT)

        def act(service):
            with django_capture_on_commit_callbacks(execute=True):
                service(operator=people["op"], task=t1, work_center=wc,
                        client_token=uuid.uuid4().hex)

        clock.shift(minutes(1))
        act(task_pause)  # a paused task is not "running unreported"
        overdue.refresh_from_db()
        assert overdue.status == "resolved" and overdue.resolved_at == t0 + minutes(1)
        clock.shift(minutes(1))
        act(task_resume)  # running again, still unreported: a new alert at once
    again = alerts(Kind.OVERDUE_REPORT)[-1]
    assert again.pk != overdue.pk and again.task_id == t1.pk
    assert (again.status, again.raised_at) == ("open", t0 + minutes(2))


def test_a_rule_resolved_alerts_cause_reads_in_the_readers_language(people, client_as):
    """The sweep (a worker, in the plant's language) resolves an alert whose condition
    cleared: its cause and action are the system's words, shown to each reader in theirs."""
    from django.urls import reverse
    from django.utils import translation
    from django.utils.translation import gettext

    _wo, (t1, _t2), wc = released_order(steps=2)
    t0 = now()
    schedule(t1, t0 - minutes(45), t0 + minutes(30))
    make_rule(Kind.SCHEDULE_LAG, minutes=30)
    alerts_sweep(now=t0)
    start(t1, people["op"], wc)
    with translation.override("zh-hans"):
        alerts_sweep(now=t0 + minutes(5))
        chinese = gettext("The condition cleared.")
    (alert,) = alerts(Kind.SCHEDULE_LAG)
    assert alert.auto_resolved and alert.cause == chinese != "The condition cleared."
    html = client_as("workshop_lead").get(reverse("alerts:alert_detail", args=[alert.pk]),
                                          HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "The condition cleared." in html and "Resolved automatically by the rule." in html
    assert chinese not in html


def test_alerts_raised_together_are_numbered_in_their_subjects_order(people):
    """However the evaluator's query returns its candidates, alerts raised in one go get their
    ids in the subjects' order (the demo's history repeats for a seed only so)."""
    from alerts.rules import EVALUATORS
    from alerts.services.raising import alerts_raise

    _wo, (t1, t2, t3), _wc = released_order(steps=3)
    t0 = now()
    for t in (t1, t2, t3):
        schedule(t, t0 - minutes(45), t0 + minutes(30))
    rule = make_rule(Kind.SCHEDULE_LAG, minutes=30)
    found = EVALUATORS[rule.kind].candidates(rule, t0)
    assert len(found) == 3
    backwards = sorted(found, key=lambda c: c.object_id, reverse=True)
    raised = alerts_raise(rule=rule, candidates=backwards, now=t0)
    assert [a.object_id for a in sorted(raised, key=lambda a: a.pk)] == sorted(
        [t1.pk, t2.pk, t3.pk])
