"""Task kinds: not started on time, progress behind the plan, running past its end unreported."""

import datetime
from decimal import Decimal

from django.db.models import Case, Exists, F, FloatField, OuterRef, Q, When
from django.db.models.functions import Cast, NullIf

from alerts.kinds import Kind
from alerts.rules.base import Candidate, Evaluator, epoch, local, minutes_between
from alerts.rules.base import scope_q as _scope
from execution.models import WorkReport
from mes.sql import Epoch
from planning.models import Task

T = Task.Status


class TaskEvaluator(Evaluator):
    subject_model = Task
    values = ("pk", "seq", "name", "work_order_id", "work_order__number", "work_center_id",
              "work_center__line_id", "work_center__line__workshop_id",
              "work_order__responsible_id", "work_center__lead_id", "planned_start",
              "planned_end", "quantity", "qty_good", "qty_scrap")

    def base(self, rule):
        return Task.objects.filter(_scope(rule, "work_center"))

    def focus_q(self, focus):
        if not (focus.task_ids or focus.work_order_ids):
            return None
        return Q(pk__in=focus.task_ids) | Q(work_order_id__in=focus.work_order_ids)

    def alert_focus_q(self, focus):
        return Q(task_id__in=focus.task_ids) | Q(work_order_id__in=focus.work_order_ids)

    def make(self, row, data) -> Candidate:
        return Candidate(
            object_id=row["pk"],
            subject_repr=f"{row['work_order__number']}/{row['seq']} {row['name']}"[:200],
            data=data, task_id=row["pk"], work_order_id=row["work_order_id"],
            work_center_id=row["work_center_id"], line_id=row["work_center__line_id"],
            workshop_id=row["work_center__line__workshop_id"],
            responsible_id=row["work_order__responsible_id"], lead_id=row["work_center__lead_id"])


class ScheduleLag(TaskEvaluator):
    """Released, not started, and the planned start is more than N minutes ago."""

    kind = Kind.SCHEDULE_LAG

    def queryset(self, rule, now):
        limit = now - datetime.timedelta(minutes=rule.minutes or 0)
        return self.base(rule).filter(status=T.RELEASED, actual_start__isnull=True,
                                      planned_start__lt=limit)

    def candidate(self, row, rule, now):
        return self.make(row, {"late_minutes": minutes_between(row["planned_start"], now),
                               "planned_start": local(row["planned_start"])})


class ProgressLag(TaskEvaluator):
    """Running (or paused) and the reported good + scrap is more than X percentage points of
    the task quantity behind the time-proportional plan between planned start and end."""

    kind = Kind.PROGRESS_LAG

    def queryset(self, rule, now):
        start, end, at = Epoch("planned_start"), Epoch("planned_end"), epoch(now)
        expected = Case(When(planned_end__lte=now, then=100.0),
                        default=(at - start) * 100.0 / NullIf(end - start, 0.0),
                        output_field=FloatField())
        actual = Cast(F("qty_good") + F("qty_scrap"), FloatField()) * 100.0 / Cast(
            NullIf(F("quantity"), Decimal(0)), FloatField())
        return (self.base(rule)
                .filter(status__in=(T.IN_PROGRESS, T.PAUSED), planned_start__lt=now,
                        planned_end__isnull=False, quantity__gt=0)
                .alias(behind=expected - actual)
                .filter(behind__gt=float(rule.percent or 0)))

    def candidate(self, row, rule, now):
        span = (row["planned_end"] - row["planned_start"]).total_seconds()
        elapsed = (now - row["planned_start"]).total_seconds()
        expected = 100.0 if row["planned_end"] <= now or span <= 0 else 100.0 * elapsed / span
        actual = float((row["qty_good"] + row["qty_scrap"]) * 100 / row["quantity"])
        return self.make(row, {"expected_pct": round(expected, 1), "actual_pct": round(actual, 1),
                               "behind_pct": round(expected - actual, 1),
                               "planned_end": local(row["planned_end"])})


class OverdueReport(TaskEvaluator):
    """In progress past its planned end + grace, and no report within the grace window."""

    kind = Kind.OVERDUE_REPORT

    def queryset(self, rule, now):
        since = now - datetime.timedelta(minutes=rule.minutes or 0)
        recent = WorkReport.objects.filter(task=OuterRef("pk"), reported_at__gte=since)
        return (self.base(rule).filter(status=T.IN_PROGRESS, planned_end__lt=since)
                .exclude(Exists(recent)))

    def candidate(self, row, rule, now):
        return self.make(row, {"over_minutes": minutes_between(row["planned_end"], now),
                               "grace": rule.minutes or 0,
                               "planned_end": local(row["planned_end"])})
