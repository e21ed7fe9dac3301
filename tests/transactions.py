"""A transaction held open on another thread, for tests of what waits for its locks."""

import contextlib
import threading

from django.db import connections, transaction


@contextlib.contextmanager
def held_open(work, *, commit_after: float = 0.3):
    """Run `work()` in a transaction on another thread and keep that transaction open: it
    commits `commit_after` seconds into the with block, so that statements in the block that
    need its locks wait for it. Yields what `work` returned."""
    started, release, result = threading.Event(), threading.Event(), []

    def run():
        try:
            with transaction.atomic():
                result.append(work())
                started.set()
                release.wait(10)
        finally:
            started.set()
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    assert started.wait(10) and result, "the transaction to hold open failed"
    timer = threading.Timer(commit_after, release.set)
    timer.start()
    try:
        yield result[0]
    finally:
        release.set()
        thread.join(10)
