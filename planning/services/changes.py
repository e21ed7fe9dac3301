"""Rush orders (插单) and changes to released orders (换单), previewed before they apply.

A planner's change does not touch the floor until the previewed schedule is applied: then the
order changes (with history), the rush order is released, and stations are told.
"""

import datetime
from decimal import ROUND_CEILING, Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from mes.api.fields import dates_out_of_range, plausible
from mes.audit import audit_record, audit_transitions_bulk, snapshot
from mes.labels import join_clauses
from mes.models import AuditEntry
from mes.quantities import quantity_text
from mes.system_text import system_text
from planning.models import MaterialRequirement, Priority, ProductionOrder, Task, WorkOrder
from planning.services.orders import (
    production_order_create,
    production_order_explode,
    work_orders_release,
)
from planning.services.schedule import schedule_request

PO = ProductionOrder.Status


@transaction.atomic
def rush_order_preview(*, actor, item, quantity, due, priority=Priority.URGENT, customer="",
                       sales_order_ref="", notes="", reason: str, time_limit: float = 10.0):
    """Create the rush order (exploded, not yet released) and a what-if schedule with it."""
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Say why the order is inserted.")})
    order = production_order_create(actor=actor, item=item, quantity=quantity, due=due,
                                    priority=priority, customer=customer,
                                    sales_order_ref=sales_order_ref, notes=notes,
                                    reason=reason)
    production_order_explode(actor=actor, order=order)
    return schedule_request(actor=actor, reason=system_text(
        "Rush order %(o)s: %(r)s", o=order.number, r=reason), time_limit=time_limit,
        rush_order=order)


@transaction.atomic
def order_change_preview(*, actor, order: ProductionOrder, reason: str, quantity=None,
                         due=None, priority=None, time_limit: float = 10.0):
    """A what-if schedule for changing a released order's quantity, due date or priority."""
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Say why the order changes.")})
    order = ProductionOrder.objects.get(pk=order.pk)
    if order.status in (PO.COMPLETED, PO.CANCELLED):
        raise ValidationError(_("%(o)s is %(s)s.") % {"o": order,
                                                      "s": order.get_status_display()})
    change = {"order": order.pk, "reason": reason}
    if quantity not in (None, ""):
        quantity = Decimal(quantity)
        if quantity <= 0:
            raise ValidationError({"quantity": _("The quantity must be greater than zero.")})
        if order.item.discrete and quantity != quantity.to_integral_value():
            raise ValidationError({"quantity": _("Whole units only.")})
        done = (WorkOrder.objects.filter(production_order=order, level=0)
                .values_list("tasks__qty_good", flat=True))
        reported = max([d or 0 for d in done] or [0])
        if quantity < reported:
            raise ValidationError({"quantity": _("%(q)s is less than already made (%(r)s).")
                                   % {"q": quantity_text(quantity), "r": quantity_text(reported)}})
        change["quantity"] = str(quantity)
        change["factor"] = float(quantity / order.quantity)
    if due not in (None, ""):
        if not plausible(due):
            raise ValidationError({"due": dates_out_of_range()})
        change["due"] = due.isoformat()
    if priority not in (None, ""):
        if int(priority) not in Priority.values:
            raise ValidationError({"priority": _("Unknown priority.")})
        change["priority"] = int(priority)
    if len(change) == 2:
        raise ValidationError(_("Nothing to change."))
    return schedule_request(actor=actor, reason=system_text(
        "Change of %(o)s: %(r)s", o=order.number, r=reason), time_limit=time_limit,
        pending_changes=[change])


def _scaled(qty: Decimal, factor: Decimal, discrete: bool) -> Decimal:
    value = qty * factor
    return (value.to_integral_value(rounding=ROUND_CEILING) if discrete
            else value.quantize(Decimal("0.0001"), rounding=ROUND_CEILING))


def apply_pending_changes(*, actor, version) -> list[int]:
    """Apply the version's order changes (inside schedule_apply's transaction)."""
    changed = []
    for change in version.pending_changes or []:
        order = ProductionOrder.objects.select_for_update().get(pk=change["order"])
        before = snapshot(order)
        wos = list(WorkOrder.objects.select_for_update().filter(production_order=order)
                   .select_related("item"))
        if "quantity" in change:
            new_qty = Decimal(change["quantity"])
            factor = new_qty / order.quantity
            order.quantity = new_qty
            for wo in wos:
                wo.quantity = new_qty if wo.level == 0 else _scaled(wo.quantity, factor,
                                                                    wo.item.discrete)
            tasks = list(Task.objects.select_for_update().filter(work_order__in=wos,
                                                                kind=Task.Kind.NORMAL))
            by_wo = {wo.pk: wo for wo in wos}
            for task in tasks:
                task.quantity = max(by_wo[task.work_order_id].quantity,
                                    task.qty_good + task.qty_scrap)
            Task.objects.bulk_update(tasks, ["quantity"])
            mats = list(MaterialRequirement.objects.filter(work_order__in=wos)
                        .select_related("item"))
            for m in mats:
                m.quantity = _scaled(m.quantity, factor, m.item.discrete)
            MaterialRequirement.objects.bulk_update(mats, ["quantity"])
        if "due" in change:
            new_due = datetime.datetime.fromisoformat(change["due"])
            shift = new_due - order.due
            order.due = new_due
            for wo in wos:
                wo.due = wo.due + shift
        if "priority" in change:
            order.priority = change["priority"]
            for wo in wos:
                wo.priority = change["priority"]
        order.save()
        WorkOrder.objects.bulk_update(wos, ["quantity", "due", "priority"])
        audit_record(actor=actor, instance=order, action=AuditEntry.Action.UPDATE,
                     before=before, reason=change.get("reason", ""))
        changed.append(order.pk)
    return changed


def release_rush_order(*, actor, version) -> None:
    order = version.rush_order
    drafts = list(order.work_orders.filter(status=WorkOrder.Status.DRAFT)
                  .values_list("pk", flat=True))
    result = work_orders_release(actor=actor, work_orders=drafts,
                                 reason=system_text("rush order inserted"))
    if result.refused:
        wo, reasons = result.refused[0]
        raise ValidationError(_("The rush order cannot be released: %(wo)s: %(why)s") % {
            "wo": wo, "why": join_clauses(reasons)})


def discard_rush_order(*, actor, version) -> None:
    order = ProductionOrder.objects.select_for_update().get(pk=version.rush_order_id)
    if order.status in (PO.DRAFT, PO.PLANNED):
        before = snapshot(order, ["status"])
        order.status = PO.CANCELLED
        order.save(update_fields=["status"])
        reason = system_text("rush order preview discarded")
        wos = list(WorkOrder.objects.filter(production_order=order,
                                            status=WorkOrder.Status.DRAFT))
        tasks = list(Task.objects.filter(work_order__production_order=order)
                     .exclude(status=Task.Status.CANCELLED).select_related("work_order"))
        WorkOrder.objects.filter(pk__in=[wo.pk for wo in wos]).update(
            status=WorkOrder.Status.CANCELLED)
        Task.objects.filter(pk__in=[task.pk for task in tasks]).update(
            status=Task.Status.CANCELLED)
        audit_record(actor=actor, instance=order, action=AuditEntry.Action.TRANSITION,
                     before=before, reason=reason)
        for rows, cancelled in ((wos, WorkOrder.Status.CANCELLED),
                                (tasks, Task.Status.CANCELLED)):
            row_before = {row.pk: {"status": row.status} for row in rows}
            for row in rows:
                row.status = cancelled
            audit_transitions_bulk(actor=actor, instances=rows, before=row_before,
                                   reason=reason)
