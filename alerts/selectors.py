"""Reads of the alerts app. Each costs a fixed number of queries whatever the data size.

For station and board pages (one query each, any number of ids):

    open_alerts_by_task(task_ids) -> {task_id: [AlertBadge, ...]}
    open_alerts_by_work_center(work_center_ids) -> {work_center_id: [AlertBadge, ...]}
    open_alert_counts(work_center_ids=None) -> {work_center_id: {"critical": n, ...}}
    alert_badges_for_tasks(task_ids) -> {task_id: [{"label", "severity", ...}]}
        (the shape execution.selectors.register_alert_badges expects)

"Open" means open or acknowledged; badges come most severe first, then oldest first.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from alerts.kinds import Channel, Kind, Severity
from alerts.messages import render_message
from alerts.models import Alert, Notification
from mes.audit import audit_entries_for
from mes.models import SYSTEM_ACTOR, actor_label
from mes.roles import QUALITY_READERS, has_any

SEVERITY_RANK = Case(When(severity=Severity.CRITICAL, then=Value(0)),
                     When(severity=Severity.WARNING, then=Value(1)),
                     default=Value(2), output_field=IntegerField())


@dataclass(frozen=True)
class AlertBadge:
    id: int
    kind: str
    severity: str
    status: str
    label: str          # the rule's name, in the reader's language
    message: str
    subject: str
    raised_at: object
    task_id: int | None
    work_center_id: int | None
    url: str

    def __getitem__(self, key):  # templates and callers may treat it as a dict
        return getattr(self, key)

    def get(self, key, default=None):
        return getattr(self, key, default)


def _badge(row: Alert) -> AlertBadge:
    return AlertBadge(
        id=row.pk, kind=row.kind, severity=row.severity, status=row.status,
        label=row.rule.display_name, message=render_message(row.kind, row.data, row.message),
        subject=row.subject_repr, raised_at=row.raised_at, task_id=row.task_id,
        work_center_id=row.work_center_id, url=reverse("alerts:alert_detail", args=[row.pk]))


def _open() -> QuerySet:
    return (Alert.objects.filter(status__in=Alert.ACTIVE).select_related("rule")
            .annotate(rank=SEVERITY_RANK).order_by("rank", "raised_at", "pk"))


def open_alerts_by_task(task_ids: Iterable[int]) -> dict[int, list[AlertBadge]]:
    ids = [i for i in set(task_ids) if i is not None]
    out: dict[int, list[AlertBadge]] = defaultdict(list)
    if ids:
        for row in _open().filter(task_id__in=ids):
            out[row.task_id].append(_badge(row))
    return dict(out)


def open_alerts_by_work_center(work_center_ids: Iterable[int]) -> dict[int, list[AlertBadge]]:
    ids = [i for i in set(work_center_ids) if i is not None]
    out: dict[int, list[AlertBadge]] = defaultdict(list)
    if ids:
        for row in _open().filter(work_center_id__in=ids):
            out[row.work_center_id].append(_badge(row))
    return dict(out)


def open_alert_counts(work_center_ids: Iterable[int] | None = None) -> dict[int, dict]:
    qs = Alert.objects.filter(status__in=Alert.ACTIVE, work_center_id__isnull=False)
    if work_center_ids is not None:
        qs = qs.filter(work_center_id__in=list(work_center_ids))
    out: dict[int, dict] = defaultdict(lambda: dict.fromkeys(Severity.values, 0))
    for wc, severity, n in qs.values_list("work_center_id", "severity").annotate(n=Count("pk")) \
            .order_by():
        out[wc][severity] = n
    return dict(out)


def alert_badges_for_tasks(task_ids: Iterable[int]) -> dict[int, list[dict]]:
    return {task: [{"label": b.label, "severity": b.severity, "id": b.id, "url": b.url,
                    "message": b.message} for b in badges]
            for task, badges in open_alerts_by_task(task_ids).items()}


# --- Pages ------------------------------------------------------------------------------------
def alert_list_queryset() -> QuerySet:
    return Alert.objects.select_related("rule", "work_center", "assignee").annotate(
        rank=SEVERITY_RANK)


def alert_detail(pk: int) -> Alert:
    return (Alert.objects.select_related("rule", "work_center", "line", "workshop", "assignee",
                                         "acknowledged_by", "resolved_by", "closed_by")
            .get(pk=pk))


def alert_timeline(alert: Alert) -> list[dict]:
    """Audit entries and comments, oldest first (two queries)."""
    labels = dict(Alert.Status.choices)
    items = [{"at": e.at, "who": e.actor_shown, "what": e.get_action_display(),
              "reason": e.reason_shown, "kind": "audit",
              # a creation changes every field: listing them says nothing
              "changed": [] if e.action == "create" else e.changed_labels,
              "status": labels.get((e.after or {}).get("status"))
              if "status" in e.changed_fields else None}
             for e in audit_entries_for(alert)]
    items += [{"at": c.created_at,
               "who": str(c.author) if c.author else actor_label(SYSTEM_ACTOR),
               "what": "comment", "reason": c.text, "changed": [], "status": None,
               "kind": "comment"} for c in alert.comments.select_related("author")]
    return sorted(items, key=lambda i: i["at"])


def alert_notifications(alert: Alert) -> list[Notification]:
    return list(alert.notifications.select_related("recipient", "endpoint")
                .order_by("level", "channel", "pk"))


def subject_url(alert: Alert, *, user) -> str:
    """A link to the alert's subject where such a page exists and `user` may open it (no
    query): a quality record's page only for its readers, the work order's for the rest."""
    data = alert.data or {}
    reads_quality = has_any(user, QUALITY_READERS)
    tries = {
        Kind.SCHEDULE_LAG: [("planning:work_order_detail", alert.work_order_id)],
        Kind.PROGRESS_LAG: [("planning:work_order_detail", alert.work_order_id)],
        Kind.OVERDUE_REPORT: [("planning:work_order_detail", alert.work_order_id)],
        Kind.DUE_DATE_RISK: [("planning:work_order_detail", alert.object_id)],
        Kind.INSPECTION_FAILED: [("quality:inspection_detail", alert.object_id),
                                 ("planning:work_order_detail", alert.work_order_id)],
        Kind.REWORK_LOOPS: [("quality:nc_detail", alert.object_id),
                            ("planning:work_order_detail", alert.work_order_id)],
        Kind.DEFECT_RATE: [("planning:work_center_detail", alert.object_id)],
        Kind.DOWNTIME: [("planning:equipment_detail", alert.equipment_id)],
        Kind.PLAN_CHANGE: [("planning:order_detail", alert.object_id)],
    }.get(alert.kind, [])
    for name, pk in tries:
        if pk is None or (name.startswith("quality:") and not reads_quality):
            continue
        try:
            return reverse(name, args=[pk])
        except NoReverseMatch:
            continue
    return data.get("url", "")


# --- The reader's notifications ---------------------------------------------------------------
def inbox(user, *, limit: int = 100) -> list[Notification]:
    return list(Notification.objects.filter(recipient=user, channel=Channel.IN_APP)
                .select_related("alert", "alert__rule").order_by("-created_at", "-pk")[:limit])


def unread_count(user) -> int:
    return Notification.objects.filter(recipient=user, channel=Channel.IN_APP,
                                       read_at__isnull=True).count()


def age_hours(alert: Alert, now=None) -> float:
    end = alert.resolved_at or now or timezone.now()
    return (end - alert.raised_at).total_seconds() / 3600


def active_q() -> Q:
    return Q(status__in=Alert.ACTIVE)
