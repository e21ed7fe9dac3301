"""Quality reads: the complete record of a work order, traceability, the QC queue."""

from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce, TruncDate, TruncMonth

from execution.models import DowntimeEvent, MaterialConsumption, TaskActivity, WorkReport
from mes.models import AuditEntry
from planning.models import MaterialRequirement, Task, WorkOrder
from quality.models import (
    Acceptance,
    ArchivedRecord,
    Inspection,
    InspectionPlan,
    InspectionResult,
    Nonconformance,
)


def _values(qs, *fields):
    return [dict(row) for row in qs.values(*fields)]


def work_order_record(wo: WorkOrder) -> dict:
    """Everything recorded about a work order, as plain data (what the archive freezes).

    A fixed number of queries, whatever the number of tasks, reports or inspections."""
    wo = WorkOrder.objects.select_related("item", "production_order", "parent", "line",
                                          "responsible").get(pk=wo.pk)
    tasks = Task.objects.filter(work_order=wo).order_by("seq", "id")
    task_ids = list(tasks.values_list("pk", flat=True))
    inspections = Inspection.objects.filter(work_order=wo)
    equipment_ids = set(WorkReport.objects.filter(task__work_order=wo)
                        .exclude(equipment=None).values_list("equipment_id", flat=True))
    start, end = wo.actual_start, wo.actual_end
    downtime = DowntimeEvent.objects.none()
    if equipment_ids and start:
        downtime = DowntimeEvent.objects.filter(equipment_id__in=equipment_ids).filter(
            Q(end__isnull=True) | Q(end__gt=start))
        if end:
            downtime = downtime.filter(start__lt=end)
    ncs = Nonconformance.objects.filter(work_order=wo)
    audit_q = Q(content_type=ContentType.objects.get_for_model(WorkOrder),
                object_id=str(wo.pk))
    audit_q |= Q(content_type=ContentType.objects.get_for_model(Task),
                 object_id__in=[str(i) for i in task_ids])
    audit_q |= Q(content_type=ContentType.objects.get_for_model(Nonconformance),
                 object_id__in=[str(i) for i in ncs.values_list("pk", flat=True)])
    audit_q |= Q(content_type=ContentType.objects.get_for_model(Inspection),
                 object_id__in=[str(i) for i in inspections.values_list("pk", flat=True)])
    return {
        "work_order": {
            "number": wo.number, "production_order": wo.production_order.number,
            "customer": wo.production_order.customer, "item": wo.item.code,
            "item_name": wo.item.name, "quantity": wo.quantity, "level": wo.level,
            "parent": wo.parent.number if wo.parent else None, "due": wo.due,
            "actual_start": wo.actual_start, "actual_end": wo.actual_end,
            "line": wo.line.code if wo.line else None,
            "responsible": str(wo.responsible) if wo.responsible else None,
            "children": list(wo.children.values_list("number", flat=True)),
        },
        "tasks": _values(tasks, "id", "seq", "name", "kind", "origin_id", "work_center__code",
                         "quantity", "qty_good", "qty_scrap", "qty_rework", "qty_qc_accepted",
                         "qty_short",
                         "status", "planned_start", "planned_end", "actual_start",
                         "actual_end"),
        "reports": _values(WorkReport.objects.filter(task__work_order=wo).order_by("id"),
                           "id", "task_id", "operator__username", "operator__display_name",
                           "work_center__code", "equipment__code", "good", "scrap",
                           "scrap_reason__code", "work_start", "work_end", "reported_at",
                           "late"),
        "activities": _values(TaskActivity.objects.filter(task__work_order=wo).order_by("id"),
                              "task_id", "kind", "at", "operator__username",
                              "operator__display_name", "short_qty", "reason"),
        "downtime": _values(downtime.order_by("start"), "equipment__code", "reason__code",
                            "start", "end", "planned"),
        "inspections": _values(inspections.order_by("id"), "id", "origin_task__seq", "loop",
                               "quantity", "sample_size", "qty_passed", "qty_failed",
                               "status", "inspected_at", "inspector__username",
                               "inspector__display_name", "plan__code", "notes"),
        "results": _values(InspectionResult.objects.filter(inspection__work_order=wo)
                           .order_by("id"), "inspection_id", "characteristic__name",
                           "characteristic__lower", "characteristic__upper", "value",
                           "passed", "photo"),
        "nonconformances": _values(ncs.order_by("id"), "number", "inspection_id",
                                   "responsible_task__seq", "defect_code__code", "quantity",
                                   "disposition", "status", "loop", "rework_task_id",
                                   "operator__username", "operator__display_name",
                                   "equipment__code", "dispositioned_by__username",
                                   "dispositioned_by__display_name", "approved_by__username",
                                   "approved_by__display_name"),
        "materials": _values(MaterialRequirement.objects.filter(work_order=wo).order_by("id"),
                             "item__code", "quantity", "operation_seq"),
        "consumptions": _values(MaterialConsumption.objects.filter(work_order=wo)
                                .order_by("id"), "item__code", "lot_code", "quantity",
                                "operator__username", "operator__display_name", "at",
                                "task_id"),
        "acceptances": _values(Acceptance.objects.filter(work_order=wo).order_by("id"),
                               "verdict", "by__username", "by__display_name", "at",
                               "reason"),
        # The record type tells whose states the before/after values are (a task's or a
        # work order's "status").
        "audit": _values(AuditEntry.objects.filter(audit_q).order_by("at", "id"),
                         "at", "actor_repr", "action", "content_type__model", "object_repr",
                         "changed_fields", "before", "after", "reason", "reason_key"),
    }


def material_gaps(wo: WorkOrder) -> list[dict]:
    """The work order's components with fewer units issued (lots scanned in) than it needs:
    for each, the item, what is required and what was issued. An acceptance reads them as a
    warning: the finished units' record would not name every lot they contain. One query."""
    issued = (MaterialConsumption.objects.filter(work_order_id=wo.pk, item_id=OuterRef("item_id"))
              .order_by().values("item_id").annotate(s=Sum("quantity")).values("s"))
    rows = (MaterialRequirement.objects.filter(work_order=wo).select_related("item")
            .annotate(issued=Coalesce(Subquery(issued), Decimal(0),
                                      output_field=MaterialRequirement._meta.get_field(
                                          "quantity")))
            .filter(issued__lt=F("quantity")).order_by("item__code"))
    return [{"item": r.item, "required": r.quantity, "issued": r.issued} for r in rows]


def trace_backward(wo: WorkOrder) -> dict:
    """From a finished lot (work order) back to what went into it, at every level below."""
    tree = [wo]
    frontier = [wo.pk]
    while frontier:  # one query per BOM level
        children = list(WorkOrder.objects.filter(parent_id__in=frontier).select_related("item"))
        tree += children
        frontier = [c.pk for c in children]
    ids = [w.pk for w in tree]
    return {
        "work_orders": tree,
        "lots": list(MaterialConsumption.objects.filter(work_order_id__in=ids)
                     .select_related("item", "work_order", "operator").order_by("work_order_id")),
        "reports": list(WorkReport.objects.filter(task__work_order_id__in=ids)
                        .select_related("task", "task__work_order", "operator", "equipment",
                                        "work_center").order_by("work_start")),
        "inspections": list(Inspection.objects.filter(work_order_id__in=ids)
                            .select_related("origin_task", "inspector", "work_order")),
        "nonconformances": list(Nonconformance.objects.filter(work_order_id__in=ids)
                                .select_related("defect_code", "work_order")),
    }


def trace_forward(lot_code: str) -> dict:
    """From a component lot forward to every work order (and the finished ones above it)."""
    uses = list(MaterialConsumption.objects.filter(lot_code=lot_code)
                .select_related("work_order", "work_order__production_order", "item"))
    direct = {u.work_order_id for u in uses}
    affected, frontier = set(direct), set(direct)
    while frontier:  # up the tree, one query per level
        parents = set(WorkOrder.objects.filter(pk__in=frontier, parent__isnull=False)
                      .values_list("parent_id", flat=True))
        frontier = parents - affected
        affected |= parents
    return {
        "uses": uses,
        "work_orders": list(WorkOrder.objects.filter(pk__in=affected)
                            .select_related("item", "production_order").order_by("level")),
    }


def qc_queue(*, workshop=None, line=None):
    """Pending inspections, oldest first, with what the inspector needs on one row."""
    qs = (Inspection.objects.filter(status=Inspection.Status.PENDING)
          .select_related("work_order", "work_order__item", "origin_task",
                          "origin_task__work_center__line__workshop", "plan")
          .order_by("created_at"))
    if workshop:
        qs = qs.filter(origin_task__work_center__line__workshop=workshop)
    if line:
        qs = qs.filter(origin_task__work_center__line=line)
    return qs


# --- Pages of the quality app (lists, acceptance, history, statistics) ------------------------
# Appended for the browser pages; each is a fixed number of queries whatever the data size.


def inspection_list():
    """Every inspection, newest first, with what a list row shows."""
    return (Inspection.objects.select_related("work_order", "work_order__item", "origin_task",
                                              "origin_task__work_center", "plan", "inspector")
            .order_by("-created_at", "-id"))


def nonconformance_list():
    return (Nonconformance.objects.select_related(
        "work_order", "work_order__item", "responsible_task", "responsible_task__work_center",
        "defect_code", "operator", "rework_task").order_by("-created_at", "-id"))


def nonconformance_chain(nc: Nonconformance) -> list[Nonconformance]:
    """Every nonconformance of the same step of the same work order (its rework loops)."""
    return list(Nonconformance.objects.filter(responsible_task_id=nc.responsible_task_id)
                .select_related("defect_code", "rework_task").order_by("loop", "id"))


def acceptance_queue():
    """Work orders awaiting acceptance, oldest finish first, with their open quality items."""
    open_ncs = Nonconformance.objects.filter(work_order=OuterRef("pk")).exclude(
        status=Nonconformance.Status.CLOSED)
    pending = Inspection.objects.filter(work_order=OuterRef("pk"),
                                        status=Inspection.Status.PENDING)
    return (WorkOrder.objects.filter(status=WorkOrder.Status.AWAITING_ACCEPTANCE)
            .select_related("item", "production_order", "line")
            .annotate(open_ncs=_count(open_ncs), pending_inspections=_count(pending))
            .order_by(F("actual_end").asc(nulls_last=True), "number"))


def _count(qs, key: str = "work_order"):
    """A correlated COUNT subquery grouped on `key` (no join fan-out, one query per list)."""
    return Coalesce(Subquery(qs.order_by().values(key).annotate(n=Count("pk")).values("n")[:1]),
                    0)


def plan_list():
    return (InspectionPlan.objects.select_related("item")
            .annotate(n_characteristics=Count("characteristics")).order_by("code"))


def record_history(instance, *, children: tuple = (), limit: int = 100) -> list[AuditEntry]:
    """Audit entries of a record and of its child rows ([(Model, fk name)]), newest first.

    Child rows are found through the parent id in their snapshots, so deleted ones still show.
    """
    q = Q(content_type=ContentType.objects.get_for_model(type(instance)),
          object_id=str(instance.pk))
    for model, fk in children:
        q |= Q(content_type=ContentType.objects.get_for_model(model)) & (
            Q(**{f"after__{fk}": instance.pk}) | Q(**{f"before__{fk}": instance.pk}))
    return list(AuditEntry.objects.filter(q).order_by("-at", "-id")[:limit])


def archived_records():
    return ArchivedRecord.objects.select_related("work_order", "work_order__item",
                                                 "archived_by").order_by("-archived_at", "-id")


def trace_lookup(text: str) -> dict:
    """What a search box entry names: a work order (by number), a component lot, or neither
    (then close matches of both, to pick from)."""
    text = (text or "").strip()
    if not text:
        return {"work_order": None, "lot": None, "work_orders": [], "lots": []}
    wo = WorkOrder.objects.filter(number__iexact=text).first()
    lot = None
    if wo is None:
        lot = (MaterialConsumption.objects.filter(lot_code__iexact=text)
               .values_list("lot_code", flat=True).first())
    near_wos, near_lots = [], []
    if wo is None and lot is None:
        near_wos = list(WorkOrder.objects.filter(number__icontains=text)
                        .select_related("item").order_by("number")[:20])
        near_lots = list(MaterialConsumption.objects.filter(lot_code__icontains=text)
                         .values_list("lot_code", flat=True).order_by("lot_code").distinct()[:20])
    return {"work_order": wo, "lot": lot, "work_orders": near_wos, "lots": near_lots}


def quality_stats(*, start, end, workshop=None, line=None) -> dict:
    """Quality KPIs of a period [start, end) and scope, from what was recorded.

    - first-pass yield: units passing their first inspection (loop 0) ÷ units inspected there;
    - rework rate: work orders completed in the period with ≥ 1 rework task ÷ completed, and
      nonconforming units sent to rework ÷ units inspected (loop 0);
    - scrap rate: nonconforming units dispositioned scrap ÷ units inspected (loop 0);
    - defect Pareto by code, step, line and day (month for ranges over 62 days).
    Seven queries whatever the data size.
    """
    def scoped(qs, task_path):
        if line is not None:
            qs = qs.filter(**{f"{task_path}__work_center__line": line})
        elif workshop is not None:
            qs = qs.filter(**{f"{task_path}__work_center__line__workshop": workshop})
        return qs

    inspections = scoped(Inspection.objects.filter(
        inspected_at__gte=start, inspected_at__lt=end).exclude(
        status=Inspection.Status.PENDING), "origin_task")
    first = Q(loop=0)
    ins = inspections.aggregate(
        inspected=Sum("quantity", filter=first), passed=Sum("qty_passed", filter=first),
        lots=Count("pk", filter=first), reinspections=Count("pk", filter=Q(loop__gt=0)),
        failed_lots=Count("pk", filter=first & Q(status=Inspection.Status.FAILED)))
    ncs = scoped(Nonconformance.objects.filter(created_at__gte=start, created_at__lt=end),
                 "responsible_task")
    D = Nonconformance.Disposition
    nc = ncs.aggregate(
        count=Count("pk"), qty=Sum("quantity"),
        rework=Sum("quantity", filter=Q(disposition=D.REWORK)),
        scrap=Sum("quantity", filter=Q(disposition=D.SCRAP)),
        use_as_is=Sum("quantity", filter=Q(disposition=D.USE_AS_IS)),
        open=Count("pk", filter=~Q(status=Nonconformance.Status.CLOSED)))
    tasks = Task.objects.filter(work_order=OuterRef("pk"))
    in_scope = None
    if line is not None:
        in_scope = tasks.filter(work_center__line=line)
    elif workshop is not None:
        in_scope = tasks.filter(work_center__line__workshop=workshop)
    wos = WorkOrder.objects.filter(actual_end__gte=start, actual_end__lt=end, status__in=(
        WorkOrder.Status.AWAITING_ACCEPTANCE, WorkOrder.Status.ACCEPTED))
    if in_scope is not None:
        wos = wos.filter(Exists(in_scope))
    wo = wos.aggregate(completed=Count("pk"), reworked=Count(
        "pk", filter=Exists(tasks.filter(kind=Task.Kind.REWORK))))

    def pareto(*fields):
        return list(ncs.values(*fields).annotate(count=Count("pk"), qty=Sum("quantity"))
                    .order_by("-qty", "-count", *fields))

    bucket = TruncMonth("created_at") if (end - start).days > 62 else TruncDate("created_at")
    return {
        "inspections": ins, "nonconformances": nc, "work_orders": wo,
        "first_pass_yield": _ratio(ins["passed"], ins["inspected"]),
        "rework_rate_orders": _ratio(wo["reworked"], wo["completed"]),
        "rework_rate_units": _ratio(nc["rework"], ins["inspected"]),
        "scrap_rate": _ratio(nc["scrap"], ins["inspected"]),
        "by_code": pareto("defect_code__code", "defect_code__name", "defect_code__name_en"),
        "by_step": pareto("responsible_task__name", "responsible_task__work_center__code"),
        "by_line": pareto("responsible_task__work_center__line__code",
                          "responsible_task__work_center__line__name",
                          "responsible_task__work_center__line__name_en"),
        "by_period": list(ncs.annotate(period=bucket).values("period")
                          .annotate(count=Count("pk"), qty=Sum("quantity")).order_by("period")),
        "monthly": (end - start).days > 62,
    }


def _ratio(part, whole):
    """part ÷ whole as a percentage (None when nothing was counted)."""
    if not whole:
        return None
    return (part or 0) * 100 / whole
