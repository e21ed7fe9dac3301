"""The web server's entry point (uvicorn): the live event stream through Django's ASGI handler,
every other request through Django's WSGI handler on a fixed pool of threads.

The event stream is async: one open board or station is one coroutine, not one thread. Every
other view is synchronous, and Django's ASGI handler runs a synchronous view by hopping between
the event loop and a new thread several times per request (sync middleware, async handler,
sync view), which cost about 3 ms of CPU per request here, more than a simple view itself. A
fixed pool of threads running the WSGI handler (what gunicorn's threaded workers do) has none
of that (mes/wsgi_bridge.py). MES_WEB_THREADS sets the pool's size per worker process (4:
enough to keep the process busy while some requests wait on the database; with 16, requests
mostly waited on each other for the interpreter lock, and 16 clients reporting at once saw
fewer answers per second and a p99 about half again as long; BENCHMARKS.md),
MES_MAX_REQUEST_BYTES the largest request body accepted (16 MiB: imports are at most 5).
"""

import gc
import os

from django.core.asgi import get_asgi_application
from django.core.wsgi import get_wsgi_application

from mes.wsgi_bridge import ThreadedWSGI

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mes.settings")

django_asgi = get_asgi_application()
django_wsgi = ThreadedWSGI(get_wsgi_application(),
                           threads=int(os.environ.get("MES_WEB_THREADS", "4")),
                           max_body=int(os.environ.get("MES_MAX_REQUEST_BYTES", 16 * 2**20)))



def _freeze_heap() -> None:
    """Move what start-up made (modules, URL patterns, templates' code) out of the collector's
    reach: a full collection then walks what requests made, not the whole application (about
    190,000 objects, 80-90 ms with every thread of the process stopped; a tail-latency spike
    every few thousand requests)."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 (imports every view module now, not on a request)
    gc.collect()
    gc.freeze()


if os.environ.get("MES_GC_FREEZE", "1") != "0":
    _freeze_heap()

# Paths answered by async views (long-lived streams), wherever the site is mounted; everything
# else is synchronous.
ASYNC_PATHS = ("/events/stream",)


async def application(scope, receive, send):
    if scope["type"] == "http" and not scope["path"].rstrip("/").endswith(ASYNC_PATHS):
        await django_wsgi(scope, receive, send)
    else:
        # Stopping the server ends the open streams at once (else uvicorn waits out its grace
        # period and then cancels them, logging an error).
        from mes.stream import streams_end_on_stop_signals  # (needs the apps loaded)

        streams_end_on_stop_signals()
        await django_asgi(scope, receive, send)
