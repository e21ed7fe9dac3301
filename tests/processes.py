"""Processes and HTTP for the fault tests and the soak: a private redis-server, a web server
or Celery worker in a child process, a signed-in HTTP session, an SSE reader, a TCP proxy
whose network can be cut. Importable before Django is set up (the soak needs that)."""

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HttpSession:
    """A logged-in browser stand-in (session cookie + CSRF token) for a server process."""

    def __init__(self, base_url: str, user, timeout: float = 10.0, keep_alive: bool = False):
        self.base = base_url
        self.timeout = timeout
        self.keep_alive = keep_alive  # one connection reused, as a browser does (one thread)
        self._conn = None
        from django.test import Client

        client = Client()
        client.force_login(user)
        self.session = client.cookies["sessionid"].value
        self.csrf = uuid.uuid4().hex  # any 32-character token, sent as cookie and header

    def headers(self, **extra) -> dict:
        return {"Cookie": f"sessionid={self.session}; csrftoken={self.csrf}",
                "X-CSRFToken": self.csrf, "Referer": self.base + "/", **extra}

    def request(self, method: str, path: str, data: dict | None = None, **headers):
        """(status, body text); a refused or failed connection is status 0."""
        body = urllib.parse.urlencode(data or {}).encode() if method == "POST" else None
        hdrs = self.headers(**headers)
        if body is not None:
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        if self.keep_alive:
            return self._kept(method, path, body, hdrs)
        req = urllib.request.Request(self.base + path, data=body,  # noqa: S310
                                     headers=hdrs, method=method)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:  # noqa: S310
                return r.status, r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode("utf-8", "replace")
        except (OSError, http.client.HTTPException):
            return 0, ""

    def _kept(self, method, path, body, hdrs):
        # A kept connection the server closed meanwhile: send again on a new one (a station
        # does the same; its submission token makes a repeated report count once).
        for attempt in range(2):
            if self._conn is None:
                parsed = urllib.parse.urlparse(self.base)
                self._conn = http.client.HTTPConnection(parsed.hostname, parsed.port,
                                                        timeout=self.timeout)
            try:
                self._conn.request(method, path, body=body, headers=hdrs)
                response = self._conn.getresponse()
                return response.status, response.read().decode("utf-8", "replace")
            except (OSError, http.client.HTTPException):
                self._conn.close()
                self._conn = None
                if attempt:
                    return 0, ""
        return 0, ""

    def post(self, path, data=None, **headers):
        return self.request("POST", path, data, **headers)

    def get(self, path, **headers):
        return self.request("GET", path, **headers)


class SseReader:
    """Reads one SSE response on a raw socket: (id, kind, data) per event, in order."""

    def __init__(self, base_url: str, session: HttpSession, topics: str,
                 last_event_id: int | None = None):
        parsed = urllib.parse.urlparse(base_url)
        self.sock = socket.create_connection((parsed.hostname, parsed.port), timeout=0.2)
        headers = {"Host": f"{parsed.hostname}:{parsed.port}", "Accept": "text/event-stream",
                   "Cookie": f"sessionid={session.session}"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        path = "/events/stream?topics=" + urllib.parse.quote(topics)
        self.sock.sendall(f"GET {path} HTTP/1.1\r\n{head}\r\n".encode())
        self.buffer = b""
        self.connected = False
        self.headers_done = False
        self.closed = False
        self.status = None

    def _read(self) -> bool:
        try:
            chunk = self.sock.recv(65536)
        except TimeoutError:
            return False
        except OSError:
            self.closed = True
            return False
        if not chunk:
            self.closed = True
            return False
        self.buffer += chunk
        return True

    def events(self, timeout: float) -> list[tuple[int, str, dict]]:
        """Whatever complete events arrive within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        out = []
        while time.monotonic() < deadline and not self.closed:
            self._read()
            if not self.headers_done and b"\r\n\r\n" in self.buffer:
                head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
                self.status = int(head.split(b" ")[1])
                self.headers_done = True
            if self.headers_done:
                out += self._parse()
        return out

    def _parse(self):
        # Chunked transfer encoding: strip the chunk-size lines, keep the payload.
        out = []
        text = _dechunk(self)
        while "\n\n" in text:
            block, text = text.split("\n\n", 1)
            fields = {}
            if ": connected" in block.split("\n"):
                self.connected = True  # the stream is subscribed: what follows is ours
            for line in block.split("\n"):
                if line and not line.startswith(":") and ":" in line:
                    k, v = line.split(":", 1)
                    fields[k] = v.strip()
            if "id" in fields:
                out.append((int(fields["id"]), fields.get("event", ""),
                            json.loads(fields.get("data", "{}"))))
        self.text_rest = text
        return out

    def wait_connected(self, timeout: float = 15.0) -> list:
        """Read until the server says the stream is subscribed; the events read meanwhile."""
        out, deadline = [], time.monotonic() + timeout
        while not self.connected:
            if time.monotonic() > deadline or self.closed:
                raise AssertionError(f"the event stream did not connect (HTTP {self.status})")
            out += self.events(0.2)
        return out

    def close(self):
        with contextlib.suppress(OSError):
            self.sock.close()


def _dechunk(reader: SseReader) -> str:
    """Move the complete chunks of reader.buffer into reader's decoded text."""
    text = getattr(reader, "text_rest", "")
    data = reader.buffer
    while True:
        end = data.find(b"\r\n")
        if end < 0:
            break
        size = int(data[:end].split(b";")[0] or b"0", 16)
        if len(data) < end + 2 + size + 2:
            break
        text += data[end + 2:end + 2 + size].decode("utf-8")
        data = data[end + 2 + size + 2:]
    reader.buffer = data
    return text


# --- processes: a private Redis, a web server, a Celery worker --------------------------------
class RedisServer:
    """A redis-server of the test's own on a free port: stopping it harms nobody else."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = None

    def start(self) -> "RedisServer":
        self.proc = subprocess.Popen(  # noqa: S603
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port),
             "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: _port_open(self.port), 10, "redis-server did not start")
        return self

    def kill(self) -> None:
        """As a crash: SIGKILL, no shutdown."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        self.kill()


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def wait_for(predicate, timeout: float, message: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(interval)


class Process:
    """A child process with its log under artifacts/, stopped at the end."""

    def __init__(self, args, env, name: str):
        ARTIFACTS.mkdir(exist_ok=True)
        self.log_path = ARTIFACTS / f"{name}.log"
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=self.log,  # noqa: S603
                                     stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the process group: the process and any children it forked."""
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.log.close()

    def output(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text(errors="replace")


def start_web(env: dict, *, workers: int = 1, name: str = "fault-web",
              grace: int = 1) -> tuple[Process, str]:
    """uvicorn on the test database (like conftest's asgi_server), with `env` on top; `grace`:
    the seconds it waits for open requests when stopped."""
    port = free_port()
    proc = Process([sys.executable, "-m", "uvicorn", "mes.asgi:application", "--host",
                    "127.0.0.1", "--port", str(port), "--lifespan", "off", "--workers",
                    str(workers), "--timeout-graceful-shutdown", str(grace)], env,
                   f"{name}-{port}")
    url = f"http://127.0.0.1:{port}"

    def healthy():
        if not proc.alive():
            raise AssertionError("web server exited: see " + str(proc.log_path))
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as r:  # noqa: S310
                return r.status == 200
        except OSError:
            return False

    wait_for(healthy, 30, "web server did not start: see " + str(proc.log_path), 0.2)
    return proc, url


def start_worker(env: dict, *, name: str = "fault-worker") -> Process:
    """`celery -A mes worker --pool solo` (one task at a time, in the worker process)."""
    return Process([sys.executable, "-m", "celery", "-A", "mes", "worker", "--pool", "solo",
                    "--loglevel", "INFO", "--without-gossip", "--without-mingle",
                    "--without-heartbeat", "-n", f"{name}-{uuid.uuid4().hex[:6]}@%h"], env,
                   f"{name}-{uuid.uuid4().hex[:6]}")


def rss_kib(pid: int) -> int:
    """Resident memory of a process and its children (uvicorn --workers forks), in KiB."""
    total = 0
    for p in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def _children(pid: int) -> list[int]:
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    out = [int(k) for k in kids]
    for k in list(out):
        out += _children(k)
    return out


class TcpProxy:
    """127.0.0.1:<port> → a server, with a switch to cut the network: blink() drops every open
    connection and refuses new ones until restore(). (Chromium's offline emulation blocks new
    requests but leaves an open event stream alone; a real network loss cuts it.)"""

    def __init__(self, upstream_port: int):
        self.upstream = upstream_port
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.down = False
        self.open: set[socket.socket] = set()
        self.lock = threading.Lock()
        self.running = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while self.running:
            try:
                client, _addr = self.listener.accept()
            except OSError:
                return
            if self.down:
                client.close()
                continue
            try:
                server = socket.create_connection(("127.0.0.1", self.upstream), timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self.lock:
                self.open |= {client, server}
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
            with self.lock:
                self.open -= {src, dst}

    def blink(self):
        self.down = True
        with self.lock:
            sockets = list(self.open)
        for s in sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def restore(self):
        self.down = False

    def close(self):
        self.running = False
        self.blink()
        self.listener.close()
