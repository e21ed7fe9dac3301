"""Planning reads: BOM trees, where-used, cycle checks, lists, order and work-order pages.

Multi-level reads go level by level with one set-based query per level (never one query per
line), then build the tree in Python: a page costs queries by BOM depth, not by its size.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import (
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Subquery,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from planning.explosion import required_quantity
from planning.models import (
    BOMLine,
    BOMVersion,
    Equipment,
    Holiday,
    Item,
    Line,
    MaterialRequirement,
    ProductionOrder,
    Routing,
    RoutingStep,
    Shift,
    ShiftCalendar,
    Site,
    Task,
    WorkCenter,
    WorkOrder,
    Workshop,
)
from planning.models.common import localized_name
from planning.models.product import effective_q

# A runaway BOM (shared sub-assemblies many times over) must not hang the page.
TREE_NODE_LIMIT = 5000
MAX_DEPTH = 50


# --- BOM cycles -----------------------------------------------------------------------------
def bom_cycle_path(parent_item_id, child_item_id) -> list[str] | None:
    """The cycle that a BOM line parent → child would close, as item codes, or None.

    [A, B, C, A] means: A would contain B, B already contains C and C contains A. Every BOM
    version counts (an inactive one may be reactivated). One query per level below the child.
    """
    if parent_item_id == child_item_id:
        code = Item.objects.filter(pk=parent_item_id).values_list("code", flat=True).first()
        return [code, code]
    came_from = {child_item_id: parent_item_id}
    frontier = {child_item_id}
    for _level in range(MAX_DEPTH):
        if not frontier:
            return None
        links = BOMLine.objects.filter(bom__item_id__in=frontier).values_list(
            "bom__item_id", "child_id").distinct()
        nxt = set()
        for above, below in links:
            if below in came_from:
                continue
            came_from[below] = above
            if below == parent_item_id:
                path = [parent_item_id]
                node = parent_item_id
                while True:  # walk back to the proposed line's parent
                    node = came_from[node]
                    path.append(node)
                    if node == parent_item_id:
                        break
                path.reverse()
                codes = dict(Item.objects.filter(pk__in=path).values_list("pk", "code"))
                return [codes[pk] for pk in path]
            nxt.add(below)
        frontier = nxt
    return None


# --- BOM tree -------------------------------------------------------------------------------
def plain_quantity(value) -> str:
    """2.5000 → "2.5", 100.0000 → "100" (never "1E+2")."""
    if value is None:
        return ""
    if value == value.to_integral_value():
        return str(value.quantize(1))
    return str(value.normalize())


@dataclass
class TreeNode:
    item: Item
    depth: int
    quantity: Decimal                  # rolled up for the chosen top quantity
    line: BOMLine | None = None        # the link from the parent (None for the top)
    bom: BOMVersion | None = None      # the version this item's children come from
    has_routing: bool = False
    cycle: bool = False                # the item already appears above it: not expanded
    children: list = field(default_factory=list)
    closes: range = range(0)           # the open branches that end after this row

    @property
    def quantity_display(self) -> str:
        return plain_quantity(self.quantity)

    @property
    def quantity_per_display(self) -> str:
        return plain_quantity(self.line.quantity_per) if self.line else ""


@dataclass
class BomTree:
    root: TreeNode
    rows: list           # depth-first, for a flat loop in the template
    on: datetime.date
    top_quantity: Decimal
    depth: int
    line_count: int
    truncated: bool = False


def rolled_quantity(parent_qty: Decimal, line: BOMLine, child: Item) -> Decimal:
    """parent quantity × quantity per × (1 + scrap %), rounded up for whole-unit items.

    The explosion's own rule, so the tree shows what work orders will be made for.
    """
    return required_quantity(parent_qty, line.quantity_per, line.scrap_pct, child.discrete)


def _bom_lines_by_item(item_ids, on, pinned: BOMVersion | None) -> tuple[dict, dict]:
    """{item id: [lines]} and {item id: version} of the version in effect (one query).

    The version in effect is the explosion's: the latest effective_from wins, even when it has
    no lines yet.
    """
    qs = BOMLine.objects.select_related("child", "bom")
    if pinned is not None:
        qs = qs.filter(bom=pinned)
    else:
        in_effect = (BOMVersion.objects.filter(effective_q(on), item_id=OuterRef("bom__item_id"))
                     .order_by("-effective_from", "-id").values("id")[:1])
        qs = qs.filter(bom__item_id__in=item_ids, bom_id=Subquery(in_effect))
    lines: dict = {}
    chosen: dict = {}
    for line in qs.order_by("position", "id"):
        lines.setdefault(line.bom.item_id, []).append(line)
        chosen[line.bom.item_id] = line.bom
    return lines, chosen


def bom_tree(item: Item, *, on: datetime.date | None = None, version: BOMVersion | None = None,
             top_quantity: Decimal = Decimal(1)) -> BomTree:
    """The multi-level BOM of `item` on a date (or from a chosen top version)."""
    on = on or timezone.localdate()
    lines_of: dict = {}
    version_of: dict = {}
    queried: set = set()
    frontier = {item.pk}
    depth = 0
    while frontier and depth < MAX_DEPTH:
        lines, chosen = _bom_lines_by_item(frontier, on, version if depth == 0 else None)
        queried |= frontier
        lines_of.update(lines)
        version_of.update(chosen)
        frontier = {ln.child_id for group in lines.values() for ln in group
                    if ln.child.kind == Item.Kind.MAKE} - queried
        depth += 1
    all_ids = {item.pk} | {ln.child_id for group in lines_of.values() for ln in group}
    routed = set(Routing.objects.filter(item_id__in=all_ids, active=True)
                 .values_list("item_id", flat=True))

    top_bom = version_of.get(item.pk) or version or (
        BOMVersion.objects.filter(effective_q(on), item=item)
        .order_by("-effective_from", "-id").first())
    root = TreeNode(item=item, depth=0, quantity=top_quantity, bom=top_bom,
                    has_routing=item.pk in routed)
    count = 1
    truncated = False
    # Depth-first with an explicit stack: deep BOMs never hit Python's recursion limit.
    stack = [(root, (item.pk,))]
    while stack:
        node, ancestors = stack.pop()
        lines = lines_of.get(node.item.pk, ())
        if count + len(lines) > TREE_NODE_LIMIT:
            truncated = True
            continue
        count += len(lines)
        node.children = [
            TreeNode(item=line.child, depth=node.depth + 1, line=line,
                     quantity=rolled_quantity(node.quantity, line, line.child),
                     bom=version_of.get(line.child_id), has_routing=line.child_id in routed,
                     cycle=line.child_id in ancestors)
            for line in lines
        ]
        for child in reversed(node.children):
            if not child.cycle:
                stack.append((child, (*ancestors, child.item.pk)))
    rows: list = []
    _flatten(root, rows)
    return BomTree(root=root, rows=rows, on=on, top_quantity=top_quantity,
                   depth=max(row.depth for row in rows),
                   line_count=sum(len(v) for v in lines_of.values()), truncated=truncated)


def _flatten(root: TreeNode, rows: list) -> None:
    stack = [root]
    while stack:
        node = stack.pop()
        rows.append(node)
        stack.extend(reversed(node.children))
    # A row closes the branches of every ancestor whose last descendant it is.
    for i, row in enumerate(rows):
        next_depth = rows[i + 1].depth if i + 1 < len(rows) else 0
        opened_here = 1 if row.children else 0
        row.closes = range(0 if opened_here else max(0, row.depth - next_depth))


# --- Where used -----------------------------------------------------------------------------
@dataclass
class UsedNode:
    item: Item
    depth: int
    line: BOMLine | None = None
    parents: list = field(default_factory=list)
    cycle: bool = False
    closes: range = range(0)

    @property
    def quantity_per_display(self) -> str:
        return plain_quantity(self.line.quantity_per) if self.line else ""

    @property
    def children(self):  # the flat template walks "children" whichever way the tree points
        return self.parents


def where_used(item: Item, *, direct_only: bool = False) -> tuple[UsedNode, list, list]:
    """Which items use `item`, up to the top items: (root, rows, top items). One query a level.

    Every BOM version counts, each line shown with its version.
    """
    used_in: dict = {}
    frontier = {item.pk}
    seen = {item.pk}
    for _level in range(1 if direct_only else MAX_DEPTH):
        if not frontier:
            break
        lines = list(BOMLine.objects.filter(child_id__in=frontier)
                     .select_related("bom__item").order_by("bom__item__code", "bom__version"))
        for line in lines:
            used_in.setdefault(line.child_id, []).append(line)
        frontier = {ln.bom.item_id for ln in lines} - seen
        seen |= frontier
    root = UsedNode(item=item, depth=0)
    stack = [(root, (item.pk,))]
    count = 0
    tops = {}
    while stack and count < TREE_NODE_LIMIT:
        node, ancestors = stack.pop()
        for line in used_in.get(node.item.pk, ()):
            parent = line.bom.item
            up = UsedNode(item=parent, depth=node.depth + 1, line=line,
                          cycle=parent.pk in ancestors)
            node.parents.append(up)
            count += 1
            if not up.cycle and not direct_only:
                stack.append((up, (*ancestors, parent.pk)))
        if not node.parents and node is not root and not node.cycle and not direct_only:
            tops[node.item.pk] = node.item
    rows: list = []
    _flatten(root, rows)
    return root, rows, sorted(tops.values(), key=lambda i: i.code)


# --- Lists: counts as subqueries, so sorting by them and paging cost no extra queries ---------
def _count(model, fk: str, **filters):
    inner = (model.objects.filter(**{fk: OuterRef("pk")}, **filters).order_by().values(fk)
             .annotate(n=Count("pk")).values("n"))
    return Coalesce(Subquery(inner, output_field=IntegerField()), 0)


def sites():
    return Site.objects.annotate(workshop_count=_count(Workshop, "site"))


def workshops():
    return Workshop.objects.select_related("site").annotate(line_count=_count(Line, "workshop"))


def lines():
    return Line.objects.select_related("workshop__site").annotate(
        work_center_count=_count(WorkCenter, "line"))


def work_centers():
    through = WorkCenter.operators.through
    return WorkCenter.objects.select_related("line__workshop", "lead", "calendar").annotate(
        operator_count=_count(through, "workcenter"),
        equipment_count=_count(Equipment, "work_center"))


def equipment():
    return Equipment.objects.select_related("work_center__line")


def shift_calendars():
    return ShiftCalendar.objects.annotate(
        shift_count=_count(Shift, "calendar"), holiday_count=_count(Holiday, "calendar"),
        work_center_count=_count(WorkCenter, "calendar"))


def items():
    return Item.objects.annotate(
        bom_count=_count(BOMVersion, "item"),
        used_in_count=_count(BOMLine, "child"),
        has_routing=Exists(Routing.objects.filter(item=OuterRef("pk"), active=True)))


# --- Item page ------------------------------------------------------------------------------
def item_bom_versions(item: Item):
    return list(item.bom_versions.annotate(line_count=Count("lines"))
                .order_by("-effective_from", "-version"))


def item_routings(item: Item):
    steps = RoutingStep.objects.select_related("work_center").order_by("seq")
    return list(item.routings.prefetch_related(Prefetch("steps", queryset=steps))
                .order_by("-active", "version"))


def bom_version_lines(bom: BOMVersion):
    return list(bom.lines.select_related("child").order_by("position", "id"))


def code_names(queryset) -> list[tuple[str, str]]:
    """(code, name in the active language) of master-data rows, for a datalist. One query."""
    return [(code, localized_name(name, name_en))
            for code, name, name_en in queryset.values_list("code", "name", "name_en")]


def made_items_with_routing():
    """Items a production order may be for: made, active, with an active routing."""
    return (Item.objects.filter(kind=Item.Kind.MAKE, active=True, routings__active=True)
            .distinct().order_by("code"))


# --- Production orders and work orders ------------------------------------------------------
def production_orders():
    return ProductionOrder.objects.select_related("item").annotate(
        work_order_count=_count(WorkOrder, "production_order"))


@dataclass
class OrderWork:
    order: ProductionOrder
    work_orders: list       # depth-first (parent before its children), each with .tasks etc.
    status_counts: list     # [(status, label, how many)]


def order_work(order: ProductionOrder) -> OrderWork:
    """The work-order tree of one order, each with its tasks and materials: 3 queries."""
    wos = list(WorkOrder.objects.filter(production_order=order)
               .select_related("item", "line", "responsible")
               .prefetch_related(
                   Prefetch("tasks", queryset=Task.objects.select_related("work_center")
                            .order_by("seq", "id")),
                   Prefetch("materials", queryset=MaterialRequirement.objects
                            .select_related("item").order_by("operation_seq", "item__code")))
               .order_by("level", "number"))
    by_parent: dict = {}
    for wo in wos:
        by_parent.setdefault(wo.parent_id, []).append(wo)
    ordered: list = []
    ids = {wo.pk for wo in wos}
    # Roots: no parent, or a parent outside this order (should not happen, but never hide work).
    stack = list(reversed([wo for wo in wos if wo.parent_id is None or wo.parent_id not in ids]))
    while stack:
        wo = stack.pop()
        ordered.append(wo)
        stack.extend(reversed(by_parent.get(wo.pk, [])))
    counts: dict = {}
    for wo in wos:
        counts[wo.status] = counts.get(wo.status, 0) + 1
    status_counts = [(status, label, counts[status]) for status, label in
                     WorkOrder.Status.choices if status in counts]
    return OrderWork(order=order, work_orders=ordered, status_counts=status_counts)


def work_order_detail(pk) -> WorkOrder:
    """The work order with its tasks, materials and sub-assembly work orders, and
    `short_tasks`: its steps completed short (units never reported, with the reason), which
    it can no longer make up. A fixed number of queries."""
    wo = (WorkOrder.objects.select_related("production_order", "item", "line", "responsible",
                                           "parent", "bom_version", "routing")
          .prefetch_related(
              Prefetch("tasks", queryset=Task.objects.select_related("work_center", "origin")
                       .order_by("seq", "id")),
              Prefetch("materials", queryset=MaterialRequirement.objects.select_related("item")
                       .order_by("operation_seq", "item__code")),
              Prefetch("children", queryset=WorkOrder.objects.select_related("item")
                       .order_by("number")))
          .get(pk=pk))
    wo.short_tasks = [t for t in wo.tasks.all() if t.qty_short > 0]
    for task in wo.short_tasks:
        task.short_text = plain_quantity(task.qty_short)
    return wo
