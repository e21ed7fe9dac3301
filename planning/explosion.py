"""BOM explosion: a production order becomes its tree of work orders, tasks and materials.

Set-based: the BOM is read one level at a time (one query for every BOM of that level, one for
their lines), routings once for all made items, and everything is written with bulk inserts.
Queries grow with the depth of the BOM, not with its number of lines.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from planning.models import (
    BOMLine,
    BOMVersion,
    Item,
    MaterialRequirement,
    ProductionOrder,
    Routing,
    RoutingStep,
    Task,
    TaskLink,
    WorkOrder,
)
from planning.models.product import effective_q

MAX_DEPTH = 30
QTY_PLACES = Decimal("0.0001")
BATCH = 2000


@dataclass
class Node:
    item_id: int
    quantity: Decimal
    level: int
    parent: "Node | None"
    consumed_at: int | None  # parent's step that consumes this
    path: tuple[int, ...]  # item ids from the top, for cycle detection
    work_order: WorkOrder | None = None
    tasks: list[Task] = field(default_factory=list)


@dataclass
class ExplosionResult:
    work_orders: int
    tasks: int
    links: int
    materials: int
    levels: int
    without_routing: list[str]


def required_quantity(parent_qty: Decimal, quantity_per: Decimal, scrap_pct: Decimal,
                      discrete: bool) -> Decimal:
    """parent × quantity per × (1 + scrap %), rounded up to whole units for discrete items."""
    qty = parent_qty * quantity_per * (1 + scrap_pct / 100)
    if discrete:
        return qty.to_integral_value(rounding=ROUND_CEILING)
    return qty.quantize(QTY_PLACES, rounding=ROUND_CEILING)


def _effective_boms(item_ids, on: datetime.date) -> dict[int, int]:
    """item id -> the BOM version in effect on `on` (latest effective_from wins)."""
    chosen: dict[int, int] = {}
    rows = (BOMVersion.objects.filter(effective_q(on), item_id__in=item_ids)
            .order_by("item_id", "-effective_from", "-id").values_list("item_id", "id"))
    for item_id, bom_id in rows:
        chosen.setdefault(item_id, bom_id)
    return chosen


def _cycle_error(path: tuple[int, ...], child_id: int) -> ValidationError:
    ids = [*path[path.index(child_id):], child_id]
    codes = dict(Item.objects.filter(id__in=ids).values_list("id", "code"))
    return ValidationError(_("BOM cycle: %(path)s") % {"path": " → ".join(codes[i] for i in ids)},
                           code="bom_cycle")


def build_tree(order: ProductionOrder, on: datetime.date):
    """Walk the BOM level by level. Returns (nodes by level, material rows, bom per item)."""
    top = order.item
    root_qty = (order.quantity.to_integral_value(rounding=ROUND_CEILING) if top.discrete
                else order.quantity)
    root = Node(top.id, root_qty, 0, None, None, (top.id,))
    levels = [[root]]
    materials: list[tuple[Node, int, Decimal, int | None]] = []
    bom_of: dict[int, int] = {}
    frontier = [root]
    while frontier:
        if len(levels) > MAX_DEPTH:
            raise ValidationError(_("The BOM is deeper than %(n)d levels.") % {"n": MAX_DEPTH})
        boms = _effective_boms({n.item_id for n in frontier} - set(bom_of), on)
        bom_of.update(boms)
        lines_by_bom = defaultdict(list)
        wanted = {bom_of[n.item_id] for n in frontier if n.item_id in bom_of}
        for line in (BOMLine.objects.filter(bom_id__in=wanted, optional=False)
                     .order_by("bom_id", "position", "id")
                     .values_list("bom_id", "child_id", "quantity_per", "scrap_pct",
                                  "operation_seq", "child__kind", "child__discrete")):
            lines_by_bom[line[0]].append(line)
        nxt = []
        for node in frontier:
            for _bom, child_id, qty_per, scrap, op_seq, kind, discrete in lines_by_bom.get(
                    bom_of.get(node.item_id), ()):
                if child_id in node.path:
                    raise _cycle_error(node.path, child_id)
                qty = required_quantity(node.quantity, qty_per, scrap, discrete)
                if kind == Item.Kind.MAKE:
                    nxt.append(Node(child_id, qty, node.level + 1, node, op_seq,
                                    (*node.path, child_id)))
                else:
                    materials.append((node, child_id, qty, op_seq))
        if nxt:
            levels.append(nxt)
        frontier = nxt
    return levels, materials, bom_of


def _routings(item_ids) -> tuple[dict[int, int], dict[int, list[dict]]]:
    routing_of = dict(Routing.objects.filter(active=True, item_id__in=item_ids)
                      .values_list("item_id", "id"))
    steps = defaultdict(list)
    for step in (RoutingStep.objects.filter(routing_id__in=routing_of.values())
                 .order_by("routing_id", "seq")
                 .values("routing_id", "seq", "name", "work_center_id",
                         "work_center__line_id", "work_center__lead_id", "setup_minutes",
                         "run_minutes_per_unit", "is_qc_checkpoint", "inspection_plan_code",
                         "wait_for_qc")):
        steps[step["routing_id"]].append(step)
    return routing_of, steps


def explode_into(order: ProductionOrder, on: datetime.date) -> ExplosionResult:
    """Create the work-order tree of `order` (which must have none). Caller holds the lock."""
    levels, materials, bom_of = build_tree(order, on)
    made_ids = {n.item_id for level in levels for n in level}
    routing_of, steps_of = _routings(made_ids)
    codes = dict(Item.objects.filter(id__in=made_ids).values_list("id", "code"))
    counter = 0
    all_nodes = []
    for level in levels:
        rows = []
        for node in level:
            counter += 1
            steps = steps_of.get(routing_of.get(node.item_id), [])
            first = steps[0] if steps else {}
            parent_wo = node.parent.work_order if node.parent else None
            # A component is due when its parent starts: its parent's due less the parent's
            # own processing time (the scheduler refines this).
            due = order.due if parent_wo is None else parent_wo.due - datetime.timedelta(
                minutes=sum(float(s["setup_minutes"] + s["run_minutes_per_unit"]
                                  * node.parent.quantity)
                            for s in steps_of.get(routing_of.get(node.parent.item_id), [])))
            node.work_order = WorkOrder(
                number=f"{order.number}-{counter:03d}", production_order=order,
                parent=parent_wo, level=node.level, item_id=node.item_id,
                quantity=node.quantity, bom_version_id=bom_of.get(node.item_id),
                routing_id=routing_of.get(node.item_id), line_id=first.get("work_center__line_id"),
                responsible_id=first.get("work_center__lead_id"), due=due,
                priority=order.priority,
            )
            rows.append(node.work_order)
            all_nodes.append(node)
        WorkOrder.objects.bulk_create(rows, batch_size=BATCH)
    tasks = []
    for node in all_nodes:
        for step in steps_of.get(routing_of.get(node.item_id), []):
            task = Task(
                work_order=node.work_order, seq=step["seq"], name=step["name"],
                work_center_id=step["work_center_id"], setup_minutes=step["setup_minutes"],
                run_minutes_per_unit=step["run_minutes_per_unit"],
                is_qc_checkpoint=step["is_qc_checkpoint"],
                inspection_plan_code=step["inspection_plan_code"],
                wait_for_qc=step["wait_for_qc"], quantity=node.quantity,
            )
            node.tasks.append(task)
            tasks.append(task)
    Task.objects.bulk_create(tasks, batch_size=BATCH)
    links = []
    for node in all_nodes:
        links += [TaskLink(predecessor=a, successor=b)
                  for a, b in zip(node.tasks, node.tasks[1:], strict=False)]
        if node.parent is not None and node.tasks and node.parent.tasks:
            consumer = _consuming_task(node.parent.tasks, node.consumed_at)
            links.append(TaskLink(predecessor=node.tasks[-1], successor=consumer))
    TaskLink.objects.bulk_create(links, batch_size=BATCH)
    material_rows = [MaterialRequirement(work_order=node.work_order, item_id=item_id,
                                         quantity=qty, operation_seq=op_seq)
                     for node, item_id, qty, op_seq in materials]
    MaterialRequirement.objects.bulk_create(material_rows, batch_size=BATCH)
    without = sorted({codes[n.item_id] for n in all_nodes if n.item_id not in routing_of})
    return ExplosionResult(len(all_nodes), len(tasks), len(links), len(material_rows),
                           len(levels), without)


def _consuming_task(parent_tasks: list[Task], seq: int | None) -> Task:
    if seq is not None:
        for task in parent_tasks:
            if task.seq == seq:
                return task
    return parent_tasks[0]

