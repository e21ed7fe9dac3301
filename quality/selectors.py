"""Quality reads: the complete record of a work order, traceability, the QC queue."""

from django.contrib.contenttypes.models import ContentType
from django.db.models import Q

from execution.models import DowntimeEvent, MaterialConsumption, TaskActivity, WorkReport
from mes.models import AuditEntry
from planning.models import MaterialRequirement, Task, WorkOrder
from quality.models import Acceptance, Inspection, InspectionResult, Nonconformance


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
                         "status", "planned_start", "planned_end", "actual_start",
                         "actual_end"),
        "reports": _values(WorkReport.objects.filter(task__work_order=wo).order_by("id"),
                           "id", "task_id", "operator__username", "operator__display_name",
                           "work_center__code", "equipment__code", "good", "scrap",
                           "scrap_reason__code", "work_start", "work_end", "reported_at",
                           "late"),
        "activities": _values(TaskActivity.objects.filter(task__work_order=wo).order_by("id"),
                              "task_id", "kind", "at", "operator__username"),
        "downtime": _values(downtime.order_by("start"), "equipment__code", "reason__code",
                            "start", "end", "planned"),
        "inspections": _values(inspections.order_by("id"), "id", "origin_task__seq", "loop",
                               "quantity", "sample_size", "qty_passed", "qty_failed",
                               "status", "inspected_at", "inspector__username", "plan__code",
                               "notes"),
        "results": _values(InspectionResult.objects.filter(inspection__work_order=wo)
                           .order_by("id"), "inspection_id", "characteristic__name",
                           "characteristic__lower", "characteristic__upper", "value",
                           "passed", "photo"),
        "nonconformances": _values(ncs.order_by("id"), "number", "inspection_id",
                                   "responsible_task__seq", "defect_code__code", "quantity",
                                   "disposition", "status", "loop", "rework_task_id",
                                   "operator__username", "equipment__code",
                                   "dispositioned_by__username", "approved_by__username"),
        "materials": _values(MaterialRequirement.objects.filter(work_order=wo).order_by("id"),
                             "item__code", "quantity", "operation_seq"),
        "consumptions": _values(MaterialConsumption.objects.filter(work_order=wo)
                                .order_by("id"), "item__code", "lot_code", "quantity",
                                "operator__username", "at", "task_id"),
        "acceptances": _values(Acceptance.objects.filter(work_order=wo).order_by("id"),
                               "verdict", "by__username", "at", "reason"),
        "audit": _values(AuditEntry.objects.filter(audit_q).order_by("at", "id"),
                         "at", "actor_repr", "action", "object_repr", "changed_fields",
                         "before", "after", "reason"),
    }


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
