"""Hand-written SELECTs for the few hot paths where building the query through the ORM costs
more than running it (the station report: a dozen ORM queries compiled per scan cost several
times the database's own time).

`ModelColumns` writes a model's column list for a SELECT and turns the matching slice of a
result row back into a model instance, with the same per-database conversions the ORM applies
(SQLite hands back text for dates and decimals, PostgreSQL JSON as text). The SQL using it stays
beside the ORM version it replaces, and a test checks both agree.

`Epoch` is the one portable piece of SQL the ORM lacks: a datetime as epoch seconds, so that
boards, KPIs and alert rules do their time arithmetic in the database on both backends.
"""

import datetime
from collections.abc import Callable
from decimal import Decimal

from django.db import connection, connections, router
from django.db.models import FloatField, Func, Model, signals
from django.db.models.base import ModelState

_statements: dict[tuple[str, str], str] = {}


class Epoch(Func):
    """Seconds since 1970-01-01 UTC of a datetime expression, as a float (NULL stays NULL), on
    PostgreSQL and SQLite alike: time arithmetic done by the database (boards, KPIs, alert
    rules)."""

    output_field = FloatField()
    arity = 1

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="EXTRACT(EPOCH FROM %(expressions)s)"
                           "::double precision", **extra)

    def as_sqlite(self, compiler, connection, **extra):
        # Django keeps aware datetimes as UTC text; julianday() reads it, to the millisecond
        # (SQLite's own precision), as a floating-point day count that misses by some
        # microseconds: rounded to the millisecond, 03:15 is not 03:14:59.999987.
        return self.as_sql(compiler, connection,
                           template="ROUND((julianday(%(expressions)s) - 2440587.5) * 86400.0, 3)",
                           **extra)


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
        self._plain_init: bool | None = None

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
        if self._plain_init is None:
            # Model.from_db without Model.__init__, whose per-field work (descriptors, default
            # lookups) costs more than the row's conversion; only for models nobody watches
            # being initialised (pre_init/post_init receivers, which __init__ would call;
            # receivers connect when the apps load, before any request).
            model = self.model
            self._plain_init = (model.from_db.__func__ is Model.from_db.__func__
                                and not signals.pre_init.has_listeners(model)
                                and not signals.post_init.has_listeners(model))
        if not self._plain_init:
            return self.model.from_db(using, self.attnames, values)
        obj = self.model.__new__(self.model)
        obj.__dict__.update(zip(self.attnames, values, strict=True))
        obj._state = state = ModelState()
        state.adding, state.db = False, using
        return obj


class _NewPlan:
    """How `new_instance` fills one model's fields: (name, attname, is a forward many-to-one
    to the related model's primary key, field) per concrete field, in `Model.__init__`'s
    order."""

    def __init__(self, model):
        self.fields = []
        self.names = set()
        for f in model._meta.concrete_fields:
            if f.generated:
                continue
            fk = (f.many_to_one and f.remote_field is not None
                  and f.target_field is f.remote_field.model._meta.pk)
            self.fields.append((f.name, f.attname, fk, f))
            self.names.update((f.name, f.attname))
        self.plain = (model.__init__ is Model.__init__
                      and not signals.pre_init.has_listeners(model)
                      and not signals.post_init.has_listeners(model))


_new_plans: dict[type, _NewPlan] = {}


def new_instance(model, **values):
    """`model(**values)`, a new unsaved instance, without `Model.__init__`'s generic per-field
    work (its descriptor calls cost more than the rest of building a row for mes.sql.Writes):
    the same attribute values, defaults and related-object caches. Anything out of the
    ordinary goes through `model(**values)` itself: init signals or a custom __init__, a name
    that is not a concrete field, a relation given both as object and as id, an object of the
    wrong model, a relation to a field other than the primary key.
    tests/test_sql_writes.py checks both build the same."""
    plan = _new_plans.get(model)
    if plan is None:
        plan = _new_plans[model] = _NewPlan(model)
    if "pk" in values:  # (a property of every model: its primary key's attribute)
        values = dict(values)
        pk_attname = model._meta.pk.attname
        if pk_attname in values:
            return model(**values)
        values[pk_attname] = values.pop("pk")
    if not plan.plain or not plan.names.issuperset(values):
        return model(**values)
    obj = model.__new__(model)
    obj._state = state = ModelState()
    attrs = obj.__dict__
    cache = None
    for name, attname, fk, field in plan.fields:
        if fk and name in values:
            related = values[name]
            if attname in values:
                return model(**values)
            if related is None:
                attrs[attname] = None
            elif isinstance(related, field.remote_field.model._meta.concrete_model):
                # As the relation's descriptor does: the databases, then the key.
                if state.db is None:
                    state.db = router.db_for_write(model, instance=related)
                if related._state.db is None:
                    related._state.db = router.db_for_write(type(related), instance=obj)
                if not router.allow_relation(related, obj):
                    return model(**values)  # (refused there, with Django's message)
                attrs[attname] = related.pk
            else:
                return model(**values)  # (refused there, with Django's message)
            if cache is None:
                cache = state.fields_cache
            cache[name] = related
        elif attname in values:
            attrs[attname] = values[attname]
        elif name in values:  # a relation that is not to a primary key, passed as an object
            return model(**values)
        else:
            attrs[attname] = field.get_default()
    return obj


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


class Writes:
    """New rows and changed fields of one transaction, written together.

    On PostgreSQL they go to the server as one statement (each insert or update a
    data-modifying WITH clause: one round trip, one parse, and no ORM compiler per row);
    elsewhere through the ORM, one by one in the order given. Values are prepared exactly as
    the ORM prepares them (`pre_save`, then `get_db_prep_save`), so defaults, `auto_now` and
    JSON fields behave the same; inserted rows get their primary keys. Only plain values: an
    expression (F(), a database default) belongs in the ORM.

    Foreign keys and check constraints are enforced as for separate statements (PostgreSQL
    checks them when the statement ends); the clauses must not depend on each other's rows.
    """

    def __init__(self):
        self._steps: list[tuple[str, object, tuple]] = []

    def insert(self, *objs) -> "Writes":
        for obj in objs:
            last = self._steps[-1] if self._steps else None
            if last and last[0] == "insert" and type(last[1][0]) is type(obj) and (
                    (last[1][0].pk is None) == (obj.pk is None)):
                last[1].append(obj)
            else:
                self._steps.append(("insert", [obj], ()))
        return self

    def update(self, obj, fields) -> "Writes":
        if obj.pk is None:
            raise ValueError("update() needs a saved instance")
        self._steps.append(("update", obj, tuple(fields)))
        return self

    def run(self, *, using: str = "default") -> None:
        if not self._steps:
            return
        connection = connections[using]
        if connection.vendor != "postgresql":
            for kind, target, fields in self._steps:
                if kind == "update":
                    target.save(using=using, update_fields=list(fields))
                else:
                    type(target[0]).objects.using(using).bulk_create(target)
            return
        sql, params, returning = self._postgresql(connection)
        rows = fetch_all(sql, params, using=using)
        for step, pk in rows:
            objs = returning[step]
            objs.pop(0).pk = pk  # ordered by id: a multi-row insert numbers rows in order
        for kind, target, _fields in self._steps:
            if kind == "insert":
                for obj in target:
                    obj._state.adding, obj._state.db = False, using

    def _shape(self) -> tuple:
        return tuple(
            (kind, target._meta.label, fields) if kind == "update"
            else (kind, target[0]._meta.label, len(target), target[0].pk is None)
            for kind, target, fields in self._steps)

    def _postgresql(self, connection):
        """The statement (built once per shape of writes), its parameters, and per insert
        clause numbered by the database, the objects that get the returned keys."""
        shape = self._shape()
        sql = _writes_sql.get(shape)
        if sql is None:
            sql = _writes_sql[shape] = _writes_statement(self._steps, connection)
        params, returning = [], {}
        for i, (kind, target, fields) in enumerate(self._steps):
            if kind == "update":
                meta = target._meta
                for name in fields:
                    params.append(_prepare(meta.get_field(name), target, False, connection))
                params.append(_prepare(meta.pk, target, False, connection))
                continue
            columns = _insert_columns(target[0])
            for obj in target:
                params += [_prepare(f, obj, True, connection) for f in columns]
            if target[0].pk is None:
                returning[i] = list(target)
        return sql, params, returning


def _orm_prepared(field, obj, add: bool, connection):
    """What the ORM sends for `field` of `obj` in an INSERT (add) or UPDATE."""
    return field.get_db_prep_save(field.pre_save(obj, add), connection)


def _prepare(field, obj, add: bool, connection):
    """`_orm_prepared`, without the ORM's calls where they give back the value itself: a
    plain field (no auto_now, no conversion of its own) holding a value of exactly the type it
    stores. Preparing each value the ORM's way was a tenth of a station report's cost."""
    plain = _PLAIN.get(field)
    if plain is None:
        plain = _PLAIN[field] = _plain_check(field)
    if plain is not False:
        value = obj.__dict__.get(field.attname, _MISSING)
        if value is None or plain(value):
            return value
    return _orm_prepared(field, obj, add, connection)


_MISSING = object()
_PLAIN: dict = {}


def _plain_check(field):
    """A test for the values `field` sends to PostgreSQL unchanged, or False when it converts
    them (JSON, auto_now, a field class of its own). tests/test_sql_writes.py checks these
    against the ORM."""
    from django.conf import settings
    from django.db import models

    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return False
    kind = type(field)
    if kind in (models.ForeignKey, models.OneToOneField):
        return _plain_check(field.target_field)
    if kind in (models.AutoField, models.BigAutoField, models.SmallAutoField):
        return lambda v: type(v) is int  # (other integer fields: psycopg's Int2/4/8)
    if kind in (models.CharField, models.TextField):
        return lambda v: type(v) is str
    if kind is models.BooleanField:
        return lambda v: type(v) is bool
    if kind is models.DecimalField:
        return lambda v: type(v) is Decimal and v.is_finite()
    if kind is models.DateTimeField and settings.USE_TZ:
        return lambda v: type(v) is datetime.datetime and v.tzinfo is not None
    return False


_writes_sql: dict[tuple, str] = {}


def _insert_columns(obj) -> list:
    return [f for f in obj._meta.concrete_fields if not (obj.pk is None and f.primary_key)]


def _writes_statement(steps, connection) -> str:
    # Table and column names come from the models' metadata, quoted; every value is a
    # parameter.
    quote = connection.ops.quote_name
    clauses, selects = [], []
    for i, (kind, target, fields) in enumerate(steps):
        if kind == "update":
            meta = target._meta
            sets = ", ".join(f"{quote(meta.get_field(name).column)} = %s" for name in fields)
            clauses.append(f"w{i} AS (UPDATE {quote(meta.db_table)} SET {sets} "  # noqa: S608
                           f"WHERE {quote(meta.pk.column)} = %s)")
            continue
        meta = target[0]._meta
        names = ", ".join(quote(f.column) for f in _insert_columns(target[0]))
        row = "(" + ", ".join(["%s"] * len(_insert_columns(target[0]))) + ")"
        values = ", ".join([row] * len(target))
        if target[0].pk is None:
            clauses.append(f"w{i} AS (INSERT INTO {quote(meta.db_table)} ({names}) "  # noqa: S608
                           f"VALUES {values} RETURNING {quote(meta.pk.column)})")
            selects.append(f"SELECT {i}, {quote(meta.pk.column)} FROM w{i}")  # noqa: S608
        else:
            clauses.append(f"w{i} AS (INSERT INTO {quote(meta.db_table)} ({names}) "  # noqa: S608
                           f"VALUES {values})")
    main = (" UNION ALL ".join(selects) + " ORDER BY 1, 2") if selects else (
        "SELECT 0, 0 WHERE false")
    return "WITH " + ", ".join(clauses) + " " + main
