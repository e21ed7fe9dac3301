"""`manage.py serve` (what `make run` starts): a background process that dies is started again,
a few times; the web server keeps serving meanwhile."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from mes.management.commands.serve import RESTART_WINDOW, RESTARTS, restart_allowed
from tests.conftest import ROOT

pytestmark = pytest.mark.embedded


def test_restart_policy():
    restarts: dict[str, list[float]] = {}
    assert not restart_allowed("web", restarts, 0.0)
    assert not restart_allowed("demo", restarts, 0.0)
    assert [restart_allowed("worker", restarts, float(t)) for t in range(RESTARTS + 1)] == [
        True] * RESTARTS + [False]
    assert restart_allowed("beat", restarts, 0.0)  # counted per process
    assert restart_allowed("worker", restarts, RESTART_WINDOW + 1)  # the old ones have aged


def _children(pid: int) -> dict[int, str]:
    """pid -> command line of every process descended from `pid`."""
    found, frontier = {}, [pid]
    while frontier:
        parent = frontier.pop()
        out = subprocess.run(["ps", "-o", "pid=,args=", "--ppid", str(parent)],  # noqa: S607
                             capture_output=True, text=True).stdout
        for line in out.splitlines():
            child, args = line.strip().split(" ", 1)
            found[int(child)] = args
            frontier.append(int(child))
    return found


def _worker(pid: int) -> int | None:
    """The Celery worker's main process (the one `serve` started)."""
    for child, args in _children(pid).items():
        if "celery" in args and " worker" in args and _parent(child) == pid:
            return child
    return None


def _parent(pid: int) -> int:
    return int(subprocess.run(["ps", "-o", "ppid=", "-p", str(pid)],  # noqa: S607
                              capture_output=True, text=True).stdout.strip() or 0)


def _wait(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_killed_worker_is_started_again_and_the_web_keeps_serving(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(MES_VAR_DIR=str(tmp_path), CELERY_CONCURRENCY="1")
    log = (tmp_path / "serve.log").open("w")
    serve = subprocess.Popen([sys.executable, "manage.py", "serve", "--no-demo",  # noqa: S603
                              "--port", str(port)], cwd=ROOT, env=env, stdout=log,
                             stderr=subprocess.STDOUT, start_new_session=True)
    health = f"http://127.0.0.1:{port}/healthz"

    def healthy():
        try:
            return urllib.request.urlopen(health, timeout=2).status == 200  # noqa: S310
        except OSError:
            return False

    try:
        _wait(healthy, 90, "the web server")
        first = _wait(lambda: _worker(serve.pid), 60, "the worker")
        os.kill(first, signal.SIGKILL)
        second = _wait(lambda: (w := _worker(serve.pid)) not in (None, first) and w, 60,
                       "the worker started again")
        assert second != first and serve.poll() is None and healthy()
        assert "worker exited with -9; starting it again (1 of 3" in (
            tmp_path / "serve.log").read_text()
    finally:
        os.killpg(serve.pid, signal.SIGINT)
        try:
            serve.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait()
        log.close()
