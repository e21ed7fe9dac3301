"""Scheduler quality on the classic job-shop instances (ft06, ft10, ft20, la01–la20).

Each instance goes through the same `schedule` the plant uses, 10 s and 2 workers, and its
answer through the independent checker; the gap to the best-known makespan is averaged. The
baseline, measured in the same run, is plain CP-SAT (interval variables, NoOverlap, minimise
the makespan; no hint, no horizon, default parameters) with the same time and workers.

    python -m tests.benchmarks.bench_jssp [instance ...]   # JSSP_DIR overrides the folder
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from ortools.sat.python import cp_model

from planning.scheduling import JsspInstance, assert_feasible, jssp_problem, read_jssp, schedule

# DESIGN.md: the instances live beside the repository, in ../shared/benchmarks/jssp.
INSTANCES = Path(os.environ.get("JSSP_DIR") or
                 Path(__file__).resolve().parents[3] / "shared" / "benchmarks" / "jssp")
TIME_LIMIT = 10.0
WORKERS = 2
MEAN_GAP_BAR = 0.01


def instance_names() -> list[str]:
    return sorted(p.stem for p in INSTANCES.glob("*.txt"))


def plain_cp_sat(instance: JsspInstance, time_limit: float = TIME_LIMIT,
                 workers: int = WORKERS) -> int:
    """The textbook CP-SAT job-shop model, for comparison."""
    model = cp_model.CpModel()
    horizon = sum(d for job in instance.jobs for _, d in job)
    per_machine: list[list[cp_model.IntervalVar]] = [[] for _ in range(instance.machines)]
    ends = []
    for job in instance.jobs:
        previous = None
        for machine, duration in job:
            start = model.new_int_var(0, horizon, "")
            per_machine[machine].append(model.new_fixed_size_interval_var(start, duration, ""))
            if previous is not None:
                model.add(start >= previous)
            previous = start + duration
        ends.append(previous)
    for intervals in per_machine:
        model.add_no_overlap(intervals)
    makespan = model.new_int_var(0, horizon, "makespan")
    model.add_max_equality(makespan, ends)
    model.minimize(makespan)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit
    solver.parameters.num_workers = workers
    solver.solve(model)
    return int(solver.objective_value)


def measure(names: list[str], baseline: bool = True) -> list[dict]:
    best = json.loads((INSTANCES / "best_known.json").read_text())
    results = []
    for name in names:
        instance = read_jssp(INSTANCES / f"{name}.txt")
        problem = jssp_problem(instance)
        started = time.perf_counter()
        solution = schedule(problem, time_limit=TIME_LIMIT, workers=WORKERS)
        seconds = time.perf_counter() - started
        assert_feasible(problem, solution)
        known = best[name]["best_known"]
        plain = plain_cp_sat(instance) if baseline else None
        row = {"instance": name, "size": f"{len(instance.jobs)}×{instance.machines}",
               "makespan": solution.makespan, "best_known": known,
               "gap": solution.makespan / known - 1, "seconds": seconds,
               "method": solution.method, "plain": plain,
               "plain_gap": None if plain is None else plain / known - 1}
        print(f"  {name:5} {row['size']:6} makespan {solution.makespan:5} best {known:5} "
              f"gap {row['gap']:+.2%} {seconds:5.1f} s {solution.method}"
              + ("" if plain is None else f" | plain CP-SAT {plain} ({row['plain_gap']:+.2%})"),
              flush=True)
        results.append(row)
    return results


def run() -> list[dict]:
    results = measure(instance_names())
    mean_gap = sum(r["gap"] for r in results) / len(results)
    plain_gap = sum(r["plain_gap"] for r in results) / len(results)
    worst = max(results, key=lambda r: r["gap"])
    details = "; ".join(f"{r['instance']} {r['makespan']}/{r['best_known']} "
                        f"{r['gap']:+.1%} {r['seconds']:.1f} s (plain {r['plain']})"
                        for r in results)
    return [{
        "benchmark": f"scheduler on {len(results)} JSSP instances (ft06, ft10, ft20, "
                     f"la01–la20), {TIME_LIMIT:.0f} s each, {WORKERS} workers",
        "figure": f"mean gap {mean_gap:+.2%} to best known (worst {worst['instance']} "
                  f"{worst['gap']:+.2%}); {sum(r['gap'] == 0 for r in results)}/"
                  f"{len(results)} at best known; all checked feasible",
        "bar": "mean gap to best known ≤ 1 %",
        "baseline": f"plain CP-SAT, same time and workers: mean gap {plain_gap:+.2%}",
        "meets": mean_gap <= MEAN_GAP_BAR,
        "notes": "per instance (makespan/best known, gap, time): " + details,
    }]


def main(argv: list[str]) -> None:
    if argv:
        measure(argv)
        return
    rows = run()
    print("| benchmark | figure | bar | baseline | meets |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['benchmark']} | {r['figure']} | {r['bar']} | {r['baseline']} | "
              f"{'yes' if r['meets'] else 'no'} |")
    for r in rows:
        print(f"- {r['notes']}")


if __name__ == "__main__":
    main(sys.argv[1:])
