"""Work-order kinds: due-date risk (swept) and plan changes (raised from the domain event)."""

import datetime
from decimal import Decimal

from django.db.models import (
    Case,
    DecimalField,
    Exists,
    F,
    FloatField,
    Max,
    OuterRef,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Greatest

from alerts.kinds import Kind
from alerts.rules.base import Candidate, Evaluator, epoch, local, scope_q
from mes.sql import Epoch
from planning.models import ProductionOrder, Task, WorkOrder

T = Task.Status
WO = WorkOrder.Status
_MINUTES = DecimalField(max_digits=20, decimal_places=4)


def _in_scope(rule) -> Q:
    q = scope_q(rule, "work_center")
    if not q:
        return Q()
    return Q(Exists(Task.objects.filter(q, work_order=OuterRef("pk"))))


class DueDateRisk(Evaluator):
    """Projected finish after the due time (less a safety margin). Projected finish: now plus
    the remaining work of the open tasks — setup of those not started plus run time × the
    quantity still to report — or the schedule's planned end when that is later.

    Aggregated over the open tasks only (the status index), grouped by work order, so a year
    of finished tasks costs nothing."""

    kind = Kind.DUE_DATE_RISK
    subject_model = WorkOrder
    id_field = "work_order_id"
    values = ("work_order_id", "remaining_minutes", "plan_end", "due")

    def queryset(self, rule, now):
        left = Greatest(F("quantity") - F("qty_good") - F("qty_scrap"), Value(Decimal(0)),
                        output_field=_MINUTES)
        setup = Case(When(actual_start__isnull=True, then=F("setup_minutes")),
                     default=Value(Decimal(0)), output_field=_MINUTES)
        margin = datetime.timedelta(minutes=rule.minutes or 0)
        gap = (epoch(now) + Cast("remaining_minutes", FloatField()) * 60.0
               - Epoch("due") + margin.total_seconds())
        tasks = Task.objects.filter(status__in=Task.OPEN_STATUSES,
                                    work_order__status__in=(WO.RELEASED, WO.IN_PROGRESS))
        scoped = _in_scope(rule)
        if scoped:
            tasks = tasks.filter(work_order__in=WorkOrder.objects.filter(scoped))
        # Max(due): one value per work order, and the grouping stays on the work order alone.
        return (tasks.values("work_order_id")
                .annotate(remaining_minutes=Sum(setup + F("run_minutes_per_unit") * left,
                                                output_field=_MINUTES),
                          plan_end=Max("planned_end"), due=Max("work_order__due"))
                .alias(gap=gap)
                .filter(Q(gap__gt=0) | Q(plan_end__gt=F("due") - margin)))

    def rows(self, qs):
        return qs

    def focus_q(self, focus):
        return Q(work_order_id__in=focus.work_order_ids) if focus.work_order_ids else None

    def alert_focus_q(self, focus):
        return Q(work_order_id__in=focus.work_order_ids)

    def candidate(self, row, rule, now):
        minutes = row["remaining_minutes"] or Decimal(0)
        projected = now + datetime.timedelta(minutes=float(minutes))
        if row["plan_end"] and row["plan_end"] > projected:
            projected = row["plan_end"]
        return Candidate(
            object_id=row["work_order_id"], subject_repr="", work_order_id=row["work_order_id"],
            data={"projected": local(projected), "due": local(row["due"]),
                  "remaining_minutes": int(minutes),
                  "late_minutes": int((projected - row["due"]).total_seconds() // 60)})

    def finish(self, found, rule, now):
        """Who and where: the work order's number, line and responsible person, and the work
        center of its first open task (two queries)."""
        if not found:
            return found
        ids = [c.object_id for c in found]
        orders = {row["pk"]: row for row in WorkOrder.objects.filter(pk__in=ids).values(
            "pk", "number", "line_id", "line__workshop_id", "responsible_id")}
        first: dict[int, dict] = {}
        for row in (Task.objects.filter(work_order_id__in=ids, status__in=Task.OPEN_STATUSES)
                    .order_by("work_order_id", "seq", "id")
                    .values("work_order_id", "work_center_id", "work_center__line_id",
                            "work_center__line__workshop_id", "work_center__lead_id")):
            first.setdefault(row["work_order_id"], row)
        for cand in found:
            order, task = orders.get(cand.object_id, {}), first.get(cand.object_id, {})
            cand.subject_repr = order.get("number", "")
            cand.responsible_id = order.get("responsible_id")
            cand.work_center_id = task.get("work_center_id")
            cand.line_id = order.get("line_id") or task.get("work_center__line_id")
            cand.workshop_id = order.get("line__workshop_id") or task.get(
                "work_center__line__workshop_id")
            cand.lead_id = task.get("work_center__lead_id")
        return found


def plan_change_candidate(rule, production_order_id: int, work_order_ids, reason: str,
                          now) -> Candidate | None:
    """The production order of a plan change as an alert subject, when it is in the rule's
    scope (two queries)."""
    order = (ProductionOrder.objects.filter(pk=production_order_id)
             .values("pk", "number").first())
    if order is None:
        return None
    wos = WorkOrder.objects.filter(production_order_id=production_order_id)
    if work_order_ids:
        wos = wos.filter(pk__in=list(work_order_ids))
    q = scope_q(rule, "work_center")
    tasks = Task.objects.filter(work_order__in=wos)
    if q:
        tasks = tasks.filter(q)
    where = (tasks.order_by("work_order__level", "seq")
             .values("work_order_id", "work_order__responsible_id", "work_center_id",
                     "work_center__line_id", "work_center__line__workshop_id",
                     "work_center__lead_id").first())
    if where is None and q:
        return None  # none of the changed work is in this rule's scope
    where = where or {}
    return Candidate(
        object_id=order["pk"], subject_repr=order["number"],
        data={"order": order["number"], "reason": (reason or "")[:200],
              "work_orders": len(work_order_ids or [])},
        work_order_id=where.get("work_order_id"), work_center_id=where.get("work_center_id"),
        line_id=where.get("work_center__line_id"),
        workshop_id=where.get("work_center__line__workshop_id"),
        responsible_id=where.get("work_order__responsible_id"),
        lead_id=where.get("work_center__lead_id"))
