"""Shared Redis clients (sync for publishers, async for the stream hub), and Redis commands
sent after a transaction commits, one round trip for all that one commit sends.

A station report's commit wakes the open streams (PUBLISH) and queues its subjects for the
alert rules (RPUSH, LTRIM, SET): two round trips when each commit hook sends its own. Hooks
queue their commands with `redis_on_commit` instead; on PostgreSQL (mes.postgresql), the
connection sends what its commit hooks queued in one pipeline once they have all run. Anywhere
else (no hook running: autocommit, another database backend) each entry is sent at once.
Redis is best effort here as before: a failure is logged, never raised into the request.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def redis_client():
    import redis

    # Publishing a wake-up is best effort (streams poll the outbox without it): a Redis that
    # does not answer costs a request half a second, not more.
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=0.5,
                                socket_connect_timeout=0.5)


def async_redis_client():
    import redis.asyncio as aredis

    return aredis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2)


@dataclass(frozen=True)
class RedisWork:
    """Commands for a pipeline (`commands(pipe)` adds them), what to do with their replies
    (`then(client, replies)`, optional) and what they are for (`what`, for the log: "could
    not <what>")."""

    commands: Callable
    what: str
    then: Callable | None = None


def redis_on_commit(work: RedisWork, *, using: str = DEFAULT_DB_ALIAS) -> None:
    """Send `work` once the current transaction commits (at once outside one); nothing if the
    transaction (or the savepoint around this call) rolls back."""

    def hook():
        batch = getattr(connections[using], "redis_batch", None)
        if batch is None:  # not inside the connection's commit hooks: send it now
            redis_send([work])
        else:
            batch.append(work)

    transaction.on_commit(hook, using=using, robust=True)


def redis_send(works: list[RedisWork]) -> None:
    """One pipeline (one round trip) for all of `works`; then each one's `then` with its own
    replies. Errors are logged per work, not raised."""
    if not works:
        return
    client = redis_client()
    try:
        pipe = client.pipeline(transaction=False)
        counts = []
        for work in works:
            before = len(pipe)
            work.commands(pipe)
            counts.append(len(pipe) - before)
        replies = pipe.execute()
    except Exception:
        for work in works:
            log.warning("Could not %s on Redis", work.what, exc_info=True)
        return
    start = 0
    for work, count in zip(works, counts, strict=True):
        if work.then is not None:
            try:
                work.then(client, replies[start:start + count])
            except Exception:
                log.warning("Could not %s on Redis", work.what, exc_info=True)
        start += count
