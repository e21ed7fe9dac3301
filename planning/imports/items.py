"""Items (物料): upsert by item code; an existing code is updated, never deleted."""

from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mes.audit import snapshot
from planning.imports import fields as f
from planning.imports.audit import AuditBatch
from planning.imports.base import Batch, Kind, KindResult
from planning.imports.fields import Column, Row
from planning.models import Item

KIND_WORDS = {
    "make": Item.Kind.MAKE, "made": Item.Kind.MAKE, "m": Item.Kind.MAKE, "自制": Item.Kind.MAKE,
    "生产": Item.Kind.MAKE, "制造": Item.Kind.MAKE,
    "buy": Item.Kind.BUY, "bought": Item.Kind.BUY, "b": Item.Kind.BUY, "外购": Item.Kind.BUY,
    "采购": Item.Kind.BUY, "购买": Item.Kind.BUY,
}

# Fields an import sets. An empty cell clears a text field; the others keep their value
# (a new item gets the default), because "no value" is not a value they can hold.
FIELDS = ("name", "name_en", "kind", "uom", "discrete", "description", "active")
CLEARABLE = {"name_en", "description"}


def yes_no(value: bool) -> str:
    return "yes" if value else "no"


@dataclass
class ItemPlan:
    create: list = field(default_factory=list)
    update: list = field(default_factory=list)   # (item, snapshot before)
    unchanged: int = 0

    def result(self) -> KindResult:
        return KindResult(len(self.create), len(self.update), self.unchanged)


class ItemKind(Kind):
    key = "items"
    label = gettext_lazy("Items")
    sheet_names = ("item", "物料", "物料主数据")
    item_code_keys = ("item_code",)
    columns = [
        Column("item_code", "物料编码", f.code(40), required=True, example="FG-1001",
               aliases=("物料代码", "料号")),
        Column("name", "名称", f.text(120), required=True, example="电机总成",
               aliases=("物料名称",)),
        Column("name_en", "英文名称", f.text(120), example="Motor assembly"),
        Column("kind", "自制或外购", f.choice(KIND_WORDS, "make, buy, 自制, 外购"),
               example="make", aliases=("类型",)),
        Column("uom", "单位", f.text(16), example="pcs"),
        Column("discrete", "整数计量", f.boolean, example="yes"),
        Column("description", "描述", f.text(10_000), example=""),
        Column("active", "启用", f.boolean, example="yes"),
    ]
    rules = gettext_lazy(
        "One row per item code. A new code creates the item; an existing code updates it. "
        "Items are never deleted by an import.")

    def validate(self, batch: Batch, rows: list[Row]) -> None:
        plan = batch.plans[self.key] = ItemPlan()
        first: dict[str, Row] = {}
        for row in rows:
            code = row.values.get("item_code")
            if code is None:
                continue
            if code in first:
                batch.add(row.error("item_code", _("Item %(code)s is already in row %(row)d.")
                                    % {"code": code, "row": first[code].number}))
                continue
            first[code] = row
            item = batch.items.get(code)
            creating = item is None
            if creating:
                item = Item(code=code)
            before = None if creating else snapshot(item)
            for name in FIELDS:
                if not row.has(name) or name in row.failed:
                    continue
                value = row.values[name]
                if value is None:
                    if name not in CLEARABLE:
                        continue
                    value = ""
                setattr(item, name, value)
            # Later sheets (BOM lines, orders) see the item as it will be after the import.
            batch.items[code] = item
            batch.item_first_row.setdefault(code, row)
            if row.failed:
                continue
            if creating:
                plan.create.append(item)
            elif snapshot(item) != before:
                plan.update.append((item, before))
            else:
                plan.unchanged += 1

    def write(self, batch: Batch, audit: AuditBatch) -> KindResult:
        plan: ItemPlan = batch.plans[self.key]
        Item.objects.bulk_create(plan.create, batch_size=500)
        Item.objects.bulk_update([item for item, _before in plan.update], FIELDS,
                                 batch_size=500)
        for item in plan.create:
            audit.created(item)
        for item, before in plan.update:
            audit.changed(item, before)
        return plan.result()

    def export_rows(self):
        for item in Item.objects.order_by("code"):
            yield [item.code, item.name, item.name_en, item.kind, item.uom,
                   yes_no(item.discrete), item.description, yes_no(item.active)]
