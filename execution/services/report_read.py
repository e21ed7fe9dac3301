"""What a station report reads, in two hand-written statements: lock the task row, then read
the task (with its work order, item and station) and every fact the report checks, in one
query. On PostgreSQL both run in one function (created after `migrate` from the SQL here), so
the web process sends and reads one statement.

The ORM version of the same read (`lock_task` + the annotations in `report_facts_orm`) cost
about eight milliseconds of Python per scan to build, against well under one for the database
to run; the SQL is written once per process here. `tests/test_report_read.py` checks that both
return the same on the cases that matter (first step, QC-gated previous step, cancelled
previous step, rework task, earlier token, assignment).
"""

from django.conf import settings
from django.db import ProgrammingError, connection, connections, transaction
from django.db.models import Exists, OuterRef, Subquery

from execution.models import TaskActivity, WorkReport
from mes.models import User
from mes.sql import (
    ModelColumns,
    convert,
    fetch_one,
    statement,
    table,
    valid_pk,
)
from mes.system_text import system_text
from planning.models import Equipment, Item, Task, WorkCenter, WorkOrder

T = Task.Status

_TASK = ModelColumns(Task, "t")
_WO = ModelColumns(WorkOrder, "wo")
_ITEM = ModelColumns(Item, "it")
_WC = ModelColumns(WorkCenter, "wc")
# Not the production order: nothing a station does or shows reads more of it than its id.
_PARTS = (_TASK, _WO, _ITEM, _WC)
# The operator, when the caller knows only its id (a badge scanned at the station): read in the
# same statement, as an outer join (active users only).
_OPERATOR = ModelColumns(User, "op")


class OperatorById:
    """An operator known by id only (the badge a station's session holds), read with the task
    by `report_lock_and_read` instead of by a query of its own. `pk` is all the read needs."""

    __slots__ = ("pk",)

    def __init__(self, pk: int):
        self.pk = pk

    def __repr__(self) -> str:
        return f"OperatorById({self.pk})"


# What the previous normal step passed on (its good quantity, or what QC accepted when it waits
# for QC), for the task aliased t: the SQL twin of reporting.previous_step_passed.
_PREVIOUS_PASSED = """(
   SELECT CASE WHEN p."wait_for_qc" THEN p."qty_qc_accepted" ELSE p."qty_good" END
     FROM {task} p
    WHERE p."work_order_id" = t."work_order_id" AND p."kind" = %(normal)s
      AND p."seq" < t."seq" AND NOT (p."status" = %(cancelled)s)
    ORDER BY p."seq" DESC LIMIT 1)"""


# The work center of the next normal step (the one this step passes its units on to), for the
# task aliased t: the SQL twin of reporting.next_step_work_center. Its station hears of the
# report (what it may work on changed) in the same write.
_NEXT_WORK_CENTER = """(
   SELECT n."work_center_id"
     FROM {task} n
    WHERE n."work_order_id" = t."work_order_id" AND n."kind" = %(normal)s
      AND n."seq" > t."seq" AND NOT (n."status" = %(cancelled)s)
    ORDER BY n."seq", n."id" LIMIT 1)"""


# The station's machine when it has exactly one in service (a report there was made on it),
# for the task aliased t: the SQL twin of reporting.sole_equipment.
_SOLE_EQUIPMENT = """(
   SELECT CASE WHEN count(*) = 1 THEN min(e."id") END
     FROM {equipment} e
    WHERE e."work_center_id" = t."work_center_id" AND e."active")"""


def _task_from(joins: str = "") -> str:
    return f"""FROM {table(Task)} t
JOIN {table(WorkOrder)} wo ON wo."id" = t."work_order_id"
JOIN {table(Item)} it ON it."id" = wo."item_id"
JOIN {table(WorkCenter)} wc ON wc."id" = t."work_center_id"{joins}
WHERE t."id" = %(task)s"""


def _facts_sql(with_operator: bool) -> str:
    return statement(f"execution.report_read.{with_operator:d}",
                     lambda: _build_facts_sql(with_operator))


def _operator_columns(with_operator: bool) -> str:
    return f",\n  {_OPERATOR.select()}" if with_operator else ""


def _operator_join(with_operator: bool) -> str:
    return (f'\nLEFT JOIN {table(User)} op ON op."id" = %(operator)s AND op."is_active"'
            if with_operator else "")


def _report_id() -> str:
    # PostgreSQL: the new report's id, taken from its sequence now, so that the report, the
    # task, the audit entry and the outbox rows naming the report go in one statement
    # (mes.sql.Writes). An id taken by a report that is then refused is skipped, as a rolled
    # back insert's would be.
    return (f"nextval(pg_get_serial_sequence('{WorkReport._meta.db_table}', "
            f"'{WorkReport._meta.pk.column}'))" if connection.vendor == "postgresql"
            else "NULL")


def _fact_columns() -> str:
    """The facts a report checks, for the task aliased t (in _FACTS' order, the id a new report
    takes last)."""
    assigned = WorkCenter.operators.through._meta.db_table
    return f"""(SELECT r."id" FROM {table(WorkReport)} r
    WHERE r."client_token" = %(token)s LIMIT 1),
  {_PREVIOUS_PASSED.format(task=table(Task))},
  (SELECT a."at" FROM {table(TaskActivity)} a
    WHERE a."task_id" = t."id" AND a."kind" IN (%(start)s, %(resume)s)
    ORDER BY a."at" DESC LIMIT 1),
  (SELECT r."work_end" FROM {table(WorkReport)} r WHERE r."task_id" = t."id"
    ORDER BY r."work_end" DESC LIMIT 1),
  EXISTS (SELECT 1 FROM "{assigned}" o WHERE o."workcenter_id" = t."work_center_id"),
  EXISTS (SELECT 1 FROM "{assigned}" o WHERE o."workcenter_id" = t."work_center_id"
                                         AND o."user_id" = %(operator)s),
  {_NEXT_WORK_CENTER.format(task=table(Task))},
  {_SOLE_EQUIPMENT.format(equipment=table(Equipment))},
  {_report_id()}"""  # noqa: S608


def _build_facts_sql(with_operator: bool) -> str:
    return f"""
SELECT {", ".join(p.select() for p in _PARTS)},
  {_fact_columns()}{_operator_columns(with_operator)}
{_task_from(_operator_join(with_operator))}"""  # noqa: S608


# The facts' names in the function's result (in _fact_columns' order), and the field whose
# column type each has (None: a boolean).
_FACTS = (("earlier", WorkReport._meta.pk), ("passed", Task._meta.get_field("qty_good")),
          ("last_start", TaskActivity._meta.get_field("at")),
          ("last_end", WorkReport._meta.get_field("work_end")), ("anyone", None),
          ("operator_here", None), ("next_wc", WorkCenter._meta.pk),
          ("sole_equipment", Equipment._meta.pk), ("report_id", WorkReport._meta.pk))
# The function's parameters (the read's), with their types.
_PARAMS = (("task", "bigint"), ("token", "text"), ("operator", "bigint"), ("normal", "text"),
           ("cancelled", "text"), ("start", "text"), ("resume", "text"))
FUNCTION = "mes_report_lock_and_read"


def _fact_type(field, conn) -> str:
    if field is None:
        return "boolean"
    return field.rel_db_type(conn) if field.primary_key else field.db_type(conn)


def function_sql(conn=connection) -> str:
    """PostgreSQL: the statement that creates (or replaces) the function that locks the task
    row and then reads it with the facts, as a report does. Two statements in one function: the read
    takes its snapshot after the lock (a VOLATILE PL/pgSQL function's statements each take
    their own, in READ COMMITTED), so it sees what committed while the lock waited, which a
    single statement's subqueries would not (see report_lock_and_read). One call, one
    statement for the web process to send and read. PL/pgSQL keeps its statements' plans for
    the connection's life: psycopg forgets every prepared statement at each ROLLBACK (a refused
    station action), and the read is not planned again after one.

    The task, work order, item and station come back as rows of their tables' own types,
    which follow the tables when migrations change them."""
    parts = ", ".join(f'r_{p.alias} {table(p.model)}' for p in _PARTS)
    facts = ", ".join(f"r_{name} {_fact_type(field, conn)}" for name, field in _FACTS)
    columns = _fact_columns() % {name: f"p_{name}" for name, _kind in _PARAMS}
    return f"""CREATE OR REPLACE FUNCTION {FUNCTION}({", ".join(f"p_{n} {k}" for n, k in _PARAMS)})
RETURNS TABLE ({parts}, {facts}) LANGUAGE plpgsql VOLATILE AS $body$
BEGIN
  PERFORM 1 FROM {table(Task)} WHERE "id" = p_task FOR UPDATE;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  RETURN QUERY SELECT {", ".join(p.alias for p in _PARTS)},
  {columns}
{_task_from() % {"task": "p_task"}};
END
$body$"""  # noqa: S608


def install_function(*, using: str = "default", **_kwargs) -> None:
    """After every `migrate` (a post_migrate hook, like the cache table's in mes.apps): create
    the report's lock-and-read function from the models and SQL as they are now, on
    PostgreSQL, once the tables it reads exist.

    Replaced in place, so that web processes still running call the old or the new one, never
    none; dropped first only when its result's columns changed (the facts here), which
    PostgreSQL does not let a replacement do."""
    conn = connections[using]
    if conn.vendor != "postgresql":
        return
    needed = {m._meta.db_table for m in (Task, WorkOrder, Item, WorkCenter, WorkReport,
                                         TaskActivity, WorkCenter.operators.through, Equipment)}
    if not needed <= set(conn.introspection.table_names()):
        return
    create = function_sql(conn)
    with transaction.atomic(using=using), conn.cursor() as cursor:
        try:
            with transaction.atomic(using=using):
                cursor.execute(create)
        except ProgrammingError as exc:
            if getattr(exc.__cause__, "sqlstate", None) != "42P13":  # invalid_function_definition
                raise
            cursor.execute(f"DROP FUNCTION {FUNCTION}({', '.join(k for _n, k in _PARAMS)})")
            cursor.execute(create)


def _function_call_sql(with_operator: bool) -> str:
    """The function's call. With the operator: an outer join in the calling statement, outside
    the function (whose result's columns stay as they are; an operator's row need not wait
    for the task's lock)."""
    return statement(f"execution.report_lock_and_read.{with_operator:d}", lambda: f"""
SELECT {", ".join(p.select() for p in _PARTS)},
  {", ".join(f'f."r_{name}"' for name, _field in _FACTS)}{_operator_columns(with_operator)}
FROM {FUNCTION}({", ".join(f"%({name})s::{kind}" for name, kind in _PARAMS)}) f,
  {", ".join(f'LATERAL (SELECT (f."r_{p.alias}").*) {p.alias}' for p in _PARTS)}\
{_operator_join(with_operator)}""")  # noqa: S608


def _task_row_sql() -> str:
    return statement("execution.task_with_input", lambda: f"""
SELECT {", ".join(p.select() for p in _PARTS)},
  {_PREVIOUS_PASSED.format(task=table(Task))}
{_task_from()}""")  # noqa: S608


def _task_from_row(row) -> tuple[Task, int]:
    """The task with its work order, item and station attached, and the index of the row's
    first column after them."""
    start, objs = 0, []
    for part in _PARTS:
        objs.append(part.instance(row, start))
        start += len(part)
    task, wo, item, wc = objs
    wo.item = item
    task.work_order, task.work_center = wo, wc
    return task, start


def task_with_input(task_id: int) -> Task | None:
    """The task as a station shows it (work order, item and station attached) with
    `input_qty`: what this step may work on (see task_input_quantity). One query; None for an
    unknown id."""
    row = fetch_one(_task_row_sql(), {"task": task_id, "normal": Task.Kind.NORMAL.value,
                                      "cancelled": T.CANCELLED.value})
    if row is None:
        return None
    from execution.services.reporting import _input_from

    task, start = _task_from_row(row)
    task.input_qty = _input_from(task, convert(Task._meta.get_field("qty_good"), row[start]))
    return task


def _task_id(task) -> int:
    task_id = valid_pk(Task, task.pk if isinstance(task, Task) else task)
    if task_id is None:
        raise _unknown_task()
    return task_id


def _lock_sql() -> str:
    return f'SELECT 1 FROM {table(Task)} WHERE "id" = %s FOR UPDATE'  # noqa: S608


def lock_task_for_report(task) -> int:
    """Lock the task row for this transaction (SQLite locks the whole database on the first
    write instead). An unknown id is refused as an unknown task."""
    task_id = _task_id(task)
    locks = connection.features.has_select_for_update
    if locks and fetch_one(_lock_sql(), [task_id]) is None:
        raise _unknown_task()
    return task_id


def report_read(task_id: int, token: str, operator) -> tuple[Task, dict]:
    """The task (work order, item and station attached) and the facts a
    report checks: the token's earlier report, what the previous step passed on, the last
    start/resume, the last report's end, whether the operator may work at the task's work
    center (a report at another station is refused before that matters), and (PostgreSQL)
    the id a new report takes, and the work center of the next step (its station hears of the
    report). Run after the lock, as a new statement, so it sees what
    committed while we waited. `operator` an OperatorById: the facts' "operator" is that
    user, read in the same statement, or None when no active user has that id."""
    with_operator = isinstance(operator, OperatorById)
    return _task_and_facts(fetch_one(_facts_sql(with_operator),
                                     _facts_params(task_id, token, operator)), with_operator)


def report_lock_and_read(task, token: str, operator) -> tuple[Task, dict]:
    """`lock_task_for_report`, then `report_read`. On PostgreSQL, one call of the function
    `function_sql` creates, which runs both, each as its own statement.

    Not one plain statement (the read with FOR UPDATE OF t): its subqueries would keep the
    snapshot they had before waiting for the lock. A QC disposition, say, locks the next
    step's task without changing it and scraps units at the checkpoint: a report waiting on
    that lock would read what the previous step passed on from before the scrap, and record
    units that are gone (tests/test_rework_conservation.py, the race on PostgreSQL). Checking
    that the locked row is the snapshot's does not catch that: the row did not change."""
    task_id = _task_id(task)
    if connection.vendor != "postgresql":
        return report_read(lock_task_for_report(task_id), token, operator)
    with_operator = isinstance(operator, OperatorById)
    return _task_and_facts(fetch_one(_function_call_sql(with_operator),
                                     _facts_params(task_id, token, operator)), with_operator)


def _unknown_task():
    from execution.services.reporting import refuse

    return refuse(system_text("Unknown task; scan its traveler code again."), "unknown_task")


def _facts_params(task_id: int, token: str, operator) -> dict:
    return {"task": task_id, "token": token, "normal": Task.Kind.NORMAL.value,
            "cancelled": T.CANCELLED.value, "start": TaskActivity.Kind.START.value,
            "resume": TaskActivity.Kind.RESUME.value, "operator": operator.pk}


def _task_and_facts(row, with_operator: bool = False) -> tuple[Task, dict]:
    if row is None:
        raise _unknown_task()
    task, start = _task_from_row(row)
    end = start + len(_FACTS)
    (earlier, passed, last_start, last_end, anyone, operator_here, next_wc, sole_equipment,
     report_id) = row[start:end]
    facts = {
        "report_id": report_id,  # the id for a new report (None: the insert numbers it)
        "earlier_report": earlier,
        "previous_passed": convert(Task._meta.get_field("qty_good"), passed),
        "last_start": convert(TaskActivity._meta.get_field("at"), last_start),
        "last_report_end": convert(WorkReport._meta.get_field("work_end"), last_end),
        "assigned": (not settings.MES_ENFORCE_OPERATOR_ASSIGNMENT
                     or not anyone or bool(operator_here)),
        "next_work_center": next_wc,
        "sole_equipment": sole_equipment,
    }
    if with_operator:
        facts["operator"] = _OPERATOR.instance(row, end)  # (None: no active user by that id)
    return task, facts


def report_facts_orm(task_id: int, token: str, operator) -> dict:
    """The same facts through the ORM (the reference the SQL above is tested against)."""
    from execution.services.reporting import (
        next_step_work_center,
        previous_step_passed,
        sole_equipment,
    )

    through = WorkCenter.operators.through.objects
    facts = {
        "earlier_report": Subquery(WorkReport.objects.filter(client_token=token)
                                   .values("pk")[:1]),
        "previous_passed": previous_step_passed(),
        "last_start": Subquery(TaskActivity.objects.filter(
            task_id=OuterRef("pk"), kind__in=(TaskActivity.Kind.START, TaskActivity.Kind.RESUME))
            .order_by("-at").values("at")[:1]),
        "last_report_end": Subquery(WorkReport.objects.filter(task_id=OuterRef("pk"))
                                    .order_by("-work_end").values("work_end")[:1]),
        "anyone_assigned": Exists(through.filter(workcenter_id=OuterRef("work_center_id"))),
        "operator_assigned": Exists(through.filter(workcenter_id=OuterRef("work_center_id"),
                                                   user_id=operator.pk)),
        "next_work_center": next_step_work_center(),
        "sole_equipment": sole_equipment(),
    }
    row = Task.objects.filter(pk=task_id).annotate(**facts).values(*facts).get()
    row["assigned"] = (not settings.MES_ENFORCE_OPERATOR_ASSIGNMENT
                       or not row.pop("anyone_assigned") or row.pop("operator_assigned"))
    row.pop("anyone_assigned", None)
    row.pop("operator_assigned", None)
    return row

