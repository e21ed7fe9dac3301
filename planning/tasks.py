from celery import shared_task


@shared_task(acks_late=True)
def schedule_compute_task(version_id: int) -> None:
    """Compute a schedule version in a worker (idempotent: a redelivery finds it done)."""
    from planning.services.schedule import schedule_compute

    schedule_compute(version_id)
