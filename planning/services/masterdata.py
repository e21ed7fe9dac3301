"""Saving master data (plant, items, BOMs, routings) from forms, imports and the API."""

from django.db import models, transaction

from mes.audit import audit_record, snapshot
from mes.models import AuditEntry


@transaction.atomic
def master_record_save(*, actor, instance: models.Model, before: dict | None = None,
                       reason: str = "") -> models.Model:
    """Validate and save one master-data record, and audit-log the create or change.

    Before: `instance` carries the new values; for a change, `before` is snapshot() of the
    record as it was (take it before applying the form). After: saved, one audit entry.
    Raises ValidationError (nothing written) when the record is invalid.
    """
    creating = instance._state.adding or instance.pk is None
    instance.full_clean()
    instance.save()
    if creating:
        audit_record(actor=actor, instance=instance, action=AuditEntry.Action.CREATE,
                     reason=reason)
    else:
        after = snapshot(instance)
        if before is None or before != after:
            audit_record(actor=actor, instance=instance, action=AuditEntry.Action.UPDATE,
                         before=before, after=after, reason=reason)
    return instance


@transaction.atomic
def master_record_delete(*, actor, instance: models.Model, reason: str = "") -> None:
    """Delete one master-data record (PROTECT keeps anything still in use) and audit it."""
    before = snapshot(instance)
    audit_record(actor=actor, instance=instance, action=AuditEntry.Action.DELETE,
                 before=before, after=None, reason=reason)
    instance.delete()
