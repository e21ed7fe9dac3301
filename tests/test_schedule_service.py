"""Scheduling from the database: versions, diff, apply, rush orders, changes, bad input."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from mes.models import AuditEntry, Event
from planning.calendars import calendar_windows
from planning.models import ScheduleVersion, Shift, ShiftCalendar, Task, WorkOrder
from planning.services.changes import order_change_preview, rush_order_preview
from planning.services.schedule import (
    schedule_apply,
    schedule_compute,
    schedule_discard,
    schedule_request,
)
from tests.factories_execution import released_order

pytestmark = pytest.mark.django_db


def two_shift_calendar():
    cal = ShiftCalendar.objects.create(code="2S", name="两班")
    for day in range(6):
        Shift.objects.create(calendar=cal, name="早班", weekday=day, start=datetime.time(6),
                             end=datetime.time(14), breaks=[["10:00", "10:30"]])
        Shift.objects.create(calendar=cal, name="中班", weekday=day, start=datetime.time(14),
                             end=datetime.time(22), breaks=[["18:00", "18:30"]])
    return cal


def run(actor, **kw):
    version = schedule_request(actor=actor, reason=kw.pop("reason", "test"), time_limit=2,
                               **kw)
    return schedule_compute(version.pk)


def in_windows(entry, windows):
    return any(s <= entry.start and entry.end <= e for s, e in windows) or any(
        s <= entry.start < e for s, e in windows)


def test_calendar_windows_cut_breaks_and_skip_sundays():
    cal = two_shift_calendar()
    tz = timezone.get_current_timezone()
    monday = timezone.make_aware(datetime.datetime(2026, 11, 23), tz)
    wins = calendar_windows([cal.pk], monday, monday + datetime.timedelta(days=7))[cal.pk]
    assert wins[0] == (monday.replace(hour=6), monday.replace(hour=10))
    assert wins[1] == (monday.replace(hour=10, minute=30), monday.replace(hour=18))
    assert sum((e - s).total_seconds() for s, e in wins) / 3600 == 6 * 15
    assert all(s.weekday() != 6 for s, _e in wins)


def test_schedule_apply_sets_plan_and_notifies(make_user):
    planner = make_user("planner")
    wo, tasks, wc = released_order(steps=3, qty="20")
    wc.calendar = two_shift_calendar()
    wc.save()
    version = run(planner)
    assert version.status == "ready", version.error
    assert version.tasks == 3 and version.diff["moved_count"] == 3
    entries = list(version.entries.order_by("start"))
    windows = calendar_windows([wc.calendar_id], version.origin,
                               version.origin + datetime.timedelta(days=30))[wc.calendar_id]
    for e in entries:
        assert any(s <= e.start < en for s, en in windows), "starts in working time"
    for a, b in zip(entries, entries[1:], strict=False):
        assert b.start >= a.end  # one machine, chained steps
    schedule_apply(actor=planner, version=version)
    for t in tasks:
        t.refresh_from_db()
        assert t.planned_start and t.planned_end
    wo.refresh_from_db()
    assert wo.planned_start == entries[0].start and wo.planned_end == entries[-1].end
    assert Event.objects.filter(topic=f"wc:{wc.id}", kind="schedule.changed").exists()
    again = run(planner)
    assert again.diff["moved_count"] == 0  # nothing new: the plan stays as people know it
    with pytest.raises(ValidationError, match="only a ready"):
        schedule_apply(actor=planner, version=version)


def test_urgent_rush_order_goes_first_and_discard_cancels(make_user):
    planner = make_user("planner")
    wo, _tasks, wc = released_order(steps=2, qty="50")
    schedule_apply(actor=planner, version=run(planner))
    version = rush_order_preview(actor=planner, item=wo.item, quantity=Decimal("5"),
                                 due=timezone.now() + datetime.timedelta(hours=3),
                                 reason="VIP customer", time_limit=2)
    version = schedule_compute(version.pk)
    assert version.status == "ready"
    rush = version.rush_order
    rush_first = version.entries.filter(task__work_order__production_order=rush).order_by(
        "start").first()
    normal_first = version.entries.filter(task__work_order=wo).order_by("start").first()
    assert rush_first.start <= normal_first.start or version.diff["moved_count"] > 0
    schedule_discard(actor=planner, version=version, reason="customer withdrew")
    rush.refresh_from_db()
    assert rush.status == "cancelled"
    assert not Task.objects.filter(work_order__production_order=rush).exclude(
        status="cancelled").exists()
    # Its work orders and tasks were cancelled with it: each has its audit entry.
    cancelled = AuditEntry.objects.filter(action="transition", after={"status": "cancelled"},
                                          actor=planner)
    for model, rows in ((WorkOrder, rush.work_orders.all()),
                        (Task, Task.objects.filter(work_order__production_order=rush))):
        ids = {str(pk) for pk in rows.values_list("pk", flat=True)}
        assert ids and set(cancelled.filter(content_type__model=model._meta.model_name)
                           .filter(object_id__in=ids)
                           .values_list("object_id", flat=True)) == ids


def test_rush_order_apply_releases_it(make_user):
    planner = make_user("planner")
    wo, _tasks, wc = released_order(steps=2, qty="10")
    version = rush_order_preview(actor=planner, item=wo.item, quantity=Decimal("2"),
                                 due=timezone.now() + datetime.timedelta(days=1),
                                 reason="line down at customer", time_limit=2)
    version = schedule_compute(version.pk)
    schedule_apply(actor=planner, version=version)
    assert set(WorkOrder.objects.filter(production_order=version.rush_order)
               .values_list("status", flat=True)) == {"released"}
    assert Event.objects.filter(kind="schedule.changed", topic=f"wc:{wc.id}").exists()


def test_order_change_preview_then_apply(make_user):
    planner = make_user("planner")
    wo, tasks, _wc = released_order(steps=2, qty="10")
    order = wo.production_order
    new_due = order.due + datetime.timedelta(days=2)
    version = order_change_preview(actor=planner, order=order, reason="customer asks more",
                                   quantity="15", due=new_due, time_limit=2)
    version = schedule_compute(version.pk)
    order.refresh_from_db()
    assert order.quantity == 10  # nothing changes before apply
    schedule_apply(actor=planner, version=version)
    order.refresh_from_db()
    wo.refresh_from_db()
    assert order.quantity == 15 and wo.quantity == 15 and order.due == new_due
    assert set(wo.tasks.values_list("quantity", flat=True)) == {Decimal(15)}
    with pytest.raises(ValidationError, match="Nothing to change"):
        order_change_preview(actor=planner, order=order, reason="x")


def test_impossible_input_fails_naming_records_and_keeps_current(make_user):
    planner = make_user("planner")
    wo, tasks, wc = released_order(steps=1, qty="5")
    schedule_apply(actor=planner, version=run(planner))
    tasks[0].refresh_from_db()
    current = tasks[0].planned_start
    wc.calendar = ShiftCalendar.objects.create(code="EMPTY", name="无班次")
    wc.save()
    version = run(planner)
    assert version.status == "failed" and str(wo.number) in version.error
    # in the planner's words: which work center, which calendar, what to do
    assert wc.code in version.error and ("EMPTY" in version.error or "无班次" in version.error)
    assert "resource" not in version.error and "operation" not in version.error
    tasks[0].refresh_from_db()
    assert tasks[0].planned_start == current
    with pytest.raises(ValidationError):
        schedule_request(actor=planner, reason="")


def test_pin_is_respected(make_user):
    planner = make_user("planner")
    _wo, tasks, _wc = released_order(steps=2, qty="5")
    pin = (timezone.now() + datetime.timedelta(hours=5)).replace(second=0, microsecond=0)
    Task.objects.filter(pk=tasks[0].pk).update(pinned_start=pin)
    version = run(planner)
    assert version.entries.get(task=tasks[0]).start == pin
    assert ScheduleVersion.objects.count() == 1


@pytest.mark.parametrize("levels", [1, 2])
def test_a_step_started_before_its_predecessor_finished_does_not_stop_the_schedule(
        make_user, levels):
    """Overlapping operations: the next step (or the parent's first step, before all its
    components are made) started with what has been passed on while the previous one still
    runs or waits. The floor has decided that order: every run must still succeed."""
    planner = make_user("planner")
    wo, tasks, _wc = released_order(levels=levels, steps=2, qty="10")
    if levels == 2:
        Task.objects.filter(pk=tasks[0].pk).update(status=Task.Status.IN_PROGRESS)
    else:
        Task.objects.filter(pk__in=[t.pk for t in tasks]).update(
            status=Task.Status.IN_PROGRESS)
    version = run(planner)
    assert version.status == "ready", version.error
    assert version.entries.get(task=tasks[0]).start == version.origin
    version = run(planner)  # the next run, with the first one's plan in place
    assert version.status == "ready", version.error


def test_a_frozen_task_that_no_longer_fits_beside_a_running_one_is_planned_afresh(make_user):
    """A running task overran its plan into a task frozen to start soon on the same single
    machine: the run plans the frozen one after it instead of failing (every run failed)."""
    from tests.factories_schedule import released_orders

    planner = make_user("planner")
    orders, wc = released_orders(n=3, steps=1, qty="20")
    running, frozen, free = (o.work_orders.get().tasks.get() for o in orders)
    Task.objects.filter(pk=running.pk).update(status=Task.Status.IN_PROGRESS,
                                              actual_start=timezone.now())
    soon = (timezone.now() + datetime.timedelta(minutes=10)).replace(second=0, microsecond=0)
    Task.objects.filter(pk=frozen.pk).update(planned_start=soon)
    version = run(planner)
    assert version.status == "ready", version.error
    entries = {e.task_id: e for e in version.entries.all()}
    assert entries[running.pk].start == version.origin
    assert entries[frozen.pk].start >= entries[running.pk].end
    assert free.pk in entries


@pytest.mark.parametrize("with_calendar", [False, True])
def test_a_work_center_coming_into_service_later_gets_work_from_that_day(make_user,
                                                                         with_calendar):
    planner = make_user("planner")
    _wo, tasks, wc = released_order(steps=2, qty="5")
    day = timezone.localdate() + datetime.timedelta(days=3)
    wc.in_service_from = day
    wc.calendar = two_shift_calendar() if with_calendar else None
    wc.save()
    version = run(planner)
    assert version.status == "ready", version.error
    opens = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    starts = [e.start for e in version.entries.all()]
    assert len(starts) == 2 and min(starts) >= opens
    if not with_calendar:
        assert min(starts) == opens  # around the clock: from its first minute
    from planning.services.pins import task_pin

    with pytest.raises(ValidationError, match="comes into service"):
        task_pin(actor=planner, task=tasks[0], start=opens - datetime.timedelta(hours=2),
                 reason="test")


def test_broker_down_fails_the_run_at_once_with_the_reason(make_user, monkeypatch,
                                                           django_capture_on_commit_callbacks):
    """A run that cannot be queued says so, instead of showing "computing" forever; the
    request that asked for it is not failed."""
    from kombu.exceptions import OperationalError

    from planning.tasks import schedule_compute_task

    def refused(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(schedule_compute_task, "apply_async", refused)
    planner = make_user("planner")
    released_order(steps=1, qty="5")
    with django_capture_on_commit_callbacks(execute=True):
        version = schedule_request(actor=planner, reason="broker down", time_limit=2)
    version.refresh_from_db()
    assert version.status == ScheduleVersion.Status.FAILED
    assert "could not be queued" in version.error and version.progress == 1.0


def test_a_version_computed_twice_at_once_is_stored_once(make_user, monkeypatch):
    """A redelivered computation racing the first (both past the RUNNING check) stores
    nothing the second time, instead of failing on the entries' unique constraint."""
    from planning.services import schedule as svc

    planner = make_user("planner")
    released_order(steps=2, qty="5")
    version = schedule_request(actor=planner, reason="race", heuristic_only=True,
                               enqueue=False)
    stored = []
    real_store = svc._store

    def store_twice(version_, solution, tasks):
        real_store(version_, solution, tasks)
        stored.append(version_.entries.count())
        real_store(version_, solution, tasks)  # the racing computation arrives second
        stored.append(version_.entries.count())

    monkeypatch.setattr(svc, "_store", store_twice)
    result = schedule_compute(version.pk)
    assert result.status == "ready" and stored == [2, 2]
    assert Event.objects.filter(kind="schedule.ready").count() == 1


def test_a_change_versions_why_reads_in_the_readers_language(make_user, client_as):
    """A planner working in Chinese previews an order change: the version's "why" is the
    system's words around the planner's own, so an English reader reads "Change of PO…",
    not "变更 PO…"; the planner's words stay as typed."""
    from django.urls import reverse
    from django.utils import translation
    from django.utils.translation import gettext

    planner = make_user("planner")
    wo, _tasks, _wc = released_order(steps=2, qty="10")
    order = wo.production_order
    with translation.override("zh-hans"):
        version = order_change_preview(actor=planner, order=order, reason="客户加量",
                                       quantity="12", time_limit=2)
        chinese = gettext("Change of %(o)s: %(r)s") % {"o": order.number, "r": "客户加量"}
    assert not chinese.startswith("Change of")
    version.refresh_from_db()
    assert version.reason == chinese
    english = f"Change of {order.number}: 客户加量"
    with translation.override("en"):
        assert version.reason_shown == english
    html = client_as("planner").get(reverse("planning:schedule_version", args=[version.pk]),
                                    HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert english in html and chinese not in html


def test_a_running_task_going_on_from_now_is_not_counted_as_moved(make_user):
    """Every run re-anchors a running task to its origin (now): the planner read "22 tasks
    moved", among them a task already in progress shown as 08:58 → 08:59, on every run. It is
    no move anyone acts on; it is counted apart. A task planned afresh still counts."""
    from unittest import mock

    planner = make_user("planner")
    wo, tasks, _wc = released_order(steps=2, qty="10")
    schedule_apply(actor=planner, version=run(planner))
    Task.objects.filter(pk=tasks[0].pk).update(status=Task.Status.IN_PROGRESS,
                                               actual_start=timezone.now())
    later = timezone.now() + datetime.timedelta(minutes=5)
    with mock.patch("django.utils.timezone.now", return_value=later):
        version = run(planner, frozen_minutes=0)
    assert version.status == "ready", version.error
    running = version.entries.get(task=tasks[0])
    assert running.start == version.origin  # re-anchored, 5 minutes after its planned start
    assert tasks[0].pk not in [m["task"] for m in version.diff["moved"]]
    assert version.diff["continuing_count"] == 1
    assert version.diff["moved_count"] == len(version.diff["moved"])
