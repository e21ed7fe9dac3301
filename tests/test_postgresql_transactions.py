"""mes.postgresql: a transaction's BEGIN goes to the server with its first statement, in one
round trip, and the transaction is still a transaction: what it writes is invisible to others
until COMMIT, gone after ROLLBACK, and row locks hold until it ends."""

import re
import threading

import psycopg
import pytest
from django.db import IntegrityError, connection, transaction

from mes.models import Event

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'"),
]


def _other_connection():
    """A connection of its own (not Django's), to look from outside the transaction."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return psycopg.connect(**params, autocommit=True)


def _round_trips(fn, tmp_path) -> list[str]:
    """What the client waited for while `fn` ran, from libpq's trace of the connection: each
    simple query ("Query <sql>") and each Sync (the end of extended-protocol statements sent
    together, joined by "+") is one round trip. Statements by their first word."""
    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    path = tmp_path / "trace.txt"
    with path.open("w") as trace:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            fn()
        finally:
            pgconn.untrace()
    with connection.cursor() as cursor:  # statements prepared before the trace began
        cursor.execute("SELECT name, statement FROM pg_prepared_statements")
        statements = dict(cursor.fetchall())
    waits, pending, current = [], [], ""
    for line in path.read_text().splitlines():
        direction, _length, kind, *rest = line.split("\t")
        fields = re.findall(r'"((?:[^"]|"")*)"', rest[0]) if rest else []
        if direction != "F":
            continue
        if kind == "Query":
            waits.append(fields[0].split()[0])
        elif kind == "Parse":
            statements[fields[0]] = fields[1]
        elif kind == "Bind":
            current = statements[fields[1]]
        elif kind == "Execute":
            pending.append(current.split()[0])
        elif kind == "Sync":
            waits.append("+".join(pending))
            pending = []
    return waits


def test_begin_goes_with_the_first_statement(tmp_path):
    def work():
        with transaction.atomic():
            Event.objects.create(topic="t", kind="first")
            Event.objects.create(topic="t", kind="second")

    # BEGIN and the first INSERT in one round trip, the second INSERT, COMMIT.
    assert _round_trips(work, tmp_path) == ["BEGIN+INSERT", "INSERT", "COMMIT"]
    assert list(Event.objects.values_list("kind", flat=True)) == ["first", "second"]

    # A block that runs no statement sends nothing at all.
    assert _round_trips(lambda: transaction.atomic(lambda: None)(), tmp_path) == []


def test_what_a_transaction_writes_is_its_own_until_commit_and_gone_after_rollback():
    with _other_connection() as other:
        def seen():
            return other.execute("SELECT count(*) FROM mes_event WHERE topic = 'iso'"
                                 ).fetchone()[0]

        with transaction.atomic():
            Event.objects.create(topic="iso", kind="k")
            assert Event.objects.filter(topic="iso").count() == 1
            assert seen() == 0  # not committed yet
        assert seen() == 1

        with pytest.raises(RuntimeError), transaction.atomic():
            Event.objects.create(topic="iso", kind="undone")
            raise RuntimeError("roll back")
        assert seen() == 1 and Event.objects.filter(topic="iso").count() == 1


def test_a_failing_first_statement_rolls_back_and_the_connection_goes_on():
    first = Event.objects.create(topic="dup", kind="k")
    with pytest.raises(IntegrityError), transaction.atomic():
        Event.objects.create(pk=first.pk, topic="dup", kind="again")  # the first statement
    with transaction.atomic():
        Event.objects.create(topic="dup", kind="after")
    assert Event.objects.filter(topic="dup").count() == 2


def test_a_row_lock_taken_first_holds_until_the_transaction_ends():
    event = Event.objects.create(topic="lock", kind="k")
    locked, released = threading.Event(), threading.Event()
    waited = {}

    def other_writer():
        with _other_connection() as other:
            other.execute("SET lock_timeout = '5s'")
            locked.wait(5)
            # Waits for the lock held by the transaction below.
            other.execute("UPDATE mes_event SET kind = 'other' WHERE id = %s", [event.pk])
            waited["before release"] = not released.is_set()

    thread = threading.Thread(target=other_writer)
    thread.start()
    with transaction.atomic():
        Event.objects.select_for_update().get(pk=event.pk)  # BEGIN goes with this
        locked.set()
        thread.join(0.5)
        assert thread.is_alive()  # still waiting on the lock
        Event.objects.filter(pk=event.pk).update(kind="mine")
        released.set()
    thread.join(5)
    assert waited == {"before release": False}
    event.refresh_from_db()
    assert event.kind == "other"  # it wrote after our commit


def test_a_server_side_cursor_inside_a_transaction():
    Event.objects.bulk_create([Event(topic="it", kind=str(i)) for i in range(5)])
    with transaction.atomic():
        kinds = [e.kind for e in Event.objects.filter(topic="it").order_by("pk")
                 .iterator(chunk_size=2)]
    assert kinds == ["0", "1", "2", "3", "4"]


def test_a_connection_closed_inside_a_block_begins_nothing_for_its_next_user():
    """A connection given back to the pool while its block's BEGIN was still pending (closed
    before any statement) starts its next user in autocommit mode, as Django expects."""
    with pytest.raises(RuntimeError), transaction.atomic():
        connection.close()  # Django: the block can only roll back now
        raise RuntimeError("leave the block")
    Event.objects.create(topic="after-close", kind="k")  # autocommit: visible at once
    with _other_connection() as other:
        assert other.execute("SELECT count(*) FROM mes_event WHERE topic = 'after-close'"
                             ).fetchone()[0] == 1


def test_timestamps_read_by_psycopgs_loader_are_what_djangos_would_give():
    """Timestamps with time zone are read by psycopg's own loader (C with psycopg[binary])
    instead of Django's, which is Python: the same aware datetimes, in datetime.UTC, through
    the ORM, hand-written SQL and a server-side cursor (Django checks its loader there); with
    USE_TZ off, Django's loader again (naive datetimes)."""
    import datetime
    from zoneinfo import ZoneInfo

    from django.test import override_settings

    from mes.postgresql.base import PSYCOPG_TZ_LOADER, TIMESTAMPTZ_OID
    from mes.sql import fetch_one

    when = datetime.datetime(2026, 1, 2, 11, 4, 5, 123456, tzinfo=ZoneInfo("Asia/Shanghai"))
    event = Event.objects.create(topic="t", kind="k")
    Event.objects.filter(pk=event.pk).update(created_at=when)
    connection.ensure_connection()
    loader = connection.connection.adapters.get_loader(TIMESTAMPTZ_OID, psycopg.pq.Format.TEXT)
    assert loader is PSYCOPG_TZ_LOADER
    table = connection.ops.quote_name(Event._meta.db_table)
    read = [Event.objects.get(pk=event.pk).created_at,
            fetch_one(f'SELECT "created_at" FROM {table} WHERE "id" = %s',  # noqa: S608
                      [event.pk])[0],
            *(e.created_at for e in Event.objects.filter(pk=event.pk).iterator(chunk_size=1))]
    with transaction.atomic():  # (a server-side cursor inside a transaction, too)
        read += [e.created_at for e in Event.objects.filter(pk=event.pk).iterator(chunk_size=1)]
    assert read == [when] * 4
    assert all(value.tzinfo is datetime.UTC for value in read)
    with override_settings(USE_TZ=False):
        naive = Event.objects.get(pk=event.pk).created_at
    # (naive, in the project's TIME_ZONE: Django's loader chops what the connection gives)
    assert naive == datetime.datetime(2026, 1, 2, 11, 4, 5, 123456) and naive.tzinfo is None
    assert Event.objects.get(pk=event.pk).created_at.tzinfo is datetime.UTC
