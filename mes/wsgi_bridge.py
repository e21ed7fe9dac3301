"""Serve a WSGI application from an ASGI server on a fixed pool of threads.

Django's ASGI handler runs a synchronous view by hopping between the event loop and a new
thread several times per request; here each request costs two hops: the body is read in the
event loop, the WSGI application runs on one of a fixed set of threads (so each keeps its
database connection), and the answer goes back in one message when it is small.

A request whose body did not arrive whole (the client went away, or sent less than its
Content-Length) never reaches the application: a cut-off form must not be recorded as if it
had been sent. A body over `max_body` bytes is refused with 413 without being read.
"""

import asyncio
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

SPOOL_BYTES = 1024 * 1024  # bodies above this wait on disk, not in memory
FLUSH_BYTES = 64 * 1024  # a streamed answer is passed on in pieces of about this size


class ClientGone(Exception):
    """The client disconnected before its request body was complete."""


class ThreadedWSGI:
    def __init__(self, app, *, threads: int, max_body: int):
        self.app = app
        self.max_body = max_body
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="web")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"ThreadedWSGI serves HTTP only, not {scope['type']!r}")
        length = _content_length(scope)
        if length is not None and length > self.max_body:
            await _plain(send, 413, b"Request body too large.\n")
            return
        try:
            body = await self._read_body(receive, length)
        except ClientGone:
            return
        if body is None:
            await _plain(send, 413, b"Request body too large.\n")
            return
        loop = asyncio.get_running_loop()
        environ = _environ(scope, body)
        await loop.run_in_executor(self.executor, self._run, environ, loop, send)

    async def _read_body(self, receive, length):
        body = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                body.close()
                raise ClientGone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                body.close()
                return None
            body.write(chunk)
            if not message.get("more_body", False):
                break
        if length is not None and size != length:
            body.close()
            raise ClientGone
        body.seek(0)
        return body

    def _run(self, environ, loop, send) -> None:
        """On a pool thread: call the application and pass its answer to the event loop."""
        response = Response(loop, send)
        try:
            try:
                result = self.app(environ, response.start)
            except Exception:  # failed before answering (Django itself answers 500 instead)
                environ["wsgi.errors"].write("WSGI application raised before answering\n")
                response.fail()
                raise
            try:
                for chunk in result:
                    response.write(chunk)
                response.finish()
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()  # Django's request_finished: the thread's connection is released
        finally:
            environ["wsgi.input"].close()


class Response:
    """The answer of one request, as ASGI messages sent from a pool thread."""

    def __init__(self, loop, send):
        self.loop = loop
        self.send = send
        self.status = None
        self.headers = None
        self.started = False
        self.pending: list[bytes] = []
        self.pending_size = 0

    def start(self, status: str, headers, exc_info=None):
        if exc_info is not None and self.started:
            raise exc_info[1].with_traceback(exc_info[2])
        self.status = int(status.split(" ", 1)[0])
        self.headers = [(name.lower().encode("latin-1"), value.encode("latin-1"))
                        for name, value in headers]
        return self.write

    def write(self, chunk: bytes) -> None:
        if chunk:
            self.pending.append(chunk)
            self.pending_size += len(chunk)
        if self.pending_size >= FLUSH_BYTES:
            self._flush(more=True)

    def finish(self) -> None:
        self._flush(more=False)

    def fail(self) -> None:
        if not self.started:
            self.status, self.headers = 500, [(b"content-type", b"text/plain")]
            self.pending, self.pending_size = [b"Internal server error.\n"], 0
            self._flush(more=False)

    def _flush(self, *, more: bool) -> None:
        if self.status is None:
            raise RuntimeError("the WSGI application wrote before start_response")
        messages = []
        if not self.started:
            messages.append({"type": "http.response.start", "status": self.status,
                             "headers": self.headers})
            self.started = True
        messages.append({"type": "http.response.body", "body": b"".join(self.pending),
                         "more_body": more})
        self.pending, self.pending_size = [], 0
        asyncio.run_coroutine_threadsafe(_send_all(self.send, messages), self.loop).result()


async def _send_all(send, messages) -> None:
    for message in messages:
        await send(message)


async def _plain(send, status: int, text: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(text)).encode())]})
    await send({"type": "http.response.body", "body": text})


def _content_length(scope):
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _environ(scope, body) -> dict:
    root = scope.get("root_path", "")
    path = scope["path"]
    if root and path.startswith(root):
        path = path[len(root):]
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client") or ("", 0)
    environ = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": root.encode("utf-8").decode("latin-1"),
        "PATH_INFO": path.encode("utf-8").decode("latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1]) if server[1] is not None else "80",
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "REMOTE_ADDR": client[0],
        "REMOTE_PORT": str(client[1]),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": body,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for raw_name, raw_value in scope.get("headers", ()):
        if b"_" in raw_name:  # X_Forwarded_For would pass for X-Forwarded-For: dropped, as
            continue          # Django's own server does
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        key = name if name in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{name}"
        if key in environ:  # a repeated header: one value, as HTTP/1.1 folds them
            value = environ[key] + ("; " if key == "HTTP_COOKIE" else ",") + value
        environ[key] = value
    return environ
