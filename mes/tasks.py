from celery import shared_task


@shared_task(ignore_result=False)
def ping() -> str:
    """Round-trip check of the broker and a worker (used by the smoke test)."""
    return "pong"
