"""Celery tasks of the alerts app. Each one fetches by id and calls a service.

Beat runs `alerts.tasks.alerts_sweep` every MES_ALERT_SWEEP_SECONDS (default 30; the entry is
added to the Celery app's beat_schedule by AlertsConfig.ready).
"""

import os

from celery import shared_task
from django.conf import settings

from alerts.channels import TransientSendError
from alerts.services import delivery, focus_queue, sweep


def sweep_seconds() -> float:
    # settings.MES_ALERT_SWEEP_SECONDS when the project defines it, else the environment.
    return float(getattr(settings, "MES_ALERT_SWEEP_SECONDS", None)
                 or os.environ.get("MES_ALERT_SWEEP_SECONDS") or 30)


@shared_task(ignore_result=True)
def alerts_sweep() -> dict:
    result = sweep.alerts_sweep()
    return {"rules": result.rules, "raised": result.outcome.raised,
            "resolved": result.outcome.resolved, "escalated": result.escalated}


@shared_task(ignore_result=True)
def alerts_evaluate_focus_task(raw: dict) -> None:
    sweep.alerts_evaluate_focus(raw=raw)


@shared_task(ignore_result=True)
def alerts_evaluate_pending_task() -> int:
    """Everything events queued for evaluation since the last drain (with Redis)."""
    return focus_queue.focus_drain()


@shared_task(ignore_result=True)
def alerts_plan_changed_task(production_order_id: int, work_order_ids: list, reason: str) -> None:
    sweep.alerts_plan_changed(production_order_id=production_order_id,
                              work_order_ids=work_order_ids, reason=reason)


# acks_late: a worker that dies mid-send leaves the message to be delivered again; the claim in
# notification_deliver makes the second run a no-op unless the first never got to send.
# The attempt count on the row (not Celery's retry counter) decides when to give up, so a
# notification re-enqueued by the sweep cannot retry forever.
@shared_task(bind=True, ignore_result=True, acks_late=True, reject_on_worker_lost=True,
             autoretry_for=(TransientSendError,), retry_backoff=2, retry_backoff_max=600,
             retry_jitter=True, max_retries=50)
def notification_send(self, notification_id: int) -> str:
    return delivery.notification_deliver(notification_id)


@shared_task(ignore_result=True)
def notifications_send_many(notification_ids: list) -> None:
    """Fan out: one send task per notification, so one slow webhook delays no other."""
    for pk in notification_ids:
        notification_send.delay(pk)
