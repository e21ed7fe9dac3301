"""Validate a Problem and compile it into index arrays the dispatcher and CP-SAT share.

Everything that makes a problem unschedulable on its own (unknown ids, cycles, a resource that
cannot work, a pin that cannot be honoured whatever the others do) is found here and reported
as a ProblemError naming the records, before any solver runs.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

from planning.scheduling.calendar import WorkAxis, validate_windows
from planning.scheduling.problem import Job, Key, Operation, Problem, ProblemError, Resource


@dataclass
class Prepared:
    """A validated problem. Op-indexed lists use the order of `problem.operations`.

    Working minutes (`lb`, `reserved`) are on the op's own resource axis (`axes[axis[i]]`).
    Resources with equal calendars share one axis, so their ops compare directly.
    """

    problem: Problem
    ids: list[Key]
    index: dict[Key, int]
    resources: list[Resource]
    res: list[int]  # resource index per op (after a pinned resource)
    capacity: list[int]  # per resource
    per_unit: list[bool]  # per resource: model each machine (some are tied or held)
    axes: list[WorkAxis]
    axis_of_res: list[int]
    axis: list[int]  # axis index per op
    dur: list[int]
    lb: list[int]  # earliest working start (release and predecessors, ignoring capacity)
    reserved: list[int | None]  # working start of fixed and pinned ops
    start_clock: list[int | None]  # clock start of fixed and pinned ops, as given
    is_fixed: list[bool]
    unit: list[int | None]
    preds: list[list[int]]  # enforced precedences only (none between two fixed ops)
    succs: list[list[int]]
    topo: list[int]
    rank: list[int]  # position in `topo`
    jobs: list[Job]
    job: list[int]  # job index per op
    job_sinks: list[list[int]]  # per job: its ops with no successor inside the job
    tail: list[int]  # working minutes from the op's start to the end of its longest path
    deadline: list[int | None]  # latest clock end, for ancestors of fixed and pinned ops
    op_due: list[float]  # latest clock end that keeps every downstream due date (inf: none)
    stake: list[int]  # heaviest job weight depending on the op (a child order feeds a parent)

    @property
    def n(self) -> int:
        return len(self.ids)

    def span(self, i: int, w: int) -> tuple[int, int]:
        """Clock [start, end) of op i started at working minute w (a fixed op keeps its start)."""
        start, end = self.axes[self.axis[i]].span(w, self.dur[i])
        given = self.start_clock[i]
        if given is None:
            return start, end
        # A fixed op keeps its start even outside working time; it works from the next window.
        return given, (end if self.dur[i] else given)


def prepare(problem: Problem) -> Prepared:
    """Check `problem` and compile it.

    Raises ProblemError (a ValueError) naming the offending ids for: duplicate or unknown ids,
    a cyclic precedence (the cycle is listed), a resource with no capacity or not enough
    working time, a bad calendar, an impossible pin or machine, fixed or pinned operations that
    overload a resource, and predecessors that cannot finish before a fixed or pinned start.
    """
    resources = list(problem.resources)
    res_index = _unique_index([r.id for r in resources], "resource")
    job_index = _unique_index([j.id for j in problem.jobs], "job")
    ops = list(problem.operations)
    ids = [op.id for op in ops]
    index = _unique_index(ids, "operation")
    n = len(ops)

    axes: list[WorkAxis] = []
    axis_by_calendar: dict[tuple[tuple[int, int], ...] | None, int] = {}
    axis_of_res: list[int] = []
    for r in resources:
        if not _whole(r.capacity) or r.capacity < 0:
            raise ProblemError(f"resource {r.id!r}: capacity must be a whole number ≥ 0", [r.id])
        validate_windows(r.id, r.calendar)
        key = None if r.calendar is None else tuple((int(s), int(e)) for s, e in r.calendar)
        if key not in axis_by_calendar:
            axis_by_calendar[key] = len(axes)
            axes.append(WorkAxis(key))
        axis_of_res.append(axis_by_calendar[key])
    for j in problem.jobs:
        if not _whole(j.weight) or j.weight < 0:
            raise ProblemError(f"job {j.id!r}: weight must be a whole number ≥ 0", [j.id])
        if j.due is not None and not _whole(j.due):
            raise ProblemError(f"job {j.id!r}: due must be whole minutes, got {j.due!r}",
                               [j.id])

    res: list[int] = []
    job: list[int] = []
    for op in ops:
        _check_operation_fields(op)
        if op.job not in job_index:
            raise ProblemError(f"operation {op.id!r}: unknown job {op.job!r}", [op.id])
        target = op.pin_resource if op.pin_resource is not None else op.resource
        if target not in res_index:
            raise ProblemError(f"operation {op.id!r}: unknown resource {target!r}", [op.id])
        res.append(res_index[target])
        job.append(job_index[op.job])
    capacity = [r.capacity for r in resources]
    idle = [op.id for op, r in zip(ops, res, strict=True) if capacity[r] == 0]
    if idle:
        raise ProblemError(f"operations on a resource with zero capacity: {_names(idle)}", idle)

    all_preds, all_succs = _edges(problem.precedences, index, n)
    topo = _topological_order(all_preds, all_succs, ids)

    axis = [axis_of_res[r] for r in res]
    dur = [op.duration for op in ops]
    is_fixed = [op.fixed_start is not None for op in ops]
    unit = [op.unit for op in ops]
    for i, op in enumerate(ops):
        if op.unit is not None and op.unit >= capacity[res[i]]:
            raise ProblemError(f"operation {op.id!r}: machine {op.unit} does not exist on "
                               f"resource {resources[res[i]].id!r} (capacity "
                               f"{capacity[res[i]]})", [op.id])
    # Two facts may overlap in time (real life does not wait for the plan); only plan-made
    # precedences are enforced.
    preds = [[a for a in all_preds[b] if not (is_fixed[a] and is_fixed[b])] for b in range(n)]
    succs = [[b for b in all_succs[a] if not (is_fixed[a] and is_fixed[b])] for a in range(n)]

    reserved: list[int | None] = [None] * n
    start_clock: list[int | None] = [None] * n
    for i, op in enumerate(ops):
        ax = axes[axis[i]]
        start = op.fixed_start if op.fixed_start is not None else op.pin_start
        if start is None:
            continue
        w = ax.work_before(start)
        start_clock[i] = start
        if op.fixed_start is None:
            if start < op.release:
                raise ProblemError(f"operation {op.id!r}: pinned start {start} is before its "
                                   f"release {op.release}", [op.id])
            if dur[i] and not ax.is_working(start):
                raise ProblemError(f"operation {op.id!r}: pinned start {start} is outside the "
                                   f"working time of resource {resources[res[i]].id!r}",
                                   [op.id], kind=ProblemError.PIN_OUTSIDE_WORKING_TIME,
                                   resource=resources[res[i]].id)
        if ax.total is not None and w + dur[i] > ax.total:
            raise ProblemError(f"operation {op.id!r}: the calendar of resource "
                               f"{resources[res[i]].id!r} ends before it can finish", [op.id],
                               kind=ProblemError.NO_WORKING_TIME,
                               resource=resources[res[i]].id)
        reserved[i] = w

    lb = _earliest_starts(ops, topo, preds, axes, axis, dur, reserved, start_clock, is_fixed,
                          resources, res)
    _check_reserved_capacity(ops, reserved, dur, res, unit, capacity, resources)

    tail = [0] * n
    for i in reversed(topo):
        tail[i] = dur[i] + max((tail[s] for s in succs[i]), default=0)
    deadline = _deadlines(topo, succs, reserved, start_clock, axes, axis, dur)

    job_ops: list[list[int]] = [[] for _ in problem.jobs]
    for i, j in enumerate(job):
        job_ops[j].append(i)
    job_sinks = [[i for i in members if not any(job[s] == j for s in succs[i])]
                 for j, members in enumerate(job_ops)]
    # Machines tied by the data, or held by facts and pins, must be modelled one by one: a
    # cumulative answer cannot always be spread over machines some of which are taken.
    per_unit = [False] * len(resources)
    for i in range(n):
        if (unit[i] is not None or reserved[i] is not None) and capacity[res[i]] > 1:
            per_unit[res[i]] = True
    rank = [0] * n
    for position, i in enumerate(topo):
        rank[i] = position
    op_due, stake = _pegging(topo, succs, axes, axis, dur, job, list(problem.jobs), job_sinks)
    return Prepared(
        problem=problem, ids=ids, index=index, resources=resources, res=res, capacity=capacity,
        per_unit=per_unit, axes=axes, axis_of_res=axis_of_res, axis=axis, dur=dur, lb=lb,
        reserved=reserved, start_clock=start_clock, is_fixed=is_fixed, unit=unit, preds=preds,
        succs=succs, topo=topo, rank=rank, jobs=list(problem.jobs), job=job,
        job_sinks=job_sinks, tail=tail, deadline=deadline, op_due=op_due, stake=stake,
    )


def _names(keys: list[Key], limit: int = 10) -> str:
    shown = ", ".join(repr(k) for k in keys[:limit])
    return shown + (f" and {len(keys) - limit} more" if len(keys) > limit else "")


def _unique_index(keys: list[Key], what: str) -> dict[Key, int]:
    index: dict[Key, int] = {}
    for position, key in enumerate(keys):
        if key in index:
            raise ProblemError(f"duplicate {what} id {key!r}", [key])
        index[key] = position
    return index


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_operation_fields(op: Operation) -> None:
    for name in ("duration", "release", "fixed_start", "pin_start"):
        value = getattr(op, name)
        if value is None and name in ("fixed_start", "pin_start"):
            continue
        if not _whole(value):
            raise ProblemError(f"operation {op.id!r}: {name} must be whole minutes, got "
                               f"{value!r}", [op.id])
    if op.duration < 0:
        raise ProblemError(f"operation {op.id!r}: negative duration {op.duration}", [op.id])
    if op.unit is not None and (not _whole(op.unit) or op.unit < 0):
        raise ProblemError(f"operation {op.id!r}: machine must be a number ≥ 0", [op.id])


def _edges(pairs: list[tuple[Key, Key]], index: dict[Key, int],
           n: int) -> tuple[list[list[int]], list[list[int]]]:
    preds: list[list[int]] = [[] for _ in range(n)]
    succs: list[list[int]] = [[] for _ in range(n)]
    seen: set[tuple[int, int]] = set()
    for pair in pairs:
        before, after = pair
        missing = [k for k in (before, after) if k not in index]
        if missing:
            raise ProblemError(f"precedence {before!r} → {after!r} names unknown operation "
                               f"{_names(missing)}", missing)
        a, b = index[before], index[after]
        if a == b:
            raise ProblemError(f"precedence cycle: {before!r} → {before!r}", [before])
        if (a, b) not in seen:
            seen.add((a, b))
            preds[b].append(a)
            succs[a].append(b)
    return preds, succs


def _topological_order(preds: list[list[int]], succs: list[list[int]],
                       ids: list[Key]) -> list[int]:
    """Kahn's algorithm, smallest index first so the order is deterministic."""
    indegree = [len(p) for p in preds]
    ready = [i for i, d in enumerate(indegree) if d == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for s in succs[i]:
            indegree[s] -= 1
            if indegree[s] == 0:
                heapq.heappush(ready, s)
    if len(order) < len(ids):
        cycle = _find_cycle(preds, {i for i, d in enumerate(indegree) if d > 0})
        keys = [ids[i] for i in cycle]
        raise ProblemError("precedence cycle: " + " → ".join(repr(k) for k in keys + keys[:1]),
                           keys)
    return order


def _find_cycle(preds: list[list[int]], stuck: set[int]) -> list[int]:
    """A cycle among the ops Kahn could not order: walk predecessors until one repeats."""
    # Every stuck op has a stuck predecessor, so the walk never ends outside a cycle.
    node = min(stuck)
    seen: dict[int, int] = {}
    path: list[int] = []
    while node not in seen:
        seen[node] = len(path)
        path.append(node)
        node = next(p for p in preds[node] if p in stuck)
    cycle = path[seen[node]:]
    cycle.reverse()  # the walk went backwards along the arcs
    first = cycle.index(min(cycle))
    return cycle[first:] + cycle[:first]


def _earliest_starts(ops: list[Operation], topo: list[int], preds: list[list[int]],
                     axes: list[WorkAxis], axis: list[int], dur: list[int],
                     reserved: list[int | None], start_clock: list[int | None],
                     is_fixed: list[bool], resources: list[Resource], res: list[int]) -> list[int]:
    """Earliest working start of every op ignoring capacity; checks fixed and pinned starts."""
    n = len(ops)
    lb = [0] * n
    end = [0] * n  # earliest clock end
    for i in topo:
        ax = axes[axis[i]]
        op = ops[i]
        ready = op.release
        binding: int | None = None
        for p in preds[i]:
            if end[p] > ready:
                ready, binding = end[p], p
        w_ready = ax.work_before(ready)
        w = reserved[i]
        if w is None:
            if ax.total is not None and w_ready + dur[i] > ax.total:
                raise ProblemError(
                    f"operation {op.id!r}: resource {resources[res[i]].id!r} has not enough "
                    f"working time after {ready} for its {dur[i]} minutes", [op.id],
                    kind=ProblemError.NO_WORKING_TIME, resource=resources[res[i]].id)
            w = w_ready
        elif binding is not None and end[binding] > start_clock[i]:  # type: ignore[operator]
            what = "fixed" if is_fixed[i] else "pinned"
            raise ProblemError(
                f"operation {op.id!r}: {what} start {start_clock[i]} is before predecessor "
                f"{ops[binding].id!r} can finish (at {end[binding]} at the earliest)",
                [op.id, ops[binding].id], kind=ProblemError.START_BEFORE_PREDECESSOR)
        lb[i] = w
        end[i] = ax.span(w, dur[i])[1]
        if start_clock[i] is not None and not dur[i]:
            end[i] = start_clock[i]  # type: ignore[assignment]
    return lb


def _check_reserved_capacity(ops: list[Operation], reserved: list[int | None], dur: list[int],
                             res: list[int], unit: list[int | None], capacity: list[int],
                             resources: list[Resource]) -> None:
    """Fixed and pinned ops alone must fit their resource (and machine)."""
    by_res: dict[int, list[tuple[int, int, int]]] = {}
    for i, w in enumerate(reserved):
        if w is not None and dur[i] > 0:
            by_res.setdefault(res[i], []).append((w, w + dur[i], i))
    for r, blocks in by_res.items():
        blocks.sort()
        running: list[tuple[int, int]] = []  # (end, op) of blocks still running
        for start, end, i in blocks:
            running = [(e, j) for e, j in running if e > start]
            same_unit = [j for _, j in running if unit[i] is not None and unit[j] == unit[i]]
            if same_unit or len(running) + 1 > capacity[r]:
                clash = same_unit or [j for _, j in running]
                keys = [ops[i].id] + [ops[j].id for j in clash]
                raise ProblemError(
                    f"fixed or pinned operations overload resource {resources[r].id!r}: "
                    f"{_names(keys)} overlap", keys, kind=ProblemError.OVERLOAD,
                    resource=resources[r].id)
            running.append((end, i))


def _deadlines(topo: list[int], succs: list[list[int]], reserved: list[int | None],
               start_clock: list[int | None], axes: list[WorkAxis], axis: list[int],
               dur: list[int]) -> list[int | None]:
    """Latest clock end of each op that must finish before a fixed or pinned successor."""
    n = len(topo)
    latest_start: list[int | None] = [None] * n
    deadline: list[int | None] = [None] * n
    for i in reversed(topo):
        limits = [s for s in (latest_start[s] for s in succs[i]) if s is not None]
        deadline[i] = min(limits) if limits else None
        limit = deadline[i]
        if reserved[i] is not None:
            latest_start[i] = start_clock[i]
        elif limit is not None:
            ax = axes[axis[i]]
            w = ax.work_before(limit) - dur[i]
            latest_start[i] = ax.clock_start(max(w, 0)) if ax.total is not None else w
    return deadline


def _pegging(topo: list[int], succs: list[list[int]], axes: list[WorkAxis], axis: list[int],
             dur: list[int], job: list[int], jobs: list[Job],
             job_sinks: list[list[int]]) -> tuple[list[float], list[int]]:
    """Due date and weight each op inherits from everything downstream of it.

    A sub-assembly order feeding an urgent parent is as urgent as the parent, and must finish
    early enough for the parent's remaining steps (capacity ignored).
    """
    n = len(topo)
    sink = [False] * n
    for members in job_sinks:
        for i in members:
            sink[i] = True
    latest_start = [math.inf] * n
    op_due = [math.inf] * n
    stake = [0] * n
    for i in reversed(topo):
        own = jobs[job[i]]
        due = math.inf if own.due is None or not sink[i] else own.due
        weight = own.weight
        for s in succs[i]:
            due = min(due, latest_start[s])
            weight = max(weight, stake[s])
        op_due[i], stake[i] = due, weight
        if due != math.inf:
            ax = axes[axis[i]]
            w = ax.work_before(int(due)) - dur[i]
            latest_start[i] = ax.clock_start(max(w, 0)) if ax.total is not None else w
    return op_due, stake
