"""Audit entries for many records at once: one entry per created or changed record.

Same shape as mes.audit.audit_record writes, but collected and bulk-inserted, so an import
of 10,000 rows costs a handful of queries instead of 10,000.
"""

from django.contrib.contenttypes.models import ContentType

from mes.audit import record_name, snapshot
from mes.models import SYSTEM_ACTOR, AuditEntry
from mes.request_context import current_request_id


class AuditBatch:
    def __init__(self, *, actor, reason: str):
        authenticated = actor is not None and getattr(actor, "is_authenticated", False)
        self.actor = actor if authenticated else None
        self.actor_repr = str(actor) if authenticated else SYSTEM_ACTOR
        self.reason = reason
        self.request_id = current_request_id()
        self.pending: list[tuple] = []

    def created(self, instance) -> None:
        self.pending.append((instance, AuditEntry.Action.CREATE, None))

    def changed(self, instance, before: dict) -> None:
        self.pending.append((instance, AuditEntry.Action.UPDATE, before))

    def flush(self) -> int:
        """Write the entries; call after the records are saved (they need their ids)."""
        entries = []
        for instance, action, before in self.pending:
            after = snapshot(instance)
            keys = set(before or {}) | set(after)
            changed = sorted(k for k in keys if (before or {}).get(k) != after.get(k))
            entries.append(AuditEntry(
                actor=self.actor, actor_repr=self.actor_repr, action=action,
                content_type=ContentType.objects.get_for_model(instance,
                                                               for_concrete_model=False),
                object_id=str(instance.pk), object_repr=record_name(instance),
                before=before, after=after, changed_fields=changed, reason=self.reason,
                request_id=self.request_id))
        AuditEntry.objects.bulk_create(entries, batch_size=500)
        self.pending = []
        return len(entries)
