"""Hand-written SELECTs for the few hot paths where building the query through the ORM costs
more than running it (the station report: a dozen ORM queries compiled per scan cost several
times the database's own time).

`ModelColumns` writes a model's column list for a SELECT and turns the matching slice of a
result row back into a model instance, with the same per-database conversions the ORM applies
(SQLite hands back text for dates and decimals, PostgreSQL JSON as text). The SQL using it stays
beside the ORM version it replaces, and a test checks both agree.
"""

from collections.abc import Callable

from django.db import connection, connections

_statements: dict[tuple[str, str], str] = {}


def statement(name: str, build: Callable[[], str]) -> str:
    """The SQL `build()` writes, built once per process and database vendor. Builders take
    table and column names from the models' metadata and leave every value a parameter."""
    key = (connection.vendor, name)
    if key not in _statements:
        _statements[key] = build()
    return _statements[key]


def table(model) -> str:
    """The model's table name, quoted for the database in use."""
    return connection.ops.quote_name(model._meta.db_table)


def valid_pk(model, value) -> int | None:
    """`value` as a primary key of `model` when it is an integer the column can hold (an id
    typed or scanned by a person may be anything), else None."""
    try:
        pk = int(value)
    except (TypeError, ValueError):
        return None
    low, high = connection.ops.integer_field_range(model._meta.pk.get_internal_type())
    return pk if max(1, low or 1) <= pk <= (high or pk) else None


class ModelColumns:
    """The concrete columns of `model` under a table alias, and instances from a row slice."""

    def __init__(self, model, alias: str):
        self.model = model
        self.alias = alias
        self.fields = list(model._meta.concrete_fields)
        self.attnames = [f.attname for f in self.fields]
        self._converters: dict[str, list] = {}

    def __len__(self) -> int:
        return len(self.fields)

    def select(self) -> str:
        return ", ".join(f'{self.alias}."{f.column}"' for f in self.fields)

    def _converters_for(self, using: str) -> list:
        if using not in self._converters:
            connection = connections[using]
            found = []
            for i, f in enumerate(self.fields):
                col = f.get_col(self.alias)
                convs = connection.ops.get_db_converters(col) + f.get_db_converters(connection)
                if convs:
                    found.append((i, col, convs))
            self._converters[using] = found
        return self._converters[using]

    def instance(self, row, start: int = 0, *, using: str = "default"):
        """The model instance held by row[start:start + len(self)] (None for a NULL key, as a
        LEFT JOIN gives)."""
        values = list(row[start:start + len(self.fields)])
        if values[0] is None and self.fields[0].primary_key:
            return None
        connection = connections[using]
        for i, col, convs in self._converters_for(using):
            value = values[i]
            for conv in convs:
                value = conv(value, col, connection)
            values[i] = value
        return self.model.from_db(using, self.attnames, values)


def convert(field, value, *, alias: str = "x", using: str = "default"):
    """A value read from `field`'s column by hand-written SQL (a subquery, say), converted as
    the ORM would convert it."""
    connection = connections[using]
    col = field.get_col(alias)
    for conv in connection.ops.get_db_converters(col) + field.get_db_converters(connection):
        value = conv(value, col, connection)
    return value


def fetch_one(sql: str, params, *, using: str = "default"):
    """One row (or None) of a hand-written query, through Django's cursor (so the query is
    counted, logged and run on the request's connection)."""
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def fetch_all(sql: str, params, *, using: str = "default") -> list:
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
