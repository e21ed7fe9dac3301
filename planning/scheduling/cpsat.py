"""The CP-SAT model: interval variables on each resource's working-minute axis.

Each op is a fixed-size interval [w, w + duration) on its resource's axis, so capacity is a
plain NoOverlap (one machine), Cumulative (identical machines) or one NoOverlap per machine
(when some machines are tied or held). A precedence between resources that share a calendar
is linear in working minutes; between different calendars both ends are mapped to the clock
with element constraints over the working windows the op can fall in.

The same model serves a neighbourhood: only the `free` ops get variables, every other op
stays where the current schedule has it and bounds the free ones (a predecessor's end, a
successor's start, a busy machine). Large plants are improved by solving such neighbourhoods
one after another (see engine.py).

Inside the model tardiness is counted in working minutes of the finishing resource (late by N
minutes of production time), which ranks schedules like clock tardiness and keeps the model
linear; the engine re-measures every answer in clock minutes before choosing.
"""

from __future__ import annotations

import math
import time
from bisect import bisect_right
from collections.abc import Callable, Collection
from dataclasses import dataclass

from ortools.sat.python import cp_model

from planning.scheduling.calendar import WorkAxis
from planning.scheduling.dispatch import Placement
from planning.scheduling.prepare import Prepared

LinearExpr = cp_model.LinearExprT

# Neighbourhood objective: tardiness dominates, finishing earlier only breaks ties.
TARDINESS_FACTOR = 64


@dataclass
class PhaseResult:
    placement: Placement | None
    optimal: bool
    objective: int | None
    bound: int | None
    wall_time: float


class _Callback(cp_model.CpSolverSolutionCallback):
    """Reports each improving solution; reads only the objective (reading 8,000 vars is slow)."""

    def __init__(self, report: Callable[[int], None] | None) -> None:
        super().__init__()
        self._report = report

    def on_solution_callback(self) -> None:
        if self._report is not None:
            self._report(int(self.objective_value))


class CpSatModel:
    """A model of the ops in `free` (by default all) around the placement `current`.

    Before: `current` is a feasible placement with every clock end ≤ `horizon`; `reach`, if
    given, caps how many working minutes a free op may move later than in `current`.
    After construction: `tardiness`, `makespan` and `neighbourhood_objective` are ready to be
    minimised; any answer, merged into `current`, is again feasible.
    """

    def __init__(self, prep: Prepared, current: Placement, horizon: int,
                 free: Collection[int] | None = None, reach: int | None = None) -> None:
        self.prep = prep
        self.current = current
        self.model = cp_model.CpModel()
        self._hint_fns: list[tuple[cp_model.IntVar, Callable[[Placement], int]]] = []
        self._windows = [_Windows(ax) for ax in prep.axes]
        n = prep.n
        # Fixed and pinned ops are free too in the full model, with a one-value domain: on a
        # resource modelled machine by machine their machine is still to be chosen.
        self.free = sorted(range(n) if free is None else free)
        self.partial = len(self.free) < n
        is_free = [False] * n
        for i in self.free:
            is_free[i] = True
        self.is_free = is_free
        self.lo: dict[int, int] = {}
        self.hi: dict[int, int] = {}
        self.var: dict[int, cp_model.IntVar] = {}
        self._bound_free_ops(horizon, reach)
        for i in self.free:
            self.var[i] = self.model.new_int_var(self.lo[i], self.hi[i], f"w{i}")
        self.presence: dict[tuple[int, int], cp_model.IntVar] = {}
        self._add_resources()
        self._clock_start: dict[int, LinearExpr] = {}
        self._clock_end: dict[int, LinearExpr] = {}
        for b in self.free:
            for a in prep.preds[b]:
                if not is_free[a]:
                    continue  # already in b's lower bound
                if prep.reserved[a] is not None and prep.reserved[b] is not None:
                    continue  # both placed; prepare() checked they are in order
                if prep.axis[a] == prep.axis[b]:
                    self.model.add(self.var[b] >= self.var[a] + prep.dur[a])
                else:
                    self.model.add(self.clock_start(b) >= self.clock_end(a))
        self.tardiness = self._add_tardiness()
        self.makespan = self._add_makespan()
        self.neighbourhood_objective = self._add_neighbourhood_objective()

    # -- construction ---------------------------------------------------------------------

    def _bound_free_ops(self, horizon: int, reach: int | None) -> None:
        """Domains of the free ops: fixed neighbours, deadlines and the horizon."""
        prep, cur = self.prep, self.current
        ends = [0] * prep.n  # clock ends of the ops that stay, filled on demand
        for i in self.free:
            ax = prep.axes[prep.axis[i]]
            d = prep.dur[i]
            if prep.reserved[i] is not None:
                self.lo[i] = self.hi[i] = prep.reserved[i]  # type: ignore[assignment]
                continue
            lo = prep.lb[i]
            hi = ax.work_before(horizon) - d
            if prep.deadline[i] is not None:
                hi = min(hi, ax.work_before(prep.deadline[i]) - d)
            if reach is not None:
                hi = min(hi, cur.w[i] + reach)
            for p in prep.preds[i]:
                if self.is_free[p]:
                    continue
                if prep.axis[p] == prep.axis[i]:
                    lo = max(lo, cur.w[p] + prep.dur[p])
                else:
                    ends[p] = ends[p] or prep.span(p, cur.w[p])[1]
                    lo = max(lo, ax.work_before(ends[p]))
            for s in prep.succs[i]:
                if self.is_free[s]:
                    continue
                if prep.axis[s] == prep.axis[i]:
                    hi = min(hi, cur.w[s] - d)
                else:
                    hi = min(hi, ax.work_before(prep.span(s, cur.w[s])[0]) - d)
            # The current position is feasible, so it is always inside the domain.
            self.lo[i] = min(lo, cur.w[i])
            self.hi[i] = max(hi, cur.w[i])

    def _add_resources(self) -> None:
        prep, m, cur = self.prep, self.model, self.current
        by_res: dict[int, list[int]] = {}
        for i in self.free:
            if prep.dur[i] > 0:
                by_res.setdefault(prep.res[i], []).append(i)
        blockers: dict[int, list[int]] = {}
        if self.partial:
            # A neighbourhood: ops that stay block their machines where free ops could go.
            reach = {r: (min(self.lo[i] for i in members),
                         max(self.hi[i] + prep.dur[i] for i in members))
                     for r, members in by_res.items()}
            for i in range(prep.n):
                if self.is_free[i] or prep.dur[i] == 0 or prep.res[i] not in reach:
                    continue
                lo, hi = reach[prep.res[i]]
                if cur.w[i] < hi and cur.w[i] + prep.dur[i] > lo:
                    blockers.setdefault(prep.res[i], []).append(i)
        for r, members in by_res.items():
            capacity = prep.capacity[r]
            fixed = blockers.get(r, [])
            intervals = [m.new_fixed_size_interval_var(self.var[i], prep.dur[i], f"iv{i}")
                         for i in members]
            fixed_intervals = [m.new_fixed_size_interval_var(cur.w[i], prep.dur[i], f"fx{i}")
                               for i in fixed]
            if capacity == 1:
                m.add_no_overlap(intervals + fixed_intervals)
                continue
            both = intervals + fixed_intervals
            m.add_cumulative(both, [1] * len(both), capacity)
            if not prep.per_unit[r]:
                continue  # machines are handed out afterwards; identical machines interchange
            per_machine: list[list[cp_model.IntervalVar]] = [[] for _ in range(capacity)]
            for i, interval in zip(fixed, fixed_intervals, strict=True):
                per_machine[cur.unit[i]].append(interval)
            for i in members:
                units = [prep.unit[i]] if prep.unit[i] is not None else range(capacity)
                literals = []
                for u in units:
                    present = m.new_bool_var(f"on{i}_{u}")
                    self.presence[i, u] = present
                    literals.append(present)
                    per_machine[u].append(m.new_optional_fixed_size_interval_var(
                        self.var[i], prep.dur[i], present, f"iv{i}_{u}"))
                    self._hint_fns.append((present, lambda p, i=i, u=u: int(p.unit[i] == u)))
                m.add_exactly_one(literals)
            for intervals_u in per_machine:
                m.add_no_overlap(intervals_u)

    def clock_start(self, i: int) -> LinearExpr:
        """Clock start of free op i as an expression (cached)."""
        if i not in self._clock_start:
            reserved = self.prep.reserved[i]
            # A fixed op may have started outside working time: its given start counts.
            self._clock_start[i] = self._to_clock(i, 0) if reserved is None else \
                self.prep.span(i, reserved)[0]
        return self._clock_start[i]

    def clock_end(self, i: int) -> LinearExpr:
        """Clock end of free op i: the end of its last working minute (cached)."""
        if i not in self._clock_end:
            reserved = self.prep.reserved[i]
            if reserved is not None:
                self._clock_end[i] = self.prep.span(i, reserved)[1]
                return self._clock_end[i]
            d = self.prep.dur[i]
            # The last working minute is w + d − 1; its clock end is one minute later.
            self._clock_end[i] = self._to_clock(i, d - 1) + 1 if d else self.clock_start(i)
        return self._clock_end[i]

    def _to_clock(self, i: int, shift: int) -> LinearExpr:
        """Clock time of working minute w_i + shift on op i's axis."""
        windows = self._windows[self.prep.axis[i]]
        minute = self.var[i] + shift
        if windows.always:
            return minute
        k_lo, k_hi = windows.find(self.lo[i] + shift), windows.find(self.hi[i] + shift)
        if k_lo == k_hi:
            return minute + windows.offset[k_lo]
        m = self.model
        span = range(k_lo, k_hi + 1)
        k = m.new_int_var(0, k_hi - k_lo, f"win{i}")
        first = m.new_int_var(windows.first[k_lo], windows.first[k_hi], f"wf{i}")
        last = m.new_int_var(windows.last[k_lo], windows.last[k_hi], f"wl{i}")
        offset = m.new_int_var(windows.offset[k_lo], windows.offset[k_hi], f"wo{i}")
        m.add_element(k, [windows.first[j] for j in span], first)
        m.add_element(k, [windows.last[j] for j in span], last)
        m.add_element(k, [windows.offset[j] for j in span], offset)
        m.add(minute >= first)
        m.add(minute <= last)

        def hinted_k(p: Placement, i: int = i, shift: int = shift) -> int:
            return windows.find(p.w[i] + shift) - k_lo

        self._hint_fns.append((k, hinted_k))
        self._hint_fns.append((first, lambda p, f=hinted_k: windows.first[k_lo + f(p)]))
        self._hint_fns.append((last, lambda p, f=hinted_k: windows.last[k_lo + f(p)]))
        self._hint_fns.append((offset, lambda p, f=hinted_k: windows.offset[k_lo + f(p)]))
        return minute + offset

    def _add_tardiness(self) -> LinearExpr:
        """Σ weight × (working minutes the job's last op ends after its due date), over the
        jobs whose lateness the free ops can change."""
        prep, m = self.prep, self.model
        terms: list[LinearExpr] = []
        # Per job: weight and (op, due in that op's working minutes) of its free last ops.
        self.job_lateness: list[tuple[int, list[tuple[int, int]]]] = []
        for j, job in enumerate(prep.jobs):
            if job.due is None or job.weight == 0:
                continue
            sinks = []
            floor = 0  # lateness the ops that stay already cause
            worst = 0
            for i in prep.job_sinks[j]:
                due_w = prep.axes[prep.axis[i]].work_before(job.due)
                if not self.is_free[i]:
                    floor = max(floor, self.current.w[i] + prep.dur[i] - due_w)
                elif self.hi[i] + prep.dur[i] > due_w:
                    sinks.append((i, due_w))
                    worst = max(worst, self.hi[i] + prep.dur[i] - due_w)
            if not sinks or worst <= floor:
                continue
            floor = max(floor, 0)
            late = m.new_int_var(floor, worst, f"late{j}")
            for i, due_w in sinks:
                m.add(late >= self.var[i] + prep.dur[i] - due_w)
            self.job_lateness.append((job.weight, sinks))
            self._hint_fns.append((late, lambda p, s=sinks, f=floor: max(
                f, *(p.w[i] + prep.dur[i] - d for i, d in s))))
            terms.append(job.weight * late)
        return sum(terms) if terms else 0  # type: ignore[return-value]

    def _add_makespan(self) -> cp_model.IntVar | int:
        """Latest end: in working minutes when all final ops share one axis, else on the clock.

        Only built for the whole problem; a neighbourhood has no use for it.
        """
        prep, m = self.prep, self.model
        if self.partial:
            return 0
        finals = [i for i in range(prep.n) if not prep.succs[i]]
        one_axis = len({prep.axis[i] for i in finals}) == 1
        ends: list[tuple[LinearExpr, int]] = []
        for i in finals:
            if not self.is_free[i]:
                end = prep.span(i, self.current.w[i])[1] if not one_axis else \
                    self.current.w[i] + prep.dur[i]
                ends.append((end, end))
            elif one_axis:
                ends.append((self.var[i] + prep.dur[i], self.hi[i] + prep.dur[i]))
            else:
                ends.append((self.clock_end(i), prep.span(i, self.hi[i])[1]))
        if one_axis:
            lower = max((prep.lb[i] + prep.dur[i] for i in finals), default=0)
        else:
            lower = max(prep.span(i, prep.lb[i])[1] for i in finals)
        upper = max((u for _, u in ends), default=0)
        makespan = m.new_int_var(min(lower, upper), upper, "makespan")
        for end, _ in ends:
            m.add(makespan >= end)
        if one_axis:
            # Redundant: every op still has its longest path to run after it. Measured on
            # the job-shop instances: proofs come sooner with it.
            for i in self.free:
                if prep.axis[i] == prep.axis[finals[0]]:
                    m.add(makespan >= self.var[i] + prep.tail[i])

            def hinted(p: Placement) -> int:
                return max(p.w[i] + prep.dur[i] for i in finals)
        else:

            def hinted(p: Placement) -> int:
                return max(prep.span(i, p.w[i])[1] for i in finals)

        self._hint_fns.append((makespan, hinted))
        return makespan

    def _add_neighbourhood_objective(self) -> LinearExpr:
        """Job tardiness; for a free op whose successor stays, the lateness against its own
        due date (what the successor inherits) and, lightly, its end: ending earlier lets the
        left-shift pull the rest of the plan forward."""
        prep, m = self.prep, self.model
        if not self.partial:
            return self.tardiness
        terms: list[LinearExpr] = []
        for i in self.free:
            if not any(not self.is_free[s] for s in prep.succs[i]):
                continue
            end = self.var[i] + prep.dur[i]
            terms.append(end - self.lo[i] - prep.dur[i])
            due = prep.op_due[i]
            if due == math.inf:
                continue
            due_w = prep.axes[prep.axis[i]].work_before(int(due))
            if self.hi[i] + prep.dur[i] <= due_w:
                continue
            late = m.new_int_var(0, self.hi[i] + prep.dur[i] - due_w, f"opl{i}")
            m.add(late >= end - due_w)
            self._hint_fns.append((late, lambda p, i=i, d=due_w: max(0, p.w[i] + prep.dur[i] - d)))
            terms.append(TARDINESS_FACTOR * prep.stake[i] * late)
        return TARDINESS_FACTOR * self.tardiness + sum(terms)

    # -- solving --------------------------------------------------------------------------

    def set_hint(self, placement: Placement) -> None:
        m = self.model
        m.clear_hints()
        for i, var in self.var.items():
            m.add_hint(var, placement.w[i])
        for var, fn in self._hint_fns:
            m.add_hint(var, fn(placement))

    def tardiness_of(self, placement: Placement) -> int:
        """The model's tardiness objective evaluated on a placement."""
        dur = self.prep.dur
        return sum(weight * max(0, *(placement.w[i] + dur[i] - due for i, due in sinks))
                   for weight, sinks in self.job_lateness)

    def solve(self, objective: LinearExpr, hint: Placement, time_limit: float, workers: int,
              report: Callable[[int], None] | None = None, seed: int = 0) -> PhaseResult:
        """Minimise `objective` from `hint`. After: the merged placement, if CP-SAT found one."""
        self.set_hint(hint)
        self.model.minimize(objective)
        solver = cp_model.CpSolver()
        params = solver.parameters
        params.max_time_in_seconds = max(time_limit, 0.05)
        params.num_workers = workers
        params.random_seed = seed
        started = time.monotonic()
        status = solver.solve(self.model, _Callback(report))
        elapsed = time.monotonic() - started
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return PhaseResult(None, False, None, None, elapsed)
        w = list(self.current.w)
        unit = list(self.current.unit)
        for i, var in self.var.items():
            w[i] = solver.value(var)
        for (i, u), present in self.presence.items():
            if solver.boolean_value(present):
                unit[i] = u
        return PhaseResult(Placement(w, unit), status == cp_model.OPTIMAL,
                           int(solver.objective_value), int(solver.best_objective_bound),
                           elapsed)


class _Windows:
    """A calendar's windows in working minutes: [first, last] and clock − working offset."""

    def __init__(self, axis: WorkAxis) -> None:
        self.always = axis.always
        self.first: list[int] = []
        self.last: list[int] = []
        self.offset: list[int] = []
        for first, end, offset in ([] if axis.always else axis.windows()):
            self.first.append(first)
            self.last.append(end - 1)
            self.offset.append(offset)

    def find(self, minute: int) -> int:
        """Index of the window holding working minute `minute` (clamped to the calendar)."""
        return min(max(bisect_right(self.first, minute) - 1, 0), len(self.first) - 1)
