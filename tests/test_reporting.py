"""Scan reporting: every refusal says why, nothing counts twice, concurrent reports both count."""

import datetime
import threading
import uuid
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from execution.models import TaskActivity, WorkReport
from execution.services.reporting import (
    operator_by_badge,
    task_complete,
    task_pause,
    task_report_quantity,
    task_resume,
    task_start,
)
from mes.models import AuditEntry, Event
from planning.models import ProductionOrder, Task, WorkOrder
from planning.services.orders import work_order_hold
from quality.services.acceptance import work_order_accept
from tests.factories import WorkCenterFactory
from tests.factories_execution import released_order, scrap_reason

pytestmark = pytest.mark.django_db


def tok():
    return uuid.uuid4().hex


@pytest.fixture
def op(make_user):
    return make_user("operator", badge_code="B-OP-9")


def report(task, op, wc, good=0, scrap=0, token=None, **kw):
    return task_report_quantity(operator=op, task=task, work_center=wc,
                                client_token=token or tok(), good=good, scrap=scrap, **kw)


def test_full_run_of_a_work_order(op):
    wo, (t1, t2, t3), wc = released_order(steps=3, qty="10")
    task_start(operator=op, task=t1, work_center=wc, client_token=tok())
    report(t1, op, wc, good=8, scrap=2, scrap_reason=scrap_reason())
    t1.refresh_from_db()
    assert (t1.qty_good, t1.qty_scrap, t1.status) == (8, 2, "done")
    report(t2, op, wc, good=5)
    report(t2, op, wc, good=3)
    report(t3, op, wc, good=8)
    wo.refresh_from_db()
    assert wo.status == WorkOrder.Status.AWAITING_ACCEPTANCE
    assert wo.actual_start and wo.actual_end
    assert set(wo.tasks.values_list("status", flat=True)) == {"done"}
    assert Event.objects.filter(kind="task.reported", topic=f"wc:{wc.id}").count() == 4
    assert Event.objects.filter(kind="work_order.completed").exists()


def test_step_cannot_report_more_than_previous_passed_on(op):
    _wo, (t1, t2, _t3), wc = released_order(steps=3, qty="10")
    with pytest.raises(ValidationError, match="Only 10 left.*the work order is for 10, 0 "):
        report(t1, op, wc, good=9, scrap=2, scrap_reason=scrap_reason())
    report(t1, op, wc, good=6)
    with pytest.raises(ValidationError, match="Only 6 left.*previous step passed on 6"):
        report(t2, op, wc, good=7)
    report(t2, op, wc, good=4)
    with pytest.raises(ValidationError, match="Only 2 left"):
        report(t2, op, wc, good=3)
    assert WorkReport.objects.count() == 2


@pytest.mark.parametrize(("good", "scrap", "message"), [
    ("abc", 0, "not a number"), ("-1", 0, "negative"), ("1.5", 0, "Whole units"),
    ("99999999999", 0, "too large"), (0, 0, "Enter a good or scrap"),
    ("NaN", 0, "not a number"), (0, 1, "scrap reason"),
    # Python reads these as 10 and 1000; typed at a station they are slips, not numbers.
    ("1_0", 0, "not a number"), ("1e3", 0, "not a number"), ("0x10", 0, "not a number"),
])
def test_bad_quantities_refused_with_reason(op, good, scrap, message):
    _wo, (t1, *_), wc = released_order()
    with pytest.raises(ValidationError, match=message):
        report(t1, op, wc, good=good, scrap=scrap)
    assert not WorkReport.objects.exists()


def test_refusals_for_task_state_station_and_assignment(op, make_user):
    wo, (t1, t2, _), wc = released_order()
    other_wc = WorkCenterFactory()
    with pytest.raises(ValidationError, match="not to this station"):
        report(t1, op, other_wc, good=1)
    wc.operators.add(make_user("operator"))
    with pytest.raises(ValidationError, match="not assigned"):
        report(t1, op, wc, good=1)
    wc.operators.add(op)
    work_order_hold(actor=make_user("planner"), work_order=wo, reason="no material")
    with pytest.raises(ValidationError, match="on hold"):
        report(t1, op, wc, good=1)
    Task.objects.filter(pk=t2.pk).update(status="planned")
    t2.refresh_from_db()
    with pytest.raises(ValidationError, match="not been released"):
        report(t2, op, wc, good=1)


def test_done_task_refused(op):
    _wo, (t1, *_), wc = released_order(qty="2")
    report(t1, op, wc, good=2)
    with pytest.raises(ValidationError, match="already done"):
        report(t1, op, wc, good=1)


def test_same_token_counts_once(op):
    _wo, (t1, *_), wc = released_order()
    token = tok()
    first = report(t1, op, wc, good=3, token=token)
    again = report(t1, op, wc, good=3, token=token)
    assert first.created and not again.created and again.report.pk == first.report.pk
    t1.refresh_from_db()
    assert t1.qty_good == 3 and WorkReport.objects.count() == 1
    start_token = tok()
    task_pause(operator=op, task=t1, work_center=wc, client_token=start_token)
    task_pause(operator=op, task=t1, work_center=wc, client_token=start_token)
    assert TaskActivity.objects.filter(kind="pause").count() == 1


def test_late_entry_marked_and_times_recorded(op, settings):
    settings.MES_REPORT_GRACE_MINUTES = 30
    _wo, (t1, *_), wc = released_order(released_ago=datetime.timedelta(days=1))
    end = timezone.now() - datetime.timedelta(hours=2)
    r = report(t1, op, wc, good=2, work_start=end - datetime.timedelta(hours=1), work_end=end)
    assert r.report.late
    r2 = report(t1, op, wc, good=2)
    assert not r2.report.late and r2.report.work_start == end  # continues from the last end
    with pytest.raises(ValidationError, match="future"):
        report(t1, op, wc, good=1, work_end=timezone.now() + datetime.timedelta(hours=1))


def test_pause_resume_complete_and_audit(op):
    wo, (t1, *_), wc = released_order()
    task_start(operator=op, task=t1, work_center=wc, client_token=tok())
    with pytest.raises(ValidationError, match="already running"):
        task_start(operator=op, task=t1, work_center=wc, client_token=tok())
    task_pause(operator=op, task=t1, work_center=wc, client_token=tok())
    task_resume(operator=op, task=t1, work_center=wc, client_token=tok())
    with pytest.raises(ValidationError, match="Report the quantity"):
        task_complete(operator=op, task=t1, work_center=wc, client_token=tok())
    report(t1, op, wc, good=4)
    task_complete(operator=op, task=t1, work_center=wc, client_token=tok(),
                  short_reason="material shortage")
    t1.refresh_from_db()
    assert t1.status == "done"
    kinds = list(AuditEntry.objects.filter(object_id=str(t1.pk), content_type__model="task")
                 .values_list("action", flat=True))
    assert kinds.count("transition") >= 4 and "update" in kinds
    wo.refresh_from_db()
    assert wo.status == "in_progress"


def test_badges():
    with pytest.raises(ValidationError, match="Unknown badge"):
        operator_by_badge("NOPE")
    with pytest.raises(ValidationError, match="Scan your badge"):
        operator_by_badge("  ")


def test_badges_are_read_as_traveler_codes_are(op, make_user):
    """Case and full width do not matter (a scanner in lower-case mode, a Chinese keyboard's
    full-width characters), so no two badges may differ only in case: refused when an
    employee is saved with one, and by the database. A badge typed full-width is kept as
    ASCII."""
    from django.db import IntegrityError, transaction

    from mes.models import User

    assert operator_by_badge("b-op-9") == op
    assert operator_by_badge(" Ｂ－ｏｐ－９ ") == op
    twin = User(username="twin", badge_code="b-Op-9")
    with pytest.raises(ValidationError) as refused:
        twin.full_clean()
    assert "Another employee has this badge code" in str(refused.value)
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="twin2", badge_code="B-op-9")
    wide = User(username="wide", badge_code=" ＢＡＤＧＥ－７ ")
    wide.set_unusable_password()
    wide.full_clean()
    assert wide.badge_code == "BADGE-7"
    blank = User(username="blank", badge_code="  ")
    blank.set_unusable_password()
    blank.full_clean()
    assert blank.badge_code is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_stations_at_the_same_moment_both_count(make_user):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are proven on PostgreSQL")
    op1, op2 = make_user("operator"), make_user("operator")
    _wo, (t1, *_), wc = released_order(qty="1000")
    barrier = threading.Barrier(8)
    errors = []

    def worker(op, n):
        from django.db import connections

        try:
            barrier.wait()
            for _ in range(n):
                report(t1, op, wc, good=1)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(op1 if i % 2 else op2, 25))
               for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    t1.refresh_from_db()
    assert t1.qty_good == Decimal(200) == WorkReport.objects.filter(task=t1).count()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_and_overreports_on_postgres(make_user):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are proven on PostgreSQL")
    op = make_user("operator")
    _wo, (t1, *_), wc = released_order(qty="10")
    barrier = threading.Barrier(6)
    token = tok()
    outcomes = []

    def dup():
        from django.db import connections

        try:
            barrier.wait()
            outcomes.append(report(t1, op, wc, good=3, token=token).created)
        except ValidationError:
            outcomes.append("refused")
        finally:
            connections.close_all()

    def over():
        from django.db import connections

        try:
            barrier.wait()
            outcomes.append(report(t1, op, wc, good=4).created)
        except ValidationError:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=dup) for _ in range(3)] + \
        [threading.Thread(target=over) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    t1.refresh_from_db()
    reports = list(WorkReport.objects.filter(task=t1).values_list("good", flat=True))
    # the duplicated submission counts at most once, whatever order the six arrived in
    assert WorkReport.objects.filter(client_token=token).count() <= 1
    # nothing beyond the work-order quantity, and the task holds exactly what was recorded
    assert t1.qty_good == sum(reports) <= 10
    assert outcomes.count(True) == len(reports)
    assert len(outcomes) == 6


def test_completing_short_needs_the_reason_and_keeps_it(op):
    """Units a task was given and never reported do not vanish: completing with them needs
    the operator's reason, which the completion, the audit log and the event keep."""
    wo, (t1, t2), wc = released_order(steps=2, qty="10")
    report(t1, op, wc, good=6, scrap=1, scrap_reason=scrap_reason())
    for blank in ("", "   "):
        with pytest.raises(ValidationError) as refused:
            task_complete(operator=op, task=t1, work_center=wc, client_token=tok(),
                          short_reason=blank)
        (error,) = refused.value.error_dict["short_reason"]
        assert error.code == "short_reason_missing"
        assert "3 of 10 are not reported" in error.messages[0]
    t1.refresh_from_db()
    assert t1.status == "in_progress" and not TaskActivity.objects.filter(kind="complete")
    # The next step cannot complete while its predecessor may still pass units on.
    report(t2, op, wc, good=6)
    not_done = f"step {t1.seq} {t1.name} is not done yet"
    with pytest.raises(ValidationError, match=not_done) as refused:
        task_complete(operator=op, task=t2, work_center=wc, client_token=tok())
    assert refused.value.code == "more_can_come"

    result = task_complete(operator=op, task=t1, work_center=wc, client_token=tok(),
                           short_reason="  bar  stock   ran out ")
    assert result.created and result.short == 3
    activity = TaskActivity.objects.get(task=t1, kind="complete")
    assert (activity.short_qty, activity.reason) == (3, "bar stock ran out")
    entry = AuditEntry.objects.filter(object_id=str(t1.pk), action="transition").latest("id")
    assert "3 short: bar stock ran out" in entry.reason
    event = Event.objects.filter(kind="task.completed", payload__task=t1.pk).first()
    assert event.payload["short"] == "3"
    # Everything the first step passed on was reported: the second completes without a reason
    # (and its work order then awaits acceptance).
    task_complete(operator=op, task=t2, work_center=wc, client_token=tok())
    t2.refresh_from_db()
    wo.refresh_from_db()
    assert t2.status == "done" and wo.status == WorkOrder.Status.AWAITING_ACCEPTANCE
    assert TaskActivity.objects.get(task=t2, kind="complete").short_qty == 0


def test_a_work_order_completed_short_balances_and_is_accepted(op, make_user):
    """The units a step was completed short by are accounted for at acceptance (they used to
    block it for good: 'passed on 10, but 7 good + 1 scrap')."""
    from quality.services.acceptance import acceptance_blockers, work_order_accept

    wo, (t1, t2), wc = released_order(steps=2, qty="10")
    report(t1, op, wc, good=7, scrap=1, scrap_reason=scrap_reason())
    task_complete(operator=op, task=t1, work_center=wc, client_token=tok(),
                  short_reason="2 lost in the washer")
    report(t2, op, wc, good=7)  # everything step 1 passed on: step 2 completes itself
    t1.refresh_from_db()
    wo.refresh_from_db()
    assert t1.qty_short == 2 and wo.status == WorkOrder.Status.AWAITING_ACCEPTANCE
    assert acceptance_blockers(wo) == []
    record = work_order_accept(actor=make_user("workshop_lead"), work_order=wo)
    (step1,) = [t for t in record.data["tasks"] if t["id"] == t1.pk]
    assert step1["qty_short"] == "2.0000" or float(step1["qty_short"]) == 2
    completions = {a["task_id"]: a for a in record.data["activities"]
                   if a["kind"] == "complete"}
    assert completions[t1.pk]["reason"] == "2 lost in the washer"
    # (step 2 was completed by its last report: recorded too, with nothing short)
    assert completions[t2.pk]["reason"] == "" and float(completions[t2.pk]["short_qty"]) == 0


def test_a_report_that_starts_resumes_or_completes_a_task_records_it(op, make_user, client):
    """A report on a released task starts it, on a paused one resumes it, and the report that
    leaves nothing to do completes it: each recorded as the station's own action is (who,
    when), so the archive's "start, pause, finish" list is whole. A report on a running task
    records nothing more; a resume is never before the pause it ends."""
    from quality.services.acceptance import work_order_accept

    wo, (t1, t2), wc = released_order(steps=2, qty="10", released_ago=datetime.timedelta(days=1))
    now = timezone.now()
    ago = lambda minutes: now - datetime.timedelta(minutes=minutes)  # noqa: E731
    other = make_user("operator", badge_code="B-OP-10")

    def kinds(task):
        return list(TaskActivity.objects.filter(task=task).order_by("at", "id")
                    .values_list("kind", "operator", "at"))

    report(t1, op, wc, good=4, work_start=ago(180), work_end=ago(150))
    t1.refresh_from_db()
    assert t1.status == "in_progress" and t1.actual_start == ago(180)
    assert kinds(t1) == [("start", op.pk, ago(180))]
    assert TaskActivity.objects.get(task=t1).work_center == wc
    report(t1, op, wc, good=1, work_end=ago(120))  # running: nothing to record
    assert len(kinds(t1)) == 1
    task_pause(operator=op, task=t1, work_center=wc, client_token=tok(), at=ago(100))
    # Its work taken to start at the last report's end, before the pause: resumed at the pause.
    report(t1, other, wc, good=2, work_end=ago(90))
    task_pause(operator=other, task=t1, work_center=wc, client_token=tok(), at=ago(60))
    last = report(t1, op, wc, good=3, work_start=ago(30), work_end=ago(5))
    assert last.task_completed
    assert kinds(t1) == [("start", op.pk, ago(180)), ("pause", op.pk, ago(100)),
                         ("resume", other.pk, ago(100)), ("pause", other.pk, ago(60)),
                         ("resume", op.pk, ago(30)), ("complete", op.pk, ago(5))]
    done = TaskActivity.objects.get(task=t1, kind="complete")
    assert done.short_qty == 0 and done.reason == ""
    # One report starting and completing a task records both.
    token = tok()
    report(t2, other, wc, good=10, work_start=ago(4), work_end=ago(1), token=token)
    assert [k[:2] for k in kinds(t2)] == [("start", other.pk), ("complete", other.pk)]
    # Sent again: the earlier report, nothing more recorded.
    assert not report(t2, other, wc, good=10, token=token).created
    tokens = list(TaskActivity.objects.values_list("client_token", flat=True))
    assert len(set(tokens)) == len(tokens) == 8
    # The report's own token prefix is no client's to use.
    with pytest.raises(ValidationError, match="no valid token"):
        task_pause(operator=op, task=t2, work_center=wc, client_token="report:1:pause")

    wo.refresh_from_db()
    assert wo.status == WorkOrder.Status.AWAITING_ACCEPTANCE
    lead = make_user("workshop_lead")
    record = work_order_accept(actor=lead, work_order=wo)
    assert [(a["task_id"], a["kind"], a["operator__username"])
            for a in record.data["activities"]] == [
        (t1.pk, "start", op.username), (t1.pk, "pause", op.username),
        (t1.pk, "resume", other.username), (t1.pk, "pause", other.username),
        (t1.pk, "resume", op.username), (t1.pk, "complete", op.username),
        (t2.pk, "start", other.username), (t2.pk, "complete", other.username)]
    client.force_login(lead)
    from django.urls import reverse

    page = client.get(reverse("quality:archive_detail", args=[record.pk]),
                      HTTP_ACCEPT_LANGUAGE="en").content.decode()
    section = page[page.index('data-testid="section-activities"'):]
    section = section[:section.index("</section>")]
    assert "(8)" in section
    assert section.count(">started<") == 2 and section.count(">completed<") == 2
    assert section.count(">resumed<") == 2 and section.count(">paused<") == 2


def _named_reports(task, kind):
    """The reports named by `task`'s `kind` events (None: the event names none)."""
    return {e.payload.get("report") for e in Event.objects.filter(kind=kind, payload__task=task.pk)}


def _events(task, kind):
    return sorted((e.topic, e.payload["task"], e.payload["work_order"], e.payload["status"])
                  for e in Event.objects.filter(kind=kind, payload__task=task.pk))


def test_a_report_that_starts_resumes_or_completes_a_task_tells_boards_and_alerts(
        op, monkeypatch):
    """A start, resume or completion a report causes writes the outbox events (its station's
    and the plant's topics: boards and stations listen) and the domain event (alerts
    re-evaluate the task) that the station's own start, resume or completion writes."""
    import alerts.services.handlers as handlers

    evaluated = []
    monkeypatch.setattr(handlers, "focus_enqueue_on_commit", evaluated.append)
    _wo, (t1, t2), wc = released_order(steps=2, qty="10")
    _wo, (m1, _m2), mwc = released_order(steps=2, qty="10")
    plant = "plant"

    # By hand (the reference): start, pause, resume, complete.
    task_start(operator=op, task=m1, work_center=mwc, client_token=tok())
    report(m1, op, mwc, good=1)
    task_pause(operator=op, task=m1, work_center=mwc, client_token=tok())
    task_resume(operator=op, task=m1, work_center=mwc, client_token=tok())
    by_hand = [_events(m1, kind) for kind in ("task.start", "task.resume")]
    assert by_hand == [sorted([(f"wc:{mwc.pk}", m1.pk, m1.work_order.number, "in_progress"),
                               (plant, m1.pk, m1.work_order.number, "in_progress")])] * 2

    # The station's own start and resume name no report.
    assert _named_reports(m1, "task.start") == _named_reports(m1, "task.resume") == {None}

    evaluated.clear()
    started = report(t1, op, wc, good=1)  # starts t1
    # ... a report's name it (the reporting station's answer showed the task running).
    assert _named_reports(t1, "task.start") == {started.report.pk}
    assert _events(t1, "task.start") == sorted([
        (f"wc:{wc.pk}", t1.pk, t1.work_order.number, "in_progress"),
        (plant, t1.pk, t1.work_order.number, "in_progress")])
    assert {"task_ids": [t1.pk]} in evaluated
    task_pause(operator=op, task=t1, work_center=wc, client_token=tok())
    evaluated.clear()
    resumed = report(t1, op, wc, good=1)  # resumes t1
    assert _events(t1, "task.resume") == _events(t1, "task.start")
    assert _named_reports(t1, "task.resume") == {resumed.report.pk}
    assert {"task_ids": [t1.pk]} in evaluated
    evaluated.clear()
    completing = report(t1, op, wc, good=8)  # completes t1
    assert [e[3] for e in _events(t1, "task.completed")] == ["done", "done"]
    assert _named_reports(t1, "task.completed") == {completing.report.pk}
    assert {"task_ids": [t1.pk]} in evaluated
    # A report on a running task that does not complete it changes no status: none of these.
    before = Event.objects.filter(kind__in=("task.start", "task.resume")).count()
    report(t2, op, wc, good=1)
    report(t2, op, wc, good=1)
    assert Event.objects.filter(kind__in=("task.start", "task.resume"),
                                payload__task=t2.pk).count() == 2
    assert Event.objects.filter(kind__in=("task.start", "task.resume")).count() == before + 2


def _statements(fn) -> list[str]:
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        fn()
    return [q["sql"].split()[0].upper() for q in ctx.captured_queries
            if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]


def test_a_report_that_starts_a_task_writes_its_start_in_the_same_statement(op):
    """The start a report records rides in the report's one write statement on PostgreSQL:
    starting the task costs no round trip more than a report on a running one (SQLite writes
    through the ORM: one INSERT more)."""
    _wo, (t1, t2), wc = released_order(steps=2, qty="10")
    report(t1, op, wc, good=10)  # the work order is running from here on
    starting = _statements(lambda: report(t2, op, wc, good=1))
    running = _statements(lambda: report(t2, op, wc, good=1))
    assert TaskActivity.objects.filter(task=t2, kind="start").count() == 1
    if connection.vendor == "postgresql":
        assert starting == running == ["SELECT", "WITH"]  # lock and read, then the write
    else:
        assert sorted(starting) == sorted([*running, "INSERT"])


def test_the_next_steps_station_hears_when_units_come_to_it(op, make_user):
    """Station B (step 20) waits for step 10 at station A: A's report, A's completion and a QC
    decision on step 10 each reach B's topic (task.upstream_changed), written with the rest of
    the change; a next step at the same station needs no extra event."""
    from quality.models import Inspection
    from quality.services.inspections import inspection_record

    wo, (t1, t2, t3), wc = released_order(steps=3, qty="10")
    b = WorkCenterFactory()
    Task.objects.filter(pk=t2.pk).update(work_center=b)
    t2.refresh_from_db()

    def upstream(topic):
        return list(Event.objects.filter(kind="task.upstream_changed", topic=topic)
                    .order_by("id").values_list("payload", flat=True))

    report(t1, op, wc, good=2)
    heard = upstream(f"wc:{b.pk}")
    assert [(p["task"], p["cause"], p["step"]) for p in heard] == [
        (t1.pk, "task.reported", t1.seq)]
    assert heard[0]["work_order"] == wo.number
    report(t1, op, wc, good=7, scrap=1, scrap_reason=scrap_reason())  # the rest: completes
    assert [p["cause"] for p in upstream(f"wc:{b.pk}")] == [
        "task.reported", "task.reported", "task.completed"]
    # B's own report goes on to step 30, also at B: B's own topic has it already.
    Task.objects.filter(pk=t3.pk).update(work_center=b)
    report(t2, op, b, good=1)
    assert len(upstream(f"wc:{b.pk}")) == 3
    assert Event.objects.filter(topic=f"wc:{b.pk}", kind="task.reported").count() == 1

    # A completion at the station (short), and a QC decision on a checkpoint step.
    wo2, (s1, s2, _s3), wc2 = released_order(steps=3, qty="10")
    c = WorkCenterFactory()
    Task.objects.filter(pk=s2.pk).update(work_center=c)
    Task.objects.filter(pk=s1.pk).update(is_qc_checkpoint=True, wait_for_qc=True)
    report(s1, op, wc2, good=4)
    task_complete(operator=op, task=s1, work_center=wc2, client_token=tok(),
                  short_reason="material ran out")
    assert [p["cause"] for p in upstream(f"wc:{c.pk}")] == ["task.reported", "task.completed"]
    inspector = make_user("qc_inspector")
    inspection = Inspection.objects.get(origin_task=s1)
    inspection_record(inspector=inspector, inspection=inspection, results={},
                      verdict="passed")
    assert [p["cause"] for p in upstream(f"wc:{c.pk}")] == [
        "task.reported", "task.completed", "inspection.passed"]


def test_a_short_completion_shows_where_planners_look(op, client_as,
                                                      django_assert_max_num_queries):
    """Step 10 completed 7 short ("material ran out"): the work-order page says so, with the
    reason, in its header and its task row; the order progress page marks the order at risk
    (not on track, however early it is) and shows the shortfall. Both pages cost the same
    number of queries with and without it."""
    from django.urls import reverse

    from dashboards.selectors.orders import order_progress

    wo, (t1, t2, _t3), wc = released_order(steps=3, qty="10")
    WorkOrder.objects.filter(pk=wo.pk).update(due=timezone.now() + datetime.timedelta(days=30))
    client = client_as("manager", "planner")
    page_url = reverse("planning:work_order_detail", args=[wo.pk])
    progress_url = reverse("dashboards:order_progress")
    with django_assert_max_num_queries(30) as plain_wo:
        page = client.get(page_url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-testid="wo-short"' not in page
    with django_assert_max_num_queries(30) as plain_progress:
        client.get(progress_url, HTTP_ACCEPT_LANGUAGE="en")
    assert next(r for r in order_progress() if r.id == wo.production_order_id).risk == "ok"

    report(t1, op, wc, good=3)
    task_complete(operator=op, task=t1, work_center=wc, client_token=tok(),
                  short_reason="material ran out")
    t1.refresh_from_db()
    assert (t1.qty_short, t1.short_reason) == (7, "material ran out")
    with django_assert_max_num_queries(len(plain_wo.captured_queries)):
        page = client.get(page_url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    short = page.split('data-testid="wo-short"')[1].split("</dd>")[0]
    assert f"step {t1.seq} {t1.name}" in short and "7 short" in short
    assert "material ran out" in short
    row = page.split('data-testid="task-short"')[1].split("</td>")[0]
    assert ">7<" in row and "material ran out" in row
    assert page.count('data-testid="task-short"') == 1

    row = next(r for r in order_progress() if r.id == wo.production_order_id)
    assert (row.risk, row.short_steps, row.short_qty) == ("risk", 1, 7)
    with django_assert_max_num_queries(len(plain_progress.captured_queries)):
        progress = client.get(progress_url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    cell = progress.split(f'data-testid="order-{wo.production_order.number}"')[1]
    assert "at risk" in cell.split('data-testid="risk"')[1][:40]
    assert "1 step completed short" in cell and "7 short" in cell


def test_the_order_history_shows_its_release_start_and_completion(op, make_user, client_as):
    """An order's status moves with its work orders (released with them, in progress from the
    first report, completed when the last is accepted): each move is in its audit log and on
    the order page's change history, with who made it and why (they used to be missing)."""
    planner = make_user("planner")
    wo, (t1,), wc = released_order(steps=1, qty="3", planner=planner)
    order = ProductionOrder.objects.get(pk=wo.production_order_id)
    assert order.status == ProductionOrder.Status.RELEASED
    report(t1, op, wc, good=1)
    order.refresh_from_db()
    assert order.status == ProductionOrder.Status.IN_PROGRESS
    report(t1, op, wc, good=2)
    lead = make_user("workshop_lead")
    work_order_accept(actor=lead, work_order=WorkOrder.objects.get(pk=wo.pk))
    order.refresh_from_db()
    assert order.status == ProductionOrder.Status.COMPLETED

    moves = [(e.before, e.after, e.actor, e.reason_key["msgid"]) for e in AuditEntry.objects
             .filter(object_id=str(order.pk), content_type__model="productionorder",
                     action="transition").order_by("id")]
    assert moves == [
        (moves[0][0], moves[0][1], planner, "BOM explosion"),
        ({"status": "planned"}, {"status": "released"}, planner, "release"),
        ({"status": "released"}, {"status": "in_progress"}, op, "first work reported"),
        ({"status": "in_progress"}, {"status": "completed"}, lead,
         "all its work orders accepted")]
    # The released tasks have their entries too, in the planner's name.
    assert AuditEntry.objects.filter(
        object_id=str(t1.pk), content_type__model="task", action="transition",
        before={"status": "planned"}, after={"status": "released"}, actor=planner).exists()

    page = client_as("planner").get(reverse("planning:order_detail", args=[order.pk]))
    history = page.content.decode().split('data-testid="history"')[1]
    assert 'planned</span> → <span class="after">released' in history
    assert 'released</span> → <span class="after">in progress' in history
    assert 'in progress</span> → <span class="after">completed' in history
    assert str(op) in history and str(lead) in history and str(planner) in history
    assert "first work reported" in history and "all its work orders accepted" in history
