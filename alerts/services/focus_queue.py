"""Event-driven alert evaluation, coalesced through Redis.

Every report, state change, inspection … asks for the alert rules to be evaluated again for
the subjects it touched. One Celery message per report costs the reporting request about a
millisecond of CPU (building and publishing the message) and the worker one evaluation per
report, although at a busy plant many reports touch the same work centers within the same
second. With Redis, the request instead appends its subjects to a list and, only when no
drain is already scheduled, sends one Celery message; the worker takes what is pending (up to
BATCH events per drain, the next drain its own task) and evaluates the rules once for the
union of their subjects.

Nothing is lost between the two: the worker clears the "scheduled" flag *before* it takes the
list, and a request appends *before* it sets the flag, so subjects appended after the worker's
take always find the flag clear and schedule the next drain. If Redis or the broker is down,
the periodic sweep (alerts.tasks.alerts_sweep) evaluates every rule over everything anyway,
as it does for a Celery message that was lost.
"""

import contextlib
import contextvars
import json
import logging

from django.conf import settings

from mes.redis import RedisWork, redis_on_commit, redis_send

log = logging.getLogger("alerts")

QUEUE = "mes:alerts:focus"
SCHEDULED = "mes:alerts:focus:scheduled"
# A drain that was scheduled but never ran (worker down) stops blocking new ones after this.
SCHEDULED_SECONDS = 60
# Pending subjects kept at most (without a worker the list would grow without end; the sweep
# covers whatever is dropped).
QUEUE_MAX = 100_000
# Subjects evaluated together by one pass of the drain.
BATCH = 500

FOCUS_KEYS = ("report_ids", "task_ids", "work_order_ids", "equipment_ids", "work_center_ids",
              "inspection_ids", "nonconformance_ids")


_suspended = contextvars.ContextVar("alerts_focus_suspended", default=False)


@contextlib.contextmanager
def focus_suspended():
    """Within this block (this thread or task only), events ask for no focused evaluation,
    through Redis or without: the caller leaves alerts to the sweep (the demo history)."""
    token = _suspended.set(True)
    try:
        yield
    finally:
        _suspended.reset(token)


def focus_enqueue_on_commit(raw: dict) -> None:
    """Once the current transaction commits, ask for the rules to be evaluated for `raw`'s
    subjects (lists of ids under FOCUS_KEYS)."""
    if _suspended.get():
        return
    if not settings.REDIS_URL:  # the embedded broker: one message per event, as before
        from alerts.services.common import enqueue_on_commit
        from alerts.tasks import alerts_evaluate_focus_task

        enqueue_on_commit(alerts_evaluate_focus_task, raw)
        return
    redis_on_commit(_focus_work(raw))  # with the commit's other Redis commands


def focus_defer(raw: dict) -> None:
    """Queue `raw`'s subjects now (and schedule a drain unless one is)."""
    redis_send([_focus_work(raw)])


# Append, trim, and mark a drain scheduled unless one is (the reply says whether this call
# marked it): one command, and atomic, where it used to be three.
_APPEND_SCRIPT = """
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
return redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[3])
"""


def _focus_work(raw: dict) -> RedisWork:
    def commands(pipe):
        pipe.eval(_APPEND_SCRIPT, 2, QUEUE, SCHEDULED, json.dumps(raw, separators=(",", ":")),
                  QUEUE_MAX, SCHEDULED_SECONDS)

    def then(client, replies):
        (first,) = replies
        if first:  # else a drain is scheduled and will take these subjects too
            _send_drain(client)

    return RedisWork(commands, what=f"queue an alert evaluation for {raw!r}", then=then,
                     merge_key="alerts-focus", data=raw,
                     merged=lambda works: _focus_work(focus_merge(w.data for w in works)))


def _send_drain(client) -> None:
    from alerts.tasks import alerts_evaluate_pending_task

    try:
        alerts_evaluate_pending_task.apply_async(retry=False)
    except Exception:
        log.warning("Could not enqueue the alert evaluation", exc_info=True)
        try:
            client.delete(SCHEDULED)  # let the next event try again
        except Exception:
            log.warning("Could not clear %s", SCHEDULED, exc_info=True)


def focus_merge(raws) -> dict:
    """The union of several events' subjects."""
    merged: dict[str, set] = {key: set() for key in FOCUS_KEYS}
    for raw in raws:
        for key in FOCUS_KEYS:
            merged[key].update(int(pk) for pk in raw.get(key) or ())
    return {key: sorted(ids) for key, ids in merged.items() if ids}


def focus_take(client, batch: int = BATCH) -> list[dict]:
    """Take up to `batch` pending events off the list, atomically."""
    pipe = client.pipeline(transaction=True)
    pipe.lrange(QUEUE, 0, batch - 1)
    pipe.ltrim(QUEUE, batch, -1)
    items, _ = pipe.execute()
    raws = []
    for item in items:
        try:
            raws.append(json.loads(item))
        except ValueError:
            log.warning("Dropped a malformed alert evaluation request: %r", item[:200])
    return raws


def focus_drain(*, batch: int = BATCH) -> int:
    """Evaluate the rules for up to `batch` pending events (the worker's side); when more are
    waiting, schedule the next drain as a task of its own, so that a steady stream of reports
    never keeps the worker from its other tasks. Returns how many events were taken."""
    from alerts.services.sweep import alerts_evaluate_focus
    from mes.redis import redis_client

    client = redis_client()
    client.delete(SCHEDULED)  # first: whatever is appended from now on schedules a new drain
    raws = focus_take(client, batch)
    if raws:
        alerts_evaluate_focus(raw=focus_merge(raws))
    if client.llen(QUEUE) and client.set(SCHEDULED, "1", nx=True, ex=SCHEDULED_SECONDS):
        _send_drain(client)
    return len(raws)
