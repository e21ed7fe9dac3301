"""The outbox is written with the change, and streams resume from Last-Event-ID."""

import asyncio
import datetime as dt
import signal

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from mes.events import domain_event_publish, domain_event_subscribe, event_emit
from mes.models import Event
from mes.stream import Row, event_stream, parse_topics, safe_prefix

pytestmark = pytest.mark.embedded


@pytest.mark.django_db(transaction=True)
def test_event_written_in_the_same_transaction():
    with pytest.raises(RuntimeError), transaction.atomic():
        event_emit(topic="demo", kind="demo.message", payload={"text": "lost"})
        raise RuntimeError("the change failed")
    assert not Event.objects.exists()
    with transaction.atomic():
        event_emit(topic="demo", kind="demo.message", payload={"text": "kept"})
    assert Event.objects.get().payload == {"text": "kept"}


def test_safe_prefix_waits_for_young_gaps_only():
    now = timezone.now()
    young, old = now - dt.timedelta(seconds=1), now - dt.timedelta(seconds=60)
    rows = [Row(11, "t", "k", {}, old), Row(13, "t", "k", {}, young)]
    # 12 may still commit: stop before 13
    assert [r.id for r in safe_prefix(rows, 10, now, 5.0)] == [11]
    rows = [Row(11, "t", "k", {}, old), Row(13, "t", "k", {}, old)]
    # 12 was rolled back long ago: deliver both
    assert [r.id for r in safe_prefix(rows, 10, now, 5.0)] == [11, 13]
    # an empty outbox has no position yet: nothing to wait for
    assert [r.id for r in safe_prefix([Row(7, "t", "k", {}, young)], 0, now, 5.0)] == [7]


def test_parse_topics():
    assert parse_topics("plant, wc:*,") == (frozenset({"plant"}), ("wc:",))
    for bad in ["", " , ", "x" * 101, ",".join(f"t{i}" for i in range(51))]:
        with pytest.raises(ValueError):
            parse_topics(bad)


def run_in_new_loop(coro_fn):
    """asyncio.run in a thread of its own (Playwright may own this thread's event loop)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(coro_fn())).result()


async def _collect(gen, count, timeout=5.0):
    out = []

    async def run():
        async for chunk in gen:
            if chunk.startswith("id:"):
                out.append(chunk)
                if len(out) == count:
                    break

    await asyncio.wait_for(run(), timeout)
    await gen.aclose()
    return out


@pytest.mark.django_db(transaction=True)
def test_stream_replays_after_last_event_id_then_goes_live(settings):
    settings.MES_EVENT_POLL_SECONDS = 0.1
    first = [event_emit(topic="demo", kind="demo.message", payload={"n": i}) for i in range(3)]
    event_emit(topic="other", kind="x.y", payload={})

    async def scenario():
        gen = event_stream(frozenset({"demo"}), (), first[0].id)
        task = asyncio.ensure_future(_collect(gen, 3))
        await asyncio.sleep(0.5)
        from asgiref.sync import sync_to_async

        await sync_to_async(event_emit, thread_sensitive=False)(
            topic="demo", kind="demo.message", payload={"n": 99})
        return await task

    chunks = run_in_new_loop(scenario)
    ids = [int(c.split("\n")[0].split(": ")[1]) for c in chunks]
    assert ids[:2] == [first[1].id, first[2].id]  # replayed, not the one already seen
    assert '"n": 99' in chunks[2]  # then live
    assert all("other" not in c for c in chunks)


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_redis_wakes_streams_at_once(settings):
    if not settings.REDIS_URL:
        pytest.skip("REDIS_URL not set")
    settings.MES_EVENT_POLL_SECONDS = 30  # polling alone would take far too long

    async def scenario():
        gen = event_stream(frozenset({"demo"}), (), None)
        task = asyncio.ensure_future(_collect(gen, 1, timeout=6))
        from mes.stream import get_hub

        for _ in range(50):  # until the hub's pub/sub subscription is live
            await asyncio.sleep(0.1)
            if get_hub().redis_ok:
                break
        await asyncio.sleep(0.5)  # past the first catch-up poll: only Redis can wake it now
        from asgiref.sync import sync_to_async

        def emit():
            with transaction.atomic():
                event_emit(topic="demo", kind="demo.message", payload={"n": 1})

        started = asyncio.get_running_loop().time()
        await sync_to_async(emit, thread_sensitive=False)()
        out = await task
        return out, asyncio.get_running_loop().time() - started

    out, took = run_in_new_loop(scenario)
    assert '"n": 1' in out[0]
    assert took < 2.0, f"woke after {took:.2f}s: pub/sub did not wake the stream"
    return

    assert '"n": 1' in asyncio.run(scenario())[0]


def test_domain_events_must_be_declared():
    with pytest.raises(ValueError):
        domain_event_publish("no.such.event")
    seen = []
    domain_event_subscribe("demo.message")(lambda **kw: seen.append(kw))
    domain_event_publish("demo.message", text="hi")
    assert seen == [{"text": "hi"}]


def test_channel_setting_exists():
    assert settings.MES_EVENT_CHANNEL


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("workers", [1, 2])
def test_stopping_the_web_server_ends_its_open_streams(make_user, workers):
    """SIGTERM (what `manage.py serve` sends its web server on Ctrl-C, and what systemd or
    docker stop send) ends the open event streams, so the server stops without waiting out its
    grace period to cancel them ("Cancel 3 running task(s), timeout graceful shutdown
    exceeded", an ERROR in its log); with one worker process or several."""
    from tests.conftest import subprocess_env
    from tests.processes import HttpSession, SseReader, start_web

    web, url = start_web(subprocess_env(), workers=workers, grace=20,
                         name=f"stream-stop-{workers}")
    try:
        session = HttpSession(url, make_user("operator"))
        readers = [SseReader(url, session, "demo") for _ in range(3)]
        for reader in readers:
            reader.wait_connected()
        web.proc.send_signal(signal.SIGTERM)  # the server process only, as serve does
        web.proc.wait(30)
        for reader in readers:
            reader.events(1.0)
            assert reader.closed
    finally:
        web.stop()
    log = web.output()
    assert "timeout graceful shutdown exceeded" not in log and "ERROR" not in log, log
