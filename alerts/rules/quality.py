"""Quality kinds: a failed inspection, the defect rate of a work center, rework loops used up."""

import datetime

from django.db.models import F, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from alerts.kinds import DEFAULT_INSPECTION_WINDOW_HOURS, DEFAULT_MIN_QUANTITY, Kind
from alerts.rules.base import Candidate, Evaluator, scope_q
from planning.models import WorkCenter
from quality.models import Inspection, InspectionPlan, Nonconformance

# quality.services.inspections.rework_loops_allowed's default when no plan says otherwise.
DEFAULT_REWORK_LOOPS = 2


class InspectionFailed(Evaluator):
    """A failed inspection (an event: raised once per inspection, never cleared)."""

    kind = Kind.INSPECTION_FAILED
    subject_model = Inspection
    stateful = False
    values = ("pk", "work_order_id", "work_order__number", "work_order__responsible_id",
              "origin_task_id", "origin_task__seq", "origin_task__work_center_id",
              "origin_task__work_center__line_id",
              "origin_task__work_center__line__workshop_id",
              "origin_task__work_center__lead_id", "quantity", "qty_failed", "loop")

    def queryset(self, rule, now):
        hours = rule.window_hours or DEFAULT_INSPECTION_WINDOW_HOURS
        since = now - datetime.timedelta(hours=float(hours))
        return Inspection.objects.filter(scope_q(rule, "origin_task__work_center"),
                                         status=Inspection.Status.FAILED,
                                         inspected_at__gte=since)

    def focus_q(self, focus):
        return Q(pk__in=focus.inspection_ids) if focus.inspection_ids else None

    def candidate(self, row, rule, now):
        return Candidate(
            object_id=row["pk"],
            subject_repr=f"QC {row['work_order__number']}/{row['origin_task__seq']} #{row['pk']}",
            data={"failed": _num(row["qty_failed"]), "quantity": _num(row["quantity"]),
                  "loop": row["loop"]},
            task_id=row["origin_task_id"], work_order_id=row["work_order_id"],
            work_center_id=row["origin_task__work_center_id"],
            line_id=row["origin_task__work_center__line_id"],
            workshop_id=row["origin_task__work_center__line__workshop_id"],
            responsible_id=row["work_order__responsible_id"],
            lead_id=row["origin_task__work_center__lead_id"])


class DefectRate(Evaluator):
    """Per work center (the step whose output was inspected): failed ÷ inspected quantity of
    the inspections recorded in the last H hours, above the threshold."""

    kind = Kind.DEFECT_RATE
    subject_model = WorkCenter
    wc = "origin_task__work_center"
    id_field = f"{wc}_id"
    values = (f"{wc}_id", f"{wc}__code", f"{wc}__line_id", f"{wc}__line__workshop_id",
              f"{wc}__lead_id", "failed", "inspected")

    def queryset(self, rule, now):
        since = now - datetime.timedelta(hours=float(rule.window_hours or 1))
        minimum = rule.min_quantity if rule.min_quantity is not None else DEFAULT_MIN_QUANTITY
        return (Inspection.objects
                .filter(scope_q(rule, self.wc), inspected_at__gte=since,
                        status__in=(Inspection.Status.PASSED, Inspection.Status.FAILED))
                .values(*self.values[:5])
                .annotate(failed=Sum("qty_failed"),
                          inspected=Sum(F("qty_passed") + F("qty_failed")))
                .filter(inspected__gt=0, inspected__gte=minimum,
                        failed__gt=F("inspected") * (rule.percent or 0) / 100))

    def rows(self, qs):
        return qs  # already grouped rows

    def focus_q(self, focus):
        return Q(**{f"{self.wc}_id__in": focus.work_center_ids}) if focus.work_center_ids \
            else None

    def alert_focus_q(self, focus):
        return Q(work_center_id__in=focus.work_center_ids)

    def candidate(self, row, rule, now):
        wc = self.wc
        rate = row["failed"] * 100 / row["inspected"]
        return Candidate(
            object_id=row[f"{wc}_id"], subject_repr=row[f"{wc}__code"],
            data={"rate": f"{rate:.1f}", "failed": _num(row["failed"]),
                  "inspected": _num(row["inspected"]), "hours": _num(rule.window_hours),
                  "limit": _num(rule.percent)},
            work_center_id=row[f"{wc}_id"], line_id=row[f"{wc}__line_id"],
            workshop_id=row[f"{wc}__line__workshop_id"], lead_id=row[f"{wc}__lead_id"])


class ReworkLoops(Evaluator):
    """An undecided nonconformance at a rework loop ≥ what its inspection plan allows (clears
    when it is scrapped or accepted as is)."""

    kind = Kind.REWORK_LOOPS
    subject_model = Nonconformance
    values = ("pk", "number", "loop", "limit", "work_order_id", "work_order__responsible_id",
              "responsible_task_id", "responsible_task__work_center_id",
              "responsible_task__work_center__line_id",
              "responsible_task__work_center__line__workshop_id",
              "responsible_task__work_center__lead_id")

    def queryset(self, rule, now):
        by_code = InspectionPlan.objects.filter(
            code=OuterRef("responsible_task__inspection_plan_code"), active=True,
        ).values("max_rework_loops")[:1]
        limit = Coalesce("inspection__plan__max_rework_loops", Subquery(by_code),
                         Value(DEFAULT_REWORK_LOOPS), output_field=IntegerField())
        return (Nonconformance.objects
                .filter(scope_q(rule, "responsible_task__work_center"),
                        status=Nonconformance.Status.OPEN)
                .annotate(limit=limit).filter(loop__gte=F("limit")))

    def focus_q(self, focus):
        if not (focus.nonconformance_ids or focus.work_order_ids):
            return None
        return Q(pk__in=focus.nonconformance_ids) | Q(work_order_id__in=focus.work_order_ids)

    def alert_focus_q(self, focus):
        return Q(object_id__in=focus.nonconformance_ids) | Q(
            work_order_id__in=focus.work_order_ids)

    def candidate(self, row, rule, now):
        p = "responsible_task__work_center"
        return Candidate(
            object_id=row["pk"], subject_repr=row["number"],
            data={"nc": row["number"], "loop": row["loop"], "limit": row["limit"]},
            task_id=row["responsible_task_id"], work_order_id=row["work_order_id"],
            work_center_id=row[f"{p}_id"], line_id=row[f"{p}__line_id"],
            workshop_id=row[f"{p}__line__workshop_id"],
            responsible_id=row["work_order__responsible_id"], lead_id=row[f"{p}__lead_id"])


def _num(value) -> str:
    if value is None:
        return ""
    return f"{value.normalize():f}" if hasattr(value, "normalize") else str(value)
