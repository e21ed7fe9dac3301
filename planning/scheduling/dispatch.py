"""List scheduling: the fast heuristic, the EDD baseline and the left-shift of a solver answer.

Serial schedule generation: ops leave a priority queue as soon as all their predecessors are
placed and each goes to the earliest gap, on any machine of its resource, that is long enough in
that resource's working minutes (gaps between earlier-placed ops are filled). Fixed and pinned
ops are placed first, where they must be.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from planning.scheduling.prepare import Prepared
from planning.scheduling.problem import Key, ProblemError


class DispatchFailed(ProblemError):
    """The list scheduler could not honour a fixed/pinned start or ran past a calendar."""


@dataclass
class Placement:
    """Working start and machine of every op (indexed like Prepared)."""

    w: list[int]
    unit: list[int]


@dataclass
class Evaluation:
    starts: list[int]
    ends: list[int]
    weighted_tardiness: int
    makespan: int

    @property
    def key(self) -> tuple[int, int]:
        return self.weighted_tardiness, self.makespan


def evaluate(prep: Prepared, placement: Placement) -> Evaluation:
    """Clock spans and objectives of a placement (tardiness per job end, in clock minutes)."""
    starts: list[int] = []
    ends: list[int] = []
    for i, w in enumerate(placement.w):
        start, end = prep.span(i, w)
        starts.append(start)
        ends.append(end)
    job_end: dict[int, int] = {}
    for i, end in enumerate(ends):
        j = prep.job[i]
        if end > job_end.get(j, -math.inf):
            job_end[j] = end
    weighted = 0
    for j, end in job_end.items():
        due = prep.jobs[j].due
        if due is not None and end > due:
            weighted += prep.jobs[j].weight * (end - due)
    return Evaluation(starts, ends, weighted, max(ends, default=0))


class _Timeline:
    """Busy working-minute blocks of one machine, sorted and disjoint."""

    __slots__ = ("starts", "ends")

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def fit(self, ready: int, duration: int) -> tuple[int, int]:
        """Earliest t ≥ ready with [t, t + duration) free, and where it would be inserted."""
        starts, ends = self.starts, self.ends
        k = bisect_right(ends, ready)
        t = ready
        count = len(starts)
        while k < count and starts[k] < t + duration:
            if ends[k] > t:
                t = ends[k]
            k += 1
        return t, k

    def insert(self, position: int, start: int, end: int) -> None:
        self.starts.insert(position, start)
        self.ends.insert(position, end)


def serial_schedule(prep: Prepared, key: Sequence[object],
                    keep_units: Sequence[int | None] | None = None) -> Placement:
    """Place every op; among ready ops the smallest `key[i]` goes first.

    Before: `prep` is valid. After: the placement respects precedence, capacity, calendars,
    releases, fixed and pinned ops; or DispatchFailed names the op that could not be placed.
    `keep_units[i]` (if given) ties op i to that machine.
    """
    n = prep.n
    lines = [[_Timeline() for _ in range(c)] for c in prep.capacity]
    w = [0] * n
    unit = [-1] * n
    end_clock = [0] * n
    dur, res = prep.dur, prep.res
    wanted = [prep.unit[i] if prep.unit[i] is not None else
              (keep_units[i] if keep_units is not None else None) for i in range(n)]

    # Facts and pins first: nothing may take their place.
    for i in sorted((i for i in range(n) if prep.reserved[i] is not None),
                    key=lambda i: prep.reserved[i]):  # type: ignore[arg-type,return-value]
        start = prep.reserved[i]
        assert start is not None
        choices = [wanted[i]] if wanted[i] is not None else range(prep.capacity[res[i]])
        for u in choices:
            t, position = lines[res[i]][u].fit(start, dur[i])  # type: ignore[index]
            if t == start:
                break
        else:
            raise DispatchFailed(f"operation {prep.ids[i]!r}: no machine of resource "
                                 f"{prep.resources[res[i]].id!r} is free at its fixed or "
                                 f"pinned start", [prep.ids[i]])
        if dur[i]:
            lines[res[i]][u].insert(position, start, start + dur[i])  # type: ignore[index]
        w[i], unit[i] = start, u  # type: ignore[assignment]
        end_clock[i] = prep.span(i, start)[1]

    waiting = [len(p) for p in prep.preds]
    heap = [(key[i], prep.rank[i], i) for i in range(n) if waiting[i] == 0]
    heapq.heapify(heap)
    while heap:
        _, _, i = heapq.heappop(heap)
        if prep.reserved[i] is None:
            _place(prep, i, lines, w, unit, end_clock, wanted[i])
        for s in prep.succs[i]:
            waiting[s] -= 1
            if waiting[s] == 0:
                heapq.heappush(heap, (key[s], prep.rank[s], s))
    return Placement(w, unit)


def _place(prep: Prepared, i: int, lines: list[list[_Timeline]], w: list[int],
           unit: list[int], end_clock: list[int], wanted: int | None) -> None:
    ax = prep.axes[prep.axis[i]]
    ready = prep.lb[i]
    for p in prep.preds[i]:
        if prep.axis[p] == prep.axis[i]:
            ready = max(ready, w[p] + prep.dur[p])
        else:
            ready = max(ready, ax.work_before(end_clock[p]))
    d = prep.dur[i]
    machines = lines[prep.res[i]]
    best_t, best_u, best_pos = math.inf, -1, 0
    for u in ([wanted] if wanted is not None else range(len(machines))):
        # A zero-length step (a milestone) occupies no machine time and never waits for one.
        t, position = machines[u].fit(ready, d) if d else (ready, 0)
        if t < best_t:
            best_t, best_u, best_pos = t, u, position
    t = int(best_t)
    if ax.total is not None and t + max(d, 1) > ax.total:
        raise DispatchFailed(f"operation {prep.ids[i]!r}: the calendar of resource "
                             f"{prep.resources[prep.res[i]].id!r} ends before it fits",
                             [prep.ids[i]])
    if d:
        machines[best_u].insert(best_pos, t, t + d)
    w[i], unit[i] = t, best_u
    end_clock[i] = prep.span(i, t)[1]
    limit = prep.deadline[i]
    if limit is not None and end_clock[i] > limit:
        blocked = [prep.ids[s] for s in prep.succs[i] if prep.reserved[s] is not None]
        raise DispatchFailed(f"operation {prep.ids[i]!r} cannot finish before the fixed or "
                             f"pinned start of its successors {blocked or '(indirect)'}",
                             [prep.ids[i], *blocked])


# Priority rules: a key per op, smaller first. Ops feeding a fixed or pinned op go first by
# their deadline, or the pin would be lost to ordinary work.

Rule = Callable[[Prepared], list[tuple[float, ...]]]


def _with_deadlines(prep: Prepared, keys: list[tuple[float, ...]]) -> list[tuple[float, ...]]:
    return [(0, prep.deadline[i], *k) if prep.deadline[i] is not None else (1, 0, *k)
            for i, k in enumerate(keys)]


def _due(prep: Prepared, i: int) -> float:
    due = prep.jobs[prep.job[i]].due
    return math.inf if due is None else due


def rule_edd(prep: Prepared) -> list[tuple[float, ...]]:
    """Earliest due date of the op's job; the plain baseline."""
    return _with_deadlines(prep, [(_due(prep, i),) for i in range(prep.n)])


def rule_priority_edd(prep: Prepared) -> list[tuple[float, ...]]:
    """Heaviest weight at stake first, then the op's own due date (job due − work after it)."""
    return _with_deadlines(prep, [(-prep.stake[i], prep.op_due[i], -prep.tail[i])
                                  for i in range(prep.n)])


def rule_weighted_slack(prep: Prepared) -> list[tuple[float, ...]]:
    """Slack to the op's due date, shrunk by the weight at stake.

    Late and nearly-late heavy work first, but a heavy job with lots of slack waits.
    """
    keys = []
    for i in range(prep.n):
        slack = prep.op_due[i] - prep.lb[i] - prep.dur[i]
        weight = max(prep.stake[i], 1)
        keys.append((slack / weight if slack > 0 else slack * weight, -prep.tail[i]))
    return _with_deadlines(prep, keys)


def weighted_due_date(scale: float) -> Rule:
    """The op's due date, brought forward by `scale` minutes per tenfold weight at stake.

    Between the two extremes: weight always first (scale → ∞) or due date only (scale 0).
    """

    def rule(prep: Prepared) -> list[tuple[float, ...]]:
        return _with_deadlines(prep, [
            (prep.op_due[i] - scale * math.log10(max(prep.stake[i], 1)), -prep.tail[i])
            for i in range(prep.n)])

    return rule


def rule_operation_due_date(prep: Prepared) -> list[tuple[float, ...]]:
    """The op's own due date, ignoring weights."""
    return _with_deadlines(prep, [(prep.op_due[i], -prep.tail[i]) for i in range(prep.n)])


def rule_most_work_remaining(prep: Prepared) -> list[tuple[float, ...]]:
    """Longest remaining path first: a good makespan rule when there are no due dates."""
    return _with_deadlines(prep, [(-prep.tail[i], prep.lb[i]) for i in range(prep.n)])


def rule_earliest_start(prep: Prepared) -> list[tuple[float, ...]]:
    return _with_deadlines(prep, [(prep.lb[i], -prep.tail[i]) for i in range(prep.n)])


def rule_from_order(prep: Prepared, order: dict[Key, float],
                    first: Sequence[Key] = ()) -> list[tuple[float, ...]]:
    """Keep a previous schedule's order (by start); ops in `first` jump the queue."""
    jump = set(first)
    return _with_deadlines(prep, [
        (0 if key in jump else 1, order.get(key, math.inf), _due(prep, i), -prep.tail[i])
        for i, key in enumerate(prep.ids)])
