"""Scheduling runs: build the plant's problem from the database, solve it, keep the result
as a version, show its difference from the current schedule, apply or discard it."""

import datetime
import logging
import math
import time
from collections import defaultdict

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mes.audit import audit_record, snapshot
from mes.celery import enqueue_on_commit
from mes.events import TOPIC_PLANT, domain_event_publish, event_emit, topic_user, topic_work_center
from mes.labels import join_list
from mes.models import AuditEntry
from mes.system_text import SystemText, system_text, text_and_key
from planning.calendars import calendar_windows
from planning.models import (
    Priority,
    ProductionOrder,
    ScheduleEntry,
    ScheduleVersion,
    Task,
    TaskLink,
    WorkCenter,
    WorkOrder,
)
from planning.scheduling import (
    Job,
    Operation,
    Problem,
    ProblemError,
    Resource,
    dispatch,
    schedule,
)

log = logging.getLogger(__name__)
V = ScheduleVersion.Status
T = Task.Status
OPEN_TASKS = (T.PLANNED, T.RELEASED, T.IN_PROGRESS, T.PAUSED)
RUNNING = (T.IN_PROGRESS, T.PAUSED)
HORIZON_DAYS = int(getattr(settings, "MES_SCHEDULE_HORIZON_DAYS", 120))


def _minutes(dt: datetime.datetime, origin: datetime.datetime) -> int:
    return math.floor((dt - origin).total_seconds() / 60)


def _duration(task: Task, running: bool) -> int:
    remaining = max(task.quantity - task.qty_good - task.qty_scrap, 0)
    minutes = float(task.run_minutes_per_unit * remaining)
    if not running:
        minutes += float(task.setup_minutes)
    return max(1, math.ceil(minutes))


def open_tasks():
    """The tasks a schedule covers: open tasks of open work orders of live orders."""
    return (Task.objects.filter(status__in=OPEN_TASKS)
            .exclude(work_order__status__in=(WorkOrder.Status.CANCELLED,
                                             WorkOrder.Status.ON_HOLD,
                                             WorkOrder.Status.ACCEPTED))
            .exclude(work_order__production_order__status=ProductionOrder.Status.CANCELLED)
            .select_related("work_order", "work_order__production_order"))


def _frozen(tasks: dict[int, Task], precedences, origin, frozen_until,
            thawed=frozenset()) -> set[int]:
    """Released tasks planned to start inside the frozen horizon keep their start — unless an
    open predecessor is not itself kept (it slipped: planned start passed, not started), for
    the successor could then never be reached and every run would fail until it starts; or
    unless they are `thawed` (they no longer fit beside what is running, see _solve)."""
    frozen = {t.pk for t in tasks.values()
              if t.status == T.RELEASED and t.planned_start is not None
              and origin <= t.planned_start <= frozen_until and t.pinned_start is None
              and t.pk not in thawed}
    kept = frozen | {t.pk for t in tasks.values() if t.status in RUNNING}
    preds = defaultdict(list)
    for before, after in precedences:
        preds[after].append(before)
    changed = True
    while changed:  # thawing one task may thaw its successors: repeat until stable
        changed = False
        for pk in list(frozen):
            if any(p not in kept for p in preds[pk]):
                frozen.discard(pk)
                kept.discard(pk)
                changed = True
    return frozen


def build_problem(version: ScheduleVersion, thawed=frozenset()
                  ) -> tuple[Problem, dict[int, Task]]:
    """The plant as the scheduler sees it at `version.origin` (a fixed number of queries);
    `thawed`: frozen-horizon tasks that are planned afresh all the same."""
    origin = version.origin
    tasks = {t.pk: t for t in open_tasks()}
    changes = {c["order"]: c for c in version.pending_changes or []}
    frozen_until = origin + datetime.timedelta(minutes=version.frozen_minutes)
    wc_ids = {t.pinned_work_center_id or t.work_center_id for t in tasks.values()}
    wcs = WorkCenter.objects.in_bulk(wc_ids)
    windows = calendar_windows({wc.calendar_id for wc in wcs.values() if wc.calendar_id},
                               origin, origin + datetime.timedelta(days=HORIZON_DAYS))
    resources = []
    for wc in wcs.values():
        # A work center coming into service later takes work from that day on.
        opens = 0
        if wc.in_service_from is not None:
            opens = max(0, _minutes(timezone.make_aware(datetime.datetime.combine(
                wc.in_service_from, datetime.time.min)), origin))
        if wc.calendar_id:
            cal = [(max(_minutes(s, origin), opens), _minutes(e, origin))
                   for s, e in windows[wc.calendar_id]]
            cal = [(s, e) for s, e in cal if e > s]
        else:
            cal = [(opens, HORIZON_DAYS * 24 * 60)] if opens else None
        resources.append(Resource(id=wc.pk, capacity=wc.machines, calendar=cal))
    links = TaskLink.objects.filter(predecessor_id__in=tasks, successor_id__in=tasks)
    # A step already started while a predecessor is still open (overlapping operations: it
    # works on what was passed on so far; an assembly started before all its components are
    # made) has had its order decided on the floor: the link no longer binds it.
    precedences = [(before, after) for before, after in
                   links.values_list("predecessor_id", "successor_id")
                   if tasks[after].status not in RUNNING]
    frozen = _frozen(tasks, precedences, origin, frozen_until, thawed)
    # A running task holds one of its work center's machines from now on. More running tasks
    # than machines (a station started more than it has) keeps the earliest ones fixed.
    held = defaultdict(int)
    fixed_running = set()
    for task in sorted((t for t in tasks.values() if t.status == T.IN_PROGRESS),
                       key=lambda t: (t.actual_start or origin, t.pk)):
        wc_id = task.pinned_work_center_id or task.work_center_id
        if held[wc_id] < wcs[wc_id].machines:
            held[wc_id] += 1
            fixed_running.add(task.pk)
    jobs, ops = {}, []
    for task in tasks.values():
        wo = task.work_order
        order = wo.production_order
        change = changes.get(order.pk, {})
        due = change.get("due")
        due = datetime.datetime.fromisoformat(due) if due else wo.due
        if change.get("due") and wo.parent_id is not None:
            due = wo.due + (due - order.due)  # components keep their lead before the parent
        priority = int(change.get("priority") or wo.priority)
        if wo.pk not in jobs:
            jobs[wo.pk] = Job(id=wo.pk, due=_minutes(due, origin),
                              weight=Priority.weight(priority))
        factor = float(change.get("factor", 1))
        running = task.status in RUNNING
        duration = max(1, math.ceil(_duration(task, running) * factor))
        release = 0
        if order.release_date and order.release_date > origin:
            release = _minutes(order.release_date, origin)
        fixed = None
        if task.pk in fixed_running:
            fixed = 0
        elif task.pk in frozen:
            fixed = _minutes(task.planned_start, origin)
        ops.append(Operation(
            id=task.pk, job=wo.pk, resource=task.pinned_work_center_id or task.work_center_id,
            duration=duration, release=release, fixed_start=fixed,
            pin_start=_minutes(task.pinned_start, origin) if task.pinned_start else None,
            pin_resource=task.pinned_work_center_id))
    return Problem(resources=resources, jobs=list(jobs.values()), operations=ops,
                   precedences=precedences), tasks


@transaction.atomic
def schedule_request(*, actor, reason: str | SystemText, time_limit: float = 10.0,
                     frozen_minutes: int | None = None, rush_order=None,
                     pending_changes=None, heuristic_only: bool = False,
                     enqueue: bool = True) -> ScheduleVersion:
    """Create a version to compute; the computation runs in a Celery worker after commit.

    `heuristic_only`: the fast, deterministic dispatch rule alone (time limit 0), for the
    simulator, whose runs must repeat exactly for a seed. `enqueue=False`: the caller runs
    schedule_compute itself (the simulator), so no worker computes it a second time."""
    reason_text, reason_key = text_and_key(reason)
    if not reason_text.strip():
        raise ValidationError({"reason": _("Say why the schedule is run.")})
    if heuristic_only:
        time_limit = 0
    elif not 0.5 <= float(time_limit) <= 300:
        raise ValidationError({"time_limit": _("The time limit must be 0.5–300 seconds.")})
    version = ScheduleVersion.objects.create(
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
        reason=reason_text[:200], reason_key=reason_key, time_limit=time_limit,
        frozen_minutes=settings.MES_FROZEN_MINUTES if frozen_minutes is None else frozen_minutes,
        origin=timezone.now().replace(second=0, microsecond=0), rush_order=rush_order,
        pending_changes=pending_changes or [])
    audit_record(actor=actor, instance=version, action=AuditEntry.Action.CREATE, reason=reason)
    from planning.tasks import schedule_compute_task

    def not_queued():
        # The broker is down: say so on the version at once, instead of "computing" forever.
        ScheduleVersion.objects.filter(pk=version.pk, status=V.RUNNING).update(
            status=V.FAILED, progress=1.0,
            error=_("The computation could not be queued (the task queue is not reachable). "
                    "Run the scheduler again when it is back."))

    if enqueue:
        enqueue_on_commit(schedule_compute_task, version.pk, on_failure=not_queued)
    return version


def schedule_compute(version_id: int) -> ScheduleVersion:
    """Solve one version (in a worker; not inside a transaction: progress is visible live)."""
    version = ScheduleVersion.objects.get(pk=version_id)
    if version.status != V.RUNNING:
        return version  # a redelivered task: already done
    try:
        solution, tasks = _solve(version)
    except ProblemError as exc:
        message = _problem_message(exc)
        ScheduleVersion.objects.filter(pk=version_id, status=V.RUNNING).update(
            status=V.FAILED, error=message, progress=1.0)
        return ScheduleVersion.objects.get(pk=version_id)
    except Exception as exc:  # keep the current schedule; say what happened
        log.exception("schedule version %s failed", version_id)
        ScheduleVersion.objects.filter(pk=version_id, status=V.RUNNING).update(
            status=V.FAILED, error=str(exc), progress=1.0)
        return ScheduleVersion.objects.get(pk=version_id)
    _store(version, solution, tasks)
    return ScheduleVersion.objects.get(pk=version_id)


def _solve(version: ScheduleVersion):
    """(solution, tasks). Frozen-horizon tasks that no longer fit beside what is running (a
    running task overran its plan, a machine fewer) are planned afresh, the others keep their
    start: the frozen horizon is what the floor was told, not something that may stop every
    run. Pins and running tasks that overload a work center still fail the run, named."""
    thawed: set[int] = set()
    last = [0.0]

    def progress(p):
        now = time.monotonic()
        if now - last[0] >= 0.5:
            last[0] = now
            ScheduleVersion.objects.filter(pk=version.pk).update(
                progress=round(p.fraction, 3),
                message=f"{p.phase}: {p.objective if p.objective is not None else '–'}")

    while True:
        problem, tasks = build_problem(version, frozenset(thawed))
        if not problem.operations:
            raise ProblemError(_("There is nothing to schedule: no open tasks."))
        try:
            if not version.time_limit:
                return dispatch(problem, rule="priority"), tasks
            return schedule(problem, time_limit=version.time_limit,
                            workers=int(getattr(settings, "MES_SCHEDULER_WORKERS", 2)),
                            progress=progress), tasks
        except ProblemError as exc:
            frozen = {op.id for op in problem.operations
                      if op.fixed_start is not None and tasks[op.id].status == T.RELEASED}
            thaw = {k for k in exc.keys if k in frozen} if exc.kind == ProblemError.OVERLOAD \
                else set()
            if not thaw:
                raise
            thawed |= thaw


def _problem_message(exc: ProblemError) -> str:
    """Why the engine refused, in the planner's words where the plant's records caused it
    (the engine's own text, with the tasks named, for the rest)."""
    names = join_list(_task_names(exc.keys))
    wc = WorkCenter.objects.filter(pk=exc.resource).first() if exc.resource else None
    if exc.kind == ProblemError.NO_WORKING_TIME and wc is not None:
        return _("Work center %(wc)s has not enough working time in its shift calendar "
                 "(%(cal)s) within %(days)s days to finish %(tasks)s: add shifts to the "
                 "calendar or move the work.") % {
            "wc": wc.code, "cal": wc.calendar or _("none"), "days": HORIZON_DAYS,
            "tasks": names}
    if exc.kind == ProblemError.PIN_OUTSIDE_WORKING_TIME and wc is not None:
        return _("%(tasks)s is pinned to start outside the working time of %(wc)s (the "
                 "calendar changed since): pin it again or unpin it.") % {
            "tasks": names, "wc": wc.code}
    if exc.kind == ProblemError.OVERLOAD and wc is not None:
        return _("%(tasks)s are held to overlapping times on %(wc)s (running, or pinned) and "
                 "need more machines than its %(n)s: unpin one or move its pin.") % {
            "tasks": names, "wc": wc.code, "n": wc.machines}
    if exc.kind == ProblemError.START_BEFORE_PREDECESSOR:
        return _("%(tasks)s: the first is held to a start (pinned, or inside the frozen "
                 "horizon) before the second can finish: unpin it or move its pin later.") % {
            "tasks": names}
    return str(exc) + (f" ({names})" if names else "")


def _task_names(keys) -> list[str]:
    ids = [k for k in keys if isinstance(k, int)]
    named = {t.pk: str(t) for t in Task.objects.filter(pk__in=ids).select_related("work_order")}
    return [named.get(k, str(k)) for k in keys][:20]


@transaction.atomic
@transaction.atomic
def _store(version, solution, tasks) -> None:
    # Two computations of one version (a redelivered task racing the first): the first to
    # store wins, the other stores nothing.
    ScheduleVersion.objects.select_for_update().filter(pk=version.pk).first()
    if ScheduleEntry.objects.filter(version_id=version.pk).exists():
        return
    origin = version.origin
    entries = []
    for op_id, a in solution.assignments.items():
        entries.append(ScheduleEntry(
            version=version, task_id=op_id, work_center_id=a.resource, machine=a.unit,
            start=origin + datetime.timedelta(minutes=a.start),
            end=origin + datetime.timedelta(minutes=a.end)))
    ScheduleEntry.objects.bulk_create(entries, batch_size=2000)
    diff, late = schedule_diff(entries, tasks, version)
    # Discarded while it computed: it stays discarded (a rush order in it is cancelled).
    ScheduleVersion.objects.filter(pk=version.pk, status=V.RUNNING).update(
        status=V.READY, progress=1.0, message="", method=solution.method,
        weighted_tardiness=solution.weighted_tardiness, makespan_minutes=solution.makespan,
        wall_time=solution.wall_time, tasks=len(entries), diff=diff, late_orders=late)
    event_emit(topic=TOPIC_PLANT, kind="schedule.ready",
               payload={"version": version.pk, "method": solution.method})


def schedule_diff(entries, tasks: dict[int, Task], version) -> tuple[dict, int]:
    """What applying these entries would change, against the tasks' current plan.

    A started task (running or paused) placed at the version's origin just goes on from now:
    every run re-anchors it there, so it is counted apart (`continuing`), not as moved."""
    moved, changed_wc, continuing = [], [], 0
    new_end = defaultdict(lambda: None)
    for e in entries:
        task = tasks[e.task_id]
        wo = task.work_order
        if new_end[wo.pk] is None or e.end > new_end[wo.pk]:
            new_end[wo.pk] = e.end
        if task.status in RUNNING and e.start <= version.origin:
            continuing += 1
        elif task.planned_start is None \
                or abs((task.planned_start - e.start).total_seconds()) >= 60:
            moved.append({"task": task.pk, "name": str(task)[:80], "work_center": e.work_center_id,
                          "from": task.planned_start.isoformat() if task.planned_start else None,
                          "to": e.start.isoformat()})
        if e.work_center_id != task.work_center_id:
            changed_wc.append({"task": task.pk, "name": str(task)[:80],
                               "from": task.work_center_id, "to": e.work_center_id})
    dues = {c["order"]: c.get("due") for c in version.pending_changes or []}
    newly_late, no_longer_late, late_now = [], [], 0
    wos = {t.work_order.pk: t.work_order for t in tasks.values()}
    for wo_id, end in new_end.items():
        wo = wos[wo_id]
        due = wo.due
        if dues.get(wo.production_order_id) and wo.parent_id is None:
            due = datetime.datetime.fromisoformat(dues[wo.production_order_id])
        late = end > due
        was_late = wo.planned_end is not None and wo.planned_end > wo.due
        late_now += late
        row = {"work_order": wo.number, "due": due.isoformat(), "end": end.isoformat()}
        if late and not was_late:
            newly_late.append(row)
        elif was_late and not late:
            no_longer_late.append(row)
    diff = {"moved_count": len(moved), "moved": moved[:300], "continuing_count": continuing,
            "work_center_changed": changed_wc[:300], "newly_late": newly_late[:300],
            "no_longer_late": no_longer_late[:300],
            "affected_work_centers": sorted({m["work_center"] for m in moved})}
    return diff, late_now


@transaction.atomic
def schedule_apply(*, actor, version: ScheduleVersion, reason: str = "") -> ScheduleVersion:
    """Make a ready version the current schedule. After: tasks and work orders carry its
    planned times; a rush order in it is released; pending order changes are applied with
    history; every affected work center and responsible person is notified (live)."""
    version = ScheduleVersion.objects.select_for_update().get(pk=version.pk)
    if version.status != V.READY:
        raise ValidationError(_("Schedule %(v)s is %(s)s: only a ready schedule can be "
                                "applied.") % {"v": version.pk, "s": version.get_status_display()})
    newer = ScheduleVersion.objects.filter(status=V.APPLIED, applied_at__gt=version.created_at)
    if newer.exists():
        raise ValidationError(_("Another schedule was applied after this one was computed; "
                                "run it again."))
    entries = list(version.entries.all())
    tasks = Task.objects.select_for_update().in_bulk([e.task_id for e in entries])
    changed = []
    for e in entries:
        task = tasks.get(e.task_id)
        if task is None or task.status not in OPEN_TASKS:
            continue
        task.planned_start, task.planned_end = e.start, e.end
        task.work_center_id = e.work_center_id  # a pin to another work center moves it there
        changed.append(task)
    Task.objects.bulk_update(changed, ["planned_start", "planned_end", "work_center"],
                             batch_size=2000)
    spans = defaultdict(lambda: [None, None])
    for task in changed:
        s = spans[task.work_order_id]
        s[0] = task.planned_start if s[0] is None else min(s[0], task.planned_start)
        s[1] = task.planned_end if s[1] is None else max(s[1], task.planned_end)
    wos = WorkOrder.objects.in_bulk(list(spans))
    for wo_id, (start, end) in spans.items():
        wos[wo_id].planned_start, wos[wo_id].planned_end = start, end
    WorkOrder.objects.bulk_update(wos.values(), ["planned_start", "planned_end"],
                                  batch_size=2000)
    ScheduleVersion.objects.filter(status=V.APPLIED).update(status=V.SUPERSEDED)
    before = snapshot(version, ["status"])
    version.status, version.applied_at = V.APPLIED, timezone.now()
    version.applied_by = actor if getattr(actor, "is_authenticated", False) else None
    version.save(update_fields=["status", "applied_at", "applied_by"])
    audit_record(actor=actor, instance=version, action=AuditEntry.Action.TRANSITION,
                 before=before, reason=reason or version.reason)
    from planning.services.changes import apply_pending_changes, release_rush_order

    changed_orders = apply_pending_changes(actor=actor, version=version)
    if version.rush_order_id:
        release_rush_order(actor=actor, version=version)
        changed_orders.append(version.rush_order_id)
    _notify(actor, version, changed)
    for order_id in changed_orders:  # the contract in mes.events: one order per event
        domain_event_publish("plan.changed", production_order_id=order_id,
                             reason=version.reason)
    return version


def _notify(actor, version, changed_tasks) -> None:
    moved = {m["task"] for m in version.diff.get("moved", [])}
    per_wc, people = defaultdict(int), set()
    for task in changed_tasks:
        if task.pk in moved:
            per_wc[task.work_center_id] += 1
    for wo in WorkOrder.objects.filter(tasks__pk__in=moved).distinct().values(
            "responsible_id"):
        if wo["responsible_id"]:
            people.add(wo["responsible_id"])
    leads = WorkCenter.objects.filter(pk__in=per_wc).exclude(lead=None).values_list("lead_id",
                                                                                   flat=True)
    people |= set(leads)
    payload = {"version": version.pk, "reason": version.reason}
    for wc_id, count in sorted(per_wc.items()):
        event_emit(topic=topic_work_center(wc_id), kind="schedule.changed", actor=actor,
                   payload={**payload, "moved": count})
    for person in sorted(people):
        event_emit(topic=topic_user(person), kind="schedule.changed", actor=actor,
                   payload={**payload, "message": _("The schedule changed: %(reason)s") % {
                       "reason": version.reason}})
    event_emit(topic=TOPIC_PLANT, kind="schedule.changed", actor=actor,
               payload={**payload, "moved": len(moved)})


@transaction.atomic
def schedule_discard(*, actor, version: ScheduleVersion, reason: str = "") -> ScheduleVersion:
    """Throw a computed version away; a rush order previewed in it is cancelled."""
    version = ScheduleVersion.objects.select_for_update().get(pk=version.pk)
    if version.status not in (V.READY, V.FAILED, V.RUNNING):
        raise ValidationError(_("Schedule %(v)s is %(s)s: it cannot be discarded.") % {
            "v": version.pk, "s": version.get_status_display()})
    before = snapshot(version, ["status"])
    version.status = V.DISCARDED
    version.save(update_fields=["status"])
    audit_record(actor=actor, instance=version, action=AuditEntry.Action.TRANSITION,
                 before=before, reason=reason or system_text("discarded"))
    if version.rush_order_id:
        from planning.services.changes import discard_rush_order

        discard_rush_order(actor=actor, version=version)
    return version
