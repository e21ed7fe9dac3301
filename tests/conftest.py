import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest

# Playwright's sync API runs an event loop in the test thread; the ORM calls our tests make
# around it are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_configure(config):
    from django.conf import settings

    # Fast hashing for the many test users, here and in the servers the tests start.
    os.environ["MES_TEST_FAST_HASHER"] = "1"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Celery tasks run in-process, right away (tests that need a real worker start one).
    from mes.celery import app as celery_app

    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    # What a commit queues for Redis goes out at once, in the committing thread, as the tests
    # assert each commit's effects right after it (tests/test_redis_sender.py tests the
    # sender; the servers the tests start send as in production).
    settings.MES_REDIS_SEND_DELAY = 0
    # Tests assert English texts (test_i18n checks the Chinese catalog separately).
    settings.LANGUAGE_CODE = "en"
    # The test client speaks plain HTTP whichever database the suite runs on.
    settings.SECURE_SSL_REDIRECT = False
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture
def make_user(db):
    from tests.factories import UserFactory

    def make(*roles, **kwargs):
        return UserFactory(roles=list(roles), **kwargs)

    return make


@pytest.fixture
def client_as(client, make_user):
    """A test client logged in with the given roles: client_as('planner')."""

    def login(*roles, **kwargs):
        user = make_user(*roles, **kwargs)
        client.force_login(user)
        client.user = user
        return client

    return login


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url_for_tests() -> str:
    """A DATABASE_URL that points another process at the test database."""
    from django.db import connection

    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(s['NAME']).resolve()}"
    user = quote(s.get("USER") or "")
    password = f":{quote(s['PASSWORD'])}" if s.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"postgres://{auth}{s.get('HOST') or '127.0.0.1'}{port}/{s['NAME']}"


def subprocess_env(**extra) -> dict:
    env = dict(os.environ)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # the server runs with async safety on
    env["DATABASE_URL"] = database_url_for_tests()
    env.setdefault("MES_DB_POOL", "0")
    env.setdefault("MES_INSECURE_HTTP", "1")  # the test server speaks plain HTTP
    env.update(extra)
    return env


class Server:
    def __init__(self, url, proc):
        self.url = url
        self.proc = proc


@pytest.fixture(scope="module")
def asgi_server(django_db_setup, django_db_blocker):
    """The real ASGI app under uvicorn, in another process, on the test database."""
    yield from serve_asgi(django_db_blocker)


def serve_asgi(django_db_blocker):
    """Start the ASGI server, yield it, stop it. A module whose tests each write audited
    changes starts one per test (a function-scoped `asgi_server` of its own): the database is
    flushed between tests, and a server kept across them would still hold the content types'
    ids from before the flush."""
    with django_db_blocker.unblock():
        env = subprocess_env()
    port = _free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / f"server-{port}.log", "w")  # noqa: SIM115 - closed at teardown
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "uvicorn", "mes.asgi:application", "--host", "127.0.0.1",
         "--port", str(port), "--lifespan", "off", "--timeout-graceful-shutdown", "1"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    import urllib.request

    while True:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as r:  # noqa: S310
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log.close()
            raise RuntimeError("ASGI server did not start: see " + log.name)
        time.sleep(0.2)
    yield Server(url, proc)
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"chromium not found at {CHROMIUM}; .ci/run installs Debian's chromium")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    yield pg
    context.close()


def browser_login(page, server, username, password):
    page.goto(server.url + "/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(server.url + "/")


def screenshot(page, name: str) -> None:
    """Keep a screenshot as a CI artifact under artifacts/screenshots/."""
    folder = ARTIFACTS / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


@pytest.fixture(scope="session", autouse=True)
def _close_db_pools(django_db_setup, django_db_blocker):
    """Close psycopg pools before the test database is dropped (else: 'being accessed')."""
    yield
    from django.db import connections

    with django_db_blocker.unblock():
        for conn in connections.all(initialized_only=True):
            conn.close()
            if hasattr(conn, "close_pool"):
                conn.close_pool()


@pytest.fixture(autouse=True)
def _english_messages():
    """Requests leave their language active in this thread: start each test in English."""
    from django.utils import translation

    translation.activate("en")
    yield
    translation.activate("en")
