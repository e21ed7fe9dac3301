"""Database sessions, read with one hand-written SELECT (see mes/sql.py): every request reads
its session, and compiling that query through the ORM cost more than running it."""

from django.contrib.sessions.backends.db import SessionStore as DbSessionStore
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone

from mes.sql import ModelColumns, fetch_one

_SESSION = ModelColumns(Session, "s")
_sql_cache: dict[str, str] = {}


def _sql() -> str:
    if connection.vendor not in _sql_cache:
        table = connection.ops.quote_name(Session._meta.db_table)
        # Names come from the model's metadata; every value is a parameter.
        _sql_cache[connection.vendor] = (
            f'SELECT {_SESSION.select()} FROM {table} s '  # noqa: S608
            f'WHERE s."session_key" = %s AND s."expire_date" > %s')
    return _sql_cache[connection.vendor]


class SessionStore(DbSessionStore):
    def _get_session_from_db(self):
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        row = fetch_one(_sql(), [self.session_key, now])
        if row is None:
            self._session_key = None
            return None
        return _SESSION.instance(row)
