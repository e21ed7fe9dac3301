"""Times as seconds in the database, on PostgreSQL and SQLite alike.

Pages that add up durations read epoch seconds (floats) instead of datetimes: parsing tens of
thousands of timestamps in Python costs more than the whole query, and a float sum can be
done by the database.
"""

import datetime

from django.db.models import F, FloatField, Value
from django.db.models.expressions import Expression

from mes.sql import Epoch

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def epoch(value) -> Expression:
    """An Epoch of a field name or of a Python datetime."""
    if isinstance(value, datetime.datetime):
        return Value(seconds(value), output_field=FloatField())
    return Epoch(F(value) if isinstance(value, str) else value)


def seconds(value: datetime.datetime) -> float:
    return (value - EPOCH).total_seconds()


def from_seconds(value: float) -> datetime.datetime:
    return EPOCH + datetime.timedelta(seconds=value)
