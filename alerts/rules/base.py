"""What every evaluator shares: candidates, the focus of an event-driven run, scope filters and
the present as seconds since the epoch (columns: mes.sql.Epoch), so time arithmetic happens in
SQL on SQLite and PostgreSQL.

An evaluator answers one question with ONE set-based query (two for a few kinds): which
subjects violate this rule right now? It never looks at alerts; the raising service compares
the answer with the rule's alerts and raises, re-opens or clears in bulk.
"""

import datetime
from dataclasses import dataclass, field

from django.db.models import FloatField, Q, QuerySet, Value
from django.utils import timezone

from alerts.kinds import Scope


def epoch(now: datetime.datetime) -> Value:
    return Value(now.timestamp(), output_field=FloatField())


def local(dt: datetime.datetime | None) -> str:
    return timezone.localtime(dt).strftime("%m-%d %H:%M") if dt else ""


def minutes_between(earlier, later) -> int:
    return int((later - earlier).total_seconds() // 60)


@dataclass
class Candidate:
    """A subject that violates a rule now, with where it sits and who answers for it."""

    object_id: int
    subject_repr: str
    data: dict
    task_id: int | None = None
    work_order_id: int | None = None
    work_center_id: int | None = None
    line_id: int | None = None
    workshop_id: int | None = None
    equipment_id: int | None = None
    responsible_id: int | None = None  # work order's responsible person
    lead_id: int | None = None         # work center's lead


@dataclass
class Focus:
    """The subjects one domain event touched: an event-driven run looks only at these."""

    task_ids: set = field(default_factory=set)
    work_order_ids: set = field(default_factory=set)
    work_center_ids: set = field(default_factory=set)
    equipment_ids: set = field(default_factory=set)
    inspection_ids: set = field(default_factory=set)
    nonconformance_ids: set = field(default_factory=set)

    def is_empty(self) -> bool:
        return not any((self.task_ids, self.work_order_ids, self.work_center_ids,
                        self.equipment_ids, self.inspection_ids, self.nonconformance_ids))


def scope_q(rule, wc_path: str) -> Q:
    """The rule's scope as a filter on the work center found at `wc_path`."""
    if rule.scope == Scope.WORKSHOP:
        return Q(**{f"{wc_path}__line__workshop_id": rule.workshop_id})
    if rule.scope == Scope.LINE:
        return Q(**{f"{wc_path}__line_id": rule.line_id})
    if rule.scope == Scope.WORK_CENTER:
        return Q(**{f"{wc_path}_id": rule.work_center_id})
    return Q()


class Evaluator:
    kind: str = ""
    subject_model: type = None
    stateful = True
    # The column of `queryset()` that identifies the subject (the alert's object_id).
    id_field = "pk"
    # Fields of `queryset()` rows handed to `candidate()`.
    values: tuple = ()

    def queryset(self, rule, now) -> QuerySet:
        raise NotImplementedError

    def candidate(self, row: dict, rule, now) -> Candidate:
        raise NotImplementedError

    def focus_q(self, focus: Focus) -> Q | None:
        """Filter on `queryset()` for an event-driven run; None: this event does not concern
        this kind."""
        return None

    def alert_focus_q(self, focus: Focus) -> Q | None:
        """Filter on the rule's alerts whose condition an event-driven run may clear."""
        return None

    def _restricted(self, rule, now, focus, ids):
        qs = self.queryset(rule, now)
        if focus is not None:
            fq = self.focus_q(focus)
            if fq is None:
                return None
            qs = qs.filter(fq)
        if ids is not None:
            qs = qs.filter(**{f"{self.id_field}__in": list(ids)})
        return qs.order_by()

    def subject_ids(self, rule, now, focus: Focus | None = None) -> set[int] | None:
        """Which subjects violate the rule now: ids only, one query (cheap however many)."""
        qs = self._restricted(rule, now, focus, None)
        if qs is None:
            return None
        return set(qs.values_list(self.id_field, flat=True))

    def candidates(self, rule, now, focus: Focus | None = None,
                   ids=None) -> list[Candidate] | None:
        """The violating subjects with where they sit and who answers for them (one query,
        two for a few kinds), restricted to `ids` when given."""
        qs = self._restricted(rule, now, focus, ids)
        if qs is None:
            return None
        return self.finish([self.candidate(row, rule, now) for row in self.rows(qs)],
                           rule, now)

    def rows(self, qs):
        return qs.values(*self.values)

    def finish(self, found: list[Candidate], rule, now) -> list[Candidate]:
        """A hook for a second fixed query over the candidates (where they sit)."""
        return found
