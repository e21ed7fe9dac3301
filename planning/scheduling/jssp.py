"""Job-shop instances in the OR-Library text format, and their translation into a Problem.

Format: the first line holds `jobs machines`; then one line per job with `machine duration`
pairs in processing order; machines are numbered from 0. Blank lines and `#` comments are
ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from planning.scheduling.problem import Job, Operation, Problem, Resource


@dataclass(frozen=True)
class JsspInstance:
    name: str
    machines: int
    jobs: tuple[tuple[tuple[int, int], ...], ...]  # per job: (machine, duration) in order

    def op_id(self, job: int, step: int) -> str:
        return f"J{job}.{step}"


def parse_jssp(text: str, name: str = "instance") -> JsspInstance:
    """Parse OR-Library job-shop text. Raises ValueError naming the line that is wrong."""
    rows: list[tuple[int, list[int]]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            rows.append((number, [int(token) for token in line.split()]))
        except ValueError:
            raise ValueError(f"{name}, line {number}: expected whole numbers, got "
                             f"{line[:60]!r}") from None
    if not rows:
        raise ValueError(f"{name}: empty file, expected a first line 'jobs machines'")
    number, header = rows[0]
    if len(header) != 2 or header[0] < 1 or header[1] < 1:
        raise ValueError(f"{name}, line {number}: expected 'jobs machines' (two numbers ≥ 1), "
                         f"got {' '.join(map(str, header))!r}")
    job_count, machines = header
    if len(rows) - 1 != job_count:
        last = rows[-1][0]
        raise ValueError(f"{name}, line {last}: the header announces {job_count} jobs but "
                         f"{len(rows) - 1} job lines follow")
    jobs = []
    for number, values in rows[1:]:
        if len(values) != 2 * machines:
            raise ValueError(f"{name}, line {number}: expected {machines} 'machine duration' "
                             f"pairs ({2 * machines} numbers), found {len(values)} numbers")
        steps = []
        for k in range(0, len(values), 2):
            machine, duration = values[k], values[k + 1]
            if not 0 <= machine < machines:
                raise ValueError(f"{name}, line {number}: machine {machine} is not in "
                                 f"0..{machines - 1}")
            if duration < 0:
                raise ValueError(f"{name}, line {number}: negative duration {duration}")
            steps.append((machine, duration))
        jobs.append(tuple(steps))
    return JsspInstance(name, machines, tuple(jobs))


def read_jssp(path: str | Path) -> JsspInstance:
    """Read and parse a file; OSError if it cannot be read, ValueError if it is malformed."""
    path = Path(path)
    return parse_jssp(path.read_text(encoding="utf-8"), name=path.name)


def jssp_problem(instance: JsspInstance) -> Problem:
    """The instance as a plant: one always-working machine per resource, jobs as chains."""
    resources = [Resource(f"M{m}", capacity=1) for m in range(instance.machines)]
    jobs = [Job(f"J{j}") for j in range(len(instance.jobs))]
    operations = []
    precedences = []
    for j, steps in enumerate(instance.jobs):
        for k, (machine, duration) in enumerate(steps):
            operations.append(Operation(instance.op_id(j, k), f"J{j}", f"M{machine}", duration))
            if k:
                precedences.append((instance.op_id(j, k - 1), instance.op_id(j, k)))
    return Problem(resources, jobs, operations, precedences)
