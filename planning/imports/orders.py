"""Production orders (生产订单): a new number creates a draft order, an existing draft or
planned one is updated, released (or later) work is refused: it changes through the change
process.

The rules are planning.services.orders' (production_order_create / _update), checked for the
whole file at once so a thousand orders cost a few queries; the records are built with the
same fields and defaults, and a planned order whose item, quantity, due or priority changes
is exploded again by the same service a hand edit calls.
"""

import datetime
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mes.audit import snapshot
from mes.events import TOPIC_PLANT
from mes.labels import join_list
from mes.models import Event
from planning.imports import fields as f
from planning.imports.audit import AuditBatch
from planning.imports.base import Batch, Kind, KindResult, WriteRefused, fetch_in
from planning.imports.fields import Column, Row, RowError
from planning.models import Item, Priority, ProductionOrder
from planning.services.orders import ORDER_FIELDS, production_order_explode

PO = ProductionOrder.Status
CHANGEABLE = (PO.DRAFT, PO.PLANNED)
REEXPLODE_FIELDS = {"item", "quantity", "due", "priority"}  # as production_order_update does

PRIORITY_WORDS = {
    "normal": Priority.NORMAL, "1": Priority.NORMAL, "普通": Priority.NORMAL,
    "一般": Priority.NORMAL, "正常": Priority.NORMAL,
    "high": Priority.HIGH, "2": Priority.HIGH, "高": Priority.HIGH, "加急": Priority.HIGH,
    "urgent": Priority.URGENT, "3": Priority.URGENT, "紧急": Priority.URGENT,
    "特急": Priority.URGENT,
}
PRIORITY_NAMES = {Priority.NORMAL: "normal", Priority.HIGH: "high", Priority.URGENT: "urgent"}
# column key -> ProductionOrder field, for the plain values
COLUMN_FIELDS = {"quantity": "quantity", "due": "due", "priority": "priority",
                 "customer": "customer", "sales_order_ref": "sales_order_ref",
                 "notes": "notes", "erp_ref": "erp_ref", "release_date": "release_date"}
CLEAR_TO = {"customer": "", "sales_order_ref": "", "notes": "", "erp_ref": None,
            "release_date": None}


@dataclass
class OrderPlan:
    create: list = field(default_factory=list)
    update: list = field(default_factory=list)   # (order, before, changed field names)
    unchanged: int = 0
    rows: dict = field(default_factory=dict)      # order number -> its row

    def result(self) -> KindResult:
        again = [o.number for o, _b, changed in self.update
                 if o.status == PO.PLANNED and REEXPLODE_FIELDS & changed]
        notes = [_("Planned orders exploded again: %(list)s.") % {"list": join_list(again)}
                 ] if again else []
        return KindResult(len(self.create), len(self.update), self.unchanged, notes)


class OrderKind(Kind):
    key = "orders"
    label = gettext_lazy("Production orders")
    sheet_names = ("production_orders", "生产订单", "订单")
    item_code_keys = ("item_code",)
    columns = [
        Column("order_number", "订单号", f.code(40), required=True, example="PO-2026-0001",
               aliases=("生产订单号",)),
        Column("item_code", "物料编码", f.code(40), required=True, example="FG-1001",
               aliases=("物料代码", "料号")),
        Column("quantity", "数量", f.decimal(4, 14, positive=True), required=True,
               example=100),
        Column("due", "交期", f.local_datetime(date_only_time=datetime.time(23, 59)),
               required=True, example="2026-03-31 17:00", aliases=("交货期", "due_date")),
        Column("priority", "优先级", f.choice(PRIORITY_WORDS, "normal, high, urgent, 普通, 高, "
                                              "紧急"), example="normal"),
        Column("customer", "客户", f.text(120), example="某某电器有限公司"),
        Column("sales_order_ref", "销售订单号", f.text(60), example="SO-8899"),
        Column("notes", "备注", f.text(10_000), example=""),
        Column("erp_ref", "ERP单号", f.text(80), example=""),
        Column("release_date", "最早开工", f.local_datetime(date_only_time=datetime.time(0, 0)),
               example=""),
        Column("status", "状态", f.text(20), export_only=True),
    ]
    rules = gettext_lazy(
        "One row per order number. A new number creates a draft order, as if entered by hand; "
        "an existing draft or planned order is updated (a planned one is exploded again when "
        "its item, quantity, due or priority changes); released, running, finished or "
        "cancelled orders are refused unless the row changes nothing. A due date without a "
        "time means 23:59 that day. The status column of an export is ignored.")

    def validate(self, batch: Batch, rows: list[Row]) -> None:
        plan = batch.plans[self.key] = OrderPlan()
        numbers = {r.values["order_number"] for r in rows if r.values.get("order_number")}
        existing = {o.number: o for o in fetch_in(
            batch.lock_qs(ProductionOrder.objects.all()), "number", numbers)}
        refs = {r.values["erp_ref"] for r in rows if r.values.get("erp_ref")}
        ref_owner = dict(fetch_in(ProductionOrder.objects.values_list("erp_ref", "number"),
                                  "erp_ref", refs))
        first: dict[str, Row] = {}
        ref_rows: dict[str, Row] = {}
        uses: dict[str, tuple[Row, str]] = {}
        for row in rows:
            number, code = row.values.get("order_number"), row.values.get("item_code")
            item = batch.items.get(code) if code else None
            if code and item is None:
                batch.add(row.error("item_code", batch.unknown_item_reason(code)))
            elif item is not None and item.kind != Item.Kind.MAKE:
                batch.add(row.error("item_code", _(
                    "%(code)s is a bought item: only made items can be produced.")
                    % {"code": code}))
                item = None
            elif item is not None:
                uses.setdefault(code, (row, "item_code"))
            if number is None:
                continue
            if number in first:
                batch.add(row.error("order_number", _("Order %(number)s is already in row "
                                                      "%(row)d.") % {"number": number,
                                                                     "row": first[number].number}))
                continue
            first[number] = row
            self._check_ref(batch, row, number, ref_owner, ref_rows)
            if item is None or row.failed:
                continue
            order = existing.get(number)
            for error in self._plan_order(batch, plan, row, number, item, order):
                batch.add(error)
        plan.rows = first
        batch.require_routings(uses)

    def _check_ref(self, batch, row, number, ref_owner, ref_rows) -> None:
        ref = row.values.get("erp_ref")
        if not ref:
            return
        if ref in ref_rows:
            batch.add(row.error("erp_ref", _("ERP reference already used in row %(row)d.")
                                % {"row": ref_rows[ref].number}))
        elif ref_owner.get(ref, number) != number:
            batch.add(row.error("erp_ref", _("ERP reference already used by order %(number)s.")
                                % {"number": ref_owner[ref]}))
        ref_rows.setdefault(ref, row)

    def _plan_order(self, batch, plan, row, number, item, order) -> list[RowError]:
        creating = order is None
        if creating:
            actor = batch.actor if getattr(batch.actor, "is_authenticated", False) else None
            # production_order_create's defaults, field for field
            order = ProductionOrder(number=number, item=item, priority=Priority.NORMAL,
                                    customer="", sales_order_ref="", notes="",
                                    release_date=None, erp_ref=None, created_by=actor)
        before = None if creating else snapshot(order, ORDER_FIELDS)
        full_before = None if creating else snapshot(order)
        order.item = item
        for column, name in COLUMN_FIELDS.items():
            if not row.has(column):
                continue
            value = row.values[column]
            if value is None:
                if column not in CLEAR_TO:
                    continue
                value = CLEAR_TO[column]
            current = getattr(order, name)
            if (name in ("due", "release_date") and value is not None and current is not None
                    and value == current.replace(microsecond=0)):
                continue  # the sheet holds whole seconds: the same second is no change
            setattr(order, name, value)
        errors = []
        if item.discrete and order.quantity != order.quantity.to_integral_value():
            errors.append(row.error("quantity", _("%(code)s is counted in whole units.")
                                    % {"code": item.code}))
        if order.release_date and order.due and order.release_date > order.due:
            errors.append(row.error("release_date", _("The earliest start is after the due "
                                                      "date.")))
        if creating:
            plan.create.append(order)
            return errors
        after = snapshot(order, ORDER_FIELDS)
        changed = {k for k in after if after[k] != before[k]}
        if not changed:
            plan.unchanged += 1
            return errors
        if order.status not in CHANGEABLE:
            errors.append(row.error("order_number", _(
                "%(order)s is %(status)s: change it through a plan change (changes to "
                "released work go through the change process).")
                % {"order": number, "status": order.get_status_display()}))
        plan.update.append((order, full_before, changed))
        return errors

    def write(self, batch: Batch, audit: AuditBatch) -> KindResult:
        plan: OrderPlan = batch.plans[self.key]
        ProductionOrder.objects.bulk_create(plan.create, batch_size=500)
        ProductionOrder.objects.bulk_update([o for o, _b, _c in plan.update], ORDER_FIELDS,
                                            batch_size=500)
        for order in plan.create:
            audit.created(order)
        for order, before, _changed in plan.update:
            audit.changed(order, before)
        # The same announcement production_order_create makes, one row per order.
        actor = batch.actor if getattr(batch.actor, "is_authenticated", False) else None
        Event.objects.bulk_create([
            Event(topic=TOPIC_PLANT, kind="order.created", actor=actor,
                  payload={"order": o.number, "priority": o.priority}) for o in plan.create
        ], batch_size=500)
        audit.flush()  # before re-explosion, which writes its own entries after ours
        for order, _before, changed in plan.update:
            if order.status == PO.PLANNED and REEXPLODE_FIELDS & changed:
                row = plan.rows[order.number]
                try:
                    production_order_explode(actor=batch.actor, order=order)
                except ValidationError as exc:
                    raise WriteRefused([RowError(row.sheet, row.number, row.headers.get(
                        "order_number", "order_number"), order.number, m)
                        for m in exc.messages]) from None
        return plan.result()

    def export_rows(self):
        for o in ProductionOrder.objects.select_related("item").order_by("number"):
            yield [o.number, o.item.code, o.quantity, o.due.replace(microsecond=0),
                   PRIORITY_NAMES.get(o.priority, o.priority), o.customer, o.sales_order_ref,
                   o.notes, o.erp_ref or "",
                   o.release_date.replace(microsecond=0) if o.release_date else None,
                   o.status]

