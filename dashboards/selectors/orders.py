"""Order progress (订单进度): every open production order, how far along, when it will finish.

- Percent complete, per work-order level and in total: earned ÷ planned work content of the
  operations (rework tasks' own content excluded, cancelled ones left out). An operation's work
  content is its setup + run time per unit × quantity (at least one minute, so operations
  without times still count); it has earned all of it when done, else the share of its
  quantity reported. Units in rework are not done: an operation has not earned their share
  (done or not) and is unfinished while any of them are in rework, as is an open rework task,
  so an order with open rework never reads 100 % or done.
- Projected finish: the later of the schedule's planned end of its unfinished operations and
  now + its remaining work content along the longest chain (levels one after another, the work
  orders of one level side by side), in clock time.
- Risk: late when the projected finish is after the due time; at risk when it leaves less than
  AT_RISK_SLACK, or when an operation was completed short (units never reported: the order can
  no longer deliver its quantity as planned, however early it is); done when every operation
  is finished. DESIGN.md has no word for a short completion: it is shown (`short_steps`, and
  the finished item's shortfall `short_qty`) and counts as at risk.
- Where it is now: its operations in progress (or paused), else those released and waiting.

Three queries: the orders, one aggregate row per work order, and the current operations of the
orders on the page.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    FloatField,
    Max,
    OuterRef,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Greatest, Least
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dashboards.selectors.expressions import Epoch, epoch, from_seconds
from planning.models import ProductionOrder, Task, WorkOrder
from planning.models.common import localized_name

PO = ProductionOrder.Status
T = Task.Status
OPEN_ORDERS = (PO.DRAFT, PO.PLANNED, PO.RELEASED, PO.IN_PROGRESS)
AT_RISK_SLACK = datetime.timedelta(days=1)
RISKS = {"late": _("late"), "risk": _("at risk"), "ok": _("on track"), "done": _("done")}


@dataclass
class OrderRow:
    id: int
    number: str
    item: str
    item_name: str
    quantity: object
    due: datetime.datetime
    priority: int
    customer: str
    status: str
    levels: dict = field(default_factory=dict)   # level -> percent
    short_steps: int = 0     # operations completed short
    short_qty: float = 0.0   # units of the finished item (level 0) completed short
    weight: float = 0.0
    earned: float = 0.0
    open_tasks: int = 0
    planned_end: datetime.datetime | None = None
    projected: datetime.datetime | None = None
    risk: str = "ok"
    work_orders: int = 0
    where: list = field(default_factory=list)

    @property
    def percent(self) -> float | None:
        return self.earned * 100 / self.weight if self.weight else None

    @property
    def risk_label(self) -> str:
        return str(RISKS[self.risk])

    @property
    def status_label(self) -> str:
        return str(PO(self.status).label)

    @property
    def slack_hours(self) -> float | None:
        if self.projected is None:
            return None
        return (self.due - self.projected).total_seconds() / 3600


def open_orders(*, customer: str = "", priority=None, workshop=None):
    qs = ProductionOrder.objects.filter(status__in=OPEN_ORDERS)
    if customer:
        qs = qs.filter(customer__icontains=customer)
    if priority:
        qs = qs.filter(priority=priority)
    if workshop:
        qs = qs.filter(Exists(WorkOrder.objects.filter(production_order=OuterRef("pk"),
                                                       line__workshop=workshop)))
    return qs


def _float(name: str):
    # Floats, not decimals: SQLite stores whole decimals as integers and would divide 5 / 10
    # into 0.
    return Cast(name, FloatField())


def _work_order_aggregates(orders):
    content = Greatest(_float("setup_minutes") + _float("run_minutes_per_unit")
                       * _float("quantity"), Value(1.0))
    # A done step's units that failed inspection and went to rework (qty_rework, moved out of
    # its good count) are not done until they come back good or are scrapped.
    share = Case(When(status=T.DONE, qty_rework__lte=0, then=Value(1.0)),
                 When(quantity__lte=0, then=Value(0.0)),
                 When(status=T.DONE, then=Greatest(
                     Value(0.0), Value(1.0) - _float("qty_rework") / _float("quantity"))),
                 default=Least(Value(1.0), (_float("qty_good") + _float("qty_scrap"))
                               / _float("quantity")),
                 output_field=FloatField())
    normal = Q(kind=Task.Kind.NORMAL)
    # Rework tasks count only as open work: their units are the origin step's own.
    unfinished = ~Q(status=T.DONE) | Q(qty_rework__gt=0)
    return (Task.objects.filter(work_order__production_order__in=orders.values("pk"))
            .exclude(status=T.CANCELLED).order_by()
            .values(wo=F("work_order_id"), po=F("work_order__production_order_id"),
                    lv=F("work_order__level"))
            .annotate(weight=Sum(content, filter=normal),
                      earned=Sum(content * share, filter=normal),
                      open_tasks=Count("pk", filter=unfinished),
                      planned_end=Epoch(Max("planned_end", filter=unfinished)),
                      short_steps=Count("pk", filter=Q(qty_short__gt=0)),
                      short_qty=Sum(_float("qty_short"))))


def _level_aggregates(orders) -> list[tuple]:
    """Per order and BOM level: (order id, level, weight, earned, unfinished operations,
    latest planned end of them (epoch s), the longest remaining work of one work order (min),
    work orders, operations completed short, units completed short). One statement: the
    per-work-order sums above, added up per level by the database, which is cheaper than
    carrying ten thousand rows into Python."""
    sql, params = _work_order_aggregates(orders).query.sql_with_params()
    # The inner SQL is the ORM's own, its values are parameters: nothing typed is spliced in.
    outer = ("SELECT po, lv, SUM(weight), SUM(earned), SUM(open_tasks), MAX(planned_end), "
             "MAX(weight - earned), COUNT(*), SUM(short_steps), SUM(short_qty) "
             "FROM ({}) AS per_work_order GROUP BY po, lv")
    with connection.cursor() as cursor:
        cursor.execute(outer.format(sql), params)
        return cursor.fetchall()


def order_progress(*, customer: str = "", priority=None, workshop=None, risk: str = "",
                   now=None) -> list[OrderRow]:
    """Every open order (filtered), latest-risk first then by due time."""
    now = now or timezone.now()
    orders = open_orders(customer=customer, priority=priority, workshop=workshop)
    # Times travel as epoch seconds: thousands of timestamps cost more to parse than to sum.
    rows = {o[0]: OrderRow(o[0], o[1], o[2], localized_name(o[3], o[4]), o[5],
                           from_seconds(o[6]), *o[7:])
            for o in orders.annotate(due_s=epoch("due")).values_list(
                "id", "number", "item__code", "item__name", "item__name_en", "quantity", "due_s",
                "priority", "customer", "status")}
    latest: dict[int, float] = {}
    chain: dict[int, float] = defaultdict(float)  # order -> Σ over levels of the longest (min)
    for po, level, weight, earned, unfinished, planned_end, longest, n, short_steps, short_qty \
            in sorted(_level_aggregates(orders), key=lambda r: (r[0], r[1])):
        row = rows.get(po)
        if row is None:
            continue
        weight, earned = float(weight or 0), float(earned or 0)
        row.levels[level] = earned * 100 / weight if weight else None
        row.weight += weight
        row.earned += earned
        row.work_orders += n
        row.open_tasks += unfinished or 0
        row.short_steps += int(short_steps or 0)
        if level == 0:
            row.short_qty = float(short_qty or 0)
        if planned_end is not None:
            latest[po] = max(latest.get(po, planned_end), planned_end)
        chain[po] += float(longest or 0)
    for row in rows.values():
        if row.id in latest:
            row.planned_end = from_seconds(latest[row.id])
        if row.work_orders and not row.open_tasks:
            row.risk = "done"
            continue
        remaining = datetime.timedelta(minutes=chain[row.id])
        # Not exploded yet: nothing to project, only the clock against the due time.
        finish = now + remaining if row.work_orders else now
        if row.work_orders:
            row.projected = max(filter(None, (row.planned_end, finish)))
        if finish > row.due or (row.projected and row.projected > row.due):
            row.risk = "late"
        elif row.due - (row.projected or finish) < AT_RISK_SLACK or row.short_steps:
            row.risk = "risk"
    out = [r for r in rows.values() if not risk or r.risk == risk]
    order = {"late": 0, "risk": 1, "ok": 2, "done": 3}
    out.sort(key=lambda r: (order[r.risk], r.due, r.number))
    return out


def order_locations(rows: list[OrderRow]) -> None:
    """Fill `where` of the given orders: their operations in progress, else the released
    ones waiting (earliest planned first, at most three). One query."""
    ids = [r.id for r in rows]
    if not ids:
        return
    found = defaultdict(list)
    for t in (Task.objects.filter(work_order__production_order_id__in=ids,
                                  status__in=(T.IN_PROGRESS, T.PAUSED, T.RELEASED))
              .order_by(F("planned_start").asc(nulls_last=True), "work_order__number", "seq")
              .values("work_order__production_order_id", "work_order__number", "seq", "name",
                      "status", "work_center__code", "work_center__name")):
        found[t["work_order__production_order_id"]].append(t)
    for r in rows:
        tasks = found.get(r.id, [])
        running = [t for t in tasks if t["status"] != T.RELEASED]
        r.where = running or tasks[:3]
