"""Material issue: component lots scanned against a work order, for traceability."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from execution.models import MaterialConsumption
from execution.services.quantities import parse_quantity
from execution.services.reporting import check_can_work, check_client_token, lock_task
from mes.audit import audit_record
from mes.events import event_emit, topic_work_center
from mes.models import AuditEntry
from planning.models import Item, MaterialRequirement, Task

LOT_MAX = 80


@transaction.atomic
def material_issue(*, operator, task: Task, work_center, item_code: str, lot_code: str,
                   quantity, client_token: str) -> MaterialConsumption:
    """Record that `quantity` of component lot `lot_code` went into the task's work order.

    Before: the component is on the work order's material list; the lot code is not empty.
    After: one consumption row (its token never counts twice), audit-logged. Issuing more than
    the requirement is allowed (a real shop over-issues) but the requirement is not changed.
    """
    token = check_client_token(client_token)
    existing = MaterialConsumption.objects.filter(client_token=token).first()
    if existing is not None:
        return existing
    locked = lock_task(task.pk if isinstance(task, Task) else task)
    check_can_work(locked, operator, work_center)
    lot_code = (lot_code or "").strip()
    if not lot_code:
        raise ValidationError({"lot_code": _("Scan the component lot.")})
    if len(lot_code) > LOT_MAX:
        raise ValidationError({"lot_code": _("The lot code is too long.")})
    item = Item.objects.filter(code=(item_code or "").strip()).first()
    if item is None:
        raise ValidationError({"item_code": _("Unknown component “%(code)s”.") % {
            "code": (item_code or "")[:40]}})
    requirement = MaterialRequirement.objects.filter(work_order_id=locked.work_order_id,
                                                     item=item).first()
    if requirement is None:
        raise ValidationError({"item_code": _("%(code)s is not on the material list of "
                                              "%(wo)s.") % {"code": item.code,
                                                           "wo": locked.work_order}})
    qty = parse_quantity(quantity, field="quantity", discrete=item.discrete, allow_zero=False)
    consumption = MaterialConsumption.objects.create(
        work_order_id=locked.work_order_id, task=locked, item=item, lot_code=lot_code,
        quantity=qty, operator=operator, client_token=token)
    audit_record(actor=operator, instance=consumption, action=AuditEntry.Action.CREATE,
                 reason=_("material issue"))
    issued = MaterialConsumption.objects.filter(work_order_id=locked.work_order_id,
                                                item=item).aggregate(s=Sum("quantity"))["s"]
    event_emit(topic=topic_work_center(work_center.pk), kind="material.issued", actor=operator,
               payload={"work_order": locked.work_order.number, "item": item.code,
                        "lot": lot_code, "issued": str(issued),
                        "required": str(requirement.quantity)})
    return consumption
