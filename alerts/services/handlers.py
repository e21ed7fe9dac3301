"""Domain-event subscribers (registered in AlertsConfig.ready).

They run inside the publisher's transaction and do no database work there: they only ask
the worker, once that transaction has committed, to evaluate the rules for the touched
subjects (coalesced through Redis when there is one: alerts.services.focus_queue). So a report
or an inspection costs no extra query and never fails because of an alert rule.
"""

from alerts.services.common import enqueue_on_commit
from alerts.services.focus_queue import focus_enqueue_on_commit


def _evaluate(**raw) -> None:
    focus_enqueue_on_commit(raw)


def on_task_reported(*, report_id, **_ignored) -> None:
    _evaluate(report_ids=[report_id])


def on_task_state_changed(*, task_id, **_ignored) -> None:
    # Started or resumed: a schedule-lag alert clears at once; paused, resumed or completed:
    # the progress and overdue-report kinds follow the task's new status.
    _evaluate(task_ids=[task_id])


def on_work_order_completed(*, work_order_id, **_ignored) -> None:
    _evaluate(work_order_ids=[work_order_id])


def on_equipment_state_changed(*, equipment_id, downtime_id=None, **_ignored) -> None:
    _evaluate(equipment_ids=[equipment_id])


def on_inspection_recorded(*, inspection_id, **_ignored) -> None:
    _evaluate(inspection_ids=[inspection_id])


def on_nonconformance_opened(*, nonconformance_id, **_ignored) -> None:
    _evaluate(nonconformance_ids=[nonconformance_id])


def on_plan_changed(*, production_order_id, work_order_ids=None, reason="", **_ignored) -> None:
    from alerts.tasks import alerts_plan_changed_task

    enqueue_on_commit(alerts_plan_changed_task, production_order_id,
                      list(work_order_ids or []), str(reason or "")[:500])


SUBSCRIPTIONS = {
    "task.reported": on_task_reported,
    "task.state_changed": on_task_state_changed,
    "work_order.completed": on_work_order_completed,
    "equipment.state_changed": on_equipment_state_changed,
    "inspection.recorded": on_inspection_recorded,
    "nonconformance.opened": on_nonconformance_opened,
    "plan.changed": on_plan_changed,
}
