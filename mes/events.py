"""The event outbox and the short list of domain events apps use to talk upwards.

`event_emit` writes an outbox row in the caller's transaction; after commit it publishes the
new id on Redis (when configured) so open streams wake at once. Without Redis, streams poll.

Lower apps never import higher ones. When a higher app must react to something a lower app
did, the lower app calls `domain_event_publish(KIND, ...)` and the higher app registers a
handler with `domain_event_subscribe(KIND)` in its AppConfig.ready(). Handlers run
synchronously, inside the publisher's transaction, so the reaction is all-or-nothing with it.
"""

import logging
from collections import defaultdict
from collections.abc import Callable

from django.conf import settings

from mes.models import Event
from mes.redis import RedisWork, redis_on_commit
from mes.sql import new_instance

log = logging.getLogger(__name__)

# --- Topics: what a live page subscribes to -------------------------------------------------
TOPIC_PLANT = "plant"            # everything boards care about
TOPIC_DEMO = "demo"              # the foundation's live demo page


def topic_work_center(work_center_id) -> str:
    return f"wc:{work_center_id}"


def topic_user(user_id) -> str:
    return f"user:{user_id}"


# --- Domain events: the whole list, in one place --------------------------------------------
# (Issues add their kinds here as they are built; keep it short.)
DOMAIN_EVENTS = {
    "demo.message": "A message posted on the live demo page (foundation).",
    # execution → quality, alerts: kwargs report_id (and report: the WorkReport row itself)
    "task.reported": "Good/scrap quantity was reported on a task.",
    # execution → alerts: kwargs task_id, action ("start", "pause", "resume" or "complete")
    # (also when a work report started, resumed or completed the task by itself)
    "task.state_changed": "A task was started, paused, resumed or completed at a station.",
    # execution → quality, alerts: kwargs work_order_id
    "work_order.completed": "A work order's last operation completed: it awaits acceptance.",
    # execution → alerts: kwargs equipment_id, downtime_id (None when a stop ended)
    "equipment.state_changed": "An equipment's state changed (downtime started or ended).",
    # quality → alerts: kwargs inspection_id
    "inspection.recorded": "An inspection was recorded (passed or failed).",
    # quality → alerts: kwargs nonconformance_id
    "nonconformance.opened": "A failed inspection opened a nonconformance.",
    # planning → alerts, execution: kwargs production_order_id, work_order_ids, reason
    "plan.changed": "Released work was changed (rush order, quantity, due date, priority).",
}

_subscribers: dict[str, list[Callable]] = defaultdict(list)


def domain_event_subscribe(kind: str):
    if kind not in DOMAIN_EVENTS:
        raise ValueError(f"Unknown domain event {kind!r}: add it to mes.events.DOMAIN_EVENTS")

    def register(handler: Callable) -> Callable:
        if handler not in _subscribers[kind]:
            _subscribers[kind].append(handler)
        return handler

    return register


def domain_event_publish(kind: str, **data) -> None:
    if kind not in DOMAIN_EVENTS:
        raise ValueError(f"Unknown domain event {kind!r}: add it to mes.events.DOMAIN_EVENTS")
    for handler in list(_subscribers[kind]):
        handler(**data)


# --- The outbox -----------------------------------------------------------------------------
def event_emit(*, topic: str, kind: str, payload: dict | None = None, actor=None) -> Event:
    """Append one event to the outbox, in the current transaction.

    Must be called inside the transaction of the change it announces. The Redis wake-up is
    sent only after that transaction commits, so no stream ever sees an uncommitted event.
    """
    event = Event.objects.create(
        topic=topic,
        kind=kind,
        payload=payload or {},
        actor=actor if actor is not None and getattr(actor, "is_authenticated", False) else None,
    )
    events_wake_on_commit([event])
    return event


def event_emit_many(rows, *, actor=None) -> list[Event]:
    """Append several events (topic, kind, payload) to the outbox in one insert, in the
    current transaction; one Redis wake-up after commit."""
    events = Event.objects.bulk_create(event_new_many(rows, actor=actor))
    events_wake_on_commit(events)
    return events


def event_new_many(rows, *, actor=None) -> list[Event]:
    """The outbox rows `event_emit_many` writes, not yet saved: for a service that writes them
    together with its other rows (mes.sql.Writes); call `events_wake_on_commit` once saved."""
    who = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    return [new_instance(Event, topic=topic, kind=kind, payload=payload or {}, actor=who)
            for topic, kind, payload in rows]


def events_wake_on_commit(events: list[Event]) -> None:
    """One Redis wake-up for saved outbox rows, sent after the transaction commits."""
    if settings.REDIS_URL and events:
        # Redis down: streams fall back to polling; nothing is lost (the failure is logged).
        redis_on_commit(stream_wakeup(str(max(e.id for e in events))))


def stream_wakeup(message: str) -> RedisWork:
    """The wake-up open streams listen for (they then read the outbox from where they are)."""
    return RedisWork(lambda pipe: pipe.publish(settings.MES_EVENT_CHANNEL, message),
                     what=f"publish the stream wake-up {message}",
                     # Streams read the outbox from where they are: one wake-up wakes them.
                     merge_key="stream-wakeup", merged=lambda works: works[-1])
