"""The sweep costs a fixed number of queries per rule whatever the amount of open work; the
station/board selectors cost one query; beat schedules the sweep; the recovery paths work."""

from decimal import Decimal

import pytest
from django.core import mail
from django.core.management import call_command

from alerts import selectors
from alerts.kinds import Channel, Kind
from alerts.models import Alert, AlertRule, Notification
from alerts.services.sweep import alerts_sweep
from tests.factories import WorkCenterFactory
from tests.factories_alerts import (
    english_fixture,  # noqa: F401
    make_rule,
    minutes,
    now,
    report,
    schedule,
)
from tests.factories_execution import released_order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

CHAIN = [
    {"after_minutes": 0, "notify_responsible": True, "channels": [Channel.IN_APP, "email"]},
    {"after_minutes": 60, "roles": ["manager"], "channels": [Channel.IN_APP]},
]


def every_kind_rule():
    for kind, thresholds in [
        (Kind.SCHEDULE_LAG, {"minutes": 30}), (Kind.PROGRESS_LAG, {"percent": Decimal(20)}),
        (Kind.DUE_DATE_RISK, {}), (Kind.OVERDUE_REPORT, {"minutes": 30}),
        (Kind.INSPECTION_FAILED, {}),
        (Kind.DEFECT_RATE, {"percent": Decimal(5), "window_hours": Decimal(8)}),
        (Kind.REWORK_LOOPS, {}), (Kind.DOWNTIME, {"minutes": 15}),
    ]:
        make_rule(kind, chain=CHAIN, **thresholds)


def late_work(n, wc, op, planner, t0):
    """n work orders: step 1 running far behind plan, step 2 not started 45 min late."""
    for _ in range(n):
        _wo, (t1, t2), _ = released_order(steps=2, qty="10", work_center=wc, planner=planner)
        schedule(t1, t0 - minutes(120), t0 + minutes(120))
        schedule(t2, t0 - minutes(45), t0 + minutes(180))
        report(t1, op, wc, good=1)


def test_sweep_queries_do_not_depend_on_the_number_of_tasks(
        make_user, django_assert_max_num_queries, django_capture_on_commit_callbacks):
    op, planner = make_user("operator"), make_user("planner")
    make_user("manager", email="boss@plant.example")
    wc = WorkCenterFactory(lead=make_user("workshop_lead", email="lead@plant.example"))
    every_kind_rule()
    t0 = now()

    def sweep(at, most=None):
        """Count the sweep's queries; then let the e-mails go (Celery's work, not counted)."""
        with django_capture_on_commit_callbacks() as sends, \
                django_assert_max_num_queries(most or 90) as counted:
            alerts_sweep(now=at)
        for send in sends:
            send()
        return len(counted.captured_queries)

    late_work(2, wc, op, planner, t0)
    small_raise = sweep(t0)
    assert Alert.objects.count() == 4  # 2 × progress lag, 2 × schedule lag
    small_steady = sweep(t0 + minutes(1))
    small_escalate = sweep(t0 + minutes(61))
    assert Notification.objects.filter(level=2).count() == 4
    assert not Notification.objects.exclude(status="sent").exists()

    late_work(10, wc, op, planner, t0 + minutes(62))
    sweep(t0 + minutes(62), most=small_raise)
    assert Alert.objects.count() == 4 + 20
    sweep(t0 + minutes(63), most=small_steady)
    sweep(t0 + minutes(62 + 61), most=small_escalate)
    assert Notification.objects.filter(level=2).count() == 24
    # steady state per rule: its transaction (a savepoint pair inside the test's), the rule
    # lock, the evaluator's query and the read of its alerts; plus a fixed few
    assert small_steady <= 5 * AlertRule.objects.count() + 6


def test_selectors_for_stations_and_boards_cost_one_query(make_user,
                                                          django_assert_num_queries):
    op, planner = make_user("operator"), make_user("planner")
    wc = WorkCenterFactory()
    make_rule(Kind.SCHEDULE_LAG, minutes=30, severity="warning")
    make_rule(Kind.PROGRESS_LAG, percent=Decimal(20), severity="critical")
    t0 = now()
    late_work(3, wc, op, planner, t0)
    alerts_sweep(now=t0)
    task_ids = list(Alert.objects.values_list("task_id", flat=True))
    with django_assert_num_queries(1):
        by_task = selectors.open_alerts_by_task(task_ids)
    assert set(by_task) == set(task_ids)
    with django_assert_num_queries(1):
        by_wc = selectors.open_alerts_by_work_center([wc.pk, 999999])
    badges = by_wc[wc.pk]
    assert [b.severity for b in badges] == ["critical"] * 3 + ["warning"] * 3  # worst first
    assert badges[0]["label"] and badges[0].url.startswith("/alerts/")
    with django_assert_num_queries(1):
        counts = selectors.open_alert_counts([wc.pk])
    assert counts == {wc.pk: {"info": 0, "warning": 3, "critical": 3}}
    with django_assert_num_queries(1):
        shaped = selectors.alert_badges_for_tasks(task_ids)
    assert all({"label", "severity", "url"} <= set(b) for bs in shaped.values() for b in bs)
    with django_assert_num_queries(0):
        assert selectors.open_alerts_by_task([]) == {}


def test_beat_runs_the_sweep_every_30_seconds():
    from mes.celery import app

    entry = app.conf.beat_schedule["alerts-sweep"]
    assert entry["task"] == "alerts.tasks.alerts_sweep" and entry["schedule"] == 30.0
    assert "alerts.tasks.alerts_sweep" in app.tasks


def test_sweep_interval_follows_the_setting(settings):
    from alerts.apps import beat_entry

    settings.MES_ALERT_SWEEP_SECONDS = 10
    assert beat_entry()["schedule"] == 10.0 and beat_entry()["options"]["expires"] == 10.0


def test_lost_notifications_are_picked_up_by_the_sweep(make_user, monkeypatch,
                                                      django_capture_on_commit_callbacks):
    lead = make_user("workshop_lead", email="lead@plant.example")
    wc = WorkCenterFactory(lead=lead)
    _wo, (t1,), _ = released_order(steps=1, work_center=wc)
    t0 = now()
    schedule(t1, t0 - minutes(60), t0)
    make_rule(Kind.SCHEDULE_LAG, minutes=30, chain=CHAIN)
    # the broker is down when the notification is created: nothing is enqueued
    monkeypatch.setattr("alerts.services.notify.enqueue_on_commit", lambda *a: None)
    alerts_sweep(now=t0)
    monkeypatch.undo()
    email = Notification.objects.get(channel="email")
    assert email.status == "pending" and mail.outbox == []
    assert alerts_sweep(now=t0 + minutes(1)).requeued == 0  # give Celery a moment first
    with django_capture_on_commit_callbacks(execute=True):
        result = alerts_sweep(now=t0 + minutes(3))
    assert result.requeued == 1
    email.refresh_from_db()
    assert email.status == "sent" and len(mail.outbox) == 1


def test_default_rules_and_the_sweep_command(make_user):
    call_command("alerts_default_rules")
    call_command("alerts_default_rules")  # idempotent
    assert AlertRule.objects.count() == 9
    assert all(r.levels.count() in (1, 3) for r in AlertRule.objects.all())
    op, planner = make_user("operator"), make_user("planner")
    wc = WorkCenterFactory()
    late_work(1, wc, op, planner, now())
    call_command("alerts_sweep")
    assert set(Alert.objects.values_list("kind", flat=True)) == {"schedule_lag",
                                                                 "progress_lag"}


def test_one_failing_rule_does_not_stop_the_others(make_user, monkeypatch):
    op, planner = make_user("operator"), make_user("planner")
    wc = WorkCenterFactory()
    make_rule(Kind.PROGRESS_LAG, percent=Decimal(20))
    make_rule(Kind.SCHEDULE_LAG, minutes=30)
    late_work(1, wc, op, planner, now())
    from alerts.rules import EVALUATORS

    def broken(*args, **kwargs):
        raise RuntimeError("bad data")

    monkeypatch.setattr(EVALUATORS[Kind.PROGRESS_LAG], "candidates", broken)
    result = alerts_sweep()
    assert len(result.failed_rules) == 1 and result.outcome.raised == 1
