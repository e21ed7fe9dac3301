"""The Celery app. Broker: Redis when REDIS_URL is set, else files under var/broker."""

import logging
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mes.settings")

log = logging.getLogger(__name__)

app = Celery("mes")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

if not os.environ.get("REDIS_URL"):
    # The file-system transport has no broadcast exchange: no remote control commands.
    app.conf.worker_enable_remote_control = False
    app.conf.worker_send_task_events = False


def enqueue_on_commit(task, *args, on_failure=None) -> None:
    """Hand work to Celery once the current transaction commits (at once outside one).

    A broker that is down must neither undo nor fail the change that was just committed, nor
    hold up the request: one attempt, no publish retries, within the short broker timeouts of
    settings (about a second when Redis does not answer, at once when it refuses). What was not
    enqueued is caught up elsewhere (the alert sweep; the event outbox); `on_failure()`, if
    given, is called instead so that the caller can record that the work did not start."""
    from django.db import transaction

    def send():
        try:
            task.apply_async(args, retry=False)
        except Exception:
            log.warning("Could not enqueue %s%r", task.name, args, exc_info=True)
            if on_failure is not None:
                on_failure()

    transaction.on_commit(send, robust=True)
