"""When work was actually running at each work center: the OEE's actual production time.

A task runs from a start or resume to the next pause or completion, as the station recorded
them (TaskActivity, at the station where it happened); one never paused or completed runs on
until the end of the period (until now). A task started before the period counts from the
period's start. At any moment a work center runs on at most as many machines as it has,
less those of its equipment that are stopped (planned or unplanned): `running_levels` gives
that number, as segments. A task held by the planner while running records no pause, so it
counts as running until its next station action.

One query: the activities at the work centers before the period's end, of the tasks that
could be running in it (not finished before it started).
"""

from collections import defaultdict

from django.db.models import Q

from dashboards.periods import Period
from dashboards.selectors.expressions import epoch, seconds
from execution.models import TaskActivity
from planning.models import Task

_RUNS = {TaskActivity.Kind.START.value, TaskActivity.Kind.RESUME.value}
_STOPS = {TaskActivity.Kind.PAUSE.value, TaskActivity.Kind.COMPLETE.value}


def running_intervals(done: Period, work_centers) -> dict[int, list[tuple[float, float]]]:
    """{work center id: [(start, end) epoch seconds]}: each task's running intervals, clipped
    to `done` (the part of the period that has happened)."""
    lo, hi = seconds(done.start), seconds(done.end)
    out: dict[int, list] = defaultdict(list)
    if hi <= lo or not work_centers:
        return out
    open_ = (Task.Status.IN_PROGRESS, Task.Status.PAUSED, Task.Status.ON_HOLD)
    rows = (TaskActivity.objects
            .filter(work_center_id__in=list(work_centers), at__lt=done.end)
            # A task finished before the period cannot run in it (one re-opened after its
            # acceptance was refused keeps its old finish while open again).
            .filter(Q(task__actual_end__isnull=True) | Q(task__actual_end__gte=done.start)
                    | Q(task__status__in=open_))
            .order_by("task_id", "at", "id")
            .values_list("task_id", "work_center_id", "kind", epoch("at")))
    task = since = wc = None
    for task_id, wc_id, kind, at in rows:
        if task_id != task:
            if since is not None:  # the previous task runs on past the period
                _add(out, wc, since, hi, lo, hi)
            task, since = task_id, None
        if kind in _RUNS and since is None:
            since, wc = at, wc_id
        elif kind in _STOPS and since is not None:
            _add(out, wc, since, at, lo, hi)
            since = None
    if since is not None:
        _add(out, wc, since, hi, lo, hi)
    return out


def _add(out, wc, start, end, lo, hi) -> None:
    start, end = max(start, lo), min(end, hi)
    if end > start:
        out[wc].append((start, end))


def running_levels(intervals, machines: int, stops) -> list[tuple[float, float, int]]:
    """[(start, end, machines running)], level > 0 only: the tasks running at each moment,
    at most the machines not stopped then (`stops`: (start, end) of its equipment's stops)."""
    events = sorted([(s, 0, 1) for s, _e in intervals] + [(e, 0, -1) for _s, e in intervals]
                    + [(s, 1, 1) for s, _e in stops] + [(e, 1, -1) for _s, e in stops])
    out, counts, last = [], [0, 0], None
    for t, which, step in events:
        if last is not None and t > last:
            level = max(0, min(counts[0], machines - counts[1]))
            if level:
                out.append((last, t, level))
        counts[which] += step
        last = t
    return out
