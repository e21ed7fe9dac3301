"""Production orders: create, change, explode into work orders, release, hold, resume, cancel."""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mes.api.fields import dates_out_of_range, plausible
from mes.audit import audit_record, audit_transitions_bulk, snapshot
from mes.events import TOPIC_PLANT, event_emit, topic_work_center
from mes.models import AuditEntry
from mes.system_text import SystemText, system_text
from planning.explosion import ExplosionResult, explode_into
from planning.models import Item, Priority, ProductionOrder, Routing, Task, WorkOrder
from planning.states import PRODUCTION_ORDER_TRANSITIONS, next_status

PO = ProductionOrder.Status
WO = WorkOrder.Status

ORDER_FIELDS = ("item", "quantity", "due", "priority", "customer", "sales_order_ref", "notes",
                "release_date", "erp_ref")


def _validate_order(order: ProductionOrder) -> None:
    errors = {}
    item = order.item if order.item_id else None
    if item is not None and item.kind != Item.Kind.MAKE:
        errors["item"] = _("%(code)s is a bought item: only made items can be produced.") % {
            "code": item.code}
    elif item is not None and not Routing.objects.filter(item=item, active=True).exists():
        errors["item"] = _("%(code)s has no active routing.") % {"code": item.code}
    try:
        quantity = Decimal(order.quantity)
    except (InvalidOperation, TypeError):
        errors["quantity"] = _("Enter a number.")
    else:
        if quantity <= 0:
            errors["quantity"] = _("The quantity must be greater than zero.")
        elif item is not None and item.discrete and quantity != quantity.to_integral_value():
            errors["quantity"] = _("%(code)s is counted in whole units.") % {"code": item.code}
    if order.priority not in Priority.values:
        errors["priority"] = _("Unknown priority.")
    if order.release_date and order.due and order.release_date > order.due:
        errors["release_date"] = _("The earliest start is after the due date.")
    if errors:
        raise ValidationError(errors)
    order.full_clean(exclude=["created_by"])  # (also turns date strings into datetimes)
    # the API's range (1970-2200) for the forms and every other caller
    errors = {name: dates_out_of_range() for name in ("due", "release_date")
              if not plausible(getattr(order, name))}
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def production_order_create(*, actor, item, quantity, due, priority=Priority.NORMAL,
                            customer="", sales_order_ref="", notes="", release_date=None,
                            erp_ref=None, number: str | None = None,
                            reason: str = "") -> ProductionOrder:
    """Create a draft production order. After: saved, audit-logged, announced on the plant."""
    order = ProductionOrder(
        number=number or _next_order_number(), item=item, quantity=quantity, due=due,
        priority=priority, customer=customer, sales_order_ref=sales_order_ref, notes=notes,
        release_date=release_date, erp_ref=erp_ref or None,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    _validate_order(order)
    order.save()
    audit_record(actor=actor, instance=order, action=AuditEntry.Action.CREATE, reason=reason)
    event_emit(topic=TOPIC_PLANT, kind="order.created", actor=actor,
               payload={"order": order.number, "priority": order.priority})
    return order


def _next_order_number() -> str:
    stamp = timezone.localdate().strftime("%Y%m%d")
    prefix = f"PO{stamp}-"
    last = (ProductionOrder.objects.filter(number__startswith=prefix)
            .order_by("-number").values_list("number", flat=True).first())
    tail = last.rsplit("-", 1)[1] if last else ""
    seq = int(tail) + 1 if tail.isascii() and tail.isdigit() else 1  # "²" is a digit to isdigit
    return f"{prefix}{seq:04d}"


@transaction.atomic
def production_order_update(*, actor, order: ProductionOrder, reason: str = "",
                            **changes) -> ProductionOrder:
    """Change a draft or planned order. A planned order's draft tree is exploded again.

    Changes to released work go through the change process (rush orders and changes).
    """
    order = ProductionOrder.objects.select_for_update().get(pk=order.pk)
    if order.status not in (PO.DRAFT, PO.PLANNED):
        raise ValidationError(_("%(order)s is %(status)s: change it through a plan change.")
                              % {"order": order, "status": order.get_status_display()})
    unknown = set(changes) - set(ORDER_FIELDS)
    if unknown:
        raise ValueError(f"not changeable here: {sorted(unknown)}")
    before = snapshot(order)
    for name, value in changes.items():
        setattr(order, name, value)
    _validate_order(order)
    order.save()
    audit_record(actor=actor, instance=order, action=AuditEntry.Action.UPDATE, before=before,
                 reason=reason)
    if order.status == PO.PLANNED and {"item", "quantity", "due", "priority"} & set(changes):
        production_order_explode(actor=actor, order=order)
    return order


@transaction.atomic
def production_order_explode(*, actor, order: ProductionOrder,
                             on: datetime.date | None = None) -> ExplosionResult:
    """Explode the order's BOM into work orders, tasks, links and material requirements.

    Before: the order is draft or planned and none of its work orders has been released.
    After: exactly one fresh tree (a re-explosion replaces the draft one: deterministic and
    idempotent apart from the random QR tokens), the order is planned, one audit entry.
    """
    order = ProductionOrder.objects.select_for_update().select_related("item").get(pk=order.pk)
    status = next_status(order, "explode")
    if order.work_orders.exclude(status=WO.DRAFT).exists():
        raise ValidationError(_("%(order)s has released work orders: it cannot be exploded "
                                "again.") % {"order": order})
    on = on or timezone.localdate()
    _delete_draft_tree(order)
    result = explode_into(order, on)
    before = snapshot(order, ["status", "exploded_at"])
    order.status = status
    order.exploded_at = timezone.now()
    order.save(update_fields=["status", "exploded_at"])
    audit_record(actor=actor, instance=order, action=AuditEntry.Action.TRANSITION,
                 before=before, after={**snapshot(order, ["status", "exploded_at"]),
                                       "work_orders": result.work_orders,
                                       "tasks": result.tasks, "levels": result.levels},
                 reason=system_text("BOM explosion"))
    event_emit(topic=TOPIC_PLANT, kind="order.exploded", actor=actor,
               payload={"order": order.number, "work_orders": result.work_orders})
    return result


def _delete_draft_tree(order: ProductionOrder) -> None:
    from planning.models import MaterialRequirement, TaskLink

    # Leaf tables first, so no cascade has to collect rows one by one.
    TaskLink.objects.filter(successor__work_order__production_order=order).delete()
    TaskLink.objects.filter(predecessor__work_order__production_order=order).delete()
    MaterialRequirement.objects.filter(work_order__production_order=order).delete()
    Task.objects.filter(work_order__production_order=order).delete()
    # Children before parents (the parent link cascades otherwise).
    levels = (WorkOrder.objects.filter(production_order=order)
              .order_by("-level").values_list("level", flat=True).distinct())
    for level in list(levels):
        WorkOrder.objects.filter(production_order=order, level=level).delete()


@dataclass
class ReleaseResult:
    released: list[WorkOrder] = field(default_factory=list)
    refused: list[tuple[WorkOrder, list[str]]] = field(default_factory=list)


def release_problems(work_order: WorkOrder, tasks: list[Task]) -> list[str]:
    """What stops a work order from being released (empty: it can be)."""
    problems = []
    if work_order.status != WO.DRAFT:
        problems.append(_("it is %(status)s, not draft") % {
            "status": work_order.get_status_display()})
    if not tasks:
        problems.append(_("%(item)s has no routing: no operations to run") % {
            "item": work_order.item.code})
    for task in tasks:
        wc = task.work_center
        if not wc.active:
            problems.append(_("work center %(wc)s (step %(seq)s) is inactive") % {
                "wc": wc.code, "seq": task.seq})
    if work_order.bom_version_id and not work_order.bom_version.active:
        problems.append(_("its BOM version %(v)s is no longer active") % {
            "v": work_order.bom_version.version})
    if work_order.production_order.status == PO.CANCELLED:
        problems.append(_("its production order is cancelled"))
    return problems


@transaction.atomic
def work_orders_release(*, actor, work_orders, reason: str = "") -> ReleaseResult:
    """Release draft work orders to the floor, each one whole or not at all.

    After: every releasable work order and its tasks are released (visible on their work
    centers' dispatch lists), each refused one is listed with its reasons; one audit entry
    per released work order, task and production order (planned → released); one event per
    affected work center and one for the plant.
    """
    ids = sorted({wo.pk if isinstance(wo, WorkOrder) else int(wo) for wo in work_orders})
    locked = list(WorkOrder.objects.select_for_update(of=("self",)).filter(pk__in=ids)
                  .select_related("item", "bom_version", "production_order").order_by("pk"))
    tasks_of = defaultdict(list)
    for task in (Task.objects.filter(work_order_id__in=ids).select_related("work_center")
                 .order_by("work_order_id", "seq")):
        tasks_of[task.work_order_id].append(task)
    result = ReleaseResult()
    for wo in locked:
        problems = release_problems(wo, tasks_of[wo.pk])
        if problems:
            result.refused.append((wo, problems))
        else:
            result.released.append(wo)
    if not result.released:
        return result
    now = timezone.now()
    before = {wo.pk: {"status": wo.status} for wo in result.released}
    released_ids = [wo.pk for wo in result.released]
    WorkOrder.objects.filter(pk__in=released_ids).update(status=WO.RELEASED, released_at=now)
    Task.objects.filter(work_order_id__in=released_ids, status=Task.Status.PLANNED).update(
        status=Task.Status.RELEASED)
    tasks_released, tasks_before = [], {}
    for wo in result.released:
        wo.status, wo.released_at = WO.RELEASED, now
        for task in tasks_of[wo.pk]:
            if task.status == Task.Status.PLANNED:
                tasks_before[task.pk] = {"status": task.status}
                task.status, task.work_order = Task.Status.RELEASED, wo
                tasks_released.append(task)
    reason = reason or system_text("release")
    audit_transitions_bulk(actor=actor, instances=result.released, before=before, reason=reason)
    audit_transitions_bulk(actor=actor, instances=tasks_released, before=tasks_before,
                           reason=reason)
    production_orders_advance(actor=actor, action="release", reason=reason,
                              order_ids={wo.production_order_id for wo in result.released})
    per_wc = defaultdict(int)
    for wo_id in released_ids:
        for task in tasks_of[wo_id]:
            per_wc[task.work_center_id] += 1
    for wc_id, count in sorted(per_wc.items()):
        event_emit(topic=topic_work_center(wc_id), kind="tasks.released", actor=actor,
                   payload={"tasks": count})
    event_emit(topic=TOPIC_PLANT, kind="work_orders.released", actor=actor,
               payload={"work_orders": len(released_ids)})
    return result


def production_orders_advance(*, actor, order_ids, action: str,
                              reason: str | SystemText) -> list[ProductionOrder]:
    """Move on the production orders among `order_ids` that `action` moves (their work orders
    were released, started or accepted): one audit entry each, in one insert; orders already
    there (or past it) stay as they are. Inside the caller's transaction; one query when no
    order moves, three when some do."""
    sources = [old for old, new in PRODUCTION_ORDER_TRANSITIONS[action].items() if old != new]
    orders = list(ProductionOrder.objects.select_for_update()
                  .filter(pk__in=order_ids, status__in=sources).order_by("pk"))
    if not orders:
        return []
    before = {order.pk: {"status": order.status} for order in orders}
    moved = defaultdict(list)
    for order in orders:
        order.status = next_status(order, action)
        moved[order.status].append(order.pk)
    for status, pks in moved.items():
        ProductionOrder.objects.filter(pk__in=pks).update(status=status)
    audit_transitions_bulk(actor=actor, instances=orders, before=before, reason=reason)
    return orders


@transaction.atomic
def production_order_release(*, actor, order: ProductionOrder, reason: str = "") -> ReleaseResult:
    """Release every draft work order of the order (a production order released as a whole)."""
    order = ProductionOrder.objects.select_for_update().get(pk=order.pk)
    if order.status == PO.DRAFT:
        raise ValidationError(_("%(order)s has not been exploded into work orders yet.")
                              % {"order": order})
    next_status(order, "release")
    drafts = order.work_orders.filter(status=WO.DRAFT).values_list("pk", flat=True)
    return work_orders_release(actor=actor, work_orders=list(drafts), reason=reason)


def _transition_work_order(*, actor, work_order: WorkOrder, action: str, reason: str,
                           task_action: str | None) -> WorkOrder:
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Say why.")})
    wo = WorkOrder.objects.select_for_update().get(pk=work_order.pk)
    before = snapshot(wo, ["status", "held_from"])
    target = next_status(wo, action)
    wo.held_from = wo.status if action == "hold" else ""
    wo.status = target
    wo.save(update_fields=["status", "held_from"])
    tasks = list(Task.objects.select_for_update().filter(work_order=wo))
    changed, tasks_before = [], {}
    for task in tasks:
        task.work_order = wo  # (named in its audit entry)
        tasks_before[task.pk] = {"status": task.status, "held_from": task.held_from}
        if task_action == "hold" and task.status in (Task.Status.PLANNED, Task.Status.RELEASED,
                                                     Task.Status.IN_PROGRESS,
                                                     Task.Status.PAUSED):
            task.held_from, task.status = task.status, Task.Status.ON_HOLD
        elif task_action == "resume" and task.status == Task.Status.ON_HOLD:
            task.status, task.held_from = task.held_from or Task.Status.RELEASED, ""
        elif task_action == "cancel" and task.status in (Task.Status.PLANNED,
                                                         Task.Status.RELEASED,
                                                         Task.Status.ON_HOLD,
                                                         Task.Status.PAUSED):
            task.status = Task.Status.CANCELLED
        else:
            continue
        changed.append(task)
    Task.objects.bulk_update(changed, ["status", "held_from"])
    audit_record(actor=actor, instance=wo, action=AuditEntry.Action.TRANSITION, before=before,
                 after=snapshot(wo, ["status", "held_from"]), reason=reason)
    # Each task it held, resumed or cancelled: its own entry, with the same reason (a task's
    # history must show why it stopped, not only its work order's).
    audit_transitions_bulk(actor=actor, instances=changed, before=tasks_before, reason=reason,
                           fields=("status", "held_from"))
    for wc_id in sorted({t.work_center_id for t in changed}):
        event_emit(topic=topic_work_center(wc_id), kind=f"work_order.{action}", actor=actor,
                   payload={"work_order": wo.number, "reason": reason})
    event_emit(topic=TOPIC_PLANT, kind=f"work_order.{action}", actor=actor,
               payload={"work_order": wo.number, "reason": reason})
    return wo


@transaction.atomic
def work_order_hold(*, actor, work_order: WorkOrder, reason: str) -> WorkOrder:
    """Stop a work order: its open tasks go on hold (and off the stations' lists)."""
    return _transition_work_order(actor=actor, work_order=work_order, action="hold",
                                  reason=reason, task_action="hold")


@transaction.atomic
def work_order_resume(*, actor, work_order: WorkOrder, reason: str) -> WorkOrder:
    """Resume a held work order: it and its tasks return to where they were."""
    return _transition_work_order(actor=actor, work_order=work_order, action="resume",
                                  reason=reason, task_action="resume")


@transaction.atomic
def work_order_cancel(*, actor, work_order: WorkOrder, reason: str) -> WorkOrder:
    """Cancel a work order that has not started: its open tasks are cancelled."""
    return _transition_work_order(actor=actor, work_order=work_order, action="cancel",
                                  reason=reason, task_action="cancel")
