"""Shared by the alert services: the transition table, bulk audit and bulk outbox writes, the
event payload of an alert, and enqueueing Celery work after commit.

The sweep raises, clears and escalates many alerts at once; doing that one row at a time would
cost queries per alert. The bulk helpers write the same audit entries and outbox rows as
mes.audit.audit_record and mes.events.event_emit, in one insert each.
"""

import functools
import json
import logging
import time

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from alerts.models import Alert
from mes.audit import record_name, snapshot
from mes.celery import enqueue_on_commit as enqueue_on_commit  # the alert services' enqueuer
from mes.events import TOPIC_PLANT, stream_wakeup, topic_work_center
from mes.models import SYSTEM_ACTOR, AuditEntry, Event
from mes.redis import redis_on_commit
from mes.request_context import current_request_id
from mes.system_text import SystemText, text_and_key

log = logging.getLogger("alerts")

S = Alert.Status
# action -> {from status: to status}
ALERT_TRANSITIONS: dict[str, dict[str, str]] = {
    "acknowledge": {S.OPEN: S.ACKNOWLEDGED},
    "resolve": {S.OPEN: S.RESOLVED, S.ACKNOWLEDGED: S.RESOLVED},
    "close": {S.RESOLVED: S.CLOSED},
    "reassign": {S.OPEN: S.OPEN, S.ACKNOWLEDGED: S.ACKNOWLEDGED},
    "escalate": {S.OPEN: S.OPEN, S.ACKNOWLEDGED: S.ACKNOWLEDGED},
}
ACTION_DONE = {"acknowledge": _lazy("acknowledged"), "resolve": _lazy("resolved"),
               "close": _lazy("closed"), "reassign": _lazy("reassigned"),
               "escalate": _lazy("escalated")}


def next_alert_status(alert: Alert, action: str) -> str:
    target = ALERT_TRANSITIONS[action].get(alert.status)
    if target is None:
        raise ValidationError(_("Alert #%(id)s is %(status)s: it cannot be %(action)s.") % {
            "id": alert.pk, "status": alert.get_status_display(),
            "action": ACTION_DONE[action]}, code="transition")
    return target


def allowed_alert_actions(alert: Alert) -> list[str]:
    return [a for a, moves in ALERT_TRANSITIONS.items() if alert.status in moves]


def _authenticated(actor):
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


def audit_bulk(*, actor, instances, action: str, before: dict | None = None,
               reason: str | SystemText = "") -> None:
    """One audit entry per instance in one insert; `before` maps pk -> snapshot."""
    instances = list(instances)
    if not instances:
        return
    reason, reason_key = text_and_key(reason)
    who = _authenticated(actor)
    ct = ContentType.objects.get_for_model(instances[0], for_concrete_model=False)
    request_id = current_request_id()
    entries = []
    for obj in instances:
        old = (before or {}).get(obj.pk)
        new = snapshot(obj)
        keys = set(old or {}) | set(new)
        entries.append(AuditEntry(
            actor=who, actor_repr=str(who) if who else SYSTEM_ACTOR, action=action,
            content_type=ct, object_id=str(obj.pk), object_repr=record_name(obj), before=old,
            after=new, changed_fields=sorted(k for k in keys if (old or {}).get(k) != new.get(k)),
            reason=reason, reason_key=reason_key, request_id=request_id))
    insert_rows(AuditEntry, entries)


def events_bulk(rows, *, actor=None) -> None:
    """Outbox rows (topic, kind, payload) in one insert, in the caller's transaction; Redis
    wakes the streams after commit (as mes.events.event_emit does for one row)."""
    who = _authenticated(actor)
    events = [Event(topic=topic, kind=kind, payload=payload, actor=who)
              for topic, kind, payload in rows]
    if not events:
        return
    insert_rows(Event, events)
    if settings.REDIS_URL:  # Redis down: streams poll the outbox; nothing is lost
        redis_on_commit(stream_wakeup("alerts"))


def insert_rows(model, objs: list) -> None:
    """Insert rows whose ids nobody needs back (audit entries, outbox events). PostgreSQL:
    one COPY, several times faster than INSERT for thousands of rows (logged as one query,
    so query counts stay honest); other databases: bulk_create."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs, batch_size=1000)
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    sql = f"COPY {table} ({columns}) FROM STDIN"
    preps = [_copy_prep(f) for f in fields]
    started = time.monotonic()
    # wrap_database_errors: a unique violation raises Django's IntegrityError, as INSERT does
    with connection.wrap_database_errors, connection.cursor() as cursor, \
            cursor.cursor.copy(sql) as copy:
        for obj in objs:
            copy.write_row([prep(getattr(obj, f.attname)) if prep else getattr(obj, f.attname)
                            for f, prep in zip(fields, preps, strict=True)])
    if connection.queries_logged:
        connection.queries_log.append({"sql": f"{sql} -- {len(objs)} rows",
                                       "time": f"{time.monotonic() - started:.3f}"})


# Column types psycopg adapts as they are (aware datetimes, ints, text, booleans, decimals):
# Django's per-value preparation is skipped for them, it dominates the cost of a big COPY.
_COPY_AS_IS = {"CharField", "TextField", "IntegerField", "BigIntegerField", "BooleanField",
               "PositiveIntegerField", "PositiveSmallIntegerField", "PositiveBigIntegerField",
               "SmallIntegerField", "DateTimeField", "DecimalField", "ForeignKey"}


def _copy_prep(field):
    internal = field.get_internal_type()
    if internal in _COPY_AS_IS:
        return None
    if internal == "JSONField":
        from psycopg.types.json import Jsonb

        encoder = field.encoder
        return lambda value: None if value is None else Jsonb(
            value, dumps=lambda v: json.dumps(v, cls=encoder))
    return lambda value: field.get_db_prep_save(value, connection)


def insert_and_fetch(model, objs: list, *, key: tuple[str, ...], scope) -> list:
    """Insert rows and give them their ids. PostgreSQL: one COPY, then one SELECT of
    (pk, *key) within `scope` — the caller guarantees that `key` is unique there (a unique
    constraint does). Other databases: bulk_create, which returns the ids itself."""
    if not objs:
        return []
    if connection.vendor != "postgresql":
        return model.objects.bulk_create(objs, batch_size=1000)
    insert_rows(model, objs)
    by_key = {tuple(getattr(obj, name) for name in key): obj for obj in objs}
    for pk, *values in model.objects.filter(scope).values_list("pk", *key):
        obj = by_key.get(tuple(values))
        if obj is not None:
            obj.pk = pk
            obj._state.adding, obj._state.db = False, connection.alias
    return objs


@functools.cache
def _alert_url_template() -> str:
    return reverse("alerts:alert_detail", args=[999999999]).replace("999999999", "{}")


def alert_url(alert_id: int) -> str:
    # reverse() once per process: the sweep builds thousands of these
    return _alert_url_template().format(alert_id)


def alert_payload(alert: Alert) -> dict:
    return {"alert": alert.pk, "rule": alert.rule.code, "kind": alert.kind,
            "severity": alert.severity, "status": alert.status,
            "subject": alert.subject_repr, "work_center": alert.work_center_id,
            "task": alert.task_id, "level": alert.escalation_level,
            "message": alert.message, "url": alert_url(alert.pk)}


# Above this many alerts for one topic in one batch (a first sweep, a stale schedule), the
# topic gets one summary event instead of a flood: boards re-fetch once either way.
BULK_EVENT_LIMIT = 200


def alert_event_rows(alerts, kind: str) -> list[tuple[str, str, dict]]:
    """The outbox rows that announce `kind` for each alert: the plant and its work center."""
    by_topic: dict[str, list] = {TOPIC_PLANT: list(alerts)}
    for alert in alerts:
        if alert.work_center_id:
            by_topic.setdefault(topic_work_center(alert.work_center_id), []).append(alert)
    rows = []
    for topic, group in by_topic.items():
        if len(group) > BULK_EVENT_LIMIT:
            rows.append((topic, kind, {"bulk": True, "count": len(group),
                                       "alerts": [a.pk for a in group[:1000]]}))
        else:
            rows += [(topic, kind, alert_payload(a)) for a in group]
    return rows


def announce(alerts, kind: str, *, actor=None) -> None:
    events_bulk(alert_event_rows(alerts, kind), actor=actor)


