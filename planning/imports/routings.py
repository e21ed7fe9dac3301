"""Routings (工艺路线): upsert per step (item + routing version + step number).

Steps that are not in the file are kept: an import never deletes. A new routing version
becomes the active one only when the item has no active routing, or when the file says
routing_active = yes (the item's previously active version is then deactivated).
"""

from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mes.audit import snapshot
from mes.labels import join_list, noted
from planning.imports import fields as f
from planning.imports.audit import AuditBatch
from planning.imports.base import Batch, Kind, KindResult
from planning.imports.fields import Column, Row
from planning.imports.items import yes_no
from planning.models import Routing, RoutingStep

STEP_FIELDS = ("name", "work_center", "setup_minutes", "run_minutes_per_unit",
               "is_qc_checkpoint", "inspection_plan_code", "wait_for_qc")
# column key -> RoutingStep field
COLUMN_FIELDS = {"operation": "name", "setup_min": "setup_minutes",
                 "run_min_per_unit": "run_minutes_per_unit", "qc_checkpoint": "is_qc_checkpoint",
                 "inspection_plan_code": "inspection_plan_code", "wait_for_qc": "wait_for_qc"}
CLEARABLE = {"inspection_plan_code"}


@dataclass
class RoutingPlan:
    new_routings: list = field(default_factory=list)
    deactivate: list = field(default_factory=list)   # (routing, before)
    activate: list = field(default_factory=list)     # (routing, before)
    create: list = field(default_factory=list)
    update: list = field(default_factory=list)       # (step, before)
    unchanged: int = 0

    def result(self) -> KindResult:
        notes = []
        if self.new_routings:
            notes.append(_("%(n)d new routing version(s): %(list)s.") % {
                "n": len(self.new_routings),
                "list": join_list(f"{r.item.code} v{r.version}" if r.active
                                  else noted(f"{r.item.code} v{r.version}", _("inactive"))
                                  for r in self.new_routings[:20])})
        for routing, _before in self.activate:
            notes.append(_("%(routing)s becomes the active routing.") % {"routing": routing})
        for routing, _before in self.deactivate:
            notes.append(_("%(routing)s is deactivated.") % {"routing": routing})
        return KindResult(len(self.create), len(self.update), self.unchanged, notes)


class RoutingKind(Kind):
    key = "routings"
    label = gettext_lazy("Routings")
    sheet_names = ("routing", "工艺路线", "工艺")
    item_code_keys = ("item_code",)
    columns = [
        Column("item_code", "物料编码", f.code(40), required=True, example="FG-1001",
               aliases=("物料代码", "料号")),
        Column("routing_version", "工艺版本", f.text(20), example="1"),
        Column("step_seq", "工序号", f.positive_int, required=True, example=10),
        Column("operation", "工序名称", f.text(120), required=True, example="装配"),
        Column("work_center_code", "工作中心编码", f.code(40), required=True, example="WC-ASM"),
        Column("setup_min", "准备时间分钟", f.decimal(2, 9, minimum=0), example=15),
        Column("run_min_per_unit", "单件工时分钟", f.decimal(3, 9, minimum=0), example=2.5),
        Column("qc_checkpoint", "质检点", f.boolean, example="no"),
        Column("inspection_plan_code", "检验方案编码", f.text(40), example=""),
        Column("wait_for_qc", "下道工序等待质检", f.boolean, example="no"),
        Column("routing_active", "工艺启用", f.boolean, example="yes"),
    ]
    rules = gettext_lazy(
        "One row per routing step (item, routing version, step number). An existing step is "
        "updated, a new one added; steps not in the file are kept. A new routing version is "
        "made active only if the item has no active routing or the row says routing_active = "
        "yes, which deactivates the item's other version.")

    def validate(self, batch: Batch, rows: list[Row]) -> None:
        plan = batch.plans[self.key] = RoutingPlan()
        first: dict[tuple, Row] = {}
        wanted_active: dict[tuple, tuple[bool, Row]] = {}   # (code, version) -> (yes?, row)
        new_routings: dict[tuple, Routing] = {}
        for row in rows:
            code, seq = row.values.get("item_code"), row.values.get("step_seq")
            version = row.values.get("routing_version") or "1"
            item = batch.items.get(code) if code else None
            if code and item is None:
                batch.add(row.error("item_code", batch.unknown_item_reason(code)))
            wc_code = row.values.get("work_center_code")
            work_center = batch.work_centers.get(wc_code) if wc_code else None
            if wc_code and work_center is None:
                batch.add(row.error("work_center_code", _("Unknown work center.")))
            active = row.values.get("routing_active")
            if code and active is not None:
                earlier = wanted_active.get((code, version))
                if earlier and earlier[0] != active:
                    batch.add(row.error("routing_active", _(
                        "Row %(row)d says the opposite for the same routing version.")
                        % {"row": earlier[1].number}))
                wanted_active.setdefault((code, version), (active, row))
            if not code or seq is None:
                continue
            key = (code, version, seq)
            if key in first:
                batch.add(row.error("step_seq", _(
                    "Step %(seq)d of %(code)s routing v%(version)s is already in row %(row)d.")
                    % {"seq": seq, "code": code, "version": version,
                       "row": first[key].number}))
                continue
            first[key] = row
            batch.steps.setdefault(code, set()).add(seq)
            if item is None or work_center is None or row.failed:
                continue
            routing = batch.routings.get((code, version)) or new_routings.get((code, version))
            if routing is None:
                routing = new_routings[(code, version)] = Routing(item=item, version=version,
                                                                  active=False)
            step = batch.routing_steps.get(key)
            creating = step is None
            if creating:
                step = RoutingStep(routing=routing, seq=seq)
            before = None if creating else snapshot(step)
            step.work_center = work_center
            for column, name in COLUMN_FIELDS.items():
                if not row.has(column):
                    continue
                value = row.values[column]
                if value is None:
                    if name not in CLEARABLE:
                        continue
                    value = ""
                setattr(step, name, value)
            if creating:
                plan.create.append(step)
            elif snapshot(step) != before:
                plan.update.append((step, before))
            else:
                plan.unchanged += 1
        self._decide_active(batch, plan, wanted_active, new_routings)
        plan.new_routings = list(new_routings.values())

    def _decide_active(self, batch, plan, wanted_active, new_routings) -> None:
        """At most one active version per item; only a row's word switches versions.

        The active version after the import: the one a row sets active, else the one active
        now (unless a row deactivates it), else the item's first new version, else none.
        """
        versions: dict[str, dict[str, Routing]] = {}
        for (code, version), routing in {**batch.routings, **new_routings}.items():
            versions.setdefault(code, {})[version] = routing
        touched = {code for code, _v in wanted_active} | {code for code, _v in new_routings}
        for code in touched:
            said = {v: yes for (c, v), (yes, _row) in wanted_active.items() if c == code}
            yes_rows = [(v, row) for (c, v), (yes, row) in wanted_active.items()
                        if c == code and yes]
            if len(yes_rows) > 1:
                (first_version, first_row), (_v, row) = yes_rows[0], yes_rows[1]
                batch.add(row.error("routing_active", _(
                    "Only one routing version of %(code)s can be active; row %(row)d already "
                    "activates version %(other)s.") % {"code": code, "row": first_row.number,
                                                        "other": first_version}))
            mine = versions.get(code, {})
            target = next((v for v, yes in said.items() if yes), None)
            if target is None:
                target = next((v for v, r in mine.items()
                               if r.pk and r.active and said.get(v) is not False), None)
            if target is None:
                target = next((v for (c, v) in new_routings
                               if c == code and said.get(v) is not False), None)
            for version, routing in mine.items():
                wanted = version == target
                if routing.active == wanted:
                    continue
                if routing.pk is None:
                    routing.active = wanted
                    continue
                before = snapshot(routing)
                routing.active = wanted
                (plan.activate if wanted else plan.deactivate).append((routing, before))
            if target is None:
                batch.routed.discard(code)
            else:
                batch.routed.add(code)

    def write(self, batch: Batch, audit: AuditBatch) -> KindResult:
        plan: RoutingPlan = batch.plans[self.key]
        # Deactivate before activating: one active routing per item is a unique index.
        Routing.objects.bulk_update([r for r, _b in plan.deactivate], ["active"])
        Routing.objects.bulk_update([r for r, _b in plan.activate], ["active"])
        Routing.objects.bulk_create(plan.new_routings, batch_size=500)
        RoutingStep.objects.bulk_create(plan.create, batch_size=500)
        RoutingStep.objects.bulk_update([s for s, _b in plan.update], STEP_FIELDS,
                                        batch_size=500)
        for routing in plan.new_routings:
            audit.created(routing)
        for routing, before in plan.deactivate + plan.activate:
            audit.changed(routing, before)
        for step in plan.create:
            audit.created(step)
        for step, before in plan.update:
            audit.changed(step, before)
        return plan.result()

    def export_rows(self):
        steps = RoutingStep.objects.select_related("routing__item", "work_center").order_by(
            "routing__item__code", "routing__version", "seq")
        for s in steps:
            yield [s.routing.item.code, s.routing.version, s.seq, s.name, s.work_center.code,
                   s.setup_minutes, s.run_minutes_per_unit, yes_no(s.is_qc_checkpoint),
                   s.inspection_plan_code, yes_no(s.wait_for_qc), yes_no(s.routing.active)]
