"""Who hears about an alert at an escalation level, and the notification rows for them.

`notify_levels` takes many (alert, level) pairs and costs a fixed number of queries: people are
resolved for all pairs at once, the rows are inserted in one statement, in-app notifications
are announced on each person's `user:<id>` topic at once, and e-mail / webhook sends are
handed to Celery after commit.
"""

from collections import defaultdict
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext as _

from alerts.kinds import Channel
from alerts.models import Alert, EscalationLevel, Notification
from alerts.services.common import alert_url, enqueue_on_commit, events_bulk, insert_and_fetch
from mes.events import topic_user
from mes.labels import join_list, labelled
from mes.models import User
from planning.models import WorkCenter, WorkOrder

N = Notification.Status


def notification_title(alert: Alert) -> str:
    title = labelled(alert.rule.display_name, alert.subject_repr)
    return f"{alert.get_severity_display()} · {title}"


def _responsible_people(alerts: list[Alert]) -> dict[int, set[int]]:
    """alert id -> {assignee, work order's responsible, work center's lead} (two queries)."""
    wc_ids = {a.work_center_id for a in alerts if a.work_center_id}
    wo_ids = {a.work_order_id for a in alerts if a.work_order_id}
    leads = dict(WorkCenter.objects.filter(pk__in=wc_ids).values_list("pk", "lead_id")) \
        if wc_ids else {}
    owners = dict(WorkOrder.objects.filter(pk__in=wo_ids).values_list("pk", "responsible_id")) \
        if wo_ids else {}
    return {a.pk: {a.assignee_id, leads.get(a.work_center_id), owners.get(a.work_order_id)}
            - {None} for a in alerts}


def _role_people(roles: set[str]) -> tuple[dict[str, set[int]], dict[int, set[int]]]:
    """role -> active members; member -> workshops where they lead a work center."""
    members: dict[str, set[int]] = defaultdict(set)
    if not roles:
        return members, {}
    for pk, role in User.objects.filter(is_active=True, groups__name__in=roles).values_list(
            "pk", "groups__name"):
        members[role].add(pk)
    everyone = set().union(*members.values()) if members else set()
    leads: dict[int, set[int]] = defaultdict(set)
    for lead_id, workshop_id in WorkCenter.objects.filter(lead_id__in=everyone).values_list(
            "lead_id", "line__workshop_id"):
        leads[lead_id].add(workshop_id)
    return members, leads


def _role_recipients(role, alert, members, leads) -> set[int]:
    """A role's members; those who lead work centers in the alert's workshop when there are
    any (the workshop's own leads), else all of them (e.g. the managers)."""
    people = members.get(role, set())
    local = {p for p in people if alert.workshop_id in leads.get(p, ())}
    return local or people


def notify_levels(pairs: Iterable[tuple[Alert, EscalationLevel]], *, now,
                  actor=None) -> list[Notification]:
    """Create and start sending the notifications of each (alert, escalation level)."""
    pairs = list(pairs)
    if not pairs:
        return []
    alerts = {a.pk: a for a, _level in pairs}
    need_responsible = [alerts[pk] for pk in {a.pk for a, lv in pairs if lv.notify_responsible}]
    responsible = _responsible_people(need_responsible) if need_responsible else {}
    members, leads = _role_people({r for _a, lv in pairs for r in (lv.roles or [])})
    wanted: list[tuple[Alert, int, str, set[int], list]] = []
    for alert, level in pairs:
        people: set[int] = set()
        if level.notify_responsible:
            people |= responsible.get(alert.pk, set())
        for role in level.roles or []:
            people |= _role_recipients(role, alert, members, leads)
        people |= {p.pk for p in level.people.all() if p.is_active}
        hooks = [w for w in level.webhooks.all() if w.active]
        wanted.append((alert, level.level, level.channels or [], people, hooks))
    return _create(wanted, now=now, actor=actor)


def notify_people(alert: Alert, people: set[int], *, level: int, channels, now,
                  actor=None) -> list[Notification]:
    """Notify named people outside the chain (e.g. a new assignee, level 0)."""
    return _create([(alert, level, list(channels), set(people), [])], now=now, actor=actor)


def _create(wanted, *, now, actor) -> list[Notification]:
    everyone = set().union(*(people for *_x, people, _h in wanted))
    emails = dict(User.objects.filter(pk__in=everyone, is_active=True)
                  .values_list("pk", "email")) if everyone else {}
    rows: list[Notification] = []
    for alert, level, channels, people, hooks in wanted:
        for channel in channels:
            if channel == Channel.IN_APP:
                # Delivered by being written: that is its one attempt (as a sent e-mail's).
                rows += [Notification(alert=alert, recipient_id=p, channel=channel, level=level,
                                      status=N.SENT, attempts=1, sent_at=now, created_at=now)
                         for p in sorted(people) if p in emails]
            elif channel == Channel.EMAIL:
                # No address on file: nobody to send to (the in-app channel still reaches them).
                rows += [Notification(alert=alert, recipient_id=p, channel=channel, level=level,
                                      created_at=now)
                         for p in sorted(people) if emails.get(p)]
            elif channel == Channel.WEBHOOK:
                rows += [Notification(alert=alert, endpoint=hook, channel=channel, level=level,
                                      created_at=now) for hook in hooks]
    created = _insert(rows)
    events_bulk(_toasts(created), actor=actor)
    pending = [n.pk for n in created if n.status == N.PENDING]
    if pending:
        from alerts.tasks import notifications_send_many

        enqueue_on_commit(notifications_send_many, pending)
    return created


def _insert(rows: list[Notification]) -> list[Notification]:
    """Insert in one statement; a row that already exists (its unique key: alert, level,
    channel, person or endpoint) is skipped, so nobody is notified twice for the same thing."""
    if not rows:
        return []
    try:
        with transaction.atomic():
            return insert_and_fetch(
                Notification, rows,
                key=("alert_id", "level", "channel", "recipient_id", "endpoint_id"),
                scope=Q(alert_id__in={n.alert_id for n in rows},
                        created_at=rows[0].created_at))
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


TOASTS_PER_PERSON = 3
SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


def _toasts(created: list[Notification]) -> list[tuple[str, str, dict]]:
    """One toast per in-app notification; a person who gets more than a few at once gets one
    summary toast (a burst of 300 late tasks is one message, not 300)."""
    mine: dict[int, list[Notification]] = {}
    for n in created:
        if n.channel == Channel.IN_APP:
            mine.setdefault(n.recipient_id, []).append(n)
    rows = []
    for person, ns in mine.items():
        if len(ns) <= TOASTS_PER_PERSON:
            rows += [(topic_user(person), "notification.new", _toast(n)) for n in ns]
            continue
        worst = min((n.alert.severity for n in ns), key=lambda s: SEVERITY_ORDER.get(s, 3))
        subjects = join_list(n.alert.subject_repr for n in ns[:3])
        rows.append((topic_user(person), "notification.new", {
            "count": len(ns), "severity": worst, "url": reverse("alerts:inbox"),
            "title": _("%(n)d new alerts") % {"n": len(ns)},
            "message": f"{subjects} …", "label": _("Alerts")}))
    return rows


def _toast(n: Notification) -> dict:
    alert = n.alert
    return {"notification": n.pk, "alert": alert.pk, "severity": alert.severity,
            "title": notification_title(alert), "message": alert.message,
            "url": alert_url(alert.pk), "level": n.level,
            "label": _("Alert") if n.level else _("Assigned to you")}
