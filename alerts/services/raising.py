"""Evaluating one rule: raise alerts for new violations, mark those whose condition cleared
(resolving them when the rule says so), and re-arm those whose condition came back.

Costs per rule, whatever the number of tasks: one locking read of the rule, the evaluator's
query (one or two), one read of the rule's live alerts, and — only when something changed —
a fixed number of bulk writes. The rule row lock serialises concurrent evaluations of the same
rule (beat sweep, event-driven runs, several workers); the partial unique constraint on open
alerts is the last line of defence and is handled without failing the sweep.
"""

import datetime
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils.translation import gettext as _

from alerts.kinds import STATEFUL_KINDS
from alerts.messages import render_message
from alerts.models import Alert, AlertRule, EscalationLevel
from alerts.rules import EVALUATORS, Candidate, Focus, subject_model_for
from alerts.services.common import announce, audit_bulk, insert_and_fetch
from alerts.services.notify import notify_levels
from mes.audit import snapshot
from mes.models import AuditEntry
from mes.system_text import system_text

S = Alert.Status


@dataclass
class RuleOutcome:
    raised: int = 0
    cleared: int = 0
    resolved: int = 0
    recurred: int = 0

    def add(self, other: "RuleOutcome") -> None:
        for name in ("raised", "cleared", "resolved", "recurred"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def rule_levels(rule: AlertRule) -> list[EscalationLevel]:
    return list(EscalationLevel.objects.filter(rule=rule).order_by("level")
                .prefetch_related("people", "webhooks"))


def next_escalation(raised_at, levels, level_no: int):
    """When the level after `level_no` is due (None at the end of the chain)."""
    following = [lv for lv in levels if lv.level > level_no]
    if not following:
        return None
    return raised_at + datetime.timedelta(minutes=following[0].after_minutes)


def rule_evaluate(*, rule_id: int, now, focus: Focus | None = None) -> RuleOutcome | None:
    """Evaluate one active rule (all its subjects, or only those in `focus`)."""
    with transaction.atomic():
        rule = (AlertRule.objects.select_for_update().filter(pk=rule_id, active=True)
                .first())
        if rule is None or rule.kind not in EVALUATORS:
            return None
        evaluator = EVALUATORS[rule.kind]
        violating = evaluator.subject_ids(rule, now, focus)
        if violating is None:
            return None
        return _apply(rule, evaluator, violating, now, focus)


def _apply(rule, evaluator, violating: set[int], now, focus) -> RuleOutcome:
    """Compare the violating subject ids with the rule's alerts. Only ids travel here; the
    full rows are read for the subjects that need a new alert, so a plant with thousands of
    long-known violations costs two light queries per rule, not thousands of objects."""
    outcome = RuleOutcome()
    stateful = rule.kind in STATEFUL_KINDS
    alerts = Alert.objects.filter(rule=rule)
    if stateful:
        alerts = alerts.filter(Q(condition_cleared_at__isnull=True) | Q(status__in=Alert.ACTIVE))
        if focus is not None:
            alerts = alerts.filter(evaluator.alert_focus_q(focus) | Q(object_id__in=violating))
    else:  # events: one alert per subject, ever
        alerts = alerts.filter(object_id__in=list(violating))
    blocked, recur, clear = set(), [], []
    for pk, object_id, status, cleared in alerts.values_list("pk", "object_id", "status",
                                                             "condition_cleared_at"):
        if object_id in violating:
            blocked.add(object_id)
            if stateful and status in Alert.ACTIVE and cleared is not None:
                recur.append(pk)
        elif stateful and cleared is None:
            clear.append(pk)
    new_ids = violating - blocked
    if new_ids:
        found = evaluator.candidates(rule, now, ids=new_ids) or []
        outcome.raised = len(alerts_raise(rule=rule, candidates=found, now=now))
    if recur:
        outcome.recurred = _recur(rule, recur, now)
    if clear:
        outcome.cleared, outcome.resolved = _clear(rule, clear, now)
    return outcome


def alerts_raise(*, rule: AlertRule, candidates: list[Candidate], now,
                 levels: list[EscalationLevel] | None = None) -> list[Alert]:
    """Raise one alert per candidate, in bulk (call inside the rule's transaction, with the
    rule row locked). Level 1 of the chain is notified at once when it is due at 0 minutes.
    After: alerts created, audit entries, alert.raised on the plant and work-center topics,
    notifications created and being sent."""
    levels = rule_levels(rule) if levels is None else levels
    ct = ContentType.objects.get_for_model(subject_model_for(rule.kind))
    first = levels[0] if levels else None
    immediate = first is not None and first.after_minutes == 0
    rows = []
    # In the subjects' order, whatever order the evaluator's query returned them in: alerts
    # raised together are numbered the same way every time (the demo's history repeats for a
    # seed, and lists ordered by id read the same on every run).
    for c in sorted(candidates, key=lambda c: c.object_id):
        level_no = 1 if immediate else 0
        rows.append(Alert(
            rule=rule, kind=rule.kind, severity=rule.severity, status=S.OPEN,
            content_type=ct, object_id=c.object_id, subject_repr=c.subject_repr[:200],
            task_id=c.task_id, work_order_id=c.work_order_id, work_center_id=c.work_center_id,
            line_id=c.line_id, workshop_id=c.workshop_id, equipment_id=c.equipment_id,
            message=render_message(rule.kind, c.data)[:500], data=c.data, raised_at=now,
            assignee_id=c.responsible_id or c.lead_id, escalation_level=level_no,
            next_escalation_at=next_escalation(now, levels, level_no)))
    created = _insert(rows)
    if not created:
        return []
    audit_bulk(actor=None, instances=created, action=AuditEntry.Action.CREATE,
               reason=system_text("raised by rule %(rule)s", rule=rule.code))
    announce(created, "alert.raised")
    if immediate:
        notify_levels([(a, first) for a in created], now=now)
    return created


def alert_raise(*, rule: AlertRule, candidate: Candidate, now=None) -> Alert | None:
    """Raise one alert (e.g. from a one-off check); None when one is already open for this
    rule and subject. Takes the rule's lock like the sweep, so the two never race."""
    from django.utils import timezone

    with transaction.atomic():
        locked = AlertRule.objects.select_for_update().get(pk=rule.pk)
        if Alert.objects.filter(rule=locked, object_id=candidate.object_id,
                                status__in=Alert.ACTIVE).exists():
            return None
        created = alerts_raise(rule=locked, candidates=[candidate],
                               now=now or timezone.now())
        return created[0] if created else None


def _insert(rows: list[Alert]) -> list[Alert]:
    """One insert; should another process have raised the same alert in between (the partial
    unique constraint says so), insert one by one and skip the duplicates."""
    first = rows[0]
    try:
        with transaction.atomic():
            # One open alert per (rule, subject): the subject identifies each new row.
            return insert_and_fetch(Alert, rows, key=("object_id",), scope=Q(
                rule_id=first.rule_id, status=S.OPEN, raised_at=first.raised_at,
                object_id__in=[r.object_id for r in rows]))
    except IntegrityError:
        created = []
        for row in rows:
            row.pk = None
            try:
                with transaction.atomic():
                    row.save(force_insert=True)
                created.append(row)
            except IntegrityError:
                row.pk = None
        return created


def _recur(rule, ids, now) -> int:
    """The condition of an open alert came back before anyone resolved it: escalate again."""
    levels = rule_levels(rule)
    alerts = list(Alert.objects.select_for_update().filter(pk__in=ids, status__in=Alert.ACTIVE)
                  .select_related("rule"))
    before = {a.pk: snapshot(a) for a in alerts}
    groups: dict[tuple, list[int]] = {}
    for a in alerts:
        a.condition_cleared_at = None
        following = [lv for lv in levels if lv.level > a.escalation_level]
        after = following[0].after_minutes if following and a.status == S.OPEN else None
        if after is not None:
            a.next_escalation_at = a.raised_at + datetime.timedelta(minutes=after)
        groups.setdefault((after,), []).append(a.pk)
    for (after,), pks in groups.items():  # one UPDATE per next level, not per alert
        Alert.objects.filter(pk__in=pks).update(
            condition_cleared_at=None,
            next_escalation_at=F("next_escalation_at") if after is None
            else F("raised_at") + datetime.timedelta(minutes=after))
    audit_bulk(actor=None, instances=alerts, action=AuditEntry.Action.UPDATE, before=before,
               reason=system_text("the condition is back"))
    announce(alerts, "alert.recurred")
    return len(alerts)


def _clear(rule, ids, now) -> tuple[int, int]:
    """The condition no longer holds: note it, stop escalating, and resolve automatically
    when the rule says so (cause and action say it was the system)."""
    alerts = list(Alert.objects.select_for_update().filter(pk__in=ids,
                                                           condition_cleared_at__isnull=True)
                  .select_related("rule"))
    before = {a.pk: snapshot(a) for a in alerts}
    resolved, cleared = [], []
    for a in alerts:
        a.condition_cleared_at = now
        a.next_escalation_at = None
        if rule.auto_resolve and a.status in Alert.ACTIVE:
            a.status, a.resolved_at, a.resolved_by, a.auto_resolved = S.RESOLVED, now, None, True
            a.cause, a.action = _(Alert.AUTO_CAUSE), _(Alert.AUTO_ACTION)
            resolved.append(a)
        else:
            cleared.append(a)
    if resolved:
        Alert.objects.filter(pk__in=[a.pk for a in resolved]).update(
            condition_cleared_at=now, next_escalation_at=None, status=S.RESOLVED,
            resolved_at=now, resolved_by=None, auto_resolved=True, cause=resolved[0].cause,
            action=resolved[0].action)
    if cleared:
        Alert.objects.filter(pk__in=[a.pk for a in cleared]).update(
            condition_cleared_at=now, next_escalation_at=None)
    audit_bulk(actor=None, instances=resolved, action=AuditEntry.Action.TRANSITION,
               before=before, reason=system_text("condition cleared: resolved automatically"))
    audit_bulk(actor=None, instances=cleared, action=AuditEntry.Action.UPDATE, before=before,
               reason=system_text("condition cleared"))
    announce(resolved, "alert.resolved")
    announce(cleared, "alert.cleared")
    return len(cleared), len(resolved)
