"""The periodic sweep and the event-driven evaluation of one subject.

The sweep (Celery beat, every MES_ALERT_SWEEP_SECONDS) evaluates every active rule over all
open work, escalates what nobody answered, and re-enqueues notifications whose Celery message
got lost. Each rule is evaluated in its own short transaction: one slow or failing rule
neither holds the others' locks nor stops them.

Event-driven runs (after a report, a task started, paused, resumed or completed at a station,
an inspection, a downtime, a plan change) evaluate the same rules restricted to the subjects
the event touched, so alerts appear and clear within seconds instead of at the next sweep.
The sweep remains the guarantee: an event-driven run that never happened (broker down) is
caught up by it.
"""

import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from alerts.kinds import SWEPT_KINDS, Kind
from alerts.models import Alert, AlertComment, AlertRule
from alerts.rules import EVALUATORS, Focus, plan_change_candidate
from alerts.services.common import alert_event_rows, enqueue_on_commit, events_bulk
from alerts.services.delivery import notifications_stale
from alerts.services.escalation import alerts_escalate_due
from alerts.services.raising import RuleOutcome, alerts_raise, rule_evaluate
from execution.models import WorkReport
from quality.models import Inspection, Nonconformance

log = logging.getLogger("alerts")


@dataclass
class SweepResult:
    rules: int = 0
    outcome: RuleOutcome = field(default_factory=RuleOutcome)
    escalated: int = 0
    requeued: int = 0
    failed_rules: list = field(default_factory=list)


def alerts_sweep(*, now=None) -> SweepResult:
    """Evaluate every active rule, escalate due alerts, re-enqueue lost notifications."""
    now = now or timezone.now()
    result = SweepResult()
    rule_ids = list(AlertRule.objects.filter(active=True, kind__in=SWEPT_KINDS)
                    .order_by("pk").values_list("pk", flat=True))
    for rule_id in rule_ids:
        try:
            outcome = rule_evaluate(rule_id=rule_id, now=now)
        except Exception:  # one broken rule must not stop the others
            log.exception("alert rule %s could not be evaluated", rule_id)
            result.failed_rules.append(rule_id)
            continue
        if outcome is not None:
            result.rules += 1
            result.outcome.add(outcome)
    result.escalated = alerts_escalate_due(now=now)
    stale = notifications_stale(now=now)
    if stale:
        from alerts.tasks import notifications_send_many

        enqueue_on_commit(notifications_send_many, stale)  # at once: we are in autocommit
        result.requeued = len(stale)
    return result


def focus_resolve(raw: dict) -> Focus:
    """The subjects behind a domain event's ids (at most three queries)."""
    focus = Focus(work_order_ids=set(raw.get("work_order_ids") or ()),
                  equipment_ids=set(raw.get("equipment_ids") or ()),
                  task_ids=set(raw.get("task_ids") or ()),
                  work_center_ids=set(raw.get("work_center_ids") or ()))
    for task, wo, wc in WorkReport.objects.filter(pk__in=raw.get("report_ids") or ()) \
            .values_list("task_id", "task__work_order_id", "task__work_center_id"):
        focus.task_ids.add(task)
        focus.work_order_ids.add(wo)
        focus.work_center_ids.add(wc)
    for pk, task, origin, wo, wc in Inspection.objects.filter(
            pk__in=raw.get("inspection_ids") or ()).values_list(
            "pk", "task_id", "origin_task_id", "work_order_id", "origin_task__work_center_id"):
        focus.inspection_ids.add(pk)
        focus.task_ids |= {task, origin}
        focus.work_order_ids.add(wo)
        focus.work_center_ids.add(wc)
    for pk, wo, wc in Nonconformance.objects.filter(
            pk__in=raw.get("nonconformance_ids") or ()).values_list(
            "pk", "work_order_id", "responsible_task__work_center_id"):
        focus.nonconformance_ids.add(pk)
        focus.work_order_ids.add(wo)
        focus.work_center_ids.add(wc)
    return focus


def alerts_evaluate_focus(*, raw: dict, now=None) -> RuleOutcome:
    """Evaluate the active rules that concern the subjects of one domain event."""
    now = now or timezone.now()
    focus = focus_resolve(raw)
    total = RuleOutcome()
    if focus.is_empty():
        return total
    for rule_id, kind in AlertRule.objects.filter(active=True, kind__in=SWEPT_KINDS) \
            .order_by("pk").values_list("pk", "kind"):
        if EVALUATORS[kind].focus_q(focus) is None:
            continue
        outcome = rule_evaluate(rule_id=rule_id, now=now, focus=focus)
        if outcome is not None:
            total.add(outcome)
    return total


def alerts_plan_changed(*, production_order_id: int, work_order_ids=None, reason: str = "",
                        now=None) -> list[Alert]:
    """A released plan changed: an informational alert per plan-change rule in scope (a
    further change while it is open is added to its timeline), then the due-date risk of the
    changed work orders is evaluated again."""
    now = now or timezone.now()
    raised = []
    for rule_id in AlertRule.objects.filter(active=True, kind=Kind.PLAN_CHANGE).order_by(
            "pk").values_list("pk", flat=True):
        with transaction.atomic():
            rule = AlertRule.objects.select_for_update().filter(pk=rule_id, active=True).first()
            if rule is None:
                continue
            cand = plan_change_candidate(rule, production_order_id, work_order_ids, reason, now)
            if cand is None:
                continue
            existing = (Alert.objects.select_for_update().select_related("rule")
                        .filter(rule=rule, object_id=cand.object_id, status__in=Alert.ACTIVE)
                        .first())
            if existing is None:
                raised += alerts_raise(rule=rule, candidates=[cand], now=now)
                continue
            AlertComment.objects.create(alert=existing, author=None, created_at=now,
                                        text=_("The plan changed again: %(reason)s")
                                        % {"reason": cand.data["reason"]})
            events_bulk(alert_event_rows([existing], "alert.commented"))
    from planning.models import WorkOrder

    ids = list(work_order_ids or WorkOrder.objects.filter(
        production_order_id=production_order_id).values_list("pk", flat=True))
    if ids:
        alerts_evaluate_focus(raw={"work_order_ids": ids}, now=now)
    return raised
