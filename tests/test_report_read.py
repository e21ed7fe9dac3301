"""The station report's hand-written read (`report_read`) against its ORM reference
(`report_facts_orm`, `Task.objects.get`): the same facts with the same Python types, and the
same task, work order, item and station, on every case the report relies on."""

import datetime
import uuid
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from execution.models import TaskActivity, WorkReport
from execution.selectors import _station_tasks
from execution.services.report_read import (
    OperatorById,
    lock_task_for_report,
    report_facts_orm,
    report_lock_and_read,
    report_read,
    task_with_input,
)
from execution.services.reporting import (
    task_pause,
    task_report_quantity,
    task_resume,
    task_start,
)
from mes.models import User
from planning.models import Equipment, Item, Task, WorkCenter, WorkOrder
from tests.factories import WorkCenterFactory
from tests.factories_execution import released_order
from tests.transactions import held_open

pytestmark = pytest.mark.django_db

FACT_KEYS = {"earlier_report", "previous_passed", "last_start", "last_report_end", "assigned",
             "next_work_center", "sole_equipment"}


def tok():
    return uuid.uuid4().hex


@pytest.fixture
def op(make_user):
    return make_user("operator")


def report(task, op, wc, good=1, token=None, **kw):
    return task_report_quantity(operator=op, task=task, work_center=wc,
                                client_token=token or tok(), good=good, **kw).report


def typed(value):
    """The value with its exact type, so Decimal('5') differs from 5.0 and 5, True from 1, and
    an aware datetime from the naive one of the same wall time."""
    if isinstance(value, datetime.datetime):
        return type(value), timezone.is_aware(value), value
    return type(value), value


def fields(obj) -> dict:
    return {f.attname: typed(getattr(obj, f.attname)) for f in type(obj)._meta.concrete_fields}


def assert_same_rows(task: Task) -> None:
    """The task report_read built, and what it has attached, equal what the ORM reads."""
    ref = Task.objects.select_related("work_order__item", "work_center").get(pk=task.pk)
    with CaptureQueriesContext(connection) as ctx:  # attached by the read, not lazily loaded
        pairs = [(task, ref, Task), (task.work_order, ref.work_order, WorkOrder),
                 (task.work_order.item, ref.work_order.item, Item),
                 (task.work_center, ref.work_center, WorkCenter)]
    assert len(ctx.captured_queries) == 0
    for got, want, model in pairs:
        assert type(got) is model
        assert not got._state.adding and got._state.db == "default"
        assert fields(got) == fields(want), model.__name__


def read_both(task, op, token=None) -> dict:
    """report_read's facts, checked equal (values and types) to report_facts_orm's, with its
    task checked equal to the ORM's."""
    token = token or tok()
    with CaptureQueriesContext(connection) as ctx:
        got_task, facts = report_read(task.pk, token, op)
    assert len(ctx.captured_queries) == 1  # the whole read is one statement
    # The id a new report will take: from the sequence on PostgreSQL (above every report so
    # far), none on SQLite (the insert numbers it).
    report_id = facts.pop("report_id")
    if connection.vendor == "postgresql":
        assert type(report_id) is int
        assert report_id > (WorkReport.objects.order_by("-pk").values_list("pk", flat=True)
                            .first() or 0)
    else:
        assert report_id is None
    orm = report_facts_orm(task.pk, token, op)
    assert set(facts) == set(orm) == FACT_KEYS
    assert {k: typed(v) for k, v in facts.items()} == {k: typed(v) for k, v in orm.items()}
    assert got_task.pk == task.pk
    assert_same_rows(got_task)
    # The lock and the read a report makes (on PostgreSQL one call of the function made after
    # `migrate`): the same facts and rows, in one statement.
    with transaction.atomic(), CaptureQueriesContext(connection) as ctx:
        locked, locked_facts = report_lock_and_read(task.pk, token, op)
    assert len(ctx.captured_queries) == 1  # SQLite: no row lock (it locks the database)
    locked_id = locked_facts.pop("report_id")
    if connection.vendor == "postgresql":
        assert type(locked_id) is int and locked_id > report_id
    else:
        assert locked_id is None
    assert {k: typed(v) for k, v in locked_facts.items()} == {k: typed(v) for k, v in orm.items()}
    assert locked.pk == task.pk
    assert_same_rows(locked)
    # The operator given by id (a station's badge): read in the same statement, both ways, the
    # rest as above.
    for read in (report_read, report_lock_and_read):
        with transaction.atomic(), CaptureQueriesContext(connection) as ctx:
            by_id_task, by_id = read(task.pk, token, OperatorById(op.pk))
        assert len(ctx.captured_queries) == 1
        by_id.pop("report_id")
        user = by_id.pop("operator")
        assert type(user) is User and not user._state.adding
        assert fields(user) == fields(User.objects.get(pk=op.pk))
        assert {k: typed(v) for k, v in by_id.items()} == {k: typed(v) for k, v in orm.items()}
        assert_same_rows(by_id_task)
    # The station's own read of the task (task_with_input, one statement) agrees with the
    # dispatch list's ORM annotation on what this step may work on.
    with CaptureQueriesContext(connection) as ctx:
        shown = task_with_input(task.pk)
    assert len(ctx.captured_queries) == 1
    assert_same_rows(shown)
    assert typed(shown.input_qty) == typed(_station_tasks().get(pk=task.pk).input_qty)
    return facts


def test_first_step_without_reports_or_activities(op):
    _wo, (t1, *_), wc = released_order()
    facts = read_both(t1, op)
    assert facts == {"earlier_report": None, "previous_passed": None, "last_start": None,
                     "last_report_end": None, "assigned": True, "next_work_center": wc.pk,
                     "sole_equipment": None}
    assert facts["assigned"] is True


def test_the_stations_machine_when_it_has_exactly_one_in_service(op):
    """A report names the machine it was made on; without one named, the station's own when it
    has exactly one in service (none when it has several: which one is not known)."""
    _wo, (t1, *_), wc = released_order()
    saw = Equipment.objects.create(code="EQ-1", name="锯床", work_center=wc)
    assert read_both(t1, op)["sole_equipment"] == saw.pk
    second = Equipment.objects.create(code="EQ-2", name="锯床 2", work_center=wc)
    assert read_both(t1, op)["sole_equipment"] is None
    Equipment.objects.filter(pk=saw.pk).update(active=False)
    assert read_both(t1, op)["sole_equipment"] == second.pk
    report(t1, op, wc, good=1)
    assert WorkReport.objects.get().equipment == second


def test_second_step_gets_what_the_first_reported_good(op):
    _wo, (t1, t2, _t3), wc = released_order(qty="10")
    report(t1, op, wc, good=6)
    facts = read_both(t2, op)
    assert type(facts["previous_passed"]) is Decimal and facts["previous_passed"] == 6
    read_both(t1, op)  # the reported step itself: its report's end, no previous step


def test_fractional_quantities_keep_their_decimals(op):
    _wo, (t1, t2, _t3), wc = released_order(qty="10")
    Task.objects.filter(pk=t1.pk).update(qty_good=Decimal("2.3750"))
    Task.objects.filter(pk=t2.pk).update(qty_good=Decimal("0.0001"), qty_scrap=Decimal("1.5"))
    facts = read_both(t2, op)
    assert facts["previous_passed"] == Decimal("2.375")


def test_previous_step_waiting_for_qc_passes_what_qc_accepted(op):
    _wo, (t1, t2, t3), wc = released_order(qty="10")
    Task.objects.filter(pk=t1.pk).update(wait_for_qc=True, qty_good=Decimal("8"),
                                         qty_qc_accepted=Decimal("4.25"))
    assert read_both(t2, op)["previous_passed"] == Decimal("4.25")
    # The flag that counts is the previous step's: set on t2 itself, t2 still gets t1's good.
    Task.objects.filter(pk=t1.pk).update(wait_for_qc=False)
    Task.objects.filter(pk=t2.pk).update(wait_for_qc=True, qty_good=Decimal("3"),
                                         qty_qc_accepted=Decimal("1"))
    assert read_both(t2, op)["previous_passed"] == Decimal("8")
    assert read_both(t3, op)["previous_passed"] == Decimal("1")


def test_cancelled_previous_step_is_skipped(op):
    _wo, (t1, t2, t3), wc = released_order(steps=3, qty="10")
    Task.objects.filter(pk=t1.pk).update(qty_good=Decimal("7"))
    Task.objects.filter(pk=t2.pk).update(status="cancelled", qty_good=Decimal("3"))
    assert read_both(t3, op)["previous_passed"] == Decimal("7")
    Task.objects.filter(pk=t1.pk).update(status="cancelled")
    assert read_both(t3, op)["previous_passed"] is None  # nothing before it is left


def test_rework_task(op):
    wo, (t1, t2, t3), wc = released_order(qty="10")
    report(t1, op, wc, good=9)
    report(t2, op, wc, good=5)
    Task.objects.filter(pk=t2.pk).update(qty_rework=Decimal("2"))
    assert t2.seq + 1 < t3.seq
    rework = Task.objects.create(
        work_order=wo, seq=t2.seq + 1, kind=Task.Kind.REWORK, origin=t2, name="返工",
        work_center=WorkCenterFactory(), is_qc_checkpoint=True, quantity=Decimal("2"),
        qty_good=Decimal("0.5"), status=Task.Status.RELEASED,
        planned_start=timezone.now())
    facts = read_both(rework, op)
    assert facts["previous_passed"] == Decimal("5")  # the normal step before it
    report(rework, op, rework.work_center, good=1)
    read_both(rework, op)
    # A rework task is never the previous step of a normal one.
    assert read_both(t3, op)["previous_passed"] == Decimal("5")


def test_last_start_and_last_report_end_are_the_latest(op):
    _wo, (t1, t2, _t3), wc = released_order(qty="10", released_ago=datetime.timedelta(days=2))
    base = timezone.now().replace(microsecond=123457) - datetime.timedelta(days=1)

    def at(hours):
        return base + datetime.timedelta(hours=hours)

    task_start(operator=op, task=t1, work_center=wc, client_token=tok(), at=at(0))
    task_pause(operator=op, task=t1, work_center=wc, client_token=tok(), at=at(1))
    task_resume(operator=op, task=t1, work_center=wc, client_token=tok(), at=at(2))
    task_pause(operator=op, task=t1, work_center=wc, client_token=tok(), at=at(3))
    # Written last but earlier in time; and another task's later start.
    TaskActivity.objects.create(task=t1, operator=op, work_center=wc, at=at(-1),
                                kind=TaskActivity.Kind.START, client_token=tok())
    TaskActivity.objects.create(task=t2, operator=op, work_center=wc, at=at(8),
                                kind=TaskActivity.Kind.START, client_token=tok())
    report(t1, op, wc, good=1, work_start=at(3.5), work_end=at(4))
    report(t1, op, wc, good=1, work_start=at(5.5), work_end=at(6))
    report(t1, op, wc, good=1, work_start=at(4.5), work_end=at(5))
    report(t2, op, wc, good=1, work_start=at(6.5), work_end=at(7))

    facts = read_both(t1, op)
    # (the first report resumed the paused task: recorded at its work start, 3.5)
    assert (facts["last_start"], facts["last_report_end"]) == (at(3.5), at(6))
    assert facts["last_start"].microsecond == 123457
    facts = read_both(t2, op)
    assert (facts["last_start"], facts["last_report_end"]) == (at(8), at(7))


def test_earlier_report_of_the_token(op):
    _wo, (t1, t2, _t3), wc = released_order(qty="10")
    used = tok()
    earlier = report(t1, op, wc, good=2, token=used)
    report(t1, op, wc, good=1)
    activity_token = tok()
    task_start(operator=op, task=t2, work_center=wc, client_token=activity_token)

    facts = read_both(t1, op, token=used)
    assert type(facts["earlier_report"]) is int and facts["earlier_report"] == earlier.pk
    assert read_both(t2, op, token=used)["earlier_report"] == earlier.pk  # any task
    assert read_both(t1, op, token=tok())["earlier_report"] is None
    # Only a report's token counts: a start's token is not an earlier report.
    assert read_both(t2, op, token=activity_token)["earlier_report"] is None


def test_assignment(op, make_user, settings):
    settings.MES_ENFORCE_OPERATOR_ASSIGNMENT = True
    _wo, (t1, *_), wc = released_order()
    assert read_both(t1, op)["assigned"] is True  # nobody assigned: open to all
    wc.operators.add(make_user("operator"))
    assert read_both(t1, op)["assigned"] is False  # someone else assigned
    wc.operators.add(op)
    assert read_both(t1, op)["assigned"] is True  # the operator too
    wc.operators.remove(op)
    settings.MES_ENFORCE_OPERATOR_ASSIGNMENT = False
    assert read_both(t1, op)["assigned"] is True  # not enforced
    settings.MES_ENFORCE_OPERATOR_ASSIGNMENT = True
    # Assignment is read for the task's own work center: at another station, where the
    # operator is assigned, the report is refused as at the wrong station.
    other = WorkCenterFactory()
    other.operators.add(op)
    assert read_both(t1, op)["assigned"] is False
    with pytest.raises(ValidationError) as exc:
        report(t1, op, other)
    assert exc.value.code == "wrong_station"


def refused(call):
    with pytest.raises(ValidationError) as exc, transaction.atomic():
        call()
    assert exc.value.code == "unknown_task"


def test_task_with_input_of_an_unknown_task_is_none():
    assert task_with_input(2_000_000_000) is None


def test_an_operator_by_id_that_is_not_an_active_user_is_read_as_none(op, make_user):
    """The badge operator read with the task: none when that user was deactivated, or no user
    has the id; the task and its facts are read all the same (the service then refuses)."""
    _wo, (t1, *_), wc = released_order()
    gone = make_user("operator", badge_code="B-GONE")
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    missing = User.objects.order_by("-pk").values_list("pk", flat=True).first() + 1000
    for user_id in (gone.pk, missing):
        for read in (report_read, report_lock_and_read):
            with transaction.atomic():
                task, facts = read(t1.pk, tok(), OperatorById(user_id))
            assert task.pk == t1.pk and facts["operator"] is None
            assert facts["next_work_center"] == wc.pk


def test_unknown_task_refused(op):
    _wo, (t1, *_), wc = released_order()
    missing = Task.objects.order_by("-pk").values_list("pk", flat=True).first() + 1000
    for bad in (10**30, 0, -1, "abc", None):
        refused(lambda bad=bad: lock_task_for_report(bad))
    # A well-formed id no task has: the lock refuses it where it locks rows (SQLite locks the
    # whole database instead), and the read refuses it everywhere.
    if connection.features.has_select_for_update:
        refused(lambda: lock_task_for_report(missing))
    refused(lambda: report_read(lock_task_for_report(missing), tok(), op))
    for bad in (missing, 10**30, 0, "abc"):
        refused(lambda bad=bad: report_lock_and_read(bad, tok(), op))
    with transaction.atomic():  # a known task, by id or instance, is let through
        assert lock_task_for_report(t1.pk) == lock_task_for_report(t1) == t1.pk


def test_the_next_steps_work_center_skips_cancelled_steps_and_ends_with_the_last(op):
    """The station a report's units go on to: the next normal step's (a cancelled step is
    skipped, as the previous-step read skips it); none after the last step."""
    _wo, (t1, t2, t3), wc = released_order(qty="10")
    other, third = WorkCenterFactory(), WorkCenterFactory()
    Task.objects.filter(pk=t2.pk).update(work_center=other)
    Task.objects.filter(pk=t3.pk).update(work_center=third)
    assert read_both(t1, op)["next_work_center"] == other.pk
    assert read_both(t2, op)["next_work_center"] == third.pk
    assert read_both(t3, op)["next_work_center"] is None
    Task.objects.filter(pk=t2.pk).update(status=Task.Status.CANCELLED)
    assert read_both(t1, op)["next_work_center"] == third.pk


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_retry_that_waited_for_the_lock_finds_what_its_first_sending_recorded(make_user):
    """A submission sent again while its first sending still holds the task's lock waits,
    then reads what that sending committed (the read is a statement of its own, after the
    lock): it is answered with that report and records nothing."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's")
    op = make_user("operator")
    _wo, (t1, *_), wc = released_order(qty="10")
    token = tok()
    with held_open(lambda: report(t1, op, wc, good=2, token=token)) as first:
        retry = task_report_quantity(operator=op, task=t1, work_center=wc, client_token=token,
                                     good=2)
    assert not retry.created and retry.report.pk == first.pk
    t1.refresh_from_db()
    assert t1.qty_good == 2 and WorkReport.objects.filter(task=t1).count() == 1


def test_the_lock_and_read_function_is_made_again_whatever_was_there(op):
    """PostgreSQL: `migrate` (post_migrate) makes the report's function from the code. Made
    again over itself, or over an older one whose result had other columns (which a plain
    replacement cannot change), it reads what the ORM reads."""
    if connection.vendor != "postgresql":
        pytest.skip("the function is PostgreSQL's")
    from execution.services.report_read import FUNCTION, install_function

    _wo, (t1, t2, *_), wc = released_order(qty="10")
    report(t1, op, wc, good=4)
    install_function()
    install_function()
    assert read_both(t2, op)["previous_passed"] == 4
    with connection.cursor() as cursor:
        cursor.execute(f"DROP FUNCTION {FUNCTION}(bigint, text, bigint, text, text, text, text)")
        cursor.execute(f"""CREATE FUNCTION {FUNCTION}(p_task bigint, p_token text,
            p_operator bigint, p_normal text, p_cancelled text, p_start text, p_resume text)
            RETURNS TABLE (r_old integer) LANGUAGE sql AS $$ SELECT 1 $$""")
    install_function()
    assert read_both(t2, op)["previous_passed"] == 4
