"""Server-Sent Events from the outbox, one reader per process for all open streams.

Each web process has one EventHub per event loop. It reads new outbox rows once (woken by
Redis pub/sub, or every MES_EVENT_POLL_SECONDS without Redis) and fans them out to the
open streams whose topics match. A stream that reconnects with Last-Event-ID first replays
what it missed from the table, then continues live, so a blink of the network loses nothing.
"""

import asyncio
import contextlib
import json
import logging
import signal
import threading
import weakref
from dataclasses import dataclass, field

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, connection
from django.db.models import Max, Q
from django.utils import timezone

from mes.models import Event

log = logging.getLogger(__name__)

FETCH_LIMIT = 500
QUEUE_LIMIT = 5000
_OVERFLOW = object()  # ends the stream it is queued for (its client reconnects)


@dataclass(frozen=True)
class Row:
    id: int
    topic: str
    kind: str
    payload: dict
    created_at: object


def parse_topics(raw: str) -> tuple[frozenset[str], tuple[str, ...]]:
    """'wc:3,plant,user:*' -> exact topics and prefixes (a trailing * means prefix)."""
    exact, prefixes = set(), []
    for part in (raw or "").split(","):
        part = part.strip()
        if not part:
            continue
        if len(part) > 100:
            raise ValueError("topic too long")
        if part.endswith("*"):
            prefixes.append(part[:-1])
        else:
            exact.add(part)
    if not exact and not prefixes:
        raise ValueError("no topics")
    if len(exact) + len(prefixes) > 50:
        raise ValueError("too many topics")
    return frozenset(exact), tuple(prefixes)


def _topic_q(exact, prefixes) -> Q:
    q = Q(topic__in=exact) if exact else Q(pk__in=[])
    for prefix in prefixes:
        q |= Q(topic__startswith=prefix)
    return q


def _rows(qs) -> list[Row]:
    return [Row(*values) for values in qs.values_list("id", "topic", "kind", "payload",
                                                      "created_at")]


def _db_call(fn, *args):
    # Runs in a worker thread; hand the connection back (or to the pool) when done so an idle
    # stream holds no database connection.
    close_old_connections()
    try:
        return fn(*args)
    finally:
        connection.close()


def _latest_id() -> int:
    return Event.objects.aggregate(m=Max("id"))["m"] or 0


def _fetch_after(cursor: int) -> list[Row]:
    return _rows(Event.objects.filter(id__gt=cursor).order_by("id")[:FETCH_LIMIT])


def _backlog(after: int, upto: int, exact, prefixes) -> list[Row]:
    qs = Event.objects.filter(_topic_q(exact, prefixes), id__gt=after, id__lte=upto)
    return _rows(qs.order_by("id")[:QUEUE_LIMIT])


def safe_prefix(rows: list[Row], cursor: int, now, grace_seconds: float) -> list[Row]:
    """The rows that can be delivered without skipping a transaction that may still commit.

    Ids are taken at insert, not at commit: a gap may be a transaction still open. A gap is
    waited for until the row after it is `grace_seconds` old; then it is a rollback.
    """
    # cursor 0: the outbox was empty, so there is no position to have a gap after.
    out, expected = [], (cursor + 1 if cursor else None)
    for row in rows:
        if expected is not None and row.id != expected and \
                (now - row.created_at).total_seconds() < grace_seconds:
            break
        out.append(row)
        expected = row.id + 1
    return out


@dataclass(eq=False)
class Subscription:
    exact: frozenset
    prefixes: tuple
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(maxsize=QUEUE_LIMIT))

    def matches(self, topic: str) -> bool:
        return topic in self.exact or any(topic.startswith(p) for p in self.prefixes)


class EventHub:
    def __init__(self):
        self.cursor: int | None = None
        self.subscriptions: set[Subscription] = set()
        self.wake = asyncio.Event()
        self.ready = asyncio.Event()
        self.redis_ok = False
        self._task: asyncio.Task | None = None

    def add(self, sub: Subscription) -> None:
        self.subscriptions.add(sub)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    def remove(self, sub: Subscription) -> None:
        self.subscriptions.discard(sub)

    async def _run(self) -> None:
        listener = None
        try:
            if self.cursor is None:
                self.cursor = await sync_to_async(_db_call, thread_sensitive=False)(_latest_id)
            self.ready.set()
            if settings.REDIS_URL:
                listener = asyncio.get_running_loop().create_task(self._listen_redis())
            while self.subscriptions:
                delay = await self._poll_once()
                if delay is None:
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), delay)
                self.wake.clear()
        except Exception:
            log.exception("Event hub stopped; streams will reconnect")
            for sub in list(self.subscriptions):
                sub.queue.put_nowait(_OVERFLOW)
        finally:
            if listener is not None:
                listener.cancel()

    async def _poll_once(self) -> float | None:
        """Deliver what is new; return how long to wait before the next look (None: now)."""
        try:
            rows = await sync_to_async(_db_call, thread_sensitive=False)(_fetch_after,
                                                                        self.cursor)
        except Exception:
            log.warning("Event hub could not read the outbox; retrying", exc_info=True)
            return 2.0
        deliver = safe_prefix(rows, self.cursor, timezone.now(),
                              settings.MES_EVENT_GAP_GRACE_SECONDS)
        for row in deliver:
            for sub in list(self.subscriptions):
                if sub.matches(row.topic):
                    try:
                        sub.queue.put_nowait(row)
                    except asyncio.QueueFull:
                        # Too slow a client: end its stream; it resumes from Last-Event-ID.
                        self.subscriptions.discard(sub)
                        sub.queue = asyncio.Queue()
                        sub.queue.put_nowait(_OVERFLOW)
        if deliver:
            self.cursor = deliver[-1].id
        if len(deliver) < len(rows):
            return 0.25  # waiting on a gap that may still commit
        if len(rows) == FETCH_LIMIT:
            return None
        if self.redis_ok:
            return max(5.0, settings.MES_EVENT_POLL_SECONDS)  # safety net under pub/sub
        return settings.MES_EVENT_POLL_SECONDS

    async def _listen_redis(self) -> None:
        from mes.redis import async_redis_client

        while True:
            client = async_redis_client()
            pubsub = client.pubsub()
            try:
                await pubsub.subscribe(settings.MES_EVENT_CHANNEL)
                self.redis_ok = True
                self.wake.set()  # catch up on anything published while we were away
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        self.wake.set()
            except asyncio.CancelledError:
                raise
            except Exception:
                if self.redis_ok:
                    log.warning("Redis pub/sub lost; polling the outbox until it is back")
                self.redis_ok = False
                await asyncio.sleep(2)
            finally:
                self.redis_ok = False
                try:
                    await pubsub.aclose()
                    await client.aclose()
                except Exception:  # noqa: S110 - closing a broken connection may fail too
                    pass


_hubs: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, EventHub]" = (
    weakref.WeakKeyDictionary()
)


def get_hub() -> EventHub:
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = EventHub()
    return hub


def streams_end(loop: asyncio.AbstractEventLoop) -> None:
    """End every open stream of this loop's hub (the server is stopping): each answers its
    last line and returns, so the server need not cancel it when its grace period runs out,
    and the clients reconnect, to this server once it is back or to another."""
    hub = _hubs.get(loop)
    if hub is None:
        return
    for sub in list(hub.subscriptions):
        hub.subscriptions.discard(sub)
        try:
            sub.queue.put_nowait(_OVERFLOW)
        except asyncio.QueueFull:  # (its stream is busy sending, not waiting on the queue)
            sub.queue = asyncio.Queue()
            sub.queue.put_nowait(_OVERFLOW)


_ending_installed = False


def streams_end_on_stop_signals() -> None:
    """Have the signals that stop the web server (SIGTERM, SIGINT) end this process's open
    streams first, then do what they did (uvicorn's handler: stop accepting, wait for the
    open requests, its grace period, then cancel them with an error in the log). Called on the
    server's event loop in its main thread, once uvicorn has installed its handlers; nothing
    elsewhere (a test's thread, say)."""
    global _ending_installed
    if _ending_installed or threading.current_thread() is not threading.main_thread():
        return
    _ending_installed = True
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(sig)

        def handler(signum, frame, previous=previous):
            if not loop.is_closed():
                loop.call_soon_threadsafe(streams_end, loop)
            if callable(previous):
                previous(signum, frame)
            else:  # the default action (or ignored), as before
                signal.signal(signum, previous if previous is not None else signal.SIG_DFL)
                signal.raise_signal(signum)

        signal.signal(sig, handler)


def format_sse(row: Row) -> str:
    data = json.dumps({"id": row.id, "topic": row.topic, "kind": row.kind,
                       "payload": row.payload}, ensure_ascii=False, default=str)
    return f"id: {row.id}\nevent: {row.kind}\ndata: {data}\n\n"


async def event_stream(exact, prefixes, last_event_id: int | None):
    """The body of one SSE response."""
    hub = get_hub()
    sub = Subscription(exact, prefixes)
    hub.add(sub)
    try:
        await hub.ready.wait()
        yield "retry: 2000\n: connected\n\n"
        last_sent = hub.cursor if last_event_id is None else last_event_id
        if last_event_id is not None and last_event_id < hub.cursor:
            upto = hub.cursor
            backlog = await sync_to_async(_db_call, thread_sensitive=False)(
                _backlog, last_event_id, upto, exact, prefixes)
            for row in backlog:
                yield format_sse(row)
                last_sent = row.id
            if len(backlog) == QUEUE_LIMIT:
                return  # a long absence: the client reconnects from here and reads on
            last_sent = max(last_sent, upto)
        while True:
            try:
                row = await asyncio.wait_for(sub.queue.get(),
                                             settings.MES_EVENT_HEARTBEAT_SECONDS)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            if row is _OVERFLOW:
                return
            if row.id <= last_sent:
                continue
            yield format_sse(row)
            last_sent = row.id
    finally:
        hub.remove(sub)
