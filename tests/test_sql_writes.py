"""mes.sql.Writes: several inserts and updates in one statement on PostgreSQL (through the ORM
elsewhere), rows equal to what the ORM itself writes."""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboards.models import KpiTarget
from mes.audit import audit_entry_new, audit_record
from mes.models import AuditEntry, Event
from mes.sql import Writes

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def row(model, pk) -> dict:
    """Every column of the row, as read back through the ORM."""
    values = model.objects.filter(pk=pk).values().get()
    values.pop("id")
    return values


def statements(ctx) -> int:
    return sum(1 for q in ctx.captured_queries
               if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT")))


def test_inserts_and_an_update_land_as_the_orm_writes_them(make_user):
    user = make_user("planner", username="writer")
    target = KpiTarget.objects.create(key="ontime", value=Decimal("0.9"), updated_by=user)
    orm_twin = KpiTarget.objects.create(key="rework", value=Decimal("0.9"), updated_by=user)
    before_update = target.updated_at
    payloads = [{"a": [1, "二"], "n": None}, [], {"x": {"y": "1.5"}}]
    events = [Event(topic="wc:1", kind="k", payload=p, actor=user) for p in payloads]
    target.value = orm_twin.value = Decimal("0.95")
    entry = audit_entry_new(actor=user, instance=target, action=AuditEntry.Action.UPDATE,
                            before={"value": "0.9"}, after={"value": "0.95"}, reason="why")

    with CaptureQueriesContext(connection) as ctx, transaction.atomic():
        Writes().insert(*events).update(target, ["value", "updated_at"]).insert(entry).run()
        orm_twin.save(update_fields=["value", "updated_at"])
    if connection.vendor == "postgresql":
        assert statements(ctx) == 2  # ours, then the ORM's twin update
    # primary keys given back, in order, and the instances count as saved
    ids = [e.pk for e in events]
    assert all(ids) and ids == sorted(ids) and entry.pk
    assert not any(o._state.adding for o in (*events, entry))
    for event, payload in zip(events, payloads, strict=True):
        assert row(Event, event.pk) == {"topic": "wc:1", "kind": "k", "payload": payload,
                                        "created_at": event.created_at, "actor_id": user.pk}
    # the audit entry is the row audit_record writes for the same change
    twin = audit_record(actor=user, instance=target, action=AuditEntry.Action.UPDATE,
                        before={"value": "0.9"}, after={"value": "0.95"}, reason="why")
    mine, theirs = row(AuditEntry, entry.pk), row(AuditEntry, twin.pk)
    assert mine.pop("at") <= theirs.pop("at")
    assert mine == theirs
    # the update: the value, and auto_now applied as save(update_fields=…) applies it
    target.refresh_from_db()
    orm_twin.refresh_from_db()
    assert target.value == orm_twin.value == Decimal("0.95")
    assert before_update < target.updated_at <= orm_twin.updated_at


def test_an_explicit_primary_key_is_kept():
    taken = Event.objects.create(topic="t", kind="k").pk
    event = Event(pk=taken + 1000, topic="t", kind="explicit", payload={"n": 1})
    with transaction.atomic():
        Writes().insert(event).run()
    assert event.pk == taken + 1000
    assert Event.objects.get(pk=taken + 1000).payload == {"n": 1}


@pytest.mark.django_db(transaction=True)
def test_a_failing_clause_writes_nothing_at_all():
    """A foreign key no row has: the statement fails as a whole (and the transaction with it
    on any database), so no insert before the bad one stays."""
    count = Event.objects.count()
    good = Event(topic="t", kind="good")
    bad = AuditEntry(actor_id=987654321, actor_repr="x", action=AuditEntry.Action.UPDATE,
                     content_type_id=1, object_id="1", object_repr="x")
    with pytest.raises(IntegrityError), transaction.atomic():
        Writes().insert(good).insert(bad).run()
    assert Event.objects.count() == count
    assert not AuditEntry.objects.filter(actor_id=987654321).exists()


def test_the_statement_is_built_once_per_shape():
    from mes import sql

    if connection.vendor != "postgresql":
        pytest.skip("one statement on PostgreSQL only")
    sql._writes_sql.clear()
    for n in (1, 2, 2, 1):
        with transaction.atomic():
            Writes().insert(*[Event(topic="t", kind="k") for _ in range(n)]).run()
    assert len(sql._writes_sql) == 2  # one insert of one row, one of two


def test_an_unsaved_instance_cannot_be_updated():
    with pytest.raises(ValueError, match="saved instance"):
        Writes().update(Event(topic="t", kind="k"), ["kind"])


def test_nothing_to_write_runs_nothing():
    with CaptureQueriesContext(connection) as ctx:
        Writes().run()
    assert ctx.captured_queries == []


def test_dates_times_and_decimals_round_trip(make_user):
    user = make_user("planner", username="rt")
    at = timezone.make_aware(datetime.datetime(2026, 3, 1, 8, 30, 15, 123456))
    entry = AuditEntry(at=at, actor=user, actor_repr="rt", action=AuditEntry.Action.CREATE,
                       content_type_id=_content_type_id(), object_id="9", object_repr="r",
                       before=None, after={"q": "3.25"}, changed_fields=["q"])
    with transaction.atomic():
        Writes().insert(entry).run()
    got = AuditEntry.objects.get(pk=entry.pk)
    assert (got.at, got.before, got.after, got.changed_fields) == (
        at, None, {"q": "3.25"}, ["q"])


def _content_type_id() -> int:
    from django.contrib.contenttypes.models import ContentType

    return ContentType.objects.get_for_model(KpiTarget).pk


def _read(model, pk):
    """The row of `model` read by hand-written SQL into an instance (mes.sql.ModelColumns)."""
    from mes.sql import ModelColumns, fetch_one, table

    cols = ModelColumns(model, "x")
    row = fetch_one(f'SELECT {cols.select()} FROM {table(model)} x WHERE x."id" = %s',  # noqa: S608
                    [pk])
    return cols, cols.instance(row)


def test_an_instance_read_by_hand_is_the_orms_instance(make_user):
    user = make_user("planner", username="reader")
    target = KpiTarget.objects.create(key="ontime", value=Decimal("0.9"), updated_by=user)
    orm = KpiTarget.objects.get(pk=target.pk)
    _cols, read = _read(KpiTarget, target.pk)
    assert type(read) is KpiTarget and read == orm
    assert ({f.attname: getattr(read, f.attname) for f in KpiTarget._meta.concrete_fields}
            == {f.attname: getattr(orm, f.attname) for f in KpiTarget._meta.concrete_fields})
    assert (read._state.adding, read._state.db) == (False, "default")
    assert read.updated_by == user  # the relation loads as on an ORM instance
    read.value = Decimal("0.8")
    read.save(update_fields=["value"])  # saved as an existing row (an UPDATE, not an INSERT)
    assert KpiTarget.objects.get(pk=target.pk).value == Decimal("0.8")
    assert KpiTarget.objects.count() == 1


def test_an_instance_read_by_hand_calls_init_receivers(make_user):
    """A model someone watches being initialised (post_init) is built through __init__."""
    from django.db.models.signals import post_init

    user = make_user("planner", username="watched")
    target = KpiTarget.objects.create(key="ontime", value=Decimal("0.9"), updated_by=user)
    seen = []

    def watch(sender, instance, **kwargs):
        seen.append(instance.pk)

    post_init.connect(watch, sender=KpiTarget)
    try:
        _cols, read = _read(KpiTarget, target.pk)
    finally:
        post_init.disconnect(watch, sender=KpiTarget)
    assert seen == [target.pk] and read.value == Decimal("0.9")


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_values_sent_as_they_are_equal_what_the_orm_sends(make_user):
    """mes.sql._prepare skips the ORM's preparation for plain fields holding values of the
    type they store: for every field of the rows a report writes, with plain and awkward
    values (None, choices, lazy text, naive times, deferred fields), it sends what the ORM
    sends."""
    import warnings

    from django.utils.translation import gettext_lazy

    from execution.models import WorkReport
    from mes.sql import _orm_prepared, _prepare
    from planning.models import Task
    from tests.factories_execution import released_order

    user = make_user("operator", badge_code="B-P")
    _wo, (task,), wc = released_order(steps=1, qty="10")
    now = timezone.now()
    naive = datetime.datetime(2026, 1, 2, 3, 4, 5)
    reports = [
        WorkReport(pk=7, task=task, operator=user, work_center=wc, good=Decimal("1.5"),
                   scrap=Decimal(0), work_start=now, work_end=now, reported_at=now, late=True,
                   client_token="tok", note="说明"),
        WorkReport(task_id=task.pk, operator_id=user.pk, work_center_id=wc.pk, good=2,
                   scrap="0.25", work_start=naive, work_end=naive, reported_at=now,
                   late=0, client_token=gettext_lazy("Good"), note=None),
    ]
    entry = audit_entry_new(actor=user, instance=task, action=AuditEntry.Action.UPDATE,
                            before={"qty_good": "1"}, after={"qty_good": "2"}, reason="r")
    events = [Event(topic="wc:1", kind="task.reported", payload={"a": Decimal("1")},
                    actor=user), Event(topic=gettext_lazy("plant"), kind="k")]
    deferred = Task.objects.only("pk").get(pk=task.pk)
    checked = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # naive datetimes: the ORM warns
        for obj in (*reports, entry, *events, task, deferred):
            for add in (True, False):
                for field in obj._meta.concrete_fields:
                    mine = _prepare(field, obj, add, connection)
                    theirs = _orm_prepared(field, obj, add, connection)
                    if hasattr(theirs, "obj"):  # psycopg's Jsonb wrapper: its payload
                        mine, theirs = mine.obj, theirs.obj
                    assert (type(mine), mine) == (type(theirs), theirs), (obj, field.name)
                    checked += 1
    assert checked > 100


def _built(obj) -> dict:
    """What an instance holds: its attributes, its state and its cached relations."""
    attrs = {k: v for k, v in obj.__dict__.items() if k != "_state"}
    cache = obj._state.__dict__.get("fields_cache", {})
    return {"attrs": attrs, "db": obj._state.db, "adding": obj._state.adding,
            "cache": {k: id(v) for k, v in cache.items()}}


def test_new_instance_builds_what_the_model_class_builds(make_user, monkeypatch):
    """mes.sql.new_instance against Model(**values): the same attributes, defaults, database
    and related-object caches, for the rows a station report writes."""
    from execution.models import WorkReport
    from mes.sql import new_instance
    from tests.factories_execution import released_order

    now = timezone.now()
    for model, name in ((WorkReport, "reported_at"), (Event, "created_at")):
        # Both ways take the same default time (the field's default is timezone.now).
        monkeypatch.setattr(model._meta.get_field(name), "_get_default", lambda: now)
    user = make_user("operator", username="builder")
    _wo, (task, *_), wc = released_order()
    unsaved_user = type(user)(username="not-saved")
    cases = [
        (WorkReport, {"pk": 77, "task": task, "operator": user, "work_center": wc,
                      "equipment": None, "good": Decimal("2"), "scrap": Decimal(0),
                      "scrap_reason": None, "work_start": now, "work_end": now,
                      "reported_at": now, "late": False, "client_token": "t", "note": ""}),
        (WorkReport, {"task_id": task.pk, "operator_id": user.pk, "good": Decimal(1)}),
        (Event, {"topic": "plant", "kind": "k", "payload": {"a": 1}, "actor": user}),
        (Event, {"topic": "plant", "kind": "k", "payload": {}, "actor": None}),
        (Event, {"topic": "plant", "kind": "k", "actor": unsaved_user}),
        (Event, {"topic": "plant", "actor": user, "actor_id": None}),
        (Event, {}),
    ]
    for model, values in cases:
        assert _built(new_instance(model, **values)) == _built(model(**values)), values
    assert unsaved_user._state.db == "default"  # set by the relation, as Django sets it
    entry = audit_entry_new(actor=user, instance=task, action=AuditEntry.Action.UPDATE,
                            before={"qty_good": 1}, after={"qty_good": 2}, reason="r")
    assert entry.actor is user and entry.actor_id == user.pk and entry.changed_fields == [
        "qty_good"]
    # Out of the ordinary: what the model class does (the same refusals).
    with pytest.raises(TypeError):
        new_instance(Event, topic="plant", no_such_field=1)
    with pytest.raises(ValueError, match="must be a"):
        new_instance(Event, topic="plant", actor=task)
