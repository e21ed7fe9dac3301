"""The audit log: one mechanism for who, when, what (before/after) and why.

Services call `audit_record` explicitly, inside their transaction, for every create, change and
state transition of a domain record. Nothing is recorded from signals.
"""

import datetime
import decimal
import uuid
from collections.abc import Iterable

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import translation

from mes.models import SYSTEM_ACTOR, AuditEntry
from mes.request_context import current_request_id
from mes.sql import new_instance
from mes.system_text import SystemText, text_and_key


def record_name(instance) -> str:
    """The name an entry keeps for its record, in the plant's language (LANGUAGE_CODE): a
    record named in Chinese and English (an item, a reason, a work center) reads the same in
    the log whoever changed it, not in the language each writer happened to use."""
    with translation.override(settings.LANGUAGE_CODE):
        return str(instance)[:200]


def _jsonable(value):
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        # 3 and 3.0000 are the same quantity: normalise so an unchanged save logs no change.
        return format(value.normalize(), "f") if value.is_finite() else str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


# Never copied into the log: secrets stay where they are.
NEVER_AUDITED = frozenset({"password"})


def snapshot(instance: models.Model, fields: Iterable[str] | None = None) -> dict:
    """A JSON-able dict of the instance's concrete field values (foreign keys as ids)."""
    out = {}
    excluded = NEVER_AUDITED | set(getattr(instance, "audit_exclude", ()))
    for field in instance._meta.concrete_fields:
        if field.name in excluded or (fields is not None and field.name not in fields):
            continue
        out[field.name] = _jsonable(field.value_from_object(instance))
    return out


def _scrub(values: dict) -> dict:
    return {k: v for k, v in values.items() if k not in NEVER_AUDITED}


def audit_record(**entry) -> AuditEntry:
    """Write one audit entry (the arguments of `audit_entry_new`: actor, instance, action,
    before, after, reason). Call inside the service's transaction, after the change."""
    saved = audit_entry_new(**entry)
    saved.save(force_insert=True)
    return saved


def audit_entry_new(
    *,
    actor,
    instance: models.Model,
    action: str,
    before: dict | None = None,
    after: dict | None = None,
    reason: str | SystemText = "",
) -> AuditEntry:
    """One audit entry, not yet saved (`audit_record` saves it; a service writing it with its
    other rows passes it to mes.sql.Writes).

    For `create`, `after` defaults to a snapshot of the instance; for `update` and
    `transition`, pass `before` (a snapshot taken before the change) and `after` defaults to a
    snapshot now; only the fields that differ are kept in `changed_fields`. A `reason` the
    system words is a `mes.system_text.system_text`, so each reader sees it in their language.
    """
    after_given = after is not None
    if after is None and action != AuditEntry.Action.DELETE:
        after = snapshot(instance)
    before = _scrub(_jsonable(before)) if before is not None else None
    after = _scrub(_jsonable(after)) if after is not None else None
    # A partial `before` (the fields the service changes) against the whole record now: the
    # fields it did not capture did not change "from nothing". (An `after` given may add
    # figures of its own, such as an explosion's counts.)
    keys = (set(before) if before is not None and not after_given
            else set(before or {}) | set(after or {}))
    changed = sorted(k for k in keys if (before or {}).get(k) != (after or {}).get(k))
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    reason, reason_key = text_and_key(reason)
    return new_instance(
        AuditEntry,
        actor=actor if authenticated else None,
        actor_repr=str(actor) if authenticated else SYSTEM_ACTOR,
        action=action,
        content_type=ContentType.objects.get_for_model(instance, for_concrete_model=False),
        object_id=str(instance.pk),
        object_repr=record_name(instance),
        before=before,
        after=after,
        changed_fields=changed,
        reason=reason,
        reason_key=reason_key,
        request_id=current_request_id(),
    )


def audit_entries_for(instance: models.Model):
    """The history of one record, newest first."""
    return AuditEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(instance, for_concrete_model=False),
        object_id=str(instance.pk),
    ).select_related("actor")


def audit_transitions_bulk(*, actor, instances, before: dict, reason: str | SystemText = "",
                           fields=("status",)) -> list[AuditEntry]:
    """One transition entry per instance, written in one insert (bulk releases).

    `before` maps pk -> {field: old value}; the after values are read from the instances.
    """
    instances = list(instances)
    if not instances:
        return []
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    ct = ContentType.objects.get_for_model(instances[0], for_concrete_model=False)
    request_id = current_request_id()
    reason, reason_key = text_and_key(reason)
    entries = []
    for obj in instances:
        after = {f: _jsonable(getattr(obj, f)) for f in fields}
        old = _jsonable(before.get(obj.pk, {}))
        entries.append(AuditEntry(
            actor=actor if authenticated else None,
            actor_repr=str(actor) if authenticated else SYSTEM_ACTOR,
            action=AuditEntry.Action.TRANSITION, content_type=ct, object_id=str(obj.pk),
            object_repr=record_name(obj), before=old, after=after,
            changed_fields=sorted(k for k in after if old.get(k) != after[k]),
            reason=reason, reason_key=reason_key, request_id=request_id,
        ))
    return AuditEntry.objects.bulk_create(entries, batch_size=2000)
