"""The evaluators, one per swept kind. `EVALUATORS[kind]` answers "which subjects violate a
rule of this kind now?" with a fixed number of set-based queries."""

from alerts.kinds import Kind
from alerts.rules.base import Candidate, Evaluator, Focus  # noqa: F401
from alerts.rules.equipment import Downtime
from alerts.rules.orders import DueDateRisk, plan_change_candidate  # noqa: F401
from alerts.rules.quality import DefectRate, InspectionFailed, ReworkLoops
from alerts.rules.tasks import OverdueReport, ProgressLag, ScheduleLag

EVALUATORS: dict[str, Evaluator] = {
    e.kind: e for e in (ScheduleLag(), ProgressLag(), DueDateRisk(), OverdueReport(),
                        InspectionFailed(), DefectRate(), ReworkLoops(), Downtime())
}


def subject_model_for(kind: str):
    """The model an alert of `kind` is about (no query)."""
    from planning.models import ProductionOrder

    if kind == Kind.PLAN_CHANGE:
        return ProductionOrder
    return EVALUATORS[kind].subject_model
