"""What people do with an alert: acknowledge, resolve (cause and action required), close,
comment, reassign, escalate by hand. Each call is atomic, locks the alert row, writes one audit
entry with before/after and the reason, and announces the change on the plant and the alert's
work-center topics (and `user:<id>` for whoever is notified).

The timestamps are the exception-response KPI: acknowledged − raised, resolved − raised.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from alerts.kinds import Channel
from alerts.models import Alert, AlertComment
from alerts.services.common import alert_event_rows, events_bulk, next_alert_status
from alerts.services.notify import notify_levels, notify_people
from alerts.services.raising import next_escalation, rule_levels
from mes.audit import audit_record, snapshot
from mes.models import AuditEntry, User
from mes.system_text import SystemText, system_text

S = Alert.Status
TEXT_MAX = 2000


def _lock(alert) -> Alert:
    pk = alert.pk if isinstance(alert, Alert) else alert
    return (Alert.objects.select_for_update(of=("self",)).select_related("rule")
            .get(pk=pk))


def _text(value, field: str, missing: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationError({field: missing})
    if len(text) > TEXT_MAX:
        raise ValidationError({field: _("At most %(n)d characters.") % {"n": TEXT_MAX}})
    return text


def _done(alert: Alert, actor, before: dict, reason: str | SystemText, kind: str,
          action=AuditEntry.Action.TRANSITION) -> Alert:
    alert.save()
    audit_record(actor=actor, instance=alert, action=action, before=before, reason=reason)
    events_bulk(alert_event_rows([alert], kind), actor=actor)
    return alert


@transaction.atomic
def alert_acknowledge(*, actor, alert, note: str = "", now=None) -> Alert:
    """Someone has seen it and is on it. Before: open. After: acknowledged, who and when
    recorded, escalation stopped; the acknowledger becomes the assignee when there was none."""
    a = _lock(alert)
    before = snapshot(a)
    a.status = next_alert_status(a, "acknowledge")
    a.acknowledged_at, a.acknowledged_by = now or timezone.now(), actor
    a.next_escalation_at = None
    if a.assignee_id is None:
        a.assignee = actor
    return _done(a, actor, before, (note or "").strip()[:TEXT_MAX], "alert.acknowledged")


@transaction.atomic
def alert_resolve(*, actor, alert, cause: str, action: str, now=None) -> Alert:
    """Before: open or acknowledged; a cause and the action taken, both required. After:
    resolved; an alert resolved without an acknowledgement counts as acknowledged now."""
    errors = {}
    try:
        cause = _text(cause, "cause", _("Say what caused it."))
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        action = _text(action, "action", _("Say what was done about it."))
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    a = _lock(alert)
    before = snapshot(a)
    a.status = next_alert_status(a, "resolve")
    at = now or timezone.now()
    if a.acknowledged_at is None:
        a.acknowledged_at, a.acknowledged_by = at, actor
    a.resolved_at, a.resolved_by, a.cause, a.action = at, actor, cause, action
    a.next_escalation_at = None
    return _done(a, actor, before, cause, "alert.resolved")


@transaction.atomic
def alert_close(*, actor, alert, note: str = "", now=None) -> Alert:
    """The resolution has been checked. Before: resolved. After: closed."""
    a = _lock(alert)
    before = snapshot(a)
    a.status = next_alert_status(a, "close")
    a.closed_at, a.closed_by = now or timezone.now(), actor
    return _done(a, actor, before, (note or "").strip()[:TEXT_MAX], "alert.closed")


@transaction.atomic
def alert_comment(*, actor, alert, text: str, now=None) -> AlertComment:
    """A note on the alert's timeline, in any state."""
    text = _text(text, "text", _("Write the comment."))
    a = _lock(alert)
    comment = AlertComment.objects.create(alert=a, author=actor, text=text,
                                          created_at=now or timezone.now())
    audit_record(actor=actor, instance=comment, action=AuditEntry.Action.CREATE,
                 reason=system_text("comment on alert #%(id)s", id=a.pk))
    events_bulk(alert_event_rows([a], "alert.commented"), actor=actor)
    return comment


@transaction.atomic
def alert_reassign(*, actor, alert, assignee: User, reason: str = "", now=None) -> Alert:
    """Hand the alert to someone else. Before: open or acknowledged, an active assignee.
    After: assignee changed; the new assignee is notified in the app and by e-mail."""
    if assignee is None:
        raise ValidationError({"assignee": _("Pick who takes it over.")})
    if not assignee.is_active:
        raise ValidationError({"assignee": _("%(who)s is no longer active.") % {"who": assignee}})
    a = _lock(alert)
    next_alert_status(a, "reassign")
    if a.assignee_id == assignee.pk:
        raise ValidationError({"assignee": _("%(who)s already has it.") % {"who": assignee}})
    before = snapshot(a)
    a.assignee = assignee
    _done(a, actor, before, (reason or "").strip()[:TEXT_MAX], "alert.reassigned",
          action=AuditEntry.Action.UPDATE)
    notify_people(a, {assignee.pk}, level=0, channels=(Channel.IN_APP, Channel.EMAIL),
                  now=now or timezone.now(), actor=actor)
    return a


@transaction.atomic
def alert_escalate(*, actor, alert, reason: str = "", now=None) -> Alert:
    """Escalate one level by hand (or from the sweep when nobody answered in time).
    Before: open or acknowledged and a next level in the chain. After: level + 1, that level
    notified; while the alert stays unacknowledged the next level is due on its time."""
    a = _lock(alert)
    next_alert_status(a, "escalate")
    levels = rule_levels(a.rule)
    following = [lv for lv in levels if lv.level > a.escalation_level]
    if not following:
        raise ValidationError(_("Alert #%(id)s is already at the last level of its chain.")
                              % {"id": a.pk})
    before = snapshot(a)
    at = now or timezone.now()
    a.escalation_level = following[0].level
    a.next_escalation_at = (next_escalation(a.raised_at, levels, a.escalation_level)
                            if a.status == S.OPEN else None)
    # (The default reason in each reader's language, not in the escalating user's.)
    _done(a, actor, before,
          (reason or "").strip()[:TEXT_MAX] or system_text("escalated by hand"),
          "alert.escalated")
    notify_levels([(a, following[0])], now=at, actor=actor)
    return a
