"""The change history a detail page shows: audit entries of a record, as people read them.

Generic (any model); planning pages use it through templates/planning/_history.html. It may
move to mes.audit with the partial once other apps want it.
"""

from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db.models import CharField, DateTimeField, Q
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext

from mes.audit import audit_entries_for
from mes.labels import join_list
from mes.models import AuditEntry, field_label


@dataclass
class Change:
    label: str
    before: object
    after: object


def history_for(instance, *, children: tuple = (), child_transitions=None,
                limit: int = 50) -> list[AuditEntry]:
    """The audit entries of a record (and of its child rows: [(Model, fk name)]), newest first.

    Each entry gets `.changes`: [Change(label, before, after)] for the fields that changed,
    values shown as people read them (names for ids, labels for choices, local times). Child
    rows are found through the ids in their snapshots, so deleted rows still show.
    `child_transitions`, a queryset of child rows (a work order's tasks), adds their status
    changes (released, started, held, resumed, cancelled, completed: not each report's
    quantities). Queries: one, plus one per kind of record the changed fields point to.
    """
    qs = audit_entries_for(instance)
    if children or child_transitions is not None:
        q = Q(pk__in=qs.values("pk"))
        for model, fk in children:
            ct = ContentType.objects.get_for_model(model, for_concrete_model=False)
            q |= Q(content_type=ct) & (Q(**{f"after__{fk}": instance.pk})
                                       | Q(**{f"before__{fk}": instance.pk}))
        if child_transitions is not None:
            ct = ContentType.objects.get_for_model(child_transitions.model,
                                                   for_concrete_model=False)
            ids = child_transitions.annotate(audit_id=Cast("pk", CharField())).values("audit_id")
            q |= Q(content_type=ct, action=AuditEntry.Action.TRANSITION, object_id__in=ids)
        qs = AuditEntry.objects.filter(q)
    entries = list(qs.select_related("content_type").order_by("-at", "-id")[:limit])
    wanted: dict = {}
    for entry in entries:
        entry.model = entry.content_type.model_class()
        entry.is_child = entry.model is not type(instance)
        entry.changed = _changed_names(entry)
        for name in entry.changed:
            f = _field(entry.model, name)
            if f is not None and f.is_relation and f.related_model is not None:
                for side in (entry.before or {}, entry.after or {}):
                    value = side.get(name)
                    ids = value if isinstance(value, list) else [value]
                    wanted.setdefault(f.related_model, set()).update(
                        v for v in ids if v is not None)
    names = {model: {pk: str(obj) for pk, obj in model._default_manager.in_bulk(ids).items()}
             for model, ids in wanted.items()}
    for entry in entries:
        entry.changes = [
            Change(label=field_label(entry.model, name),
                   before=_shown(entry.model, name, (entry.before or {}).get(name), names),
                   after=_shown(entry.model, name, (entry.after or {}).get(name), names))
            for name in entry.changed]
    return entries


def _changed_names(entry: AuditEntry) -> list[str]:
    if entry.action == AuditEntry.Action.CREATE:
        return [k for k, v in (entry.after or {}).items()
                if v not in (None, "", [], False) and k != "id"]
    if entry.action == AuditEntry.Action.DELETE:
        return []
    return list(entry.changed_fields or [])


def _field(model, name):
    """The model's own field of that name; None for reverse relations and non-fields (an
    explosion's counts, a field removed since)."""
    try:
        f = model._meta.get_field(name) if model else None
    except FieldDoesNotExist:
        return None
    return None if f is not None and f.auto_created and not f.concrete else f


def _shown(model, name, value, names):
    f = _field(model, name)
    if value is None or value == "" or f is None:
        return value
    if f.is_relation and f.related_model is not None:
        known = names.get(f.related_model, {})
        if isinstance(value, list):
            return join_list(known.get(v, f"#{v}") for v in value) or None
        return known.get(value, f"#{value}")
    if f.choices:
        return dict(f.flatchoices).get(value, value)
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(f, DateTimeField) and isinstance(value, str):
        parsed = parse_datetime(value)
        return timezone.localtime(parsed).strftime("%Y-%m-%d %H:%M") if parsed else value
    return value
