"""Scan report POST under 16 concurrent clients, served as in production (uvicorn workers on
PostgreSQL), beside a bare Django view that inserts one row, measured in the same run.

The 16 clients are wrk's (Debian package `wrk`: 16 keep-alive connections, each sending its
next request as soon as the last is answered), so the load generator costs next to no CPU on
the 2 cores the server and PostgreSQL share; without wrk, 16 Python threads do the same at a
higher CPU cost. The CPU each request cost the web workers and PostgreSQL is read from /proc.
"""

import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from decimal import Decimal
from pathlib import Path

from tests.benchmarks.django_bench import BENCH_DB, median, setup_django

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = 16
SECONDS = float(os.environ.get("BENCH_REPORT_SECONDS", "6"))  # per run
ROUNDS = int(os.environ.get("BENCH_REPORT_ROUNDS", "4"))  # each: a bare run and a report run
WEB_WORKERS = os.environ.get("BENCH_WEB_WORKERS", "2")
PASSWORD = "bench-pass-123"
PACED_PERIOD = 1.0  # seconds between two reports of one station in the paced run
PACED_SECONDS = 12.0
BENCH_REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    """One keep-alive HTTP connection with a logged-in session."""

    def __init__(self, port, username):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookies = {}
        self.login(username)

    def _cookie_header(self):
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def request(self, method, path, body=None, headers=None):
        headers = dict(headers or {})
        headers["Cookie"] = self._cookie_header()
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.conn.request(method, path, body=body, headers=headers)
            resp = self.conn.getresponse()
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            # The server closed an idle keep-alive connection (between phases): reconnect
            # once, as a browser does. Submissions carry tokens, so a resend is safe.
            self.conn.close()
            self.conn.request(method, path, body=body, headers=headers)
            resp = self.conn.getresponse()
        data = resp.read()
        for name, value in resp.getheaders():
            if name.lower() == "set-cookie":
                key, val = value.split(";", 1)[0].split("=", 1)
                self.cookies[key] = val
        return resp.status, data

    def login(self, username):
        _status, page = self.request("GET", "/accounts/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        body = urllib.parse.urlencode({"csrfmiddlewaretoken": token.decode(),
                                       "username": username, "password": PASSWORD})
        status, _ = self.request("POST", "/accounts/login/", body,
                                 {"Referer": f"http://127.0.0.1:{self.port}/accounts/login/"})
        assert status == 302, f"login failed for {username}: {status}"

    def post(self, path, fields):
        body = urllib.parse.urlencode(fields)
        return self.request("POST", path, body, {
            "X-CSRFToken": self.cookies["csrftoken"], "HX-Request": "true",
            "Referer": f"http://127.0.0.1:{self.port}/"})


def _load(port, users, make_request) -> tuple[list[float], int, float]:
    clients = [Client(port, u) for u in users]
    latencies, errors = [], [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + SECONDS
    barrier = threading.Barrier(len(clients))

    def run(i, client):
        mine = []
        barrier.wait()
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                status, body = make_request(i, client)
            except (OSError, http.client.HTTPException) as exc:  # counted, never hidden
                status, body = 0, repr(exc).encode()
                client.conn.close()
            mine.append(time.perf_counter() - started)
            if status != 200:
                with lock:
                    errors[0] += 1
                    if errors[0] < 3:
                        print("  error", status, body[:300])
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors[0], time.monotonic() - started


def _paced(port, users, make_request, period: float) -> tuple[list[float], int]:
    """Each client submits once every `period` seconds (staggered), as stations do, rather
    than as fast as the server answers: the latency an operator sees at that rate."""
    clients = [Client(port, u) for u in users]
    latencies, errors = [], [0]
    lock = threading.Lock()
    start = time.monotonic() + 0.5
    stop_at = start + PACED_SECONDS

    def run(i, client):
        mine, due = [], start + period * i / len(clients)
        while due < stop_at:
            time.sleep(max(0.0, due - time.monotonic()))
            t0 = time.perf_counter()
            try:
                status, _body = make_request(i, client)
            except (OSError, http.client.HTTPException):
                status = 0
                client.conn.close()
            mine.append(time.perf_counter() - t0)
            if status != 200:
                with lock:
                    errors[0] += 1
            due += period
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors[0]


# --- wrk: the 16 clients -----------------------------------------------------------------------
WRK_SCRIPT = """
targets = {%(targets)s}
local nthreads = 0
function setup(thread) thread:set("tid", nthreads); nthreads = nthreads + 1 end
function init(args)
  prefix = string.format("%%s-%%d", "%(run)s", tid)
  counter = tid
  mode = "%(mode)s"
end
function request()
  counter = counter + 1
  local t = targets[(counter %% #targets) + 1]
  local headers = {["Cookie"] = t[1], ["X-CSRFToken"] = t[2], ["HX-Request"] = "true",
                   ["Content-Type"] = "application/x-www-form-urlencoded"}
  if mode == "bare" then return wrk.format("POST", "/bench/insert/", headers, "") end
  local body = "task=" .. t[4] .. "&good=1&scrap=0&client_token=" .. prefix .. "-" .. counter
  return wrk.format("POST", t[3], headers, body)
end
"""


def _cpu_seconds(server_pid: int) -> dict[str, float]:
    """CPU seconds used so far by the web server (its process and its workers) and by
    PostgreSQL's processes."""
    tick = os.sysconf("SC_CLK_TCK")
    procs = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        procs[int(proc.name)] = (int(fields[1]), name, (int(fields[11]) + int(fields[12])) / tick)
    used = {"web": 0.0, "postgres": 0.0}
    for pid, (_ppid, name, cpu) in procs.items():
        ancestor = pid
        while ancestor in procs and ancestor != server_pid:
            ancestor = procs[ancestor][0]
        if ancestor == server_pid:
            used["web"] += cpu
        elif name == "postgres":
            used["postgres"] += cpu
    return used


def _connections_per_worker(port: int, server_pid: int) -> list[int]:
    """How many open connections to `port` each web worker holds (the 16 keep-alive clients
    are spread over the workers by whichever accepts first, and stay where they landed)."""
    established = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                established.add(fields[9])  # the socket's inode
    workers = []  # uvicorn's worker processes (not multiprocessing's resource tracker)
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if (int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1]) == server_pid
                    and b"spawn_main" in (proc / "cmdline").read_bytes()):
                workers.append(proc)
        except OSError:
            continue
    counts = []
    for proc in workers or [Path(f"/proc/{server_pid}")]:  # one worker: the server itself
        try:
            links = [os.readlink(fd) for fd in (proc / "fd").iterdir()]
        except OSError:
            continue
        counts.append(sum(1 for link in links
                          if link.startswith("socket:[") and link[8:-1] in established))
    return counts


def _wrk(port, server_pid, clients, mode, tmp: Path) -> dict:
    """One wrk run: requests/s, latency percentiles, errors, CPU per request."""
    targets = ", ".join(
        f'{{"{c._cookie_header()}", "{c.cookies["csrftoken"]}", "{url}", {task_id:d}}}'
        for c, (url, task_id) in clients)
    script = tmp / f"{mode}.lua"
    script.write_text(WRK_SCRIPT % {"targets": targets, "mode": mode, "run": uuid.uuid4().hex})
    before = _cpu_seconds(server_pid)
    split = []
    sampler = threading.Timer(min(1.0, SECONDS / 2),
                              lambda: split.extend(_connections_per_worker(port, server_pid)))
    sampler.start()
    out = subprocess.run(  # noqa: S603
        ["wrk", "-t2", f"-c{CLIENTS}", f"-d{SECONDS:.0f}s", "--latency", "--timeout", "10s",
         "-s", str(script), f"http://127.0.0.1:{port}"],
        capture_output=True, text=True, check=True).stdout
    sampler.join()
    after = _cpu_seconds(server_pid)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    pct = {m.group(1): _ms(m.group(2), m.group(3))
           for m in re.finditer(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)}
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    errors += sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    used = {k: after[k] - before[k] for k in after}
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50": pct["50"], "p99": pct["99"], "errors": errors, "requests": requests,
            "split": "/".join(str(n) for n in sorted(split, reverse=True)) or "?",
            "cpu_web_ms": 1000 * used["web"] / max(1, requests),
            "cpu_db_ms": 1000 * used["postgres"] / max(1, requests)}


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def _p(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def run() -> list[dict]:
    setup_django()
    from django.contrib.auth.models import Group

    from mes.models import User
    from mes.roles import sync_role_groups
    from planning.services.orders import (
        production_order_create,
        production_order_explode,
        production_order_release,
    )
    from tests.benchmarks.synthetic import tree_product, work_centers

    sync_role_groups()
    operator_group = Group.objects.get(name="operator")
    planner = User.objects.create(username="bench-planner")
    wcs = work_centers(4, prefix="RWC")
    top, _ = tree_product("RP", 1, 1, 0, 0, 1, wcs)
    users, tasks = [], []
    for i in range(CLIENTS):
        user = User(username=f"bench-op{i}", badge_code=f"BOP{i}")
        user.set_password(PASSWORD)
        user.save()
        user.groups.add(operator_group)
        users.append(user.username)
        from django.utils import timezone

        order = production_order_create(actor=planner, item=top,
                                        quantity=Decimal("1000000"),
                                        due=timezone.now() + timezone.timedelta(days=9),
                                        number=f"RB-{i}")
        production_order_explode(actor=planner, order=order)
        production_order_release(actor=planner, order=order)
        tasks.append(order.work_orders.get().tasks.get())
    port = _free_port()
    # As in production: PostgreSQL and Redis (event wake-ups, the Celery broker).
    env = dict(os.environ, DATABASE_URL=BENCH_DB, REDIS_URL=BENCH_REDIS, MES_INSECURE_HTTP="1",
               MES_BENCH_VIEWS="1", LOG_LEVEL="WARNING", MES_DB_POOL_SIZE="20")
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "uvicorn", "mes.asgi:application", "--host", "127.0.0.1",
         "--port", str(port), "--workers", WEB_WORKERS, "--lifespan", "off",
         "--no-access-log", "--log-level", "warning"], cwd=ROOT, env=env)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        time.sleep(1.0)

        # Everything the client threads send is computed here: they never touch the database.
        targets = [(f"/execution/stations/{t.work_center.code}/report/", t.pk) for t in tasks]

        def report(i, client):
            url, task_id = targets[i]
            return client.post(url, {"task": task_id, "good": "1", "scrap": "0",
                                     "client_token": uuid.uuid4().hex})

        def bare(i, client):
            return client.post("/bench/insert/", {})

        # warm up both paths (connections, caches)
        _load(port, users[:4], report)
        with_wrk = shutil.which("wrk") is not None
        # Bare and report runs alternate, in rounds, the order swapped every round: the
        # machine's speed drifts (other tenants' load), and a drift between two long runs
        # would show as a difference between the two views.
        results = {"bare": [], "report": []}
        for round_ in range(ROUNDS):
            for mode in (("bare", "report") if round_ % 2 == 0 else ("report", "bare")):
                if with_wrk:
                    clients = [(Client(port, u), targets[i]) for i, u in enumerate(users)]
                    for client, _target in clients:
                        client.conn.close()  # wrk sends their cookies on its own connections
                    with tempfile.TemporaryDirectory() as tmp:
                        r = _wrk(port, server.pid, clients, mode, Path(tmp))
                else:
                    lat, errs, wall = _load(port, users, report if mode == "report" else bare)
                    r = {"rps": len(lat) / wall, "p50": _p(lat, .5) * 1000,
                         "p99": _p(lat, .99) * 1000, "errors": errs, "requests": len(lat)}
                results[mode].append(r)
                cpu = (f", CPU per request: web {r['cpu_web_ms']:.1f} ms, PostgreSQL "
                       f"{r['cpu_db_ms']:.1f} ms, connections per worker {r['split']}"
                       if "cpu_web_ms" in r else "")
                print(f"  round {round_ + 1} {mode}: {r['rps']:.0f} req/s, p50 {r['p50']:.1f} ms, "
                      f"p99 {r['p99']:.1f} ms, errors {r['errors']}{cpu}")
        paced_lat, paced_errs = _paced(port, users, report, PACED_PERIOD)
        print(f"  paced: {len(paced_lat)} reports, p50 {_p(paced_lat, .5) * 1000:.1f} ms, "
              f"p99 {_p(paced_lat, .99) * 1000:.1f} ms, errors {paced_errs}")
    finally:
        server.terminate()
        server.wait(10)
        import redis

        redis.Redis.from_url(BENCH_REDIS).flushdb()  # the alert evaluations nobody ran
    runs, bare_runs = results["report"], results["bare"]
    rep_rps = median([r["rps"] for r in runs])
    bare_rps = median([r["rps"] for r in bare_runs])
    p99 = max(r["p99"] for r in runs)  # the worst round
    errors = sum(r["errors"] for r in runs)
    # Each round's report runs against that round's bare run (next to it in time).
    ratio = median([r["rps"] / b["rps"] for r, b in zip(runs, bare_runs, strict=True)])
    from execution.models import WorkReport

    recorded = WorkReport.objects.count()
    clients = (f"wrk, {CLIENTS} keep-alive connections" if with_wrk
               else f"{CLIENTS} Python client threads on the same cores")
    cpu_note = ""
    if with_wrk:
        cpu = {k: (median([r["cpu_web_ms"] for r in v]), median([r["cpu_db_ms"] for r in v]))
               for k, v in (("report", runs), ("bare", bare_runs))}
        cpu_note = (f"; CPU per request (web workers + PostgreSQL): report "
                    f"{cpu['report'][0]:.1f} + {cpu['report'][1]:.1f} ms, bare "
                    f"{cpu['bare'][0]:.1f} + {cpu['bare'][1]:.1f} ms; p50 report "
                    f"{median([r['p50'] for r in runs]):.0f} ms; per report round, p99 and "
                    f"the 16 connections per worker: "
                    + ", ".join(f"{r['p99']:.0f} ms ({r['split']})" for r in runs))
    return [{
        "benchmark": f"Scan report POST, {CLIENTS} concurrent clients (uvicorn, "
                     f"{WEB_WORKERS} workers, PostgreSQL)",
        "figure": f"p99 {p99:.0f} ms, {rep_rps:.0f} req/s = {ratio:.0%} of the bare insert "
                  f"view (median of {ROUNDS} rounds); {errors} errors",
        "bar": "p99 ≤ 50 ms and ≥ 50 % of the bare view's req/s",
        "baseline": f"bare one-row-insert Django view, same run: {bare_rps:.0f} req/s, "
                    f"p99 {max(r['p99'] for r in bare_runs):.0f} ms",
        "meets": p99 <= 50 and ratio >= 0.5 and errors == 0,
        "notes": f"{clients}; {recorded} reports recorded (report runs plus warm-up)"
                 f"{cpu_note}",
    }, {
        "benchmark": f"Scan report POST, {CLIENTS} stations each reporting once a second "
                     f"(paced, same server)",
        "figure": f"p99 {_p(paced_lat, .99) * 1000:.0f} ms, p50 {_p(paced_lat, .5) * 1000:.0f} "
                  f"ms over {len(paced_lat)} reports; {paced_errs} errors",
        "bar": "(reference: the latency an operator sees at a busy plant's rate)",
        "baseline": "",
        "meets": paced_errs == 0,
        "notes": "the saturated run above is the bar; this one shows the latency below "
                 "saturation",
    }]


if __name__ == "__main__":
    for row in run():
        print(row)
