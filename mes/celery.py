"""The Celery app. Broker: Redis when REDIS_URL is set, else files under var/broker."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mes.settings")

app = Celery("mes")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

if not os.environ.get("REDIS_URL"):
    # The file-system transport has no broadcast exchange: no remote control commands.
    app.conf.worker_enable_remote_control = False
    app.conf.worker_send_task_events = False
