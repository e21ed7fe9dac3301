"""The fast first start's history and the bulk-generated scale data set (issue #9)."""

import datetime
from collections import defaultdict
from decimal import Decimal
from unittest import mock

import pytest
import time_machine
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db.models import F, Sum
from django.utils import timezone

from alerts.models import Alert
from dashboards.demo.history import demo_history
from dashboards.demo.plant import demo_plant_load
from dashboards.demo.scale import ScaleSize, scale_build
from dashboards.models import ReportDay, RollupState
from dashboards.selectors.rollup import rolled_through
from execution.models import DowntimeEvent, EquipmentState, TaskActivity, WorkReport
from planning.models import ProductionOrder, Task, WorkOrder
from quality.models import Acceptance, Inspection, Nonconformance

TUESDAY = datetime.datetime(2026, 11, 16, 17, 0, tzinfo=datetime.UTC)  # 01:00 local
SMALL = ScaleSize(work_centers=12, equipment=24, operators=5, items=4, history_orders=60,
                  open_orders=7, stops=40, alerts=30, chunk=25)  # several chunks


@pytest.mark.django_db(transaction=True)
def test_history_rolls_up_each_day_and_follows_the_wall_clock():
    import dashboards.services as services

    real_roll_up = services.report_days_roll_up
    if settings.REDIS_URL:  # no drain scheduled, nothing pending: any focus request would show
        from alerts.services import focus_queue
        from mes.redis import redis_client

        redis_client().delete(focus_queue.SCHEDULED, focus_queue.QUEUE)
    with time_machine.travel(TUESDAY, tick=False), \
            mock.patch.object(services, "report_days_roll_up", wraps=real_roll_up) as roll_up, \
            mock.patch("alerts.services.sweep.alerts_evaluate_focus") as focused:
        demo_plant_load()
        # The wall clock moves on by 40 minutes while the history is made: it follows.
        sim = demo_history(days=0.5, step_minutes=60, catch_up=True,
                           wall_clock=lambda: TUESDAY + datetime.timedelta(minutes=40))
        today = timezone.localdate()
    assert sim.last_sweep == TUESDAY  # one step more than without catch-up (TUESDAY - 1 h)
    # From Monday 13:00 to Tuesday 01:00: Monday rolled up at midnight, as it passed (a KPI
    # page opened then shows it), and the rollup made current once more at the end.
    assert roll_up.call_count == 2
    focused.assert_not_called()  # alerts come from the sweep alone
    if settings.REDIS_URL:
        assert redis_client().llen(focus_queue.QUEUE) == 0  # and none was asked for
    assert sim.counters["reports"] > 0 and Alert.objects.exists()
    state = RollupState.objects.get()
    assert state.through_day == today - datetime.timedelta(days=1)
    per_day = defaultdict(Decimal)
    for report in WorkReport.objects.all():
        day = timezone.localtime(report.reported_at).date()
        if day < today:
            per_day[day] += report.good
    rolled = dict(ReportDay.objects.values("day").annotate(g=Sum("good")).values_list("day",
                                                                                       "g"))
    assert per_day and rolled == per_day


def _sum(qs, field):
    return qs.aggregate(s=Sum(field))["s"] or Decimal(0)


@pytest.mark.django_db
def test_scale_data_set_keeps_the_services_invariants():
    counts = scale_build(SMALL)
    assert counts["open work orders"] == 7 * 5
    assert WorkOrder.objects.filter(status="accepted").count() == 60 * 3
    assert ProductionOrder.objects.filter(status="completed").count() == 60
    grace = datetime.timedelta(minutes=settings.MES_REPORT_GRACE_MINUTES)
    now = timezone.now()
    # Quantities: a task's good and scrap are its reports' sums; each step works on what the
    # step before it made good.
    sums = {row["task"]: row for row in WorkReport.objects.values("task").annotate(
        g=Sum("good"), s=Sum("scrap"))}
    by_wo = defaultdict(list)
    for task in Task.objects.select_related("work_order").order_by("work_order", "seq"):
        row = sums.get(task.pk, {"g": 0, "s": 0})
        assert (task.qty_good, task.qty_scrap) == (row["g"], row["s"]), task
        if task.kind == "normal":
            by_wo[task.work_order].append(task)
    for wo, tasks in by_wo.items():
        given = wo.quantity
        for task in tasks:
            if wo.status == "accepted":
                assert task.status == "done" and task.qty_good + task.qty_scrap == given
                assert wo.actual_start <= task.actual_start < task.actual_end <= wo.actual_end
            else:
                assert task.qty_good + task.qty_scrap <= given
            given = task.qty_good
        if wo.status == "accepted":
            assert Acceptance.objects.filter(work_order=wo, verdict="accepted",
                                             at__gte=wo.actual_end).count() == 1
    # Times: ordered, in the past, late exactly when the grace rule says so.
    for r in WorkReport.objects.select_related("task"):
        assert r.work_start <= r.work_end <= r.reported_at <= now
        assert r.late == (r.reported_at - r.work_end > grace)
        assert r.task.actual_start <= r.work_start
        assert r.task.actual_end is None or r.work_end <= r.task.actual_end
    assert WorkReport.objects.filter(late=True).exists()
    assert WorkReport.objects.filter(late=False).exists()
    # Operators report only where they are assigned.
    assert WorkReport.objects.exclude(operator__work_centers=F("work_center")).count() == 0
    running = Task.objects.filter(status="in_progress")
    assert running.exists()
    open_starts = TaskActivity.objects.filter(kind="start").exclude(task__status="done")
    assert open_starts.count() == running.count()
    # Every finished step started and completed at its station, when its task says (OEE's run
    # time comes from these).
    done = Task.objects.filter(status="done", kind="normal")
    for kind, field in (("start", "actual_start"), ("complete", "actual_end")):
        assert TaskActivity.objects.filter(kind=kind, task__in=done).count() == done.count()
        assert not TaskActivity.objects.filter(kind=kind, task__in=done).exclude(
            at=F(f"task__{field}")).exists()
        assert not TaskActivity.objects.filter(task__in=done).exclude(
            work_center=F("task__work_center")).exists()
    # QC: lots balance; every failure went through a nonconformance, rework and re-inspection.
    assert Inspection.objects.exclude(quantity=F("qty_passed") + F("qty_failed")).count() == 0
    failed = Inspection.objects.filter(status="failed")
    assert failed.exists()
    for insp in failed:
        nc = Nonconformance.objects.get(inspection=insp)
        assert nc.quantity == insp.qty_failed and nc.status == "closed"
        assert nc.rework_task.status == "done" and nc.rework_task.origin_id == insp.task_id
        again = Inspection.objects.get(task=nc.rework_task)
        assert again.loop == 1 and again.status == "passed"
    # Alerts: raised, acknowledged, resolved in that order, the status saying how far.
    for a in Alert.objects.all():
        assert a.raised_at <= now
        assert (a.status == "open") == (a.acknowledged_at is None)
        assert (a.status == "resolved") == (a.resolved_at is not None)
        if a.acknowledged_at:
            assert a.raised_at <= a.acknowledged_at <= now
        if a.resolved_at:
            assert a.acknowledged_at <= a.resolved_at <= now and a.cause
    # Stops: only down equipment has an open one; closed ones end after they start.
    open_stops = set(DowntimeEvent.objects.filter(end=None).values_list("equipment", flat=True))
    down = set(EquipmentState.objects.filter(state="down").values_list("equipment", flat=True))
    assert open_stops == down and down
    assert DowntimeEvent.objects.exclude(end=None).filter(end__lte=F("start")).count() == 0
    # The KPI pages read a current rollup, equal to the raw reports.
    assert rolled_through() == timezone.localdate() - datetime.timedelta(days=1)
    assert _sum(ReportDay.objects.all(), "good") == _sum(
        WorkReport.objects.filter(reported_at__lt=timezone.make_aware(datetime.datetime.combine(
            timezone.localdate(), datetime.time()))), "good")


@pytest.mark.django_db
def test_scale_data_set_is_written_once():
    scale_build(SMALL)
    before = WorkReport.objects.count()
    with pytest.raises(ValidationError):
        scale_build(SMALL)
    assert WorkReport.objects.count() == before


@pytest.mark.django_db
def test_demo_load_scale_command(capsys):
    call_command("demo_load", scale=0.0005)
    out = capsys.readouterr().out
    assert "scale data set done" in out
    size = ScaleSize().scaled(0.0005)
    assert WorkOrder.objects.filter(status__in=WorkOrder.OPEN_STATUSES).count() == (
        size.open_orders * 5)
    assert WorkOrder.objects.filter(status="accepted").count() == size.history_orders * 3
