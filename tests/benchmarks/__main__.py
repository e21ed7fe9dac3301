"""`make bench`: run every benchmark and rewrite BENCHMARKS.md.

Each benchmark module has `run() -> list[dict]` with keys benchmark, figure, bar, baseline,
meets (bool). Benchmarks that need the database run on PostgreSQL (BENCH_DATABASE_URL, default
a fresh `mes_bench` database on 127.0.0.1) as DESIGN.md requires.

    python -m tests.benchmarks                 # all
    python -m tests.benchmarks explosion jssp  # some (module names without bench_)
"""

import contextlib
import datetime
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOAK_HEADING = "## Soak (tests/soak_run.py)"  # as in tests/soak_run.py
MODULES = ["explosion", "report", "alert_sweep", "plant_schedule", "live", "alert_latency",
           "pages", "jssp"]


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    pg = ""
    with contextlib.suppress(OSError):
        pg = subprocess.run(["psql", "--version"], capture_output=True,  # noqa: S607
                            text=True, check=False).stdout.strip()
    return (f"{os.cpu_count()} cores ({cpu}){mem}; {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()}; {pg}")


def _run_isolated(name: str) -> list[dict]:
    """Each benchmark in a process of its own, on a freshly created database."""
    code = (f"import json, sys; from tests.benchmarks.bench_{name} import run; rows = run(); "
            "print('BENCH-ROWS ' + json.dumps(rows, default=str))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,  # noqa: S603
                         text=True, check=False)
    sys.stderr.write(out.stderr[-4000:])
    for line in out.stdout.splitlines():
        if line.startswith("BENCH-ROWS "):
            return json.loads(line[len("BENCH-ROWS "):])
        print(line)
    raise RuntimeError(f"bench_{name} failed (exit {out.returncode})")


def main(argv: list[str]) -> int:
    wanted = argv or MODULES
    rows, failures = [], []
    started = time.monotonic()
    for name in wanted:
        print(f"--- bench_{name}", flush=True)
        try:
            got = _run_isolated(name)
        except Exception:  # one broken benchmark must not hide the others' figures
            traceback.print_exc()
            failures.append(name)
            rows.append({"benchmark": name, "figure": "failed (see make bench output)",
                         "bar": "", "baseline": "", "meets": False})
            continue
        for row in got:
            print(f"  {row['benchmark']}: {row['figure']} (bar {row['bar']}) "
                  f"{'meets' if row['meets'] else 'MISSES'}", flush=True)
        rows.extend(got)
    if argv:
        print("(partial run: BENCHMARKS.md not rewritten)")
        return 1 if failures else 0
    write(rows, time.monotonic() - started)
    return 1 if failures else 0


def write(rows: list[dict], seconds: float) -> None:
    lines = [
        "# Benchmarks",
        "",
        "| benchmark | figure | bar | baseline | meets |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['benchmark']} | {r['figure']} | {r['bar']} | {r['baseline']} | "
                     f"{'yes' if r['meets'] else 'no'} |")
    lines += [
        "",
        "## How and when",
        "",
        f"Measured by `make bench` (`python -m tests.benchmarks`) on "
        f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, in {seconds:.0f} s.",
        f"Machine: {machine()}.",
        "Database benchmarks run on PostgreSQL (a fresh `mes_bench` database each run); "
        "figures are medians of repeated runs where a benchmark says so. Baselines are "
        "measured in the same run where the bar compares against one; published figures of "
        "other systems are quoted as references.",
        "",
    ]
    for r in rows:
        if r.get("notes"):
            lines.append(f"- {r['benchmark']}: {r['notes']}")
    path = ROOT / "BENCHMARKS.md"
    text = "\n".join(lines) + "\n"
    # The soak (tests/soak_run.py --write-benchmarks) has a section of its own: kept.
    old = path.read_text() if path.exists() else ""
    if SOAK_HEADING in old:
        text += "\n" + SOAK_HEADING + old.split(SOAK_HEADING, 1)[1]
    path.write_text(text)
    print(f"wrote {ROOT / 'BENCHMARKS.md'}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
