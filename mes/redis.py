"""Shared Redis clients (sync for publishers, async for the stream hub), and Redis commands
sent after a transaction commits, one round trip for all that the commits of a moment send.

A station report's commit wakes the open streams (PUBLISH) and queues its subjects for the
alert rules (RPUSH, LTRIM, SET): two round trips when each commit hook sends its own. Hooks
queue their commands with `redis_on_commit` instead; on PostgreSQL (mes.postgresql), the
connection hands what its commit hooks queued to the process's sender thread once they have
all run (`redis_send_soon`). The sender waits MES_REDIS_SEND_DELAY (20 ms) for other commits
to join, then sends what they all queued in one pipeline, the stream wake-ups as one PUBLISH
and the alert subjects as one entry: at a busy plant, one round trip for many reports instead
of one each (BENCHMARKS.md, scan report). Anywhere else (no hook running: autocommit, another
database backend) each entry is sent at once, by the caller.
Redis is best effort here as before: a failure is logged, never raised into the request; what
is still waiting when a process is killed is lost, as a failed send is (streams poll the
outbox as well, and the periodic alert sweep covers every subject).
"""

import atexit
import logging
import os
import queue
import threading
import time
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
    not <what>"). Works with the same `merge_key` that wait together in the sender are sent
    as one: `merged(works)` (a wake-up, say, or the union of several events' subjects)."""

    commands: Callable
    what: str
    then: Callable | None = None
    merge_key: str = ""
    merged: Callable | None = None
    data: object = None


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


class _Sender:
    """This process's Redis sender: one thread sends what commits handed it, the work of every
    commit waiting when it wakes in one pipeline (one round trip for several commits under load,
    and none in the request's own time)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._pid = None
        self._queue = None

    def submit(self, item) -> None:
        q = self._queue if self._pid == os.getpid() else self._start()
        q.put(item)

    def _start(self):
        with self._lock:
            if self._pid != os.getpid():  # first use in this process (a forked child too)
                self._queue = queue.SimpleQueue()
                threading.Thread(target=self._run, args=(self._queue,), daemon=True,
                                 name="mes-redis-sender").start()
                self._pid = os.getpid()
            return self._queue

    @staticmethod
    def _run(q) -> None:
        while True:
            items = [q.get()]
            if isinstance(items[0], list):
                time.sleep(settings.MES_REDIS_SEND_DELAY)  # let the next commits join
            while True:
                try:
                    items.append(q.get_nowait())
                except queue.Empty:
                    break
            try:
                redis_send(_coalesced([work for item in items if isinstance(item, list)
                                       for work in item]))
            except Exception:  # redis_send logs per work; nothing may stop this thread
                log.exception("Redis sender failed on a batch")
            for item in items:
                if isinstance(item, threading.Event):
                    item.set()


_sender = _Sender()


def redis_send_soon(works: list[RedisWork]) -> None:
    """Hand `works` to this process's sender thread (mes.postgresql does, for what a commit's
    hooks queued). The sender waits MES_REDIS_SEND_DELAY seconds for more to join, merges what
    can be merged and sends the rest as `redis_send` does, in the order handed over; with a
    delay of 0, `works` are sent at once, by the caller."""
    if not works:
        return
    if settings.MES_REDIS_SEND_DELAY <= 0:
        redis_send(works)
    else:
        _sender.submit(list(works))


def _coalesced(works: list[RedisWork]) -> list[RedisWork]:
    """`works` with each group of the same merge key sent as one, where the group's first was."""
    groups: dict[str, list[RedisWork]] = {}
    slots: list = []
    for work in works:
        if work.merge_key and work.merged is not None:
            if work.merge_key not in groups:
                groups[work.merge_key] = []
                slots.append(work.merge_key)
            groups[work.merge_key].append(work)
        else:
            slots.append(work)
    return [slot if isinstance(slot, RedisWork)
            else groups[slot][0] if len(groups[slot]) == 1 else groups[slot][0].merged(groups[slot])
            for slot in slots]


def redis_sent(timeout: float = 5.0) -> bool:
    """Wait until everything this process handed to its sender so far has been sent (tests,
    and a process that exits); False if that took longer than `timeout` seconds."""
    if _sender._pid != os.getpid():
        return True  # nothing handed over in this process
    done = threading.Event()
    _sender.submit(done)
    return done.wait(timeout)


atexit.register(redis_sent, 2.0)  # what the last requests committed still goes out
