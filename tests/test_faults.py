"""Faults a plant meets during a shift, against real processes on PostgreSQL and Redis:
Redis stops while operators report, a Celery worker is killed mid-send, the database drops
every connection under load, a browser goes offline and comes back.

Nothing here touches the machine's shared Redis or PostgreSQL server: each test starts a
redis-server of its own on a free port, and the database fault terminates only the backends
of this test run's database.
"""

import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from alerts.kinds import Channel, Kind
from alerts.models import Alert, Notification
from alerts.services.sweep import alerts_sweep
from execution.models import WorkReport
from mes.models import Event
from planning.models import ScheduleVersion
from tests.conftest import (
    Server,
    browser_login,
    database_url_for_tests,
    screenshot,
    subprocess_env,
)
from tests.factories import PASSWORD
from tests.factories_alerts import make_endpoint, make_rule, minutes, schedule
from tests.factories_execution import released_order
from tests.processes import (
    HttpSession,
    RedisServer,
    SseReader,
    TcpProxy,
    start_web,
    start_worker,
    wait_for,
)

SSE_OPEN = ("() => { const el = document.querySelector('[sse-connect]'); const d = el && "
            "el['htmx-internal-data']; return !!(d && d.sseEventSource && "
            "d.sseEventSource.readyState === 1); }")

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _needs_postgres_and_redis(settings):
    if connection.vendor != "postgresql":
        pytest.skip("fault tests run on PostgreSQL (set DATABASE_URL=postgres://…)")
    if not settings.REDIS_URL:
        pytest.skip("fault tests need Redis (set REDIS_URL; each test starts its own "
                    "redis-server, the shared one is never stopped)")


@pytest.fixture
def redis_server():
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
def floor(make_user):
    """An operator signed in at a station with a long task to report on."""
    operator = make_user("operator", username=f"op_{uuid.uuid4().hex[:6]}")
    _wo, (task,), wc = released_order(steps=1, qty="100000")
    return operator, task, wc


def report(session: HttpSession, wc, task, token: str, good: int = 1):
    return session.post(f"/execution/stations/{wc.code}/report/",
                        {"task": task.pk, "good": good, "client_token": token},
                        **{"HX-Request": "true"})


def topic_ids(topic: str, after: int) -> list[int]:
    return list(Event.objects.filter(topic=topic, id__gt=after).order_by("id")
                .values_list("id", flat=True))


def collect_until(reader: SseReader, received: list, wanted: set, timeout: float) -> float:
    """Read until every id in `wanted` has arrived; seconds it took (raises on timeout)."""
    started = time.monotonic()
    while not wanted <= {i for i, _k, _d in received}:
        if time.monotonic() - started > timeout:
            missing = sorted(wanted - {i for i, _k, _d in received})
            raise AssertionError(f"events never arrived on the stream: {missing}")
        received += reader.events(0.2)
    return time.monotonic() - started


# --- 1. Redis stops while operators report ------------------------------------------------------
def test_redis_down_reports_kept_stream_polls_and_nothing_lost_or_doubled(redis_server, floor,
                                                                          make_user):
    operator, task, wc = floor
    planner = make_user("planner", username=f"pl_{uuid.uuid4().hex[:6]}")
    env = subprocess_env(REDIS_URL=redis_server.url, MES_EVENT_POLL_SECONDS="1")
    web, url = start_web(env, name="fault-redis-web")
    queued = {}
    try:
        session = HttpSession(url, operator)
        topic = f"wc:{wc.pk}"
        start = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
        reader = SseReader(url, session, topic)
        received: list = reader.wait_connected()
        assert reader.status == 200
        answered: dict[str, int] = {}

        def burst(n):
            for _ in range(n):
                token = uuid.uuid4().hex
                status, _body = report(session, wc, task, token)
                answered[token] = status

        timings = {}
        burst(5)  # Redis up: pub/sub wakes the stream at once
        timings["redis up"] = collect_until(reader, received, set(topic_ids(topic, start)), 5)

        # each report queues its subjects for the alert rules; one drain message waits for
        # them all in Celery's queue (nothing drains it: no worker here)
        queued["redis up"] = _queued(redis_server)
        redis_server.kill()
        started = time.monotonic()
        burst(10)  # Redis gone: reports must still be taken
        timings["posting 10 with Redis down"] = time.monotonic() - started
        # A scheduler run cannot reach its worker: the request is answered, and the version
        # says at once that it was not queued instead of computing forever.
        started = time.monotonic()
        run = HttpSession(url, planner).post("/planning/schedule/run/", {
            "reason": "Redis is down", "time_limit": "5", "frozen_minutes": "0"})
        timings["schedule run with Redis down"] = time.monotonic() - started
        timings["redis down"] = collect_until(reader, received, set(topic_ids(topic, start)),
                                              15)

        redis_server.start()  # empty again: as after a crash without persistence
        time.sleep(2.5)  # the hub retries its subscription every 2 s
        burst(5)
        queued["redis back"] = _queued(redis_server)  # enqueueing works again
        timings["redis back"] = collect_until(reader, received, set(topic_ids(topic, start)), 10)
        received += reader.events(1.5)  # anything doubled would arrive now
        reader.close()
    finally:
        web.stop()

    print("\nRedis fault timings (s):", {k: round(v, 2) for k, v in timings.items()})
    assert set(answered.values()) == {200}, answered
    tokens = list(WorkReport.objects.filter(task=task).values_list("client_token", flat=True))
    assert sorted(tokens) == sorted(answered), "a report answered 200 is missing or doubled"
    ids = [i for i, _k, _d in received]
    assert len(ids) == len(set(ids)), "an event was delivered twice"
    assert ids == sorted(ids), "events out of order"
    assert set(ids) == set(topic_ids(topic, start)), "events lost"
    assert sum(1 for _i, kind, _d in received if kind == "task.reported") == 20
    assert timings["redis up"] < 3 and timings["redis back"] < 5
    assert timings["redis down"] < 10  # polling, every second, plus the id-gap grace
    assert run[0] == 200, run[1][:500]  # (the redirect to the version, followed)
    version = ScheduleVersion.objects.order_by("-pk").first()
    assert version.status == ScheduleVersion.Status.FAILED and version.error
    assert version.error in run[1]  # the page says why
    # One evaluation asked for per report, and one more for the start the first report caused
    # (task.state_changed, as a station's own start asks for).
    assert queued["redis up"] == (1, 6) and queued["redis back"] == (1, 5), queued


def _queued(redis_server) -> tuple[int, int]:
    """Messages waiting in Celery's default queue on the test's redis-server (no worker), and
    events waiting for the alert evaluation they asked for."""
    import redis

    from alerts.services.focus_queue import QUEUE

    client = redis.Redis.from_url(redis_server.url)
    return client.llen("celery"), client.llen(QUEUE)


# --- 2. A Celery worker is killed in the middle of sending a notification --------------------
class HoldingReceiver:
    """A webhook receiver that holds the first request for `hold_key` until released, as a
    slow robot endpoint would; it records every request and which ones it answered."""

    def __init__(self, hold_key: str | None = None):
        self.hold_key = hold_key
        self.received: list[str] = []
        self.answered: list[str] = []
        self.held = threading.Event()
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the stdlib's name
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                key = self.headers.get("Idempotency-Key", "")
                receiver.received.append(key)
                if key == receiver.hold_key and not receiver.held.is_set():
                    receiver.held.set()
                    receiver.release.wait(30)
                    return  # the sender is gone: no answer
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}')
                receiver.answered.append(key)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.release.set()
        self.server.shutdown()


def _alert_with_webhook_notifications(receiver_url: str) -> list[Notification]:
    """An alert (raised by the sweep, in-app to the lead) and two webhook notifications."""
    _wo, tasks, _wc = released_order(steps=1)
    t0 = timezone.now()
    schedule(tasks[0], t0 - minutes(90), t0 - minutes(30))
    make_rule(Kind.SCHEDULE_LAG, minutes=1)
    alerts_sweep(now=t0)
    alert = Alert.objects.get()
    hooks = [make_endpoint(receiver_url, timeout=30) for _ in range(2)]
    return [Notification.objects.create(alert=alert, endpoint=hook, channel=Channel.WEBHOOK,
                                        level=1) for hook in hooks]


def test_worker_killed_mid_send_no_notification_lost_or_doubled(redis_server):
    from celery import Celery

    receiver = HoldingReceiver()
    first, second = _alert_with_webhook_notifications(receiver.url)
    receiver.hold_key = first.idempotency_key
    alerts_before = Alert.objects.count()
    rows_before = Notification.objects.count()
    env = subprocess_env(REDIS_URL=redis_server.url,
                         DJANGO_SETTINGS_MODULE="tests.settings_faults")
    # Not the current app: shared tasks elsewhere in this process keep resolving to mes.celery.
    sender = Celery(broker=redis_server.url, set_as_current=False)
    workers = []
    try:
        workers.append(start_worker(env, name="fault-worker-1"))
        wait_for(lambda: "ready." in workers[0].output(), 30, "worker 1 did not start")
        for n in (first, second):
            sender.send_task("alerts.tasks.notification_send", args=[n.pk])
        assert receiver.held.wait(20), "the first send never reached the receiver"
        first.refresh_from_db()
        assert first.status == Notification.Status.SENDING and first.attempts == 1
        workers[0].kill()  # SIGKILL, mid-send: no chance to ack, retry or record anything
        receiver.release.set()

        workers.append(start_worker(env, name="fault-worker-2"))
        wait_for(lambda: "ready." in workers[1].output(), 30, "worker 2 did not start")

        def both_sent():
            states = set(Notification.objects.filter(pk__in=[first.pk, second.pk])
                         .values_list("status", flat=True))
            return states == {Notification.Status.SENT}

        wait_for(both_sent, 25, "a notification was lost: "
                 + str(list(Notification.objects.values_list("pk", "status", "attempts"))),
                 0.2)
        time.sleep(2)  # a duplicate would be sent now, if there were one
    finally:
        for w in workers:
            w.stop()
        receiver.close()
        sender.close()
    first.refresh_from_db()
    second.refresh_from_db()
    assert Alert.objects.count() == alerts_before
    assert Notification.objects.count() == rows_before
    # the interrupted send was made again with the same key: the receiver answered it once
    assert receiver.received.count(first.idempotency_key) == 2
    assert receiver.answered.count(first.idempotency_key) == 1
    assert first.attempts == 2 and first.sent_at is not None
    # the one queued behind it was sent once, by the new worker
    assert receiver.received.count(second.idempotency_key) == 1
    assert second.attempts == 1


# --- 3. The database drops every connection under load ----------------------------------------
# Restarting the machine's shared PostgreSQL would break other test runs, so the restart is
# modelled by what the application sees of one: every server-side backend of its database
# terminated (pg_terminate_backend is what a fast shutdown does to each session), repeatedly,
# while reports keep coming. Pooled idle connections die silently just as after a restart;
# in-flight transactions are rolled back just as after a crash. What must hold: a report that
# was answered 200 is stored exactly once, and the app serves again without being restarted.
def _terminate_backends(dbname: str, spare: int) -> int:
    """Terminate every backend of `dbname` except `spare` (this test's own connection)."""
    with psycopg.connect(database_url_for_tests().replace(f"/{dbname}", "/postgres"),
                         autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid() AND pid <> %s",
            [dbname, spare]).fetchall()
    return len(rows)


@pytest.mark.parametrize("pool", ["1", "0"], ids=["pooled", "unpooled"])
def test_database_connections_killed_under_load_every_ok_report_kept_once(floor, pool):
    operator, task, wc = floor
    dbname = connection.settings_dict["NAME"]
    env = subprocess_env(MES_DB_POOL=pool, MES_DB_POOL_SIZE="8")
    env.pop("REDIS_URL", None)  # this fault is the database's alone
    web, url = start_web(env, name=f"fault-db-web-{pool}")
    session = HttpSession(url, operator, timeout=15)
    outcomes: dict[str, list[int]] = {}
    odd: list = []
    storm = threading.Event()
    lock = threading.Lock()

    def client(n):
        while not storm.is_set():
            token = f"db-{n}-{uuid.uuid4().hex[:12]}"
            for _attempt in range(5):  # the station retries a failed submission, same token
                status, body = report(session, wc, task, token)
                with lock:
                    outcomes.setdefault(token, []).append(status)
                    if status not in (200, 500):
                        odd.append((status, body[:300]))
                if status == 200:
                    break
                time.sleep(0.2)

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        ours = cursor.fetchone()[0]
    terminated = 0
    try:
        threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for _ in range(6):
            time.sleep(0.7)
            terminated += _terminate_backends(dbname, ours)
        storm.set()
        for t in threads:
            t.join(60)
        # The plant is quiet when the database restarts once more: idle pooled connections
        # die unnoticed. The next reports must succeed at once, without restarting the app.
        time.sleep(0.5)
        last = _terminate_backends(dbname, ours)
        terminated += last
        after, first_wait = [], time.monotonic()
        for _ in range(20):
            after.append(report(session, wc, task, f"after-{uuid.uuid4().hex}"))
            first_wait = first_wait if len(after) > 1 else time.monotonic() - first_wait
        healthy = session.get("/healthz")[0]
    finally:
        web.stop()
    ok = [t for t, codes in outcomes.items() if 200 in codes]
    failed = {c for codes in outcomes.values() for c in codes if c != 200}
    after_bodies = [body[:300] for code, body in after if code != 200]
    after = [code for code, _body in after]
    print(f"\npool={pool}: {terminated} backends terminated; {len(outcomes)} reports, "
          f"{len(ok)} answered 200; other answers seen: {sorted(failed)}; after: {after}")
    print("odd answers:", odd[:3])
    assert terminated >= 7 and len(ok) >= 10
    stored = dict(WorkReport.objects.filter(task=task).values_list("client_token", "good"))
    assert all(t in stored for t in ok), "a report answered 200 is not in the database"
    assert len(stored) == len(set(stored)) and WorkReport.objects.filter(
        client_token__in=ok).count() == len(ok)
    print(f"first request after the last termination took {first_wait:.1f} s")
    # Every request after the restart succeeds, the first one too. (With Django's own pool,
    # psycopg_pool tries the dead idle connections one by one, backing off 1, 2, 4 … s
    # between them: with more than three, the first request timed out and failed.
    # mes.postgresql's pool drops them all when it finds the first.)
    if pool == "1":  # the case that used to fail: more than three dead idle connections
        assert last >= 4, f"only {last} pooled connections to kill"
    assert set(after) == {200}, f"the app did not recover: {after_bodies[:2]}"
    assert healthy == 200
    task.refresh_from_db()
    assert task.qty_good == len(stored)  # the quantity matches the reports, nothing doubled


# --- 4. A browser (or any client) goes offline and comes back --------------------------------
def _emit(topic: str, n: int, label: str) -> list[int]:
    from django.db import transaction

    from mes.events import event_emit

    ids = []
    for i in range(n):
        with transaction.atomic():
            ids.append(event_emit(topic=topic, kind="hard.test",
                                  payload={"n": i, "label": label}).id)
    return ids


def test_stream_client_resumes_from_last_event_id_with_exactly_the_missed_events(
        asgi_server, make_user):
    session = HttpSession(asgi_server.url, make_user("operator"))
    topic = f"hard:{uuid.uuid4().hex[:8]}"
    reader = SseReader(asgi_server.url, session, topic)
    received = reader.wait_connected()
    first = _emit(topic, 5, "before")
    collect_until(reader, received, set(first), 10)
    reader.close()  # the network blinks: the client is gone
    last_seen = received[-1][0]
    missed = _emit(topic, 7, "while away")
    _emit("hard:elsewhere", 3, "another topic")  # not ours: must not be replayed
    resumed = SseReader(asgi_server.url, session, topic, last_event_id=last_seen)
    replay: list = []
    collect_until(resumed, replay, set(missed), 10)
    live = _emit(topic, 3, "after")
    collect_until(resumed, replay, set(missed) | set(live), 10)
    replay += resumed.events(1.0)
    resumed.close()
    assert [i for i, _k, _d in received] == first
    assert [i for i, _k, _d in replay] == missed + live  # each once, in order, nothing else


@pytest.mark.browser
def test_browser_offline_then_back_shows_every_event_exactly_once(asgi_server, page,
                                                                  make_user):
    """The live page through a network that goes down for a few seconds (a minute on the
    plant; the mechanism is the same) while events are written; when it is back, the page
    resumes from the last event it saw and shows every event once."""
    from mes.services import demo_message_post

    proxy = TcpProxy(int(asgi_server.url.rsplit(":", 1)[1]))
    via = Server(proxy.url, None)
    try:
        user = make_user("workshop_lead", username=f"blink_{uuid.uuid4().hex[:6]}")
        browser_login(page, via, user.username, PASSWORD)
        page.add_init_script(
            "window.__sse = []; window.__opens = 0;"
            "document.addEventListener('htmx:sseMessage', e => window.__sse.push("
            "  [e.detail.lastEventId, e.target.id]));"
            "document.addEventListener('htmx:sseOpen', () => window.__opens++);")
        page.goto(via.url + "/live/")
        page.wait_for_function(SSE_OPEN)
        tag = uuid.uuid4().hex[:6]
        before = [demo_message_post(actor=user, text=f"{tag} before {n}").id for n in range(2)]
        page.locator(".event-text", has_text=f"{tag} before 1").wait_for(timeout=5_000)

        page.context.set_offline(True)  # no new requests…
        proxy.blink()                   # …and the open stream is cut, as by a real outage
        away = [demo_message_post(actor=user, text=f"{tag} away {n}").id for n in range(4)]
        time.sleep(4)
        assert page.locator(".event-text", has_text=f"{tag} away").count() == 0
        proxy.restore()
        page.context.set_offline(False)
        page.locator(".event-text", has_text=f"{tag} away 3").wait_for(timeout=20_000)
        after = [demo_message_post(actor=user, text=f"{tag} after {n}").id for n in range(2)]
        page.locator(".event-text", has_text=f"{tag} after 1").wait_for(timeout=5_000)
        time.sleep(1.5)  # anything doubled would show up now
        screenshot(page, "fault-live-after-offline")
        texts = page.locator(".event-text").all_inner_texts()
        log = page.evaluate("() => window.__sse")
        opens = page.evaluate("() => window.__opens")
    finally:
        proxy.close()
    for kind, n in (("before", 2), ("away", 4), ("after", 2)):
        for i in range(n):
            assert texts.count(f"{tag} {kind} {i}") == 1, (kind, i, texts)
    delivered = [int(event_id) for event_id, _target in log if event_id]
    ours = before + away + after
    assert [i for i in delivered if i in ours] == ours, f"lost, doubled or reordered: {log}"
    assert opens >= 2, "the stream never reconnected: the cut did not happen"


@pytest.fixture(autouse=True)
def _fresh_pool_after_each_fault():
    """The storms above also terminate this process's own pooled connections; start each test
    with a new pool instead of waiting for the old one to find its dead connections."""
    yield
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        conn.close()
        if getattr(conn, "pool", None) is not None and hasattr(conn, "close_pool"):
            conn.close_pool()
