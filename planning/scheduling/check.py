"""An independent feasibility check of a schedule against its Problem.

Deliberately shares no code with the engine (only the dataclasses): it re-derives every rule
from the problem in plain clock minutes, so an engine bug cannot hide behind itself.

Rules: every op is scheduled once, on its (pinned) resource and a machine that exists; a fixed
op starts at its fixed start, a pinned op at its pin, others not before their release; inside
[start, end) the resource's calendar has exactly `duration` working minutes, the first minute
is working (except for a fixed op, which may have started outside) and so is the last (no idle
tail); a successor starts no earlier than its predecessor ends (two fixed ops are exempt); one
machine runs one op at a time. Reported objective values must match the schedule.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping

from planning.scheduling.problem import Assignment, Key, Problem, Solution


class InfeasibleSchedule(AssertionError):
    def __init__(self, violations: list[str]) -> None:
        shown = "\n".join(violations[:20])
        more = f"\n... and {len(violations) - 20} more" if len(violations) > 20 else ""
        super().__init__(f"{len(violations)} violation(s):\n{shown}{more}")
        self.violations = violations


class _Calendar:
    def __init__(self, windows) -> None:
        self.windows = None if windows is None else [(int(s), int(e)) for s, e in windows]
        if self.windows is not None:
            self.starts = [s for s, _ in self.windows]
            self.prefix = [0]
            for s, e in self.windows:
                self.prefix.append(self.prefix[-1] + e - s)

    def working_before(self, t: int) -> int:
        """Working minutes in (-inf, t)."""
        k = bisect_right(self.starts, t)
        if k == 0:
            return 0
        s, e = self.windows[k - 1]  # type: ignore[index]
        return self.prefix[k - 1] + min(t, e) - s

    def working_minutes(self, start: int, end: int) -> int:
        if self.windows is None:
            return end - start
        return self.working_before(end) - self.working_before(start)

    def is_working(self, t: int) -> bool:
        return self.working_minutes(t, t + 1) == 1


def check_schedule(problem: Problem,
                   solution: Solution | Mapping[Key, Assignment]) -> list[str]:
    """Every rule the schedule breaks, one readable line each; empty means feasible."""
    assignments = solution.assignments if isinstance(solution, Solution) else solution
    resources = {r.id: r for r in problem.resources}
    calendars = {r.id: _Calendar(r.calendar) for r in problem.resources}
    ops = {op.id: op for op in problem.operations}
    problems: list[str] = []
    for key in assignments.keys() - ops.keys():
        problems.append(f"{key!r}: scheduled but not in the problem")
    by_machine: dict[tuple[Key, int], list[tuple[int, int, Key]]] = {}
    for op in problem.operations:
        a = assignments.get(op.id)
        if a is None:
            problems.append(f"{op.id!r}: not scheduled")
            continue
        resource = op.pin_resource if op.pin_resource is not None else op.resource
        if a.resource != resource:
            problems.append(f"{op.id!r}: on resource {a.resource!r}, must be on {resource!r}")
            continue
        capacity = resources[resource].capacity
        if not (isinstance(a.unit, int) and 0 <= a.unit < capacity):
            problems.append(f"{op.id!r}: machine {a.unit} does not exist on {resource!r}")
        if op.unit is not None and a.unit != op.unit:
            problems.append(f"{op.id!r}: on machine {a.unit}, must be on machine {op.unit}")
        if op.fixed_start is not None:
            if a.start != op.fixed_start:
                problems.append(f"{op.id!r}: fixed at {op.fixed_start} but moved to {a.start}")
        elif op.pin_start is not None and a.start != op.pin_start:
            problems.append(f"{op.id!r}: pinned at {op.pin_start} but starts at {a.start}")
        elif a.start < op.release:
            problems.append(f"{op.id!r}: starts at {a.start} before its release {op.release}")
        calendar = calendars[resource]
        if op.duration == 0:
            if a.end != a.start:
                problems.append(f"{op.id!r}: zero duration but spans [{a.start}, {a.end})")
        else:
            worked = calendar.working_minutes(a.start, a.end) if a.end > a.start else 0
            if worked != op.duration:
                problems.append(f"{op.id!r}: [{a.start}, {a.end}) holds {worked} working "
                                f"minutes of {resource!r}, needs {op.duration}")
            if op.fixed_start is None and not calendar.is_working(a.start):
                problems.append(f"{op.id!r}: starts at {a.start}, outside working time")
            if not calendar.is_working(a.end - 1):
                problems.append(f"{op.id!r}: ends at {a.end}, after an idle stretch")
            by_machine.setdefault((resource, a.unit), []).append((a.start, a.end, op.id))
    for before, after in problem.precedences:
        a, b = assignments.get(before), assignments.get(after)
        if a is None or b is None or before not in ops or after not in ops:
            continue
        if ops[before].fixed_start is not None and ops[after].fixed_start is not None:
            continue
        if b.start < a.end:
            problems.append(f"{after!r}: starts at {b.start} before its predecessor "
                            f"{before!r} ends at {a.end}")
    for (resource, unit), blocks in by_machine.items():
        blocks.sort()
        for (_, end, first), (start, _, second) in zip(blocks, blocks[1:], strict=False):
            if start < end:
                problems.append(f"{second!r}: overlaps {first!r} on {resource!r} machine "
                                f"{unit}")
    if isinstance(solution, Solution) and not problems:
        problems.extend(_check_objectives(problem, solution))
    return problems


def _check_objectives(problem: Problem, solution: Solution) -> list[str]:
    job_end: dict[Key, int] = {}
    for op in problem.operations:
        end = solution.assignments[op.id].end
        job_end[op.job] = max(job_end.get(op.job, end), end)
    weighted = sum(j.weight * max(0, job_end[j.id] - j.due) for j in problem.jobs
                   if j.due is not None and j.id in job_end)
    makespan = max(job_end.values(), default=0)
    found = []
    if weighted != solution.weighted_tardiness:
        found.append(f"weighted tardiness reported {solution.weighted_tardiness}, "
                     f"schedule has {weighted}")
    if makespan != solution.makespan:
        found.append(f"makespan reported {solution.makespan}, schedule has {makespan}")
    return found


def assert_feasible(problem: Problem, solution: Solution | Mapping[Key, Assignment]) -> None:
    """Raise InfeasibleSchedule listing the violations, if any."""
    violations = check_schedule(problem, solution)
    if violations:
        raise InfeasibleSchedule(violations)
