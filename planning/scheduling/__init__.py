"""Finite-capacity scheduling on OR-Tools CP-SAT, free of Django models.

The planning app turns tasks, work centers and calendars into a Problem, calls `schedule`, and
writes the Solution's starts and ends back. `check_schedule` verifies any schedule on its own.
"""

from planning.scheduling.check import InfeasibleSchedule, assert_feasible, check_schedule
from planning.scheduling.engine import ALL_RULES, Progress, ProgressCallback, dispatch, schedule
from planning.scheduling.jssp import JsspInstance, jssp_problem, parse_jssp, read_jssp
from planning.scheduling.problem import (
    PRIORITY_WEIGHTS,
    Assignment,
    Job,
    Key,
    Operation,
    Problem,
    ProblemError,
    Resource,
    Solution,
)

__all__ = [
    "ALL_RULES", "PRIORITY_WEIGHTS", "Assignment", "InfeasibleSchedule", "Job", "JsspInstance",
    "Key", "Operation", "Problem", "ProblemError", "Progress", "ProgressCallback", "Resource",
    "Solution", "assert_feasible", "check_schedule", "dispatch", "jssp_problem", "parse_jssp",
    "read_jssp", "schedule",
]
