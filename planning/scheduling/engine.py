"""Finite-capacity scheduling: validate, dispatch, improve with CP-SAT, left-shift.

The heuristic answer is always computed first: it is CP-SAT's hint, its horizon, and the answer
when CP-SAT finds nothing better in time. Up to FULL_MODEL_LIMIT movable ops, CP-SAT then
minimises priority-weighted tardiness and, with that held, the makespan (two solves of one
model, so the phases are strictly lexicographic). Larger plants are improved slice by slice
(large neighbourhood search), each slice a small CP-SAT model inside the fixed rest. Every
CP-SAT answer is left-shifted by list scheduling in its own order, which never delays an op,
so the result is compact even where the objective is indifferent.
"""

from __future__ import annotations

import math
import random
import time
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from planning.scheduling import dispatch as rules
from planning.scheduling.cpsat import CpSatModel, PhaseResult
from planning.scheduling.dispatch import (
    DispatchFailed,
    Evaluation,
    Placement,
    evaluate,
    serial_schedule,
)
from planning.scheduling.prepare import Prepared, prepare
from planning.scheduling.problem import Assignment, Key, Method, Problem, Solution


@dataclass(frozen=True)
class Progress:
    """Handed to the progress callback: how far the time budget is spent and the best value of
    the current phase's objective ("tardiness": model tardiness, "makespan": latest end)."""

    fraction: float
    phase: str
    objective: int | None


ProgressCallback = Callable[[Progress], None]

DUE_DATE_RULES: dict[str, rules.Rule] = {
    "priority": rules.rule_priority_edd,
    "weighted-slack": rules.rule_weighted_slack,
    "operation-due-date": rules.rule_operation_due_date,
    "edd": rules.rule_edd,
}
MAKESPAN_RULES: dict[str, rules.Rule] = {
    "most-work-remaining": rules.rule_most_work_remaining,
    "earliest-start": rules.rule_earliest_start,
}
ALL_RULES = {**DUE_DATE_RULES, **MAKESPAN_RULES}

# Share of the time limit the heuristic may spend trying more rules, and of what is left the
# tardiness phase gets when a makespan phase follows.
HEURISTIC_SHARE = 0.2
TARDINESS_SHARE = 0.7
# Above this many movable ops CP-SAT gets slices of the plan instead of all of it: on 2 cores
# it cannot improve 8,000 intervals at once within seconds, but 400 at a time it can.
FULL_MODEL_LIMIT = 1500
NEIGHBOURHOOD_SIZE = 400
NEIGHBOURHOOD_SECONDS = 1.0
MIN_NEIGHBOURHOOD_SECONDS = 0.4
LEFT_SHIFT_SECONDS = 0.3
WEIGHT_SCALE_FACTORS = (0.1, 0.2, 0.4, 0.8)


def dispatch(problem: Problem, rule: str = "best") -> Solution:
    """List-schedule `problem` with one priority rule (see ALL_RULES) or the best of them.

    "edd" is the plain earliest-due-date baseline. Raises ProblemError on bad input or when
    fixed or pinned operations cannot be honoured by list scheduling.
    """
    started = time.monotonic()
    prep = prepare(problem)
    chosen = {**_candidate_rules(prep, None), **ALL_RULES} if rule == "best" else \
        {rule: ALL_RULES[rule]}
    name, placement, result = _best_heuristic(prep, chosen, math.inf)
    return _solution(prep, placement, result, "heuristic", False, started, None,
                     [f"heuristic: {name}"])


def schedule(problem: Problem, *, time_limit: float = 10.0, workers: int = 2,
             progress: ProgressCallback | None = None, warm_start: Solution | None = None,
             seed: int = 0) -> Solution:
    """Schedule `problem`, spending at most about `time_limit` seconds.

    Before: any Problem (it is validated; ProblemError names offending records). After: every
    op has a start, an end and a machine; the schedule respects calendars, capacity,
    precedence, releases, fixed starts and pins (check_schedule finds nothing), and is never
    worse (weighted tardiness, then makespan) than the built-in heuristic. `warm_start` is a
    previous schedule of mostly the same ops: its order seeds the heuristic, so a re-plan after
    a change starts from the plan people already know.
    """
    started = time.monotonic()
    deadline = started + time_limit
    prep = prepare(problem)
    log: list[str] = []

    def report(phase: str, objective: int | None) -> None:
        if progress is not None:
            fraction = min((time.monotonic() - started) / max(time_limit, 1e-9), 1.0)
            progress(Progress(fraction, phase, objective))

    try:
        name, hint, hint_eval = _best_heuristic(
            prep, _candidate_rules(prep, warm_start), started + HEURISTIC_SHARE * time_limit)
        log.append(f"heuristic {name}: weighted tardiness {hint_eval.weighted_tardiness}, "
                   f"makespan {hint_eval.makespan}")
    except DispatchFailed as failure:
        # The list scheduler could not fit something before a pin; CP-SAT may still manage.
        if sum(1 for r in prep.reserved if r is None) > FULL_MODEL_LIMIT:
            raise
        hint, hint_eval, dispatch_error = None, None, failure
        log.append(f"heuristic failed: {failure}")
    report("heuristic", hint_eval.weighted_tardiness if hint_eval else None)

    free = sum(1 for r in prep.reserved if r is None)
    if hint is not None and (not free or deadline - time.monotonic() < 0.05):
        return _solution(prep, hint, hint_eval, "heuristic", False, started, hint_eval, log)
    if free > FULL_MODEL_LIMIT:
        assert hint is not None and hint_eval is not None
        current, result = _improve_by_neighbourhoods(prep, hint, hint_eval, deadline, workers,
                                                     report, log, seed)
        report("done", result.makespan)
        method: Method = "cp-sat feasible" if result.key < hint_eval.key else "heuristic"
        return _solution(prep, current, result, method, False, started, hint_eval, log)

    current, proven = _improve_whole(prep, hint, hint_eval, deadline, workers, report, log, seed)
    if current is None:
        raise dispatch_error  # neither the heuristic nor CP-SAT found a schedule
    if current is not hint:
        current = _left_shift(prep, current)
    result = evaluate(prep, current)
    report("done", result.makespan)
    if hint_eval is not None and hint_eval.key < result.key:
        return _solution(prep, hint, hint_eval, "heuristic", False, started, hint_eval, log)
    if proven:
        return _solution(prep, current, result, "cp-sat optimal", True, started, hint_eval, log)
    if hint_eval is not None and result.key == hint_eval.key:
        return _solution(prep, hint, hint_eval, "heuristic", False, started, hint_eval, log)
    return _solution(prep, current, result, "cp-sat feasible", False, started, hint_eval, log)


def _candidate_rules(prep: Prepared, warm_start: Solution | None) -> dict[str, rules.Rule]:
    """The heuristic's rules for this problem, the most promising first."""
    if not any(j.due is not None for j in prep.jobs):
        candidates = dict(MAKESPAN_RULES)
    else:
        # How strongly weight should beat due date depends on how much slack orders have:
        # try a few multiples of the typical slack.
        slack = sorted(prep.op_due[i] - prep.span(i, prep.lb[i])[1]
                       for i in range(prep.n) if not prep.succs[i] and prep.op_due[i] < math.inf)
        scale = max(slack[len(slack) // 2], 60) if slack else 1440
        candidates = {f"weighted due date ×{f}": rules.weighted_due_date(f * scale)
                      for f in WEIGHT_SCALE_FACTORS}
        candidates.update(DUE_DATE_RULES)
        candidates.update(MAKESPAN_RULES)  # for plants where few orders have due dates
    if warm_start is not None:
        order = {k: a.start for k, a in warm_start.assignments.items()}
        new = [k for k in prep.ids if k not in order]
        candidates = {"previous order, new ops first":
                      lambda p: rules.rule_from_order(p, order, new),
                      "previous order, new ops last": lambda p: rules.rule_from_order(p, order),
                      **candidates}
    return candidates


def _improve_whole(prep: Prepared, hint: Placement | None, hint_eval: Evaluation | None,
                   deadline: float, workers: int, report: Callable[[str, int | None], None],
                   log: list[str], seed: int) -> tuple[Placement | None, bool]:
    """CP-SAT on the whole problem: tardiness first, then makespan with tardiness held.

    Returns the best placement found (None if none) and whether both phases proved optimal.
    """
    cp = CpSatModel(prep, hint or _earliest_placement(prep), _horizon(prep, hint_eval))
    current = hint
    proven = True
    if not isinstance(cp.tardiness, int):
        if hint is None or cp.tardiness_of(hint) > 0:
            phase = cp.solve(cp.tardiness, current or cp.current,
                             (deadline - time.monotonic()) * TARDINESS_SHARE, workers,
                             lambda v: report("tardiness", v), seed)
            log.append(_phase_line("tardiness", phase))
            current = phase.placement or current
            proven = phase.optimal
        if current is not None:
            # Lexicographic: the makespan phase may not give back any tardiness.
            cp.model.add(cp.tardiness <= cp.tardiness_of(current))
    phase = cp.solve(cp.makespan, current or cp.current, deadline - time.monotonic(), workers,
                     lambda v: report("makespan", v), seed)
    log.append(_phase_line("makespan", phase))
    return phase.placement or current, proven and phase.optimal


def _improve_by_neighbourhoods(prep: Prepared, hint: Placement, hint_eval: Evaluation,
                               deadline: float, workers: int,
                               report: Callable[[str, int | None], None], log: list[str],
                               seed: int) -> tuple[Placement, Evaluation]:
    """Large neighbourhood search: re-solve a slice of the schedule at a time with CP-SAT.

    A slice is NEIGHBOURHOOD_SIZE consecutive ops (by start), around where weighted
    tardiness arises; everything else stays and bounds it. Each answer is left-shifted and
    kept only if (weighted tardiness, makespan) got no worse, so the result never is.
    """
    rng = random.Random(seed)
    current, result = hint, hint_eval
    horizon = _horizon(prep, hint_eval)
    tries = kept = 0
    while deadline - time.monotonic() > MIN_NEIGHBOURHOOD_SECONDS:
        free = _pick_neighbourhood(prep, current, result, rng)
        if not free:
            break
        tries += 1
        reach = max(current.w[i] for i in free) - min(current.w[i] for i in free)
        cp = CpSatModel(prep, current, horizon, free=free, reach=reach)
        limit = min(NEIGHBOURHOOD_SECONDS, deadline - time.monotonic() - LEFT_SHIFT_SECONDS)
        phase = cp.solve(cp.neighbourhood_objective, current, limit, workers, seed=seed + tries)
        if phase.placement is None:
            continue
        candidate = _left_shift(prep, phase.placement)
        evaluation = evaluate(prep, candidate)
        if evaluation.key <= result.key:
            kept += evaluation.key < result.key
            current, result = candidate, evaluation
            report("neighbourhoods", result.weighted_tardiness)
    log.append(f"neighbourhood search: {tries} slices, {kept} improved; weighted tardiness "
               f"{result.weighted_tardiness}, makespan {result.makespan}")
    return current, result


def _pick_neighbourhood(prep: Prepared, placement: Placement, result: Evaluation,
                        rng: random.Random) -> list[int]:
    """NEIGHBOURHOOD_SIZE unreserved ops consecutive by start, ending where a late job ends
    (picked in proportion to its weighted tardiness), or anywhere when nothing is late."""
    movable = sorted((i for i in range(prep.n) if prep.reserved[i] is None),
                     key=lambda i: result.starts[i])
    if not movable:
        return []
    size = min(NEIGHBOURHOOD_SIZE, len(movable))
    job_end: dict[int, int] = {}
    for i in movable:
        j = prep.job[i]
        if result.ends[i] > job_end.get(j, -math.inf):
            job_end[j] = result.ends[i]
    late = [(j, prep.jobs[j].weight * (end - prep.jobs[j].due))
            for j, end in job_end.items()
            if prep.jobs[j].due is not None and end > prep.jobs[j].due]
    if late:
        job = rng.choices([j for j, _ in late], weights=[t for _, t in late])[0]
        starts = [result.starts[i] for i in movable]
        last = bisect_right(starts, job_end[job] - 1)
        # Mostly the stretch just before the late job ends, sometimes a little after it.
        last = min(len(movable), last + rng.randrange(0, size // 4 + 1))
    else:
        last = rng.randrange(size, len(movable) + 1)
    first = max(0, last - size)
    return movable[first:first + size]


def _best_heuristic(prep: Prepared, candidates: dict[str, rules.Rule],
                    deadline: float) -> tuple[str, Placement, Evaluation]:
    """Run the rules until the deadline (at least one); keep the best (tardiness, makespan)."""
    best: tuple[str, Placement, Evaluation] | None = None
    failure: DispatchFailed | None = None
    for name, rule in candidates.items():
        try:
            placement = serial_schedule(prep, rule(prep))
        except DispatchFailed as error:
            failure = error
            continue
        result = evaluate(prep, placement)
        if best is None or result.key < best[2].key:
            best = (name, placement, result)
        if time.monotonic() > deadline:
            break
    if best is None:
        assert failure is not None
        raise failure
    return best


def _horizon(prep: Prepared, hint: Evaluation | None) -> int:
    """Latest clock end CP-SAT may use.

    With a hint: its makespan (exact for the makespan phase), widened when tardiness is
    minimised so late jobs may make room for heavier ones. Without: a generous bound.
    """
    if hint is not None:
        if not any(j.due is not None for j in prep.jobs):
            return hint.makespan
        origin = min(hint.starts, default=0)
        return hint.makespan + (hint.makespan - origin) // 4 + max(prep.dur, default=0)
    work = sum(prep.dur)
    latest = max([0, *(op.release for op in prep.problem.operations),
                  *(prep.span(i, w)[1] for i, w in enumerate(prep.reserved) if w is not None)])
    bound = latest + work
    for ax in prep.axes:
        if ax.total is not None:
            bound = max(bound, ax.clock_end(min(ax.total, ax.work_before(latest) + work)))
    return bound


def _earliest_placement(prep: Prepared) -> Placement:
    """A (likely infeasible) hint when the heuristic failed: everything at its earliest."""
    return Placement([w if w is not None else lb for w, lb in zip(prep.reserved, prep.lb,
                                                                   strict=True)],
                     [u if u is not None else 0 for u in prep.unit])


def _left_shift(prep: Prepared, placement: Placement) -> Placement:
    """Re-place ops in the order of their starts: no op starts later, gaps close.

    Machines stay where CP-SAT put them on resources modelled machine by machine; elsewhere
    identical machines are handed out as ops come.
    """
    order = [prep.span(i, w)[0] for i, w in enumerate(placement.w)]
    keep: Sequence[int | None] = [placement.unit[i] if prep.per_unit[prep.res[i]] else None
                                  for i in range(prep.n)]
    keys = [(order[i], prep.rank[i]) for i in range(prep.n)]
    return serial_schedule(prep, keys, keep_units=keep)


def _phase_line(name: str, phase: PhaseResult) -> str:
    verdict = "optimal" if phase.optimal else ("feasible" if phase.placement else "no answer")
    return (f"cp-sat {name}: {verdict}, objective {phase.objective}, bound {phase.bound}, "
            f"{phase.wall_time:.2f} s")


def _solution(prep: Prepared, placement: Placement, result: Evaluation, method: Method,
              optimal: bool, started: float, heuristic: Evaluation | None,
              log: list[str]) -> Solution:
    assignments: dict[Key, Assignment] = {}
    for i, key in enumerate(prep.ids):
        assignments[key] = Assignment(result.starts[i], result.ends[i],
                                      prep.resources[prep.res[i]].id, placement.unit[i])
    return Solution(
        assignments=assignments, weighted_tardiness=result.weighted_tardiness,
        makespan=result.makespan, method=method, status="optimal" if optimal else "feasible",
        wall_time=time.monotonic() - started,
        heuristic_weighted_tardiness=heuristic.weighted_tardiness if heuristic else None,
        heuristic_makespan=heuristic.makespan if heuristic else None, log=log,
    )
