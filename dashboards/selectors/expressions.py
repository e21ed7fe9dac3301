"""Times as seconds in the database, on PostgreSQL and SQLite alike.

Pages that add up durations read epoch seconds (floats) instead of datetimes: parsing tens of
thousands of timestamps in Python costs more than the whole query, and a float sum can be
done by the database.
"""

import datetime

from django.db.models import F, FloatField, Func, Value
from django.db.models.expressions import Expression

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


class Epoch(Func):
    """Seconds since 1970-01-01 UTC of a datetime expression (NULL stays NULL)."""

    output_field = FloatField()
    arity = 1

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="EXTRACT(EPOCH FROM %(expressions)s)"
                           "::double precision", **extra)

    def as_sqlite(self, compiler, connection, **extra):
        # Django keeps aware datetimes as UTC text; julianday() reads it.
        return self.as_sql(compiler, connection,
                           template="((julianday(%(expressions)s) - 2440587.5) * 86400.0)",
                           **extra)


def epoch(value) -> Expression:
    """An Epoch of a field name or of a Python datetime."""
    if isinstance(value, datetime.datetime):
        return Value(seconds(value), output_field=FloatField())
    return Epoch(F(value) if isinstance(value, str) else value)


def seconds(value: datetime.datetime) -> float:
    return (value - EPOCH).total_seconds()


def from_seconds(value: float) -> datetime.datetime:
    return EPOCH + datetime.timedelta(seconds=value)
