"""mes/wsgi_bridge.py: a WSGI application served from an ASGI server on a pool of threads.

Each test drives the bridge as uvicorn would (a scope, a `receive` that hands out prepared
messages, a `send` that records what goes out) around a tiny WSGI application written here.
"""

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from mes.wsgi_bridge import FLUSH_BYTES, SPOOL_BYTES, ThreadedWSGI

KIB = 1024


def run_loop(coro):
    """asyncio.run on a thread of its own: the suite's browser tests may leave an event loop
    running on the main thread, where asyncio.run refuses to start."""
    with ThreadPoolExecutor(max_workers=1) as runner:
        return runner.submit(asyncio.run, coro).result()


class Exchange:
    """One request through the bridge: the messages it was given and what it sent back."""

    def __init__(self, messages):
        self.messages = list(messages)
        self.received = 0  # how many times the bridge awaited receive()
        self.sent = []

    async def receive(self):
        self.received += 1
        return self.messages.pop(0)

    async def send(self, message):
        self.sent.append(message)

    def body(self) -> bytes:
        return b"".join(m["body"] for m in self.sent if m["type"] == "http.response.body")


@pytest.fixture
def bridge():
    """bridge(app, max_body=...) -> a ThreadedWSGI with two threads, shut down after the test."""
    made = []

    def make(app, *, max_body=16 * 2**20, threads=2):
        server = ThreadedWSGI(app, threads=threads, max_body=max_body)
        made.append(server)
        return server

    yield make
    for server in made:
        server.executor.shutdown(wait=True)


def run(server, scope, messages) -> Exchange:
    exchange = Exchange(messages)
    run_loop(server(scope, exchange.receive, exchange.send))
    return exchange


def http_scope(method="GET", path="/", headers=(), **extra):
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": method, "scheme": "http", "path": path, "root_path": "",
             "query_string": b"", "headers": list(headers),
             "server": ("testserver", 80), "client": ("127.0.0.1", 40000)}
    scope.update(extra)
    return scope


def request(body=b"", more_body=False):
    return {"type": "http.request", "body": body, "more_body": more_body}


def echo_app(calls):
    """Answers 200 with the whole request body, and notes each call's body and environ."""

    def app(environ, start_response):
        data = environ["wsgi.input"].read()
        calls.append({"environ": dict(environ), "body": data})
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return [data]

    return app


# --- the request as the application sees it, and the answer as the server gets it ----------

def test_get_builds_the_wsgi_environ_and_answers_in_two_messages(bridge):
    seen = {}

    def app(environ, start_response):
        seen.update(environ)
        start_response("201 Created", [("Content-Type", "text/plain; charset=utf-8"),
                                       ("X-Answer", "Forty-Two")])
        return [b"hello ", b"world"]

    scope = http_scope(
        "GET", "/mes/站/x", root_path="/mes", query_string=b"q=%E7%AB%99&page=2",
        scheme="https", server=("mes.example.org", 8443), client=("192.0.2.7", 51000),
        headers=[(b"host", b"mes.example.org:8443"), (b"accept-language", b"zh-hans"),
                 (b"content-type", b"text/plain"), (b"content-length", b"0"),
                 (b"cookie", b"sessionid=abc"), (b"cookie", b"csrftoken=def"),
                 (b"x_forwarded_for", b"203.0.113.66"), (b"x-forwarded-for", b"198.51.100.1")])
    exchange = run(bridge(app), scope, [request()])

    assert seen["REQUEST_METHOD"] == "GET"
    # WSGI strings are latin-1 decodings of the raw bytes: 站 arrives as its three UTF-8 bytes.
    assert seen["PATH_INFO"] == "/站/x".encode().decode("latin-1") == "/ç«\x99/x"
    assert seen["SCRIPT_NAME"] == "/mes"
    assert seen["QUERY_STRING"] == "q=%E7%AB%99&page=2"
    assert (seen["SERVER_NAME"], seen["SERVER_PORT"]) == ("mes.example.org", "8443")
    assert seen["REMOTE_ADDR"] == "192.0.2.7"
    assert seen["wsgi.url_scheme"] == "https"
    assert seen["HTTP_HOST"] == "mes.example.org:8443"
    assert seen["HTTP_ACCEPT_LANGUAGE"] == "zh-hans"
    assert (seen["CONTENT_TYPE"], seen["CONTENT_LENGTH"]) == ("text/plain", "0")
    assert "HTTP_CONTENT_TYPE" not in seen and "HTTP_CONTENT_LENGTH" not in seen
    assert seen["HTTP_COOKIE"] == "sessionid=abc; csrftoken=def"
    # x_forwarded_for would pass for X-Forwarded-For once upper-cased: it is dropped whole.
    assert seen["HTTP_X_FORWARDED_FOR"] == "198.51.100.1"
    assert not any("203.0.113.66" in str(value) for value in seen.values())

    assert exchange.sent == [
        {"type": "http.response.start", "status": 201,
         "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                     (b"x-answer", b"Forty-Two")]},
        {"type": "http.response.body", "body": b"hello world", "more_body": False},
    ]


def test_post_body_in_three_chunks_reaches_the_app_whole(bridge):
    calls = []
    chunks = [b"quantity=5&", b"scrap=1&", b"note=%E7%AB%99"]
    whole = b"".join(chunks)
    scope = http_scope("POST", "/report/", headers=[
        (b"content-type", b"application/x-www-form-urlencoded"),
        (b"content-length", str(len(whole)).encode())])
    exchange = run(bridge(echo_app(calls)), scope, [
        request(chunks[0], more_body=True), request(chunks[1], more_body=True),
        request(chunks[2], more_body=False)])

    assert exchange.received == 3
    assert [call["body"] for call in calls] == [whole]
    assert exchange.sent[0]["status"] == 200
    assert exchange.body() == whole


# --- a body that did not arrive whole never reaches the application ---------------------------

@pytest.mark.parametrize("headers", [[(b"content-length", b"100")], []],
                         ids=["with-content-length", "without-content-length"])
def test_client_gone_mid_body_never_calls_the_app(bridge, headers):
    calls = []
    exchange = run(bridge(echo_app(calls)), http_scope("POST", "/report/", headers=headers), [
        request(b"quantity=5&scr", more_body=True), {"type": "http.disconnect"}])

    assert exchange.received == 2
    assert calls == []
    assert exchange.sent == []


def test_body_shorter_than_its_content_length_never_calls_the_app(bridge):
    calls = []
    scope = http_scope("POST", "/report/", headers=[(b"content-length", b"20")])
    exchange = run(bridge(echo_app(calls)), scope, [request(b"quantity=5", more_body=False)])

    assert exchange.received == 1
    assert calls == []
    assert exchange.sent == []


def test_content_length_over_max_body_is_refused_unread(bridge):
    calls = []
    scope = http_scope("POST", "/import/", headers=[(b"content-length", b"1001")])
    exchange = run(bridge(echo_app(calls), max_body=1000), scope, [request(b"x" * 1001)])

    assert exchange.received == 0
    assert calls == []
    assert exchange.sent[0]["type"] == "http.response.start"
    assert exchange.sent[0]["status"] == 413
    assert exchange.body() == b"Request body too large.\n"


def test_body_growing_over_max_body_without_content_length_is_refused(bridge):
    calls = []
    exchange = run(bridge(echo_app(calls), max_body=1000), http_scope("POST", "/import/"), [
        request(b"x" * 600, more_body=True), request(b"x" * 600, more_body=True),
        request(b"x" * 600, more_body=False)])

    assert exchange.received == 2  # refused as soon as the limit is passed
    assert calls == []
    assert exchange.sent[0]["status"] == 413
    assert exchange.body() == b"Request body too large.\n"


def test_body_of_exactly_max_body_is_accepted(bridge):
    calls = []
    scope = http_scope("POST", "/import/", headers=[(b"content-length", b"1000")])
    exchange = run(bridge(echo_app(calls), max_body=1000), scope, [
        request(b"x" * 600, more_body=True), request(b"y" * 400)])

    assert [call["body"] for call in calls] == [b"x" * 600 + b"y" * 400]
    assert exchange.sent[0]["status"] == 200


# --- streamed answers and the application's close() -----------------------------------------

class Answer:
    """A WSGI answer iterable that counts its close() calls and may fail part-way."""

    def __init__(self, chunks, fail_after=None):
        self.chunks = chunks
        self.fail_after = fail_after
        self.closed = 0

    def __iter__(self):
        for index, chunk in enumerate(self.chunks):
            if index == self.fail_after:
                raise RuntimeError("the answer broke part-way")
            yield chunk

    def close(self):
        self.closed += 1


def test_streamed_answer_is_batched_and_closed_once(bridge):
    chunks = [bytes([index % 251]) * KIB for index in range(200)] + [b"z" * (100 * KIB)]
    answer = Answer(chunks)

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/csv")])
        return answer

    exchange = run(bridge(app), http_scope("GET", "/export.csv"), [request()])

    assert exchange.sent[0] == {"type": "http.response.start", "status": 200,
                                "headers": [(b"content-type", b"text/csv")]}
    bodies = exchange.sent[1:]
    assert all(message["type"] == "http.response.body" for message in bodies)
    assert exchange.body() == b"".join(chunks)
    assert [message["more_body"] for message in bodies] == [True] * (len(bodies) - 1) + [False]
    # 201 pieces go out in a handful of messages of about FLUSH_BYTES, not one each, nor all
    # held back until the end.
    assert 1 < len(bodies) < 10
    assert all(len(message["body"]) >= FLUSH_BYTES for message in bodies[:-1])
    assert answer.closed == 1


def test_close_is_called_when_the_answer_fails_part_way(bridge):
    answer = Answer([b"a" * KIB, b"b" * KIB, b"c" * KIB], fail_after=2)
    inputs = []

    def app(environ, start_response):
        inputs.append(environ["wsgi.input"])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return answer

    with pytest.raises(RuntimeError, match="broke part-way"):
        run(bridge(app), http_scope(), [request()])
    assert answer.closed == 1
    assert inputs[0].closed


def test_app_failing_before_start_response_gets_a_500(bridge):
    def app(environ, start_response):
        raise LookupError("no such work order")

    exchange = Exchange([request()])
    with pytest.raises(LookupError, match="no such work order"):
        run_loop(bridge(app)(http_scope(), exchange.receive, exchange.send))
    assert exchange.sent == [
        {"type": "http.response.start", "status": 500,
         "headers": [(b"content-type", b"text/plain")]},
        {"type": "http.response.body", "body": b"Internal server error.\n", "more_body": False},
    ]


# --- the request body file --------------------------------------------------------------------

def test_body_file_is_closed_after_the_request(bridge):
    seen = {}

    def app(environ, start_response):
        seen["input"] = environ["wsgi.input"]
        seen["closed_during"] = environ["wsgi.input"].closed
        seen["body"] = environ["wsgi.input"].read()
        start_response("204 No Content", [])
        return []

    scope = http_scope("POST", "/report/", headers=[(b"content-length", b"4")])
    exchange = run(bridge(app), scope, [request(b"done")])

    assert seen["body"] == b"done"
    assert seen["closed_during"] is False
    assert seen["input"].closed is True
    assert exchange.sent[0]["status"] == 204


def test_body_over_a_mebibyte_spools_to_disk_and_arrives_intact(bridge):
    chunk_size = 64 * KIB
    chunks = [bytes((index * 7 + offset) % 256 for offset in range(256)) * (chunk_size // 256)
              for index in range(20)]
    whole = b"".join(chunks)
    assert len(whole) > SPOOL_BYTES
    seen = {}

    def app(environ, start_response):
        body = environ["wsgi.input"]
        seen["rolled"] = body._rolled  # SpooledTemporaryFile: True once it moved to disk
        seen["body"] = body.read()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [str(len(seen["body"])).encode()]

    scope = http_scope("POST", "/imports/", headers=[
        (b"content-length", str(len(whole)).encode())])
    messages = [request(chunk, more_body=True) for chunk in chunks[:-1]] + [request(chunks[-1])]
    exchange = run(bridge(app), scope, messages)

    assert seen["rolled"] is True
    assert seen["body"] == whole
    assert exchange.body() == str(len(whole)).encode()


@pytest.mark.parametrize("kind", ["websocket", "lifespan"])
def test_scope_other_than_http_is_refused(bridge, kind):
    calls = []
    exchange = Exchange([])
    with pytest.raises(ValueError, match=kind):
        run_loop(bridge(echo_app(calls))({"type": kind}, exchange.receive, exchange.send))
    assert calls == [] and exchange.sent == []


# --- through Django's own WSGI handler -------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_django_login_page_through_the_bridge(bridge):
    from django.core.wsgi import get_wsgi_application
    from django.db import connections

    server = bridge(get_wsgi_application(), threads=1)
    scope = http_scope("GET", "/accounts/login/", headers=[(b"host", b"testserver"),
                                                           (b"accept", b"text/html")])
    try:
        exchange = run(server, scope, [request()])
    finally:
        # The pool thread's database connection goes, so the test database can be dropped.
        server.executor.submit(connections.close_all).result()

    start = exchange.sent[0]
    assert start["type"] == "http.response.start"
    assert start["status"] == 200
    assert dict(start["headers"])[b"content-type"].startswith(b"text/html")
    assert exchange.sent[-1]["more_body"] is False
    assert b"csrfmiddlewaretoken" in exchange.body()


def test_the_server_process_freezes_its_start_up_heap():
    """mes.asgi moves what start-up made out of the collector's reach (gc.freeze), views and
    URL patterns included, so a full collection walks only what requests made; MES_GC_FREEZE=0
    turns that off."""
    import os
    import subprocess
    import sys

    code = ("import gc, sys, mes.asgi; "
            "print(gc.get_freeze_count(), 'execution.views.actions' in sys.modules)")
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="mes.settings")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, cwd=os.path.dirname(os.path.dirname(__file__))).stdout
    frozen, views_loaded = out.split()
    assert int(frozen) > 50_000 and views_loaded == "True"
    env["MES_GC_FREEZE"] = "0"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, cwd=os.path.dirname(os.path.dirname(__file__))).stdout
    assert out.split()[0] == "0"
