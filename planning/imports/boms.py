"""BOM lines (物料清单): upsert per line (parent item + BOM version + component).

A line already in the database is updated, a new one added; lines not in the file are kept:
an import never deletes. Cycles are looked for across the file and every BOM in the
database, at any depth.
"""

from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mes.audit import snapshot
from mes.labels import join_list
from planning.imports import fields as f
from planning.imports.audit import AuditBatch
from planning.imports.base import Batch, Kind, KindResult
from planning.imports.fields import Column, Row
from planning.imports.graph import path_between, strongly_connected
from planning.imports.items import yes_no
from planning.models import BOMLine, BOMVersion

LINE_FIELDS = ("quantity_per", "scrap_pct", "optional", "operation_seq", "position")
COLUMN_FIELDS = {"quantity_per": "quantity_per", "scrap_pct": "scrap_pct",
                 "optional": "optional", "consumed_at_step": "operation_seq",
                 "position": "position"}
NULLABLE = {"operation_seq"}


@dataclass
class BOMPlan:
    new_boms: list = field(default_factory=list)
    create: list = field(default_factory=list)
    update: list = field(default_factory=list)   # (line, before)
    unchanged: int = 0

    def result(self) -> KindResult:
        notes = []
        if self.new_boms:
            notes.append(_("%(n)d new BOM version(s): %(list)s.") % {
                "n": len(self.new_boms),
                "list": join_list(f"{b.item.code} v{b.version}" for b in self.new_boms[:20])})
        return KindResult(len(self.create), len(self.update), self.unchanged, notes)


class BOMKind(Kind):
    key = "bom"
    label = gettext_lazy("BOM lines")
    sheet_names = ("bom_lines", "boms", "物料清单", "BOM")
    item_code_keys = ("parent_item_code", "child_item_code")
    columns = [
        Column("parent_item_code", "父项物料编码", f.code(40), required=True,
               example="FG-1001", aliases=("父项编码",)),
        Column("bom_version", "BOM版本", f.text(20), example="1"),
        Column("child_item_code", "子项物料编码", f.code(40), required=True,
               example="RM-2001", aliases=("子项编码",)),
        Column("quantity_per", "单位用量", f.decimal(4, 14, positive=True), required=True,
               example=2),
        Column("scrap_pct", "损耗率%", f.decimal(2, 5, minimum=0, maximum=99, percent=True),
               example=1.5, aliases=("损耗率",)),
        Column("optional", "可选", f.boolean, example="no"),
        Column("consumed_at_step", "消耗工序号", f.positive_int, example=10),
        Column("position", "位置号", f.positive_int, example=10),
    ]
    rules = gettext_lazy(
        "One row per BOM line (parent item, BOM version, component). A line already in the "
        "database is updated, a new one added (a new version is created when needed); lines "
        "not in the file are kept. A component may appear only once per BOM version. Made "
        "items used here must have an active routing, in the database or in the same "
        "import.")

    def validate(self, batch: Batch, rows: list[Row]) -> None:
        plan = batch.plans[self.key] = BOMPlan()
        first: dict[tuple, Row] = {}
        file_edges: dict[tuple, Row] = {}
        uses: dict[str, tuple[Row, str]] = {}   # item code -> first row and column using it
        new_boms: dict[tuple, BOMVersion] = {}
        for row in rows:
            parent_code = row.values.get("parent_item_code")
            child_code = row.values.get("child_item_code")
            version = row.values.get("bom_version") or "1"
            parent, child = self._items(batch, row, parent_code, child_code, uses)
            if not (parent_code and child_code):
                continue
            if parent_code == child_code:
                batch.add(row.error("child_item_code", _(
                    "BOM cycle: %(path)s (an item cannot be its own component).")
                    % {"path": f"{parent_code} → {child_code}"}))
                continue
            key = (parent_code, version, child_code)
            if key in first:
                batch.add(row.error("child_item_code", _(
                    "Duplicate line: %(child)s is already a component of %(parent)s v%(version)s "
                    "in row %(row)d.") % {"child": child_code, "parent": parent_code,
                                          "version": version, "row": first[key].number}))
                continue
            first[key] = row
            file_edges.setdefault((parent_code, child_code), row)
            step = row.values.get("consumed_at_step")
            known_steps = batch.steps.get(parent_code)
            if step is not None and known_steps and step not in known_steps:
                batch.add(row.error("consumed_at_step", _(
                    "The routing of %(code)s has no step %(step)d (it has %(steps)s).")
                    % {"code": parent_code, "step": step,
                       "steps": join_list(sorted(known_steps))}))
                continue
            if parent is None or child is None or row.failed:
                continue
            bom = batch.boms.get((parent_code, version)) or new_boms.get((parent_code, version))
            if bom is None:
                bom = new_boms[(parent_code, version)] = BOMVersion(item=parent, version=version)
            self._plan_line(batch, plan, row, bom, child, key)
        plan.new_boms = list(new_boms.values())
        self._assign_positions(batch, plan)
        self._check_cycles(batch, file_edges)
        batch.require_routings(uses)

    def _items(self, batch, row, parent_code, child_code, uses):
        found = []
        for column, code in (("parent_item_code", parent_code),
                             ("child_item_code", child_code)):
            item = batch.items.get(code) if code else None
            if code and item is None:
                batch.add(row.error(column, batch.unknown_item_reason(code)))
            if item is not None:
                uses.setdefault(code, (row, column))
            found.append(item)
        return found

    def _plan_line(self, batch, plan, row, bom, child, key) -> None:
        line = batch.bom_lines.get(key)
        creating = line is None
        if creating:
            line = BOMLine(bom=bom, child=child, position=None)
        before = None if creating else snapshot(line)
        for column, name in COLUMN_FIELDS.items():
            if not row.has(column):
                continue
            value = row.values[column]
            if value is None and name not in NULLABLE:
                continue
            setattr(line, name, value)
        if creating:
            plan.create.append(line)
        elif snapshot(line) != before:
            plan.update.append((line, before))
        else:
            plan.unchanged += 1

    def _assign_positions(self, batch, plan) -> None:
        """New lines without a position go after the BOM's last one, in file order."""
        last: dict[tuple, int] = {}
        for (parent_code, version, _child), line in batch.bom_lines.items():
            key = (parent_code, version)
            last[key] = max(last.get(key, 0), line.position or 0)
        for line in plan.create:
            key = (line.bom.item.code, line.bom.version)
            if line.position is None:
                line.position = last.get(key, 0) + 10
            last[key] = max(last.get(key, 0), line.position)

    def _check_cycles(self, batch, file_edges: dict[tuple, Row]) -> None:
        edges: dict[str, set[str]] = {}
        for parent_code, child_code in batch.bom_edges():
            edges.setdefault(parent_code, set()).add(child_code)
        for parent_code, child_code in file_edges:
            edges.setdefault(parent_code, set()).add(child_code)
        nodes = set(edges) | {c for children in edges.values() for c in children}
        for component in strongly_connected(sorted(nodes), edges):
            members = set(component)
            inside = sorted(((row.number, p, c) for (p, c), row in file_edges.items()
                             if p in members and c in members))
            if not inside:
                continue  # a cycle already in the database, not made by this file
            _number, parent_code, child_code = inside[0]
            row = file_edges[(parent_code, child_code)]
            path = [parent_code, *path_between(child_code, parent_code, edges, members)]
            batch.add(row.error("child_item_code", _(
                "BOM cycle: %(path)s (across this file and the BOMs in the database).")
                % {"path": " → ".join(path)}))

    def write(self, batch: Batch, audit: AuditBatch) -> KindResult:
        plan: BOMPlan = batch.plans[self.key]
        BOMVersion.objects.bulk_create(plan.new_boms, batch_size=500)
        BOMLine.objects.bulk_create(plan.create, batch_size=500)
        BOMLine.objects.bulk_update([line for line, _b in plan.update], LINE_FIELDS,
                                    batch_size=500)
        for bom in plan.new_boms:
            audit.created(bom)
        for line in plan.create:
            audit.created(line)
        for line, before in plan.update:
            audit.changed(line, before)
        return plan.result()

    def export_rows(self):
        lines = BOMLine.objects.select_related("bom__item", "child").order_by(
            "bom__item__code", "bom__version", "position", "id")
        for line in lines:
            yield [line.bom.item.code, line.bom.version, line.child.code, line.quantity_per,
                   line.scrap_pct, yes_no(line.optional), line.operation_seq, line.position]
