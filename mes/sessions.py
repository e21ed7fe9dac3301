"""Database sessions, read with one hand-written SELECT (see mes/sql.py): every request reads
its session, and compiling that query through the ORM cost more than running it."""

from django.contrib.sessions.backends.db import SessionStore as DbSessionStore
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone

from mes.sql import ModelColumns, fetch_one, statement, table

_SESSION = ModelColumns(Session, "s")
def _sql() -> str:
    return statement("mes.session", lambda: (
        f'SELECT {_SESSION.select()} FROM {table(Session)} s '  # noqa: S608
        f'WHERE s."session_key" = %s AND s."expire_date" > %s'))


class SessionStore(DbSessionStore):
    def _get_session_from_db(self):
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        row = fetch_one(_sql(), [self.session_key, now])
        if row is None:
            self._session_key = None
            return None
        return _SESSION.instance(row)
