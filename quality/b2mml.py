"""OperationsPerformance (ISA-95 B2MML V0701) for finished work: one OperationsResponse per
work order awaiting acceptance (ResponseState Completed) or accepted (Closed), one
SegmentResponse per operation with who worked, where, with what equipment, what was made
(good), scrapped and which component lots went in. A fixed number of queries."""

from collections import defaultdict

from django.db.models import Sum
from django.utils import timezone

from execution.models import MaterialConsumption, WorkReport
from planning.b2mml import new_root, quantity, serialize, sub
from planning.models import Task, WorkOrder

WO = WorkOrder.Status
FINISHED = (WO.AWAITING_ACCEPTANCE, WO.ACCEPTED)
SEGMENT_STATE = {Task.Status.DONE: "Completed", Task.Status.IN_PROGRESS: "Running",
                 Task.Status.PAUSED: "Paused", Task.Status.CANCELLED: "Aborted"}


def finished_work_orders():
    return (WorkOrder.objects.filter(status__in=FINISHED)
            .select_related("production_order", "item").order_by("actual_end", "id"))


def operations_performance_export(work_orders) -> bytes:
    wos = list(work_orders)
    ids = [wo.pk for wo in wos]
    tasks = defaultdict(list)
    for task in (Task.objects.filter(work_order_id__in=ids).select_related("work_center")
                 .order_by("seq", "kind", "id")):
        tasks[task.work_order_id].append(task)
    people, equipment = defaultdict(set), defaultdict(set)
    for task_id, user, eq in (WorkReport.objects.filter(task__work_order_id__in=ids)
                              .values_list("task_id", "operator__username", "equipment__code")
                              .distinct()):
        people[task_id].add(user)
        if eq:
            equipment[task_id].add(eq)
    lots = defaultdict(list)
    for row in (MaterialConsumption.objects.filter(work_order_id__in=ids)
                .values("task_id", "work_order_id", "item__code", "item__uom", "lot_code")
                .annotate(qty=Sum("quantity")).order_by("item__code", "lot_code")):
        lots[row["task_id"] or ("wo", row["work_order_id"])].append(row)
    root = new_root("OperationsPerformance")
    sub(root, "ID", f"MES-{timezone.localtime():%Y%m%dT%H%M%S}")
    sub(root, "PublishedDate", timezone.now())
    sub(root, "OperationsType", "Production")
    for wo in wos:
        resp = sub(root, "OperationsResponse")
        sub(resp, "ID", wo.number)
        if wo.actual_start:
            sub(resp, "StartTime", wo.actual_start)
        if wo.actual_end:
            sub(resp, "EndTime", wo.actual_end)
        sub(resp, "OperationsType", "Production")
        sub(resp, "OperationsRequestID", wo.production_order.number)
        sub(resp, "ResponseState", "Closed" if wo.status == WO.ACCEPTED else "Completed")
        first = True
        for task in tasks[wo.pk]:
            extra = lots.get(("wo", wo.pk), []) if first else []
            _segment(resp, wo, task, people[task.pk], equipment[task.pk],
                     lots.get(task.pk, []) + extra)
            first = False
    return serialize(root)


def _segment(resp, wo, task, people, equipment, lots) -> None:
    seg = sub(resp, "SegmentResponse")
    ident = f"{wo.number}.{task.seq}" + (f".R{task.pk}" if task.kind == Task.Kind.REWORK
                                         else "")
    sub(seg, "ID", ident)
    sub(seg, "Description", task.name)
    if task.actual_start:
        sub(seg, "ActualStartTime", task.actual_start)
    if task.actual_end:
        sub(seg, "ActualEndTime", task.actual_end)
    sub(seg, "OperationsType", "Production")
    sub(seg, "ProcessSegmentID", f"{wo.item.code}.{task.seq}")
    sub(seg, "SegmentState", SEGMENT_STATE.get(task.status, "Ready"))
    for user in sorted(people):
        person = sub(seg, "PersonnelActual")
        sub(person, "ID", user)
        sub(person, "PersonID", user)
    station = sub(seg, "EquipmentActual")
    sub(station, "ID", task.work_center.code)
    sub(station, "EquipmentID", task.work_center.code)
    sub(station, "EquipmentUse", "WorkCenter")
    for code in sorted(equipment):
        eq = sub(seg, "EquipmentActual")
        sub(eq, "ID", code)
        sub(eq, "EquipmentID", code)
        sub(eq, "EquipmentUse", "Equipment")
    made = sub(seg, "MaterialActual")
    sub(made, "ID", f"{ident}.good")
    sub(made, "MaterialDefinitionID", wo.item.code)
    sub(made, "MaterialUse", "Produced")
    quantity(made, "Quantity", task.qty_good, wo.item.uom, "good")
    if task.qty_scrap:
        scrap = sub(seg, "MaterialActual")
        sub(scrap, "ID", f"{ident}.scrap")
        sub(scrap, "MaterialDefinitionID", wo.item.code)
        sub(scrap, "MaterialUse", "Other", OtherValue="Scrap")
        quantity(scrap, "Quantity", task.qty_scrap, wo.item.uom, "scrap")
    for n, lot in enumerate(lots, 1):
        used = sub(seg, "MaterialActual")
        sub(used, "ID", f"{ident}.lot{n}")
        sub(used, "MaterialDefinitionID", lot["item__code"])
        sub(used, "MaterialLotID", lot["lot_code"])
        sub(used, "MaterialUse", "Consumed")
        quantity(used, "Quantity", lot["qty"], lot["item__uom"])
