from celery import shared_task


@shared_task(ignore_result=False)
def ping() -> str:
    """Round-trip check of the broker and a worker (used by the smoke test)."""
    return "pong"

# The outgoing-webhook tasks live in mes.webhooks; importing them here registers them.
from mes.webhooks import webhook_deliver, webhooks_dispatch  # noqa: E402, F401
