"""Escalation on time: alerts nobody acknowledged climb their chain, level by level.

One call handles every due alert with a fixed number of queries: the due alerts (locked,
skipping any a person holds at this moment), their rules' levels, one bulk update, one audit
insert, one outbox insert and the notifications of all the levels reached.
"""

import datetime
from collections import defaultdict

from django.db import transaction
from django.db.models import F

from alerts.models import Alert, EscalationLevel
from alerts.services.common import announce, audit_bulk
from alerts.services.notify import notify_levels
from alerts.services.raising import next_escalation
from mes.audit import snapshot
from mes.models import AuditEntry
from mes.system_text import system_text

BATCH = 2000


def _save_levels(alerts, chains) -> None:
    """One UPDATE per (rule, level reached): the next time is computed in SQL from raised_at,
    so the number of statements does not grow with the number of alerts."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    for alert in alerts:
        following = [lv for lv in chains[alert.rule_id] if lv.level > alert.escalation_level]
        after = following[0].after_minutes if following else None
        groups[(alert.escalation_level, after)].append(alert.pk)
    for (level, after), ids in groups.items():
        Alert.objects.filter(pk__in=ids).update(
            escalation_level=level,
            next_escalation_at=None if after is None
            else F("raised_at") + datetime.timedelta(minutes=after))


def alerts_escalate_due(*, now) -> int:
    """Escalate every open alert whose next level is due; returns how many alerts climbed.
    A level whose time has passed is notified even when several are due at once (the sweep
    was not running): each of them should have heard."""
    with transaction.atomic():
        due = list(Alert.objects.select_for_update(of=("self",), skip_locked=True)
                   .filter(status=Alert.Status.OPEN, next_escalation_at__lte=now,
                           condition_cleared_at__isnull=True)
                   .select_related("rule").order_by("next_escalation_at", "pk")[:BATCH])
        if not due:
            return 0
        chains: dict[int, list[EscalationLevel]] = defaultdict(list)
        for level in (EscalationLevel.objects.filter(rule_id__in={a.rule_id for a in due})
                      .order_by("rule_id", "level").prefetch_related("people", "webhooks")):
            chains[level.rule_id].append(level)
        before = {a.pk: snapshot(a) for a in due}
        pairs, climbed = [], []
        for alert in due:
            levels = chains[alert.rule_id]
            reached = False
            for level in levels:
                if level.level <= alert.escalation_level:
                    continue
                if alert.raised_at + datetime.timedelta(minutes=level.after_minutes) > now:
                    break
                alert.escalation_level = level.level
                pairs.append((alert, level))
                reached = True
            alert.next_escalation_at = next_escalation(alert.raised_at, levels,
                                                       alert.escalation_level)
            if reached:
                climbed.append(alert)
        _save_levels(due, chains)
        audit_bulk(actor=None, instances=climbed, action=AuditEntry.Action.TRANSITION,
                   before=before, reason=system_text("not acknowledged in time: escalated"))
        announce(climbed, "alert.escalated")
        notify_levels(pairs, now=now)
        return len(climbed)
