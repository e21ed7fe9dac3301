"""Material issue: component lots scanned against a work order, for traceability."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum

from execution.models import MaterialConsumption
from execution.services.quantities import parse_quantity
from execution.services.reporting import (
    badge_holder,
    check_can_work,
    check_client_token,
    lock_task,
)
from mes.audit import audit_record
from mes.events import event_emit, topic_work_center
from mes.models import AuditEntry
from mes.quantities import quantity_text
from mes.system_text import system_text
from planning.models import Item, MaterialRequirement, Task
from planning.travelers import SCHEME, normalize_scan

LOT_MAX = 80
# Over-issue is normal (whole packs, spare for setup scrap); ten times the work order's need is
# a typo or a wrong scan (100000 of 49), refused before it skews the traceability record.
OVER_ISSUE_FACTOR = 10


def check_lot_code(lot_code: str) -> str:
    """The lot code as scanned, or ValidationError on `lot_code` saying what was scanned instead
    (a traveler, a badge) or what is wrong with it."""
    lot_code = (lot_code or "").strip()
    if not lot_code:
        raise ValidationError({"lot_code": system_text("Scan the component lot.")})
    if len(lot_code) > LOT_MAX:
        raise ValidationError({"lot_code": system_text("The lot code is too long.")})
    if normalize_scan(lot_code).upper().startswith(f"{SCHEME}:"):
        raise ValidationError({"lot_code": system_text(
            "This is a traveler code, not a lot: scan the label on the component's pack.")},
            code="traveler_scanned")
    if any(ch.isspace() for ch in lot_code):
        raise ValidationError({"lot_code": system_text(
            "A lot code has no spaces: scan the label on the component's pack again.")},
            code="spaces")
    if badge_holder(lot_code) is not None:
        raise ValidationError({"lot_code": system_text(
            "This is an employee badge, not a lot: scan the label on the component's pack.")},
            code="badge_scanned")
    return lot_code


@transaction.atomic
def material_issue(*, operator, task: Task, work_center, item_code: str, lot_code: str,
                   quantity, client_token: str) -> MaterialConsumption:
    """Record that `quantity` of component lot `lot_code` went into the task's work order.

    Before: the component is on the work order's material list; the lot code is a lot's (not
    empty, no spaces, not a traveler or badge code); all issues of the component together stay
    within OVER_ISSUE_FACTOR × the requirement.
    After: one consumption row (its token never counts twice), audit-logged. Issuing more than
    the requirement is allowed (a real shop over-issues) but the requirement is not changed.
    """
    token = check_client_token(client_token)
    existing = MaterialConsumption.objects.filter(client_token=token).first()
    if existing is not None:
        return existing
    locked = lock_task(task.pk if isinstance(task, Task) else task)
    check_can_work(locked, operator, work_center)
    lot_code = check_lot_code(lot_code)
    item = Item.objects.filter(code=(item_code or "").strip()).first()
    if item is None:
        raise ValidationError({"item_code": system_text("Unknown component “%(code)s”.",
                                                        code=(item_code or "")[:40])})
    requirement = MaterialRequirement.objects.filter(work_order_id=locked.work_order_id,
                                                     item=item).first()
    if requirement is None:
        raise ValidationError({"item_code": system_text(
            "%(code)s is not on the material list of %(wo)s.", code=item.code,
            wo=locked.work_order)})
    qty = parse_quantity(quantity, field="quantity", discrete=item.discrete, allow_zero=False)
    before = MaterialConsumption.objects.filter(work_order_id=locked.work_order_id,
                                                item=item).aggregate(s=Sum("quantity"))["s"] or 0
    if before + qty > OVER_ISSUE_FACTOR * requirement.quantity:
        # (The limit is not offered as a quantity to issue: it only tells a slip from a real
        # over-issue, and the answer is the quantity on the pack.)
        raise ValidationError({"quantity": system_text(
            "%(wo)s needs %(required)s %(uom)s of %(code)s (%(issued)s issued so far): "
            "%(qty)s more would be over %(factor)s times the need, which is taken for a typo "
            "or a wrong scan. Check the quantity on the pack.", wo=locked.work_order,
            required=quantity_text(requirement.quantity), uom=item.uom, code=item.code,
            issued=quantity_text(before), qty=quantity_text(qty), factor=OVER_ISSUE_FACTOR)},
            code="over_issue")
    consumption = MaterialConsumption.objects.create(
        work_order_id=locked.work_order_id, task=locked, item=item, lot_code=lot_code,
        quantity=qty, operator=operator, client_token=token)
    audit_record(actor=operator, instance=consumption, action=AuditEntry.Action.CREATE,
                 reason=system_text("material issue"))
    issued = MaterialConsumption.objects.filter(work_order_id=locked.work_order_id,
                                                item=item).aggregate(s=Sum("quantity"))["s"]
    event_emit(topic=topic_work_center(work_center.pk), kind="material.issued", actor=operator,
               payload={"work_order": locked.work_order.number, "item": item.code,
                        "lot": lot_code, "issued": str(issued),
                        "required": str(requirement.quantity)})
    return consumption
