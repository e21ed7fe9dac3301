"""Synthetic master data for benchmarks, written with bulk inserts."""

from decimal import Decimal


def work_centers(n: int = 30, prefix: str = "BWC"):
    from planning.models import Line, Site, WorkCenter, Workshop

    site, _ = Site.objects.get_or_create(code=f"{prefix}-S", defaults={"name": "基准工厂"})
    ws, _ = Workshop.objects.get_or_create(code=f"{prefix}-WS", site=site,
                                           defaults={"name": "基准车间"})
    line, _ = Line.objects.get_or_create(code=f"{prefix}-L", workshop=ws,
                                         defaults={"name": "基准产线"})
    WorkCenter.objects.bulk_create([
        WorkCenter(code=f"{prefix}{i:03d}", name=f"工作中心{i}", line=line, machines=1 + i % 3)
        for i in range(n)], ignore_conflicts=True)
    return list(WorkCenter.objects.filter(code__startswith=prefix).order_by("code"))


def tree_product(prefix: str, n_made: int, branching: int, bought_per_parent: int,
                 bought_per_leaf: int, steps: int, wcs) -> tuple[object, int]:
    """A made item whose BOM tree has `n_made` distinct made items, breadth first with
    `branching` made children per parent. Returns (top item, number of BOM lines)."""
    from planning.models import BOMLine, BOMVersion, Item, Routing, RoutingStep

    made = [Item(code=f"{prefix}-M{i:05d}", name=f"零件{i}", kind="make")
            for i in range(n_made)]
    Item.objects.bulk_create(made)
    made = list(Item.objects.filter(code__startswith=f"{prefix}-M").order_by("code"))
    children_of = {i: [] for i in range(n_made)}
    for child in range(1, n_made):
        children_of[(child - 1) // branching].append(child)
    n_bought = sum(bought_per_parent if children_of[i] else bought_per_leaf
                   for i in range(n_made))
    bought = [Item(code=f"{prefix}-B{i:05d}", name=f"外购件{i}", kind="buy")
              for i in range(n_bought)]
    Item.objects.bulk_create(bought)
    bought = list(Item.objects.filter(code__startswith=f"{prefix}-B").order_by("code"))
    boms = BOMVersion.objects.bulk_create([BOMVersion(item=m, version="1") for m in made])
    routings = Routing.objects.bulk_create([Routing(item=m, version="1") for m in made])
    lines, next_bought = [], 0
    for i, bom in enumerate(boms):
        pos = 10
        for child in children_of[i]:
            lines.append(BOMLine(bom=bom, child=made[child], quantity_per=Decimal("2"),
                                 scrap_pct=Decimal("2"), position=pos))
            pos += 10
        for _ in range(bought_per_parent if children_of[i] else bought_per_leaf):
            lines.append(BOMLine(bom=bom, child=bought[next_bought],
                                 quantity_per=Decimal("1.5"), position=pos))
            next_bought += 1
            pos += 10
    BOMLine.objects.bulk_create(lines, batch_size=5000)
    RoutingStep.objects.bulk_create([
        RoutingStep(routing=r, seq=(s + 1) * 10, name=f"工序{s + 1}",
                    work_center=wcs[(i * steps + s) % len(wcs)], setup_minutes=Decimal("15"),
                    run_minutes_per_unit=Decimal("0.5"))
        for i, r in enumerate(routings) for s in range(steps)], batch_size=5000)
    return made[0], len(lines)
