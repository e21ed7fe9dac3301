"""Soak: the demo factory at high speed plus concurrent scan-report clients, for a while.

    .venv/bin/python tests/soak_run.py --seconds 600              # the full soak (default)
    .venv/bin/python tests/soak_run.py --seconds 90 --clients 8   # a short run
    .venv/bin/python tests/soak_run.py --database-url postgres://postgres@127.0.0.1:5432/mes_soak

Starts its own processes on a database of its own (created fresh; its name must contain
"soak"): uvicorn (--web-workers), a Celery worker with beat, the simulator (manage.py simulate),
a private redis-server when one is available; then N clients report at stations of their own
(good 1 per report, a retry of the same submission now and then, a scan, a dispatch-list read)
and one client follows their stations' live stream. At the end it checks:

- no 5xx and no failed connection, over the whole run;
- no report lost or doubled: every report answered 200 is in the database once, retries
  included, and each task's good quantity equals its reports;
- the live stream delivered every event of those stations once, in order;
- the server's memory is flat: RSS sampled every 10 s (first, after 30 s of warm-up, last,
  max); more than 10 % growth after warm-up fails the run;

and prints a summary with the figures for BENCHMARKS.md. Not collected by pytest.
"""

import argparse
import os
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=int, default=600)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--web-workers", type=int, default=2)
    p.add_argument("--speed", type=float, default=60.0, help="simulator speed (× real time)")
    p.add_argument("--database-url", default=os.environ.get(
        "SOAK_DATABASE_URL", f"sqlite:///{ROOT / 'var' / 'soak.sqlite3'}"))
    p.add_argument("--redis", default="private",
                   help="'private' (start a redis-server), 'none', or a redis:// URL")
    p.add_argument("--keep", action="store_true", help="keep the database afterwards")
    p.add_argument("--write-benchmarks", action="store_true",
                   help="put the summary in BENCHMARKS.md (its Soak section)")
    return p.parse_args()


SOAK_HEADING = "## Soak (tests/soak_run.py)"


def soak_section_write(summary: list[str], args) -> None:
    """Replace BENCHMARKS.md's soak section (make bench keeps it when it rewrites the rest)."""
    import datetime

    path = ROOT / "BENCHMARKS.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    text = text.split(SOAK_HEADING)[0].rstrip() + "\n\n"
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M")
    db = urlparse(args.database_url).scheme
    text += (f"{SOAK_HEADING}\n\nRun on {when} UTC: `tests/soak_run.py --seconds {args.seconds} "
             f"--clients {args.clients}` on {db}, the simulator at ×{args.speed:g} beside "
             f"{args.clients} scan clients.\n\n```\n" + "\n".join(summary) + "\n```\n")
    path.write_text(text)


def _fresh_database(url: str) -> None:
    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    if "soak" not in Path(name).name:
        sys.exit(f"refusing to reset {name!r}: the soak database's name must contain 'soak'")
    if parsed.scheme.startswith("sqlite"):
        for suffix in ("", "-wal", "-shm"):
            Path(parsed.path + suffix).unlink(missing_ok=True)
        return
    import psycopg

    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _run(cmd, env):
    import subprocess

    subprocess.run(cmd, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)  # noqa: S603


def percentile(values, q):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


class Client(threading.Thread):
    """One station: reports good 1 per submission; every 10th submission is sent twice (a
    retry after a lost answer), every 7th loop scans the task, every 5th reads the list."""

    def __init__(self, session, wc_code, task, traveler, stop):
        super().__init__(daemon=True)
        self.session, self.wc, self.task, self.traveler = session, wc_code, task, traveler
        self.stop_event = stop
        self.ok_tokens: set[str] = set()
        self.latencies: list[float] = []
        self.codes: dict[int, int] = {}
        self.errors: list[str] = []

    def _post(self, path, data):
        started = time.perf_counter()
        code, body = self.session.post(path, data, **{"HX-Request": "true"})
        took = time.perf_counter() - started
        self.codes[code] = self.codes.get(code, 0) + 1
        if code >= 500 or code == 0:
            self.errors.append(f"{code} {path}: {body[:200]}")
        return code, took

    def run(self):
        n = 0
        base = f"/execution/stations/{self.wc}"
        while not self.stop_event.is_set():
            n += 1
            token = uuid.uuid4().hex
            data = {"task": self.task, "good": "1", "client_token": token}
            code, took = self._post(base + "/report/", data)
            if code == 200:
                self.ok_tokens.add(token)
                self.latencies.append(took)
            if n % 10 == 0:  # the answer was lost: the station sends the same submission again
                self._post(base + "/report/", data)
            if n % 7 == 0:
                self._post(base + "/scan/", {"code": self.traveler})
            if n % 5 == 0:
                code, _body = self.session.get(base + "/dispatch/")
                self.codes[code] = self.codes.get(code, 0) + 1
                if code >= 500 or code == 0:
                    self.errors.append(f"{code} GET dispatch")


def main() -> int:
    args = _args()
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("MES_INSECURE_HTTP", "1")
    os.environ["MES_TEST_FAST_HASHER"] = "1"
    os.environ.pop("REDIS_URL", None)
    redis = None
    if args.redis == "private":
        import shutil

        if shutil.which("redis-server"):
            from tests.processes import RedisServer

            redis = RedisServer().start()
            os.environ["REDIS_URL"] = redis.url
    elif args.redis != "none":
        os.environ["REDIS_URL"] = args.redis
    _fresh_database(args.database_url)
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="mes.settings")
    py = sys.executable
    print(f"soak: {args.seconds} s, {args.clients} clients, {args.web_workers} web workers, "
          f"simulator ×{args.speed:g}, database {urlparse(args.database_url).scheme}, "
          f"redis {os.environ.get('REDIS_URL', 'none')}")
    t0 = time.monotonic()
    _run([py, "manage.py", "migrate", "--noinput"], env)
    _run([py, "manage.py", "demo_load", "--days", "0"], env)
    print(f"database ready in {time.monotonic() - t0:.0f} s")

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mes.settings")
    import django

    django.setup()
    from decimal import Decimal

    from django.db.models import Count, Sum
    from django.utils import timezone

    from execution.models import WorkReport
    from mes.models import Event, User
    from planning.models import Line, Task, WorkCenter
    from planning.services.orders import (
        production_order_create,
        production_order_explode,
        production_order_release,
    )
    from planning.travelers import payload_for_task
    from tests.factories import UserFactory
    from tests.factories_planning_ui import routed_item
    from tests.processes import (
        HttpSession,
        Process,
        SseReader,
        free_port,
        rss_kib,
        wait_for,
    )

    # Stations of the soak's own: no operators assigned (the simulator leaves them alone).
    planner = User.objects.get(username="planner")
    line = Line.objects.order_by("pk").first()
    stations = []
    for i in range(args.clients):
        wc = WorkCenter.objects.create(code=f"SOAK{i:02d}", name=f"压测工位{i}", line=line)
        item = routed_item(work_center=wc, code=f"SOAK-ITEM-{i}")
        order = production_order_create(actor=planner, item=item, quantity=Decimal(10**9),
                                        due=timezone.now() + timezone.timedelta(days=30))
        production_order_explode(actor=planner, order=order)
        production_order_release(actor=planner, order=order)
        task = Task.objects.filter(work_order__production_order=order).order_by("seq").first()
        operator = UserFactory(roles=["operator"], username=f"soak_op{i}",
                               badge_code=f"SOAK-B{i}")
        stations.append((wc, task, operator))

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    procs = {
        "web": Process([py, "-m", "uvicorn", "mes.asgi:application", "--host", "127.0.0.1",
                        "--port", str(port), "--workers", str(args.web_workers),
                        "--lifespan", "off", "--no-access-log",
                        "--timeout-graceful-shutdown", "3"], env, f"soak-web-{port}"),
        "worker": Process([py, "-m", "celery", "-A", "mes", "worker", "-B", "--pool", "solo",
                           "-l", "warning", "-s", str(ROOT / "var" / f"soak-beat-{port}"),
                           "-n", f"soak-{port}@%h"], env, f"soak-worker-{port}"),
        "simulator": Process([py, "manage.py", "simulate", "--speed", str(args.speed),
                              "--tick", "1"], env, f"soak-sim-{port}"),
    }
    stop = threading.Event()
    clients, rss, failures = [], {"web": [], "simulator": []}, []
    try:
        import urllib.request

        def healthy():
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=2) as r:  # noqa: S310
                    return r.status == 200
            except OSError:
                return False

        wait_for(healthy, 60, "the web server did not start", 0.3)
        sessions = [HttpSession(url, op, timeout=30, keep_alive=True)
                    for _wc, _t, op in stations]
        topics = ",".join(f"wc:{wc.pk}" for wc, _t, _o in stations)
        start_event = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
        reader = SseReader(url, sessions[0], topics)
        stream: list = reader.wait_connected()
        clients = [Client(s, wc.code, task.pk, payload_for_task(task), stop)
                   for s, (wc, task, _op) in zip(sessions, stations, strict=True)]
        started = time.monotonic()
        for c in clients:
            c.start()
        next_sample = started
        while time.monotonic() - started < args.seconds:
            if time.monotonic() >= next_sample:
                rss["web"].append(rss_kib(procs["web"].pid))
                rss["simulator"].append(rss_kib(procs["simulator"].pid))
                next_sample += 10
                done = sum(len(c.ok_tokens) for c in clients)
                print(f"  {time.monotonic() - started:5.0f} s: {done} reports, web RSS "
                      f"{rss['web'][-1] / 1024:.0f} MiB", flush=True)
            for name, p in procs.items():
                if not p.alive():
                    failures.append(f"{name} exited: see {p.log_path}")
            if failures:
                break
            stream += reader.events(0.5)
        stop.set()
        for c in clients:
            c.join(60)
        elapsed = time.monotonic() - started
        # Let the stream catch up with the last reports, then compare with the outbox.
        wanted = set(Event.objects.filter(topic__in=topics.split(","), id__gt=start_event)
                     .values_list("id", flat=True))
        deadline = time.monotonic() + 20
        while not wanted <= {i for i, _k, _d in stream} and time.monotonic() < deadline:
            stream += reader.events(0.5)
        stream += reader.events(1.0)
        reader.close()
    finally:
        stop.set()
        for p in procs.values():
            p.stop()
        if redis is not None:
            redis.stop()

    # --- checks ---------------------------------------------------------------------------
    ok_tokens = set().union(*(c.ok_tokens for c in clients)) if clients else set()
    stored = dict(WorkReport.objects.filter(client_token__in=ok_tokens)
                  .values("client_token").annotate(n=Count("id"))
                  .values_list("client_token", "n"))
    lost = len(ok_tokens - set(stored))
    doubled = sum(1 for n in stored.values() if n > 1)
    quantity_mismatch = []
    for _wc, task, _op in stations:
        task.refresh_from_db()
        total = WorkReport.objects.filter(task=task).aggregate(s=Sum("good"))["s"] or 0
        if task.qty_good != total:
            quantity_mismatch.append(task.pk)
    ids = [i for i, _k, _d in stream]
    stream_lost = len(wanted - set(ids))
    stream_doubled = len(ids) - len(set(ids))
    codes: dict[int, int] = {}
    for c in clients:
        for code, n in c.codes.items():
            codes[code] = codes.get(code, 0) + n
    errors = [e for c in clients for e in c.errors]
    latencies = [t * 1000 for c in clients for t in c.latencies]
    requests = sum(codes.values())
    web = [kib / 1024 for kib in rss["web"]]
    sim_counters = [line for line in procs["simulator"].output().splitlines()
                    if "simulator stopped" in line]

    summary: list[str] = []

    def say(*parts) -> None:
        line = " ".join(str(p) for p in parts)
        summary.append(line)
        print(line)

    print("\n=== soak summary ===")
    say(f"duration                 {elapsed:.0f} s, {len(clients)} clients, "
          f"{args.web_workers} web workers, simulator ×{args.speed:g}")
    say(f"requests                 {requests} ({requests / elapsed:.1f}/s); answers {codes}")
    say(f"reports answered 200     {len(ok_tokens)} ({len(ok_tokens) / elapsed:.1f}/s)")
    say(f"report latency (ms)      p50 {percentile(latencies, 50):.0f} · "
          f"p95 {percentile(latencies, 95):.0f} · p99 {percentile(latencies, 99):.0f} · "
          f"max {max(latencies, default=0):.0f}"
          + (f" · mean {statistics.mean(latencies):.0f}" if latencies else ""))
    say(f"5xx / failed connections {sum(n for c, n in codes.items() if c >= 500 or c == 0)}")
    say(f"reports lost / doubled   {lost} / {doubled}; task quantity mismatches "
          f"{len(quantity_mismatch)}")
    say(f"live stream              {len(set(ids))} of {len(wanted)} events; lost "
          f"{stream_lost}, doubled {stream_doubled}")
    warm = web[min(3, len(web) - 1)] if web else 0  # after 30 s: imports and caches loaded
    if web:
        say(f"web RSS (MiB)            first {web[0]:.0f} · after 30 s {warm:.0f} · last "
              f"{web[-1]:.0f} · max {max(web):.0f} ({len(web)} samples, every 10 s; all "
              f"{args.web_workers} workers and the master)")
    if rss["simulator"]:
        sim = [kib / 1024 for kib in rss["simulator"]]
        say(f"simulator RSS (MiB)      first {sim[0]:.0f} · last {sim[-1]:.0f} · "
              f"max {max(sim):.0f}")
    for line_ in sim_counters:
        say(f"simulator                {line_.strip()}")
    missing = Event.objects.filter(id__in=wanted - set(ids)).order_by("id")
    for e in missing[:10]:
        say(f"ERROR event {e.id} {e.topic} {e.kind} ({e.created_at:%H:%M:%S.%f}) never came")
    for f in failures + errors[:10]:
        say("ERROR", f)
    # Flat: after warm-up, no more than 10 % (and 30 MiB) growth over the run.
    grew = bool(web) and web[-1] > warm * 1.10 and web[-1] - warm > 30
    passed = not (failures or errors or lost or doubled or quantity_mismatch or stream_lost
                  or stream_doubled or grew)
    say("result                   " + ("PASS" if passed else "FAIL"))
    if args.write_benchmarks:
        soak_section_write(summary, args)
    if not args.keep and urlparse(args.database_url).scheme.startswith("sqlite"):
        Path(urlparse(args.database_url).path).unlink(missing_ok=True)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
