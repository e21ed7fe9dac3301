"""OperationsSchedule ⇄ production orders.

One OperationsRequest is one production order: ID = order number, EndTime = due, StartTime =
earliest start, Priority 1–3, the first Description = notes; its SegmentRequirement names the
item to make in a MaterialRequirement (MaterialUse "Produced", MaterialDefinitionID = item
code, Quantity + UnitOfMeasure) and carries customer, sales_order_ref and erp_ref as
SegmentParameters. Import is keyed on the order number: new numbers create draft orders, draft
and planned orders are updated, released ones must be unchanged. All or nothing.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mes.api.fields import out_of_range, plausible
from planning.b2mml import (
    parse,
    q,
    schema_available,
    serialize,
    sub,
    text_of,
    validation_errors,
    value,
)
from planning.b2mml import (
    quantity as quantity_el,
)
from planning.models import Item, Priority, ProductionOrder
from planning.services.orders import production_order_create, production_order_update

PO = ProductionOrder.Status
REQUEST_STATE = {PO.DRAFT: "Waiting", PO.PLANNED: "Ready", PO.RELEASED: "Released",
                 PO.IN_PROGRESS: "Running", PO.COMPLETED: "Completed",
                 PO.CANCELLED: "Cancelled"}
PARAMETERS = ("customer", "sales_order_ref", "erp_ref")
VERBS = ("Process", "Sync", "Change", "Show")
FIELDS = ("item", "quantity", "due", "release_date", "priority", "notes", *PARAMETERS)


def operations_schedule_export(orders, *, schedule_id: str | None = None) -> bytes:
    """An OperationsSchedule document for `orders` (select_related("item") them)."""
    from planning.b2mml import new_root

    now = timezone.now()
    root = new_root("OperationsSchedule")
    sub(root, "ID", schedule_id or f"MES-{timezone.localtime(now):%Y%m%dT%H%M%S}")
    sub(root, "PublishedDate", now)
    sub(root, "OperationsType", "Production")
    for order in orders:
        req = sub(root, "OperationsRequest")
        sub(req, "ID", order.number)
        if order.notes:
            sub(req, "Description", order.notes)
        if order.release_date:
            sub(req, "StartTime", order.release_date)
        sub(req, "EndTime", order.due)
        sub(req, "OperationsType", "Production")
        sub(req, "Priority", str(order.priority))
        sub(req, "RequestState", REQUEST_STATE[order.status])
        seg = sub(req, "SegmentRequirement")
        sub(seg, "ID", f"{order.number}.1")
        if order.release_date:
            sub(seg, "EarliestStartTime", order.release_date)
        sub(seg, "LatestEndTime", order.due)
        sub(seg, "ProcessSegmentID", order.item.code)
        sub(seg, "OperationsDefinitionID", order.item.code)
        sub(seg, "OperationsSegmentID", order.item.code)
        for name in PARAMETERS:
            if getattr(order, name):
                param = sub(seg, "SegmentParameter")
                sub(param, "ID", name)
                value(param, "Value", getattr(order, name))
        mat = sub(seg, "MaterialRequirement")
        sub(mat, "ID", f"{order.number}.produced")
        sub(mat, "MaterialDefinitionID", order.item.code)
        sub(mat, "MaterialUse", "Produced")
        quantity_el(mat, "Quantity", order.quantity, order.item.uom)
    return serialize(root)


@dataclass
class ScheduleImportResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    validated: bool = False


class _Errors:
    def __init__(self):
        self.by_field: dict[str, list[ValidationError]] = {}

    def add(self, path: str, message: str, code: str) -> None:
        self.by_field.setdefault(path, []).append(ValidationError(message, code=code))

    def raise_any(self) -> None:
        if self.by_field:
            raise ValidationError(self.by_field)


def _schedule_element(root):
    local = root.tag.split("}")[-1]
    if root.tag == q("OperationsSchedule"):
        return root
    if root.tag.startswith(q("")) and local in {f"{v}OperationsSchedule" for v in VERBS}:
        found = root.find(f"{q('DataArea')}/{q('OperationsSchedule')}")
        if found is not None:
            return found
    raise ValidationError({"xml": ValidationError(
        _("Expected an OperationsSchedule (namespace %(ns)s), got %(tag)s.") % {
            "ns": q("")[1:-1], "tag": root.tag}, code="wrong_document")})


def _datetime(text: str | None, path: str, errors: _Errors) -> datetime.datetime | None:
    if not text:
        return None
    try:
        value = datetime.datetime.fromisoformat(text)
    except ValueError:
        errors.add(path, _("“%(v)s” is not a date and time.") % {"v": text[:40]}, "invalid")
        return None
    if not plausible(value):
        errors.add(path, out_of_range(), "invalid")
        return None
    return timezone.make_aware(value) if timezone.is_naive(value) else value


def _read_request(req, index: int, errors: _Errors) -> dict | None:
    number = text_of(req, "ID") or ""
    at = f"OperationsRequest[{number or index}]"
    if not number or len(number) > 40:
        errors.add(f"{at}.ID", _("An order number of 1 to 40 characters is needed."), "invalid")
        return None
    seg = req.find(q("SegmentRequirement"))
    due = _datetime(text_of(req, "EndTime") or text_of(seg, "LatestEndTime"), f"{at}.EndTime",
                    errors)
    if due is None:
        errors.add(f"{at}.EndTime", _("The due date (EndTime) is missing."), "required")
    row = {"number": number, "due": due, "notes": text_of(req, "Description") or "",
           "release_date": _datetime(text_of(req, "StartTime") or text_of(seg, "EarliestStartTime"),
                                     f"{at}.StartTime", errors)}
    raw_priority = text_of(req, "Priority") or "1"
    try:
        row["priority"] = int(Decimal(raw_priority))
    except (InvalidOperation, ValueError):
        row["priority"] = None
    if row["priority"] not in Priority.values:
        errors.add(f"{at}.Priority", _("Priority must be 1 (normal), 2 (high) or 3 (urgent)."),
                   "invalid")
    params = {text_of(p, "ID"): text_of(p.find(q("Value")), "ValueString") or ""
              for p in (seg.findall(q("SegmentParameter")) if seg is not None else [])}
    for name in PARAMETERS:
        row[name] = params.get(name) or ("" if name != "erp_ref" else None)
    produced = [m for m in (seg.findall(q("MaterialRequirement")) if seg is not None else [])
                if (text_of(m, "MaterialUse") or "Produced") == "Produced"]
    if not produced:
        errors.add(f"{at}.SegmentRequirement.MaterialRequirement",
                   _("Name the item to make (a MaterialRequirement with MaterialUse "
                     "Produced)."), "required")
        return row
    mat = produced[0]
    row["item_code"] = text_of(mat, "MaterialDefinitionID") or ""
    qty = mat.find(q("Quantity"))
    row["uom"] = text_of(qty, "UnitOfMeasure")
    try:
        row["quantity"] = Decimal(text_of(qty, "QuantityString") or "")
    except InvalidOperation:
        row["quantity"] = None
    if row["quantity"] is None or not row["quantity"].is_finite() or row["quantity"] <= 0:
        errors.add(f"{at}.MaterialRequirement.Quantity",
                   _("The quantity must be a number greater than zero."), "invalid")
    return row


@transaction.atomic
def operations_schedule_import(*, actor, data: bytes) -> ScheduleImportResult:
    """Create or update production orders from an OperationsSchedule. Before: the document is
    well-formed (and valid against the XSD when it is available). After: every order written
    through the order services, or nothing at all (ValidationError naming each problem)."""
    root = parse(data)
    schedule = _schedule_element(root)
    result = ScheduleImportResult(validated=schema_available())
    if result.validated:
        problems = validation_errors(root, "OperationsSchedule")
        if problems:
            raise ValidationError({p["field"] or "xml": [ValidationError(p["message"],
                                                                         code="schema")]
                                   for p in problems})
    errors = _Errors()
    rows = [row for i, req in enumerate(schedule.findall(q("OperationsRequest")), 1)
            if (row := _read_request(req, i, errors)) is not None]
    numbers = [r["number"] for r in rows]
    for dup in {n for n in numbers if numbers.count(n) > 1}:
        errors.add(f"OperationsRequest[{dup}].ID", _("This order appears twice."), "duplicate")
    items = Item.objects.in_bulk({r.get("item_code", "") for r in rows}, field_name="code")
    existing = ProductionOrder.objects.select_for_update().in_bulk(numbers, field_name="number")
    for row in rows:
        at = f"OperationsRequest[{row['number']}]"
        item = items.get(row.pop("item_code", None))
        if item is None and "uom" in row:
            errors.add(f"{at}.MaterialRequirement.MaterialDefinitionID",
                       _("No item has this code."), "unknown")
        elif item is not None and row["uom"] and row["uom"] != item.uom:
            errors.add(f"{at}.MaterialRequirement.Quantity.UnitOfMeasure",
                       _("%(code)s is counted in %(uom)s.") % {"code": item.code,
                                                               "uom": item.uom}, "unit")
        row["item"] = item
    errors.raise_any()
    for row in rows:
        _write(actor, row, existing.get(row["number"]), result, errors)
    errors.raise_any()
    return result


def _write(actor, row: dict, order, result: ScheduleImportResult, errors: _Errors) -> None:
    number = row["number"]
    values = {k: row[k] for k in FIELDS}
    try:
        if order is None:
            production_order_create(actor=actor, number=number, reason="B2MML", **values)
            result.created.append(number)
            return
        changes = {k: v for k, v in values.items() if getattr(order, k) != v}
        if not changes:
            result.unchanged.append(number)
        elif order.status not in (PO.DRAFT, PO.PLANNED):
            errors.add(f"OperationsRequest[{number}]",
                       _("%(o)s is %(s)s: released orders change through a plan change.")
                       % {"o": number, "s": order.get_status_display()}, "released")
        else:
            production_order_update(actor=actor, order=order, reason="B2MML", **changes)
            result.updated.append(number)
    except ValidationError as exc:
        pairs = (exc.message_dict.items() if hasattr(exc, "error_dict")
                 else [("order", exc.messages)])
        for name, messages in pairs:
            for message in messages:
                errors.add(f"OperationsRequest[{number}].{name}", message, "invalid")
