"""The transition tables of the planning state machines. One table per stateful model.

A transition not in its table raises InvalidTransition naming the record, the current state and
the action. Services call `check_transition` before changing a status.
"""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy

from mes.system_text import system_text
from planning.models import ProductionOrder, Task, WorkOrder

WO = WorkOrder.Status
T = Task.Status
PO = ProductionOrder.Status

# action -> {from status: to status}; ON_HOLD resumes to the status it was held from.
WORK_ORDER_TRANSITIONS: dict[str, dict[str, str]] = {
    "release": {WO.DRAFT: WO.RELEASED},
    "start": {WO.RELEASED: WO.IN_PROGRESS},
    "hold": {WO.DRAFT: WO.ON_HOLD, WO.RELEASED: WO.ON_HOLD, WO.IN_PROGRESS: WO.ON_HOLD},
    "resume": {WO.ON_HOLD: "<held_from>"},
    "cancel": {WO.DRAFT: WO.CANCELLED, WO.RELEASED: WO.CANCELLED, WO.ON_HOLD: WO.CANCELLED},
    "complete": {WO.IN_PROGRESS: WO.AWAITING_ACCEPTANCE, WO.RELEASED: WO.AWAITING_ACCEPTANCE},
    "reject": {WO.AWAITING_ACCEPTANCE: WO.IN_PROGRESS},
    "accept": {WO.AWAITING_ACCEPTANCE: WO.ACCEPTED},
    "reopen": {WO.ACCEPTED: WO.AWAITING_ACCEPTANCE},
}

TASK_TRANSITIONS: dict[str, dict[str, str]] = {
    "release": {T.PLANNED: T.RELEASED},
    "start": {T.RELEASED: T.IN_PROGRESS, T.PAUSED: T.IN_PROGRESS},
    "pause": {T.IN_PROGRESS: T.PAUSED},
    "resume": {T.PAUSED: T.IN_PROGRESS, T.ON_HOLD: "<held_from>"},
    "hold": {T.PLANNED: T.ON_HOLD, T.RELEASED: T.ON_HOLD, T.IN_PROGRESS: T.ON_HOLD,
             T.PAUSED: T.ON_HOLD},
    "complete": {T.IN_PROGRESS: T.DONE, T.PAUSED: T.DONE, T.RELEASED: T.DONE},
    "cancel": {T.PLANNED: T.CANCELLED, T.RELEASED: T.CANCELLED, T.ON_HOLD: T.CANCELLED,
               T.PAUSED: T.CANCELLED},
    "reopen": {T.DONE: T.IN_PROGRESS},
}

PRODUCTION_ORDER_TRANSITIONS: dict[str, dict[str, str]] = {
    "explode": {PO.DRAFT: PO.PLANNED, PO.PLANNED: PO.PLANNED},
    "release": {PO.PLANNED: PO.RELEASED, PO.RELEASED: PO.RELEASED},
    "start": {PO.RELEASED: PO.IN_PROGRESS},
    "complete": {PO.IN_PROGRESS: PO.COMPLETED, PO.RELEASED: PO.COMPLETED},
    # One of its work orders re-opened after acceptance: the order is open again.
    "reopen": {PO.COMPLETED: PO.IN_PROGRESS},
    "cancel": {PO.DRAFT: PO.CANCELLED, PO.PLANNED: PO.CANCELLED, PO.RELEASED: PO.CANCELLED},
}

# The actions as the refusal names them, in the reader's language ("cannot pause it").
ACTION_LABELS = {
    "release": gettext_lazy("release"), "start": gettext_lazy("start"),
    "pause": gettext_lazy("pause"), "resume": gettext_lazy("resume"),
    "hold": gettext_lazy("hold"), "cancel": gettext_lazy("cancel"),
    "complete": gettext_lazy("complete"), "reject": gettext_lazy("reject"),
    "accept": gettext_lazy("accept"), "reopen": gettext_lazy("reopen"),
    "explode": gettext_lazy("explode"),
}

TABLES = {
    WorkOrder: WORK_ORDER_TRANSITIONS,
    Task: TASK_TRANSITIONS,
    ProductionOrder: PRODUCTION_ORDER_TRANSITIONS,
}


class InvalidTransition(ValidationError):
    pass


def next_status(instance, action: str) -> str:
    """The status `action` moves `instance` to, or InvalidTransition saying why not."""
    table = TABLES[type(instance)]
    if action not in table:
        raise ValueError(f"unknown action {action!r} for {type(instance).__name__}")
    target = table[action].get(instance.status)
    if target is None:
        # A system text (its status and action words as keys): a refusal kept for the lead
        # reads in the lead's language (execution.services.refusals).
        raise InvalidTransition(system_text(
            "%(record)s is %(status)s: cannot %(action)s it.", record=instance,
            status=type(instance).Status(instance.status).label,
            action=ACTION_LABELS.get(action, action)))
    if target == "<held_from>":
        target = instance.held_from or table["release"][next(iter(table["release"]))]
    return target


def allowed_actions(instance) -> list[str]:
    table = TABLES[type(instance)]
    return [action for action, moves in table.items() if instance.status in moves]
