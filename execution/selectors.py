"""Execution reads: the station list, a station's dispatch list and what its terminal shows.

The dispatch list is one query whatever the number of tasks: each task's input quantity (what
the previous step passed on) is a subquery annotation that mirrors
execution.services.reporting.task_input_quantity, so no per-row lookups happen.
"""

import datetime
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import (
    Case,
    Count,
    DecimalField,
    F,
    Q,
    When,
)
from django.db.models.functions import Coalesce, Upper
from django.utils import timezone

from execution import terminal_reads
from execution.models import DowntimeReason, EquipmentState, ScrapReason
from execution.services.report_read import task_with_input
from execution.services.reporting import (
    StationRefusal,
    badge_holder,
    check_can_work,
    check_operator_assigned,
    operator_by_badge,
    previous_step_passed,
    refuse,
)
from mes.models import User
from mes.quantities import quantity_text
from mes.sql import valid_pk
from mes.system_text import system_text
from planning.models import Equipment, MaterialRequirement, Task, WorkCenter, WorkOrder
from planning.travelers import (
    SCHEME,
    TASK,
    damaged_traveler_code,
    normalize_scan,
    payload_for_task,
    scan_resolve,
    traveler_code_parts,
)

T = Task.Status
WO = WorkOrder.Status
# What a station works on; held tasks stay visible (greyed) when they had been released.
WORKABLE = (T.RELEASED, T.IN_PROGRESS, T.PAUSED)
CURRENT = (T.IN_PROGRESS, T.PAUSED)
_QTY = DecimalField(max_digits=14, decimal_places=4)


# --- Alert badges: the hook the alerts app plugs into -----------------------------------------
# The alerts app sits above execution (it may import us, never the reverse). At ready() it
# registers a provider: task ids -> {task id: [badge, ...]}, each badge a dict with at least
# "label" and "severity". A provider must cost a fixed number of queries whatever the ids.
_alert_badge_providers: list[Callable[[list[int]], dict]] = []


def register_alert_badges(provider: Callable[[list[int]], dict]) -> None:
    if provider not in _alert_badge_providers:
        _alert_badge_providers.append(provider)


def open_alert_badges(task_ids: Iterable[int]) -> dict[int, list[dict]]:
    """Open alert badges per task id; {} until the alerts app registers a provider."""
    ids = list(task_ids)
    badges: dict[int, list[dict]] = {}
    if not ids:
        return badges
    for provider in _alert_badge_providers:
        for task_id, found in (provider(ids) or {}).items():
            badges.setdefault(task_id, []).extend(found)
    return badges


# --- Stations ---------------------------------------------------------------------------------
def active_user(user_id: int):
    """An active user by id (a station's badge operator), or None. One query."""
    return terminal_reads.active_user(user_id)


def station_by_code(code: str) -> WorkCenter:
    """An active work center by its code. Raises WorkCenter.DoesNotExist."""
    return terminal_reads.station_by_code(code)


@dataclass
class LineGroup:
    line: object
    stations: list = field(default_factory=list)


@dataclass
class WorkshopGroup:
    workshop: object
    lines: list[LineGroup] = field(default_factory=list)


def stations_grouped() -> list[WorkshopGroup]:
    """Active work centers grouped by workshop and line, each with its open-task counts.
    One query."""
    centers = (WorkCenter.objects.filter(active=True)
               .select_related("line", "line__workshop", "line__workshop__site")
               .annotate(n_current=Count("tasks", filter=Q(tasks__status__in=CURRENT)),
                         # released, not started yet (not the same as a task "waiting for
                         # the previous step", which the station marks)
                         n_to_start=Count("tasks", filter=Q(tasks__status=T.RELEASED)))
               .order_by("line__workshop__site__code", "line__workshop__code", "line__code",
                         "code"))
    groups: list[WorkshopGroup] = []
    for wc in centers:
        workshop, line = wc.line.workshop, wc.line
        if not groups or groups[-1].workshop.pk != workshop.pk:
            groups.append(WorkshopGroup(workshop))
        lines = groups[-1].lines
        if not lines or lines[-1].line.pk != line.pk:
            lines.append(LineGroup(line))
        lines[-1].stations.append(wc)
    return groups


def station_equipment(work_center: WorkCenter) -> list[Equipment]:
    """The station's active equipment with its current state (None: never set). One query."""
    return list(Equipment.objects.filter(work_center=work_center, active=True)
                .select_related("state", "state__reason").order_by("code"))


def scrap_reasons() -> list[ScrapReason]:
    return terminal_reads.active_scrap_reasons()


def scrap_reason(reason_id) -> ScrapReason | None:
    """The scrap reason a station sent by id (None when none was sent); an unknown id is
    refused, naming the field. One query when an id was sent."""
    if reason_id in (None, ""):
        return None
    pk = valid_pk(ScrapReason, reason_id)
    reason = ScrapReason.objects.filter(pk=pk).first() if pk is not None else None
    if reason is None:
        raise StationRefusal({"scrap_reason": system_text("Unknown scrap reason; pick one from the "
                                                "list.")}, code="unknown_scrap_reason")
    return reason


def downtime_reasons() -> list[DowntimeReason]:
    return list(DowntimeReason.objects.filter(active=True).order_by("code"))


# --- Dispatch list ----------------------------------------------------------------------------
def _with_input_quantity(qs):
    """Annotate `input_qty`: what this step may work on (see task_input_quantity)."""
    return qs.annotate(input_qty=Case(
        When(kind=Task.Kind.REWORK, then=F("quantity")),
        default=Coalesce(previous_step_passed(), F("work_order__quantity")),
        output_field=_QTY))


def _station_tasks():
    return _with_input_quantity(Task.objects.select_related(
        "work_order", "work_order__item", "work_order__production_order", "work_center"))


def dispatch_tasks(work_center: WorkCenter):
    """The station's tasks in schedule order: planned start (unscheduled last), then the work
    order's priority (highest first), then its due date."""
    on_station = Q(status__in=WORKABLE) | Q(status=T.ON_HOLD, held_from__in=WORKABLE)
    return (_station_tasks().filter(on_station, work_center=work_center)
            .order_by(F("planned_start").asc(nulls_last=True), "-work_order__priority",
                      "work_order__due", "work_order__number", "seq", "id"))


@dataclass
class DispatchRow:
    task: Task
    group: str  # "current", "next" or "later"
    input_qty: Decimal
    remaining: Decimal
    on_hold: bool
    late: str  # why it is late, or ""
    payload: str
    alerts: list = field(default_factory=list)
    selected: bool = False

    @property
    def input_text(self) -> str:
        return quantity_text(self.input_qty)

    @property
    def good_text(self) -> str:
        return quantity_text(self.task.qty_good)

    @property
    def scrap_text(self) -> str:
        return quantity_text(self.task.qty_scrap)

    @property
    def remaining_text(self) -> str:
        return quantity_text(self.remaining)

    @property
    def reported(self) -> bool:
        return self.task.qty_good + self.task.qty_scrap > 0

    @property
    def workable(self) -> bool:
        """It may be started, reported on or completed now (what check_can_work refuses for
        the task whoever the operator): the terminal offers only what its status allows."""
        return (self.task.status in WORKABLE and not self.on_hold
                and self.task.work_order.status not in (WO.CANCELLED, WO.AWAITING_ACCEPTANCE,
                                                        WO.ACCEPTED))

    @property
    def waiting(self) -> bool:
        """Nothing has reached this step yet: the previous step has not passed anything on."""
        return self.input_qty <= 0 and self.task.qty_good + self.task.qty_scrap <= 0

    @property
    def ready(self) -> bool:
        """The operator can get on with it now: workable, and not waiting for the previous
        step (a waiting task may be started, but nothing can be reported on it)."""
        return self.workable and not self.waiting


@dataclass
class DispatchList:
    current: list[DispatchRow] = field(default_factory=list)
    next: list[DispatchRow] = field(default_factory=list)
    later: list[DispatchRow] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.current) + len(self.next) + len(self.later)

    @property
    def groups(self) -> list[tuple[str, list[DispatchRow]]]:
        return [("current", self.current), ("next", self.next), ("later", self.later)]


def lateness(task: Task, now: datetime.datetime) -> str:
    """"end" when the planned end has passed, "start" when the planned start has passed and
    the task has not started, else ""."""
    if task.planned_end is not None and task.planned_end < now:
        return "end"
    if (task.planned_start is not None and task.planned_start < now
            and task.status == T.RELEASED and task.actual_start is None):
        return "start"
    return ""


def dispatch_row(task: Task, *, group: str = "", now=None, selected_id=None) -> DispatchRow:
    """A row from a task fetched with the input-quantity annotation (no more queries)."""
    now = now or timezone.now()
    remaining = max(Decimal(0), task.input_qty - task.qty_taken)
    return DispatchRow(
        task=task, group=group, input_qty=task.input_qty, remaining=remaining,
        on_hold=task.status == T.ON_HOLD or task.work_order.status == "on_hold",
        late=lateness(task, now), payload=payload_for_task(task),
        selected=task.pk == selected_id)


def dispatch_list(work_center: WorkCenter, *, now=None, selected_id=None) -> DispatchList:
    """Current (running or paused here), next (the first tasks that can be worked now, one
    per parallel machine) and later (the rest: held ones greyed, waiting ones marked), each
    in schedule order. A task waiting for its previous step never takes a next slot: the
    operator would see work they cannot do and miss the work they can. One query, plus the
    alert providers'."""
    now = now or timezone.now()
    result = DispatchList()
    rows = [dispatch_row(t, now=now, selected_id=selected_id)
            for t in dispatch_tasks(work_center)]
    badges = open_alert_badges(r.task.pk for r in rows)
    slots = max(1, work_center.machines)
    for row in rows:
        row.alerts = badges.get(row.task.pk, [])
        if row.task.status in CURRENT and not row.on_hold:
            row.group = "current"
            result.current.append(row)
        elif row.ready and len(result.next) < slots:
            row.group = "next"
            result.next.append(row)
        else:
            row.group = "later"
            result.later.append(row)
    return result


# --- The selected task ------------------------------------------------------------------------
def station_task(task_id) -> DispatchRow | None:
    """One task as the terminal shows it (any station; the caller checks). One query."""
    pk = valid_pk(Task, task_id)
    task = task_with_input(pk) if pk is not None else None
    return dispatch_row(task) if task is not None else None


def task_materials(task: Task) -> list[MaterialRequirement]:
    """The work order's material list with `issued` (sum of lots issued so far). One query."""
    rows = terminal_reads.material_rows(task.work_order_id)
    for row in rows:
        row.required_text, row.issued_text = quantity_text(row.quantity), quantity_text(row.issued)
    return rows


# --- What a scan means at a station -----------------------------------------------------------
@dataclass
class ScanOutcome:
    kind: str  # "operator" or "task"
    operator: object = None
    task: Task | None = None
    via: str = ""  # how a task was found: "task", "work_order" or "typed"


def station_task_check(task: Task, work_center: WorkCenter, operator=None) -> None:
    """Refuse (StationRefusal) a task this station cannot work on now. With the operator
    known, the service's own check runs (it adds the operator's assignment)."""
    if operator is not None:
        check_can_work(task, operator, work_center)
        return
    wo = task.work_order
    if task.work_center_id != work_center.pk:
        raise refuse(system_text("Task %(task)s belongs to work center %(wc)s, not to this "
                                 "station (%(here)s).", task=task, wc=task.work_center.code,
                                 here=work_center.code), "wrong_station")
    if task.status == T.PLANNED:
        raise refuse(system_text("Task %(task)s has not been released.", task=task),
                     "not_released")
    if task.status == T.ON_HOLD or wo.status == WO.ON_HOLD:
        raise refuse(system_text("Task %(task)s is on hold.", task=task), "on_hold")
    if task.status == T.DONE:
        raise refuse(system_text("Task %(task)s is already done.", task=task), "done")
    if task.status == T.CANCELLED or wo.status == WO.CANCELLED:
        raise refuse(system_text("Task %(task)s was cancelled.", task=task), "cancelled")
    if wo.status in (WO.AWAITING_ACCEPTANCE, WO.ACCEPTED):
        raise refuse(system_text("Work order %(wo)s is finished.", wo=wo), "work_order_finished")


def _work_order_task(work_order: WorkOrder, work_center: WorkCenter, operator) -> Task:
    """The step of a work order to work on at this station: the first open one here."""
    here = list(_station_tasks().filter(work_order=work_order, work_center=work_center)
                .order_by("seq", "id"))
    if not here:
        raise refuse(system_text("Work order %(wo)s has no step at this station (%(here)s).",
                                 wo=work_order, here=work_center.code), "wrong_station")
    for task in here:
        if task.status in WORKABLE:
            station_task_check(task, work_center, operator)
            return task
    # Nothing open here: refuse with the reason of the last step (done, on hold, ...).
    station_task_check(here[-1], work_center, operator)
    return here[-1]  # pragma: no cover - the check above always refuses


def station_scan_resolve(raw: str, work_center: WorkCenter, operator=None) -> ScanOutcome:
    """What a scan (or typed code) at a station means: an operator's badge (refused when the
    operator may not work at this station), a task QR code, a work-order QR code (its step at
    this station), or a typed work-order number, optionally with "/<step>". Raises
    StationRefusal saying why the station cannot use it."""
    text = normalize_scan(raw)
    if not text:
        raise refuse(system_text("Nothing was scanned."), "empty")
    if text.upper().startswith(SCHEME + ":"):
        try:
            target = scan_resolve(text)
        except ValidationError as exc:
            error = exc.error_list[0]  # (a lazy message with its params: kept as a key)
            if exc.code == "malformed" and damaged_traveler_code(text):
                # Here the work order's number, typed, is the way round a label that will
                # not scan.
                raise refuse(system_text(
                    "Scanned code “%(code)s” is a traveler code, but incomplete or damaged: "
                    "scan it again, or type the work order number.",
                    code=error.params["code"]), "malformed") from None
            raise refuse(error.message, exc.code or "malformed", error.params) from None
        if target.task is not None:
            station_task_check(target.task, work_center, operator)
            return ScanOutcome("task", task=target.task, via="task")
        return ScanOutcome("task", via="work_order",
                           task=_work_order_task(target.work_order, work_center, operator))
    user = badge_holder(text)
    if user is not None:
        operator = operator_by_badge(text, holder=user)
        check_operator_assigned(operator, work_center)
        return ScanOutcome("operator", operator=operator)
    number, _slash, seq = text.rpartition("/")
    wo = WorkOrder.objects.filter(number__iexact=text).first()
    if wo is None and number and seq.isdigit():
        task = _station_tasks().filter(work_order__number__iexact=number, seq=int(seq)).first()
        if task is not None:
            station_task_check(task, work_center, operator)
            return ScanOutcome("task", task=task, via="typed")
    if wo is not None:
        return ScanOutcome("task", via="typed",
                           task=_work_order_task(wo, work_center, operator))
    shown = text if len(text) <= 40 else text[:40] + "…"
    raise refuse(system_text("Unknown badge or code “%(code)s”: it is no employee's badge, no "
                             "traveler code and no work order number.", code=shown),
                 "unknown_code")


# --- Refused scans: what was sent, in the lead's words ------------------------------------------
# The fields a refused station or API action keeps in its payload ("task=12 good=abc"; see
# execution.views.actions._payload and execution.api.views.StationMixin), by what they are.
PAYLOAD_FIELDS = ("task", "good", "scrap", "scrap_reason", "item_code", "lot_code", "quantity",
                  "equipment", "state", "reason", "short_reason")
_PAYLOAD_MODELS = {"task": Task, "scrap_reason": ScrapReason, "equipment": Equipment,
                   "reason": DowntimeReason}
_PAYLOAD_PAIR_RE = re.compile(r"(?:^|(?<=\s))(" + "|".join(PAYLOAD_FIELDS) + r")=")


@dataclass(frozen=True)
class PayloadPart:
    """One thing a refused attempt sent: `field` (a PAYLOAD_FIELDS name, or "scan" for a
    scanned code), the value as sent, and what that value names when it names something:
    `subject` (the task "WO-1/10 Saw", the scrap reason, the badge's holder…), with the work
    order to link to when it is about one."""

    field: str
    value: str
    subject: str = ""
    work_order_id: int | None = None
    unknown: bool = False  # an id or code that names nothing (any more)


def _payload_pairs(payload: str) -> list[tuple[str, str]] | None:
    """The payload's field=value pairs, or None when it is not made of them (a scan)."""
    matches = list(_PAYLOAD_PAIR_RE.finditer(payload))
    if not matches or matches[0].start() != 0:
        return None
    ends = [m.start() for m in matches[1:]] + [len(payload)]
    return [(m.group(1), payload[m.end():end].strip()) for m, end in zip(matches, ends,
                                                                          strict=True)]


def refusal_payload_parts(refusals: Iterable) -> dict[int, list[PayloadPart]]:
    """What each refused attempt (ScanRefusal) sent, field by field, with the task, work
    order, badge holder, scrap reason, equipment or downtime reason each id or code names, for
    the refused-scans page and its export. A fixed number of queries (at most six) whatever
    the number of refusals."""
    raw: dict[int, list[tuple[str, str]]] = {}
    wanted: dict[str, set] = {"task": set(), "task_token": set(), "wo_token": set(),
                              "badge": set(), "scrap_reason": set(), "equipment": set(),
                              "reason": set()}
    for refusal in refusals:
        pairs = (None if refusal.action.rpartition(":")[2] == "scan"
                 else _payload_pairs(refusal.payload))
        if pairs is None:
            pairs = [("scan", refusal.payload)] if refusal.payload else []
        raw[refusal.pk] = pairs
        for name, value in pairs:
            if name == "scan":
                text = normalize_scan(value)
                traveler = traveler_code_parts(text)
                if traveler is not None:
                    kind, token = traveler
                    wanted["task_token" if kind == TASK else "wo_token"].add(token)
                elif text:
                    wanted["badge"].add(text.upper())
            elif name in _PAYLOAD_MODELS:
                pk = valid_pk(_PAYLOAD_MODELS[name], value)
                if pk is not None:
                    wanted[name].add(pk)
    tasks, by_token, wos, holders, named = {}, {}, {}, {}, {}
    if wanted["task"] or wanted["task_token"]:
        for task in (Task.objects.filter(Q(pk__in=wanted["task"])
                                         | Q(qr_token__in=wanted["task_token"]))
                     .select_related("work_order")):
            tasks[task.pk] = by_token[task.qr_token] = task
    if wanted["wo_token"]:
        wos = {wo.qr_token: wo for wo in WorkOrder.objects.filter(
            qr_token__in=wanted["wo_token"])}
    if wanted["badge"]:
        holders = {u.badge_upper: u for u in User.objects.annotate(
            badge_upper=Upper("badge_code")).filter(badge_upper__in=wanted["badge"])}
    for name, model in (("scrap_reason", ScrapReason), ("equipment", Equipment),
                        ("reason", DowntimeReason)):
        if wanted[name]:
            named[name] = {obj.pk: str(obj) for obj in model.objects.filter(
                pk__in=wanted[name])}
    states = dict(EquipmentState.State.choices)

    def part(name: str, value: str) -> PayloadPart:
        if name == "scan":
            text = normalize_scan(value)
            traveler = traveler_code_parts(text)
            if traveler is not None:
                kind, token = traveler
                found = by_token.get(token) if kind == TASK else wos.get(token)
                if found is None:
                    return PayloadPart(name, value, unknown=True)
                wo_id = found.work_order_id if kind == TASK else found.pk
                return PayloadPart(name, value, str(found), wo_id)
            holder = holders.get(text.upper()) if text else None
            return PayloadPart(name, value, str(holder) if holder is not None else "")
        pk = valid_pk(_PAYLOAD_MODELS[name], value) if name in _PAYLOAD_MODELS else None
        if name == "task" and pk is not None:
            task = tasks.get(pk)
            if task is None:
                return PayloadPart(name, value, unknown=True)
            return PayloadPart(name, value, str(task), task.work_order_id)
        if name in named and pk is not None:
            subject = named[name].get(pk)
            return PayloadPart(name, value, subject or "", unknown=subject is None)
        if name == "state" and value in states:
            return PayloadPart(name, value, str(states[value]))
        return PayloadPart(name, value)

    return {pk: [part(name, value) for name, value in pairs] for pk, pairs in raw.items()}
