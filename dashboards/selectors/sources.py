"""The record sets KPIs count, and the one way each of them is cut by period and scope.

A Source is a model's records of a kind (completed work orders, work reports, first
inspections, ...), the timestamp that puts a record in a period, and the paths that put it in a
workshop, line or work center. Every KPI figure, trend, breakdown and drill-down list is built
from these, so a record counted in a figure is exactly a record its drill-down lists.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Q, QuerySet

from dashboards.periods import Period, Scope
from execution.models import DowntimeEvent, WorkReport
from planning.models import Task, WorkOrder
from quality.models import Inspection, Nonconformance

WO = WorkOrder.Status
COMPLETED = (WO.AWAITING_ACCEPTANCE, WO.ACCEPTED)


def _wo_at_work_center(wc_id) -> Q:
    return Q(Exists(Task.objects.filter(work_order=OuterRef("pk"), work_center_id=wc_id)))


@dataclass(frozen=True)
class Source:
    key: str
    base: Callable[[], QuerySet]
    time_field: str
    # scope level -> field path to the id, or a callable id -> Q
    scope: dict
    # breakdown dimension ("line", "work_center") -> field path to its id
    dims: dict = field(default_factory=dict)

    def scope_q(self, scope: Scope) -> Q:
        level, pk = scope.narrowest
        if level == "plant":
            return Q()
        path = self.scope[level]
        return path(pk) if callable(path) else Q(**{path: pk})

    def queryset(self, period: Period | None, scope: Scope) -> QuerySet:
        qs = self.base()
        if period is not None:
            qs = qs.filter(**{f"{self.time_field}__gte": period.start,
                              f"{self.time_field}__lt": period.end})
        return qs.filter(self.scope_q(scope))


# Work orders whose last operation completed (awaiting acceptance or accepted), by completion
# time. A work order belongs to the line of its first operation (set at explosion), hence to
# that line's workshop; it belongs to every work center one of its operations runs on.
WORK_ORDERS_COMPLETED = Source(
    "work_orders_completed",
    lambda: WorkOrder.objects.filter(status__in=COMPLETED, actual_end__isnull=False),
    "actual_end",
    {"workshop": "line__workshop_id", "line": "line_id", "work_center": _wo_at_work_center},
    {"line": "line_id"},
)

WORK_REPORTS = Source(
    "work_reports", lambda: WorkReport.objects.all(), "reported_at",
    {"workshop": "work_center__line__workshop_id", "line": "work_center__line_id",
     "work_center": "work_center_id"},
    {"line": "work_center__line_id", "work_center": "work_center_id"},
)

# First inspections (loop 0) that have been recorded, by inspection time, at the work center
# of the inspected step.
FIRST_INSPECTIONS = Source(
    "first_inspections",
    lambda: Inspection.objects.filter(loop=0).exclude(status=Inspection.Status.PENDING),
    "inspected_at",
    {"workshop": "origin_task__work_center__line__workshop_id",
     "line": "origin_task__work_center__line_id", "work_center": "origin_task__work_center_id"},
    {"line": "origin_task__work_center__line_id", "work_center": "origin_task__work_center_id"},
)

# Nonconformances by the time they were opened, at the work center of the responsible step.
NONCONFORMANCES = Source(
    "nonconformances", lambda: Nonconformance.objects.all(), "created_at",
    {"workshop": "responsible_task__work_center__line__workshop_id",
     "line": "responsible_task__work_center__line_id",
     "work_center": "responsible_task__work_center_id"},
    {"line": "responsible_task__work_center__line_id",
     "work_center": "responsible_task__work_center_id"},
)

REWORK_NONCONFORMANCES = Source(
    "rework_nonconformances",
    lambda: Nonconformance.objects.filter(disposition=Nonconformance.Disposition.REWORK),
    NONCONFORMANCES.time_field, NONCONFORMANCES.scope, NONCONFORMANCES.dims,
)

# Downtime is cut by overlap with the period, not by a timestamp (see downtime_overlapping).
DOWNTIME_SCOPE = {"workshop": "equipment__work_center__line__workshop_id",
                  "line": "equipment__work_center__line_id",
                  "work_center": "equipment__work_center_id"}


def downtime_overlapping(period: Period, scope: Scope, *, planned: bool | None = False,
                         now=None) -> QuerySet:
    """Downtime events that overlap the period (an open one lasts until now)."""
    from django.utils import timezone

    now = now or timezone.now()
    qs = DowntimeEvent.objects.filter(start__lt=min(period.end, now)).filter(
        Q(end__isnull=True) | Q(end__gt=period.start))
    if planned is not None:
        qs = qs.filter(planned=planned)
    level, pk = scope.narrowest
    if level != "plant":
        qs = qs.filter(**{DOWNTIME_SCOPE[level]: pk})
    return qs


def alerts_source():
    """Alerts by the time they were raised, where the alerts app put them (its denormalised
    workshop, line and work center); None while the alerts app is not installed."""
    from django.apps import apps

    if not apps.is_installed("alerts"):
        return None
    from alerts.models import Alert

    return Source(
        "alerts", lambda: Alert.objects.all(), "raised_at",
        {"workshop": "workshop_id", "line": "line_id", "work_center": "work_center_id"},
        {"line": "line_id", "work_center": "work_center_id"},
    )
