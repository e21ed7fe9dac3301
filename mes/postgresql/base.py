"""Django's PostgreSQL backend, pooled with a pool that recovers at once after a restart.

Django's own pool (ENGINE django.db.backends.postgresql, OPTIONS["pool"]) checks each
connection before handing it out (psycopg_pool's `check` callback, on when CONN_HEALTH_CHECKS),
but psycopg_pool waits 1, 2, 4, 8 … s after each connection that fails the check before trying
the next one. After a database restart every idle connection in the pool is dead, so with more
than three of them the first request waits out the pool timeout and fails. (Passing another
`check` in OPTIONS["pool"] is not possible: Django 5.2 passes `check=` itself.)

Here the pool checks the connection it hands out itself; when one is dead, it checks every
idle connection at once (ConnectionPool.check(): the dead ones are discarded and replaced) and
takes the next, without a pause. A database that is really down still ends in the pool
timeout (PoolTimeout, as before).

The Redis commands that one commit's hooks queue (mes.redis.redis_on_commit) go to the
process's Redis sender once the hooks have run (mes.redis.redis_send_soon).

A transaction's BEGIN goes to the server with its first statement, in one round trip (psycopg
sends BEGIN and waits for its answer before the first statement of a transaction): for
`transaction.atomic()`, psycopg's connection stays in autocommit mode, and the cursor sends
BEGIN ahead of the block's first statement, pipelined with it (see `_BeginsTransaction`). A
block that runs no statement sends nothing; COMMIT and ROLLBACK are sent as before, when the
server is in a transaction. (A server-side cursor, `.iterator()`, declared inside a block is
declared WITH HOLD, as Django declares one outside a transaction: it works the same, and the
project iterates that way nowhere.)

Timestamps with time zone are read by psycopg's own loader (its C one, with psycopg[binary]),
not Django's: Django's loader is written in Python and calls psycopg's Python one, about six
microseconds a value, a dozen values in a station report. Both give the same datetimes where
Django's timezone is UTC (USE_TZ, no TIME_ZONE in DATABASES: the connection's time zone is
then UTC, and psycopg reads it as datetime.timezone.utc, the object Django puts there); any
other set-up keeps Django's loader (see `_tz_adapters`).
"""

import datetime
import time
from functools import lru_cache

from django.core.exceptions import ImproperlyConfigured
from django.db.backends.base.base import NO_DB_ALIAS
from django.db.backends.postgresql import base
from django.db.backends.postgresql.psycopg_any import register_tzloader
from psycopg import IsolationLevel, adapt, postgres, pq
from psycopg import adapters as psycopg_adapters
from psycopg_pool import ConnectionPool, PoolTimeout


class RecoveringConnectionPool(ConnectionPool):
    # A connection that fails its check right after a sweep means the server is failing as we
    # speak: give up after this many, rather than loop.
    ATTEMPTS = 3

    def getconn(self, timeout: float | None = None):
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        for _attempt in range(self.ATTEMPTS):
            conn = super().getconn(max(deadline - time.monotonic(), 0.001))
            # A connection given back inside an atomic block that never ran a statement (closed
            # there) must not begin a transaction for its next user.
            conn.mes_begin_pending = False
            try:
                self.check_connection(conn)
            except Exception:
                self.putconn(conn)  # found broken: discarded, a new one is being made
                self.check()  # the others that died with it (a restart), in one pass
                continue
            return conn
        raise PoolTimeout(f"no working connection after {self.ATTEMPTS} attempts")


def _begin_statement(conn) -> str:
    """The BEGIN psycopg itself would send for this connection's settings."""
    parts = ["BEGIN"]
    if conn.isolation_level is not None:
        parts.append("ISOLATION LEVEL "
                     + IsolationLevel(conn.isolation_level).name.replace("_", " "))
    if conn.read_only is not None:
        parts.append("READ ONLY" if conn.read_only else "READ WRITE")
    if conn.deferrable is not None:
        parts.append("DEFERRABLE" if conn.deferrable else "NOT DEFERRABLE")
    return " ".join(parts)


def begin_pending(conn) -> bool:
    """Whether a transaction was asked for on this psycopg connection and not begun yet."""
    return getattr(conn, "mes_begin_pending", False)


def begin_now(conn) -> None:
    """Send the pending BEGIN, if any, on its own (before a statement that cannot be
    pipelined)."""
    if begin_pending(conn):
        conn.mes_begin_pending = False
        conn.execute(_begin_statement(conn), prepare=False)


class _BeginsTransaction:
    """Cursor methods: the connection's pending BEGIN goes with the first statement."""

    def execute(self, query, params=None, **kwargs):
        conn = self.connection
        if not begin_pending(conn):
            return super().execute(query, params, **kwargs)
        conn.mes_begin_pending = False
        with conn.pipeline():
            conn.execute(_begin_statement(conn), prepare=False)
            super().execute(query, params, **kwargs)
        return self

    def executemany(self, query, params_seq, **kwargs):
        begin_now(self.connection)
        return super().executemany(query, params_seq, **kwargs)

    def copy(self, statement, params=None, **kwargs):
        begin_now(self.connection)
        return super().copy(statement, params, **kwargs)

    def stream(self, query, params=None, **kwargs):
        begin_now(self.connection)
        return super().stream(query, params, **kwargs)


TIMESTAMPTZ_OID = postgres.types["timestamptz"].oid
# psycopg's loader for timestamptz text (its C implementation when psycopg[binary] is in).
PSYCOPG_TZ_LOADER = psycopg_adapters.get_loader(TIMESTAMPTZ_OID, pq.Format.TEXT)


@lru_cache(maxsize=8)
def _tz_adapters(template: adapt.AdaptersMap) -> adapt.AdaptersMap:
    """Django's adapters for the connection (`template`), timestamptz read by psycopg's own
    loader: for a UTC connection only (DatabaseWrapper.get_connection_params)."""
    adapters = adapt.AdaptersMap(template)
    adapters.register_loader("timestamptz", PSYCOPG_TZ_LOADER)
    return adapters


class ServerBindingCursor(_BeginsTransaction, base.ServerBindingCursor):
    pass


class Cursor(_BeginsTransaction, base.Cursor):
    pass


class DatabaseWrapper(base.DatabaseWrapper):
    # While the commit hooks run: the Redis commands they queue (mes.redis.redis_on_commit),
    # sent together once they have all run.
    redis_batch: list | None = None

    def get_connection_params(self):
        params = super().get_connection_params()
        params["cursor_factory"] = (ServerBindingCursor
                                    if params["cursor_factory"] is base.ServerBindingCursor
                                    else Cursor)
        if params.get("context") is not None and self._utc():
            params["context"] = _tz_adapters(params["context"])
        return params

    def _utc(self) -> bool:
        """Whether this connection's time zone is UTC, read as datetime.timezone.utc (Django
        sets the connection's TimeZone to its `timezone_name`)."""
        return self.timezone is datetime.UTC and self.timezone_name == "UTC"

    def _start_transaction_under_autocommit(self):
        """Django's hook for starting a transaction with the driver in autocommit mode (what
        atomic() asks for): BEGIN is sent with the first statement (_BeginsTransaction)."""
        self.connection.mes_begin_pending = True

    def _set_autocommit(self, autocommit):
        self.connection.mes_begin_pending = False  # (a block that ran no statement)
        super()._set_autocommit(autocommit)

    def create_cursor(self, name=None):
        if name:
            begin_now(self.connection)  # a server-side cursor is declared in the transaction
        adapters = self.connection.adapters
        if adapters.get_loader(TIMESTAMPTZ_OID, pq.Format.TEXT) is not PSYCOPG_TZ_LOADER:
            return super().create_cursor(name)
        if not name and self._utc():
            return self.connection.cursor()  # (what Django does, but for its loader's check)
        # A named cursor, or the time zone changed since the connection was made: Django's
        # loader, as Django expects it, for this cursor (a cursor copies its connection's
        # adapters when it is made).
        register_tzloader(self.timezone, self.connection)
        try:
            return super().create_cursor(name)
        finally:
            adapters.register_loader("timestamptz", PSYCOPG_TZ_LOADER)

    def run_and_clear_commit_hooks(self):
        from mes.redis import redis_send_soon

        outer = self.redis_batch is None
        if outer:
            self.redis_batch = []
        try:
            super().run_and_clear_commit_hooks()
        finally:
            if outer:
                batch, self.redis_batch = self.redis_batch, None
                redis_send_soon(batch)

    @property
    def pool(self):
        options = self.settings_dict["OPTIONS"].get("pool")
        if self.alias != NO_DB_ALIAS and options and self.alias not in self._connection_pools:
            if self.settings_dict.get("CONN_MAX_AGE", 0) != 0:
                raise ImproperlyConfigured("Pooling doesn't support persistent connections.")
            kwargs = self.get_connection_params()
            kwargs["autocommit"] = True  # as Django's pool: Django sets it per connection
            pool = RecoveringConnectionPool(
                kwargs=kwargs, open=False, configure=self._configure_connection,
                check=None,  # getconn() above checks, without psycopg_pool's back-off
                **({} if options is True else options))
            # As Django: threads racing here build a pool each, the first one set wins.
            self._connection_pools.setdefault(self.alias, pool)
        return super().pool
