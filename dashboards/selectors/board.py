"""The workshop / line board (生产看板): every work center's state, work, progress and trouble.

Seven queries whatever the number of work centers, tasks, reports or alerts:
work centers, equipment states, current tasks (with their operator), today's planned tasks,
today's reports, open alerts, today's downtime.

- state: the worst of its equipment's states (down > maintenance > setup), else running when
  any equipment runs or any task is in progress, else idle;
- progress: good reported today ÷ quantity planned by now today, where a task planned from
  `ps` to `pe` is planned at an even pace (quantity × the share of [ps, pe] inside
  [today 00:00, now]); each card shows its plan in whole units, and the headline's plan is
  the sum of the cards' as shown;
- downtime today: unplanned stops, clipped to [today 00:00, now].
"""

import datetime
from dataclasses import dataclass, field

from django.db.models import (
    Case,
    Count,
    F,
    FloatField,
    OuterRef,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Greatest, Least
from django.utils import timezone

from dashboards.periods import Period, Scope, local_midnight
from dashboards.selectors.downtime import stops
from dashboards.selectors.expressions import epoch
from execution.models import EquipmentState, TaskActivity, WorkReport
from execution.models.equipment import clock_text
from mes.labels import join_clauses, join_list
from planning.models import Equipment, Task, WorkCenter
from planning.models.common import localized_name

T = Task.Status
S = EquipmentState.State
SEVERITIES = ("critical", "warning", "info")
STATE_RANK = {S.DOWN: 0, S.MAINTENANCE: 1, S.SETUP: 2, S.RUNNING: 3, S.IDLE: 4}
# Tasks planned to take longer than this are looked for no further back (keeps the query on
# the planned_start index instead of the whole history).
PLAN_LOOKBACK = datetime.timedelta(days=14)

_WC_SCOPE = {"workshop": "line__workshop_id", "line": "line_id", "work_center": "id"}


def _via(prefix: str, scope: Scope) -> dict:
    level, pk = scope.narrowest
    if level == "plant":
        return {}
    return {f"{prefix}{_WC_SCOPE[level]}": pk}


@dataclass
class Tile:
    id: int
    code: str
    name: str
    line: str
    workshop: str
    state: str = S.IDLE
    since: datetime.datetime | None = None
    reason: str = ""
    equipment: list = field(default_factory=list)
    current: list = field(default_factory=list)
    good_today: float = 0.0
    planned_by_now: float = 0.0
    alerts: dict = field(default_factory=lambda: dict.fromkeys(SEVERITIES, 0))
    downtime_h: float = 0.0
    state_label: str = ""

    @property
    def progress(self) -> float | None:
        return progress_of(self.good_today, self.planned_by_now)

    # Pre-formatted for the template: a wall of 500 tiles must not pay for template filters
    # and translations tile by tile.
    @property
    def progress_width(self) -> str:
        return f"{min(100.0, self.progress or 0.0):.0f}"

    @property
    def progress_text(self) -> str:
        return "" if self.progress is None else f"{self.progress:.0f} %"

    @property
    def good_text(self) -> str:
        return _number(self.good_today)

    @property
    def planned_text(self) -> str:
        return str(_whole(self.planned_by_now))

    @property
    def downtime_text(self) -> str:
        return f"{self.downtime_h:.1f}"

    @property
    def since_text(self) -> str:
        return clock_text(self.since) if self.since else ""

    @property
    def progress_class(self) -> str:
        p = self.progress
        if p is None:
            return "none"
        return "ok" if p >= 95 else "warn" if p >= 80 else "bad"

    @property
    def open_alerts(self) -> int:
        return sum(self.alerts.values())


@dataclass
class Board:
    tiles: list[Tile]
    now: datetime.datetime
    day_start: datetime.datetime

    @property
    def states(self) -> dict:
        counts = dict.fromkeys(STATE_RANK, 0)
        for t in self.tiles:
            counts[t.state] += 1
        return counts

    @property
    def alerts(self) -> dict:
        return {s: sum(t.alerts[s] for t in self.tiles) for s in SEVERITIES}

    @property
    def downtime_h(self) -> float:
        return sum(t.downtime_h for t in self.tiles)

    @property
    def good_today(self) -> float:
        return sum(t.good_today for t in self.tiles)

    @property
    def planned_by_now(self) -> int:
        """The cards' plans as they show them (whole units), added up: the headline and the
        cards agree (six cards of 1.4 read 1 each: 6, not the 8 of their sum rounded)."""
        return sum(_whole(t.planned_by_now) for t in self.tiles)

    @property
    def progress(self) -> float | None:
        return progress_of(self.good_today, self.planned_by_now)

    @property
    def state_counts(self) -> list[tuple[str, str, int]]:
        return [(state, str(S(state).label), n) for state, n in self.states.items()]

    @property
    def state_labels(self) -> dict:
        return {state: str(S(state).label) for state in STATE_RANK}

    @property
    def progress_text(self) -> str:
        return "" if self.progress is None else f"{self.progress:.0f} %"


def progress_of(good: float, planned: float) -> float | None:
    """Good against the plan so far, in %, as the board shows both: against the plan rounded
    to whole units (32 / 1 is 3,200 %, not the 6,314 % of 32 / 0.507); none while the plan so
    far rounds to nothing (8 / 0)."""
    shown = _whole(planned)
    return good * 100 / shown if shown >= 1 else None


def _whole(value: float) -> int:
    """Rounded half up, as the template's floatformat:0 shows it."""
    return int(value + 0.5)


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}".rstrip("0")


def planned_by_now(quantity, ps, pe, day_start, now) -> float:
    """The part of a task's quantity planned between day_start and now (even pace)."""
    if ps is None or pe is None:
        return 0.0
    if pe <= ps:
        return float(quantity) if day_start <= ps < now else 0.0
    inside = (min(pe, now) - max(ps, day_start)).total_seconds()
    return float(quantity) * max(0.0, inside) / (pe - ps).total_seconds()


def _planned_share(day_start, now):
    """planned_by_now() in SQL: the task's quantity × the share of its planned window inside
    [day_start, now]; a window of no length counts whole once it has begun."""
    ps, pe = epoch("planned_start"), epoch("planned_end")
    lo, hi = epoch(day_start), epoch(now)
    inside = Greatest(Value(0.0), Least(pe, hi) - Greatest(ps, lo))
    share = Case(
        When(planned_end__lte=F("planned_start"),
             then=Case(When(planned_start__gte=day_start, planned_start__lt=now,
                            then=Value(1.0)), default=Value(0.0))),
        default=inside / (pe - ps), output_field=FloatField())
    return Cast("quantity", FloatField()) * share


def _operator():
    name = Coalesce("operator__display_name", "operator__username")
    started = (TaskActivity.objects.filter(task=OuterRef("pk"), kind__in=("start", "resume"))
               .order_by("-at", "-id").annotate(who=name).values("who")[:1])
    reported = (WorkReport.objects.filter(task=OuterRef("pk")).order_by("-reported_at", "-id")
                .annotate(who=name).values("who")[:1])
    return Coalesce(Subquery(started), Subquery(reported))


def board(scope: Scope, now=None) -> Board:
    now = now or timezone.now()
    day_start = local_midnight(timezone.localtime(now).date())
    tiles = {wc["id"]: Tile(wc["id"], wc["code"], localized_name(wc["name"], wc["name_en"]),
                            wc["line__code"], wc["line__workshop__code"])
             for wc in WorkCenter.objects.filter(active=True, **_via("", scope))
             .order_by("line__workshop__code", "line__code", "code")
             .values("id", "code", "name", "name_en", "line__code", "line__workshop__code")}
    for eq in (Equipment.objects.filter(active=True, **_via("work_center__", scope))
               .order_by("code").values("work_center_id", "code", "state__state",
                                        "state__since", "state__reason__name",
                                        "state__reason__name_en")):
        tile = tiles.get(eq["work_center_id"])
        if tile is None:
            continue
        state = eq["state__state"] or S.IDLE
        tile.equipment.append({"code": eq["code"], "state": state})
        if STATE_RANK[state] < STATE_RANK[tile.state]:
            tile.state, tile.since = state, eq["state__since"]
            tile.reason = localized_name(eq["state__reason__name"],
                                         eq["state__reason__name_en"])
    for task in (Task.objects.filter(status__in=(T.IN_PROGRESS, T.PAUSED),
                                     **_via("work_center__", scope))
                 .annotate(operator_name=_operator())
                 .order_by("actual_start", "id")
                 .values("work_center_id", "id", "name", "seq", "status", "kind",
                         "work_order__number", "work_order__item__code", "qty_good", "quantity",
                         "operator_name")):
        tile = tiles.get(task["work_center_id"])
        if tile is None:
            continue
        tile.current.append(task)
        if task["status"] == T.IN_PROGRESS and STATE_RANK[tile.state] > STATE_RANK[S.RUNNING]:
            tile.state = S.RUNNING
    for eq_tile in tiles.values():
        if eq_tile.state == S.IDLE and any(e["state"] == S.RUNNING for e in eq_tile.equipment):
            eq_tile.state = S.RUNNING
    for wc_id, planned in (Task.objects.filter(
            planned_start__gte=day_start - PLAN_LOOKBACK, planned_start__lt=now,
            planned_end__gt=day_start, **_via("work_center__", scope))
            .exclude(status=T.CANCELLED).order_by().values("work_center_id")
            .annotate(planned=Sum(_planned_share(day_start, now)))
            .values_list("work_center_id", "planned")):
        if wc_id in tiles:
            tiles[wc_id].planned_by_now = planned or 0.0
    for row in (WorkReport.objects.filter(reported_at__gte=day_start,
                                          **_via("work_center__", scope)).order_by()
                .values("work_center_id").annotate(good=Sum("good"))):
        if row["work_center_id"] in tiles:
            tiles[row["work_center_id"]].good_today = float(row["good"] or 0)
    for wc_id, severity, n in open_alerts(scope):
        if wc_id in tiles and severity in SEVERITIES:
            tiles[wc_id].alerts[severity] += n
    today = Period(day_start, max(now, day_start))
    for stop in stops(today, scope, now=now):
        if stop.work_center_id in tiles:
            tiles[stop.work_center_id].downtime_h += stop.hours_in(today)
    labels = {state: str(S(state).label) for state in STATE_RANK}
    for tile in tiles.values():
        tile.state_label = labels[tile.state]
    return Board(list(tiles.values()), now, day_start)


def open_alerts(scope: Scope) -> list[tuple]:
    """(work center id, severity, count) of the open and acknowledged alerts; [] without the
    alerts app."""
    from django.apps import apps

    if not apps.is_installed("alerts"):
        return []
    from alerts.models import Alert

    level, pk = scope.narrowest
    where = {} if level == "plant" else {
        {"workshop": "workshop_id", "line": "line_id", "work_center": "work_center_id"}[level]:
        pk}
    return list(Alert.objects.filter(status__in=Alert.ACTIVE, work_center__isnull=False,
                                     **where).order_by()
                .values_list("work_center_id", "severity").annotate(n=Count("pk")))


def board_rows(b: Board) -> list[list]:
    """The board as a table (for CSV / XLSX)."""
    rows = []
    for t in b.tiles:
        current = join_clauses(f"{c['work_order__number']}/{c['seq']} {c['name']}"
                               for c in t.current)
        operators = join_list(sorted({c["operator_name"] for c in t.current
                                      if c["operator_name"]}))
        rows.append([t.workshop, t.line, t.code, t.name, str(S(t.state).label), current,
                     operators, t.good_today, round(t.planned_by_now, 1),
                     None if t.progress is None else round(t.progress, 1),
                     t.alerts["critical"], t.alerts["warning"], t.alerts["info"],
                     round(t.downtime_h, 2)])
    return rows

