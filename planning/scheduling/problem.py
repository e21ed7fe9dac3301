"""What the scheduler is given and what it hands back: plain dataclasses, no Django.

Time is integer minutes from the schedule origin (0 = "now" or the start of the planning
run); negative times are allowed for operations that started before the origin. Durations are
working minutes: the operation makes progress only while its resource's calendar is working.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# Ids are whatever the caller uses for its records (task pks, "WO-17/30", ...).
Key = str | int

# Scheduling weight per priority: urgent ≫ high ≫ normal (the planning models use the same).
PRIORITY_WEIGHTS: dict[str, int] = {"normal": 1, "high": 10, "urgent": 100}

Method = Literal["heuristic", "cp-sat optimal", "cp-sat feasible"]


class ProblemError(ValueError):
    """The problem cannot be scheduled as given; `keys` names the offending records. `kind`
    says which of the cases the plant's records can cause it is (for a message in the
    planner's words; "" for the others), `resource` the resource concerned, if one."""

    NO_WORKING_TIME = "no_working_time"  # a calendar ends before the operation can finish
    START_BEFORE_PREDECESSOR = "start_before_predecessor"  # fixed/pinned start too early
    PIN_OUTSIDE_WORKING_TIME = "pin_outside_working_time"
    OVERLOAD = "overload"  # fixed and pinned operations alone need more machines than there are

    def __init__(self, message: str, keys: list[Key] | tuple[Key, ...] = (), *,
                 kind: str = "", resource: Key | None = None) -> None:
        super().__init__(message)
        self.keys = list(keys)
        self.kind = kind
        self.resource = resource


@dataclass(frozen=True)
class Resource:
    """A work center: `capacity` identical machines sharing one working calendar.

    `calendar` is a sorted list of working intervals [start, end) in clock minutes (touching
    intervals are merged); None means the resource works around the clock. Outside the listed
    intervals the resource does not work, also after the last one.
    """

    id: Key
    capacity: int = 1
    calendar: tuple[tuple[int, int], ...] | list[tuple[int, int]] | None = None


@dataclass(frozen=True)
class Job:
    """A work order or production order: its operations' lateness is measured against `due`.

    `weight` is the priority weight (see PRIORITY_WEIGHTS); None `due` means no due date.
    """

    id: Key
    due: int | None = None
    weight: int = 1


@dataclass(frozen=True)
class Operation:
    """One task: `duration` working minutes (setup + run) on one machine of `resource`.

    - `release`: earliest clock start (material, predecessor outside the plan, ...).
    - `fixed_start`: a fact (started, or inside the frozen horizon): the operation stays exactly
      there; its release is not checked. Wins over a pin.
    - `pin_start` / `pin_resource`: the planner's pin; the start must be a working minute of the
      resource, not before the release, and reachable after the predecessors.
    - `unit`: the machine (0-based, < capacity) it must run on, e.g. where it was started.
    """

    id: Key
    job: Key
    resource: Key
    duration: int
    release: int = 0
    fixed_start: int | None = None
    pin_start: int | None = None
    pin_resource: Key | None = None
    unit: int | None = None


@dataclass
class Problem:
    """Everything one scheduling run needs. `precedences` are (before, after) op id pairs:
    `after` may not start before `before` has finished; any DAG, not just chains."""

    resources: list[Resource]
    jobs: list[Job]
    operations: list[Operation]
    precedences: list[tuple[Key, Key]] = field(default_factory=list)


@dataclass(frozen=True)
class Assignment:
    """Where one operation runs: clock [start, end) on machine `unit` of `resource`.

    The span includes the non-working time the operation is interrupted by.
    """

    start: int
    end: int
    resource: Key
    unit: int


@dataclass
class Solution:
    """A schedule and how good it is.

    `weighted_tardiness` = Σ weight × max(0, job end − due) in clock minutes; `makespan` = the
    latest end. `status` is "optimal" only when CP-SAT proved both objective phases optimal
    within its horizon.
    """

    assignments: dict[Key, Assignment]
    weighted_tardiness: int
    makespan: int
    method: Method
    status: Literal["optimal", "feasible"]
    wall_time: float = 0.0
    heuristic_weighted_tardiness: int | None = None
    heuristic_makespan: int | None = None
    log: list[str] = field(default_factory=list)

    def start(self, op_id: Key) -> int:
        return self.assignments[op_id].start

    def end(self, op_id: Key) -> int:
        return self.assignments[op_id].end
