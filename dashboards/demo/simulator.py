"""A factory that runs itself, through the same services the UI uses.

Operators start tasks and report (sometimes late, sometimes scrap), QC inspects and fails
some units (rework follows), machines break and are repaired, leads acknowledge alerts,
planners add orders and now and then a rush order, finished work orders are accepted.

Deterministic for a seed: one random generator, entities visited in a fixed order, and every
decision taken from simulated time, never from the wall clock. `step(now, minutes)` advances
the plant by `minutes` of simulated work ending at `now`.
"""

import datetime
import logging
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F, Max, Q
from django.utils import timezone

from dashboards.demo.plant import INSPECTION_STATIONS
from execution.models import (
    DowntimeEvent,
    DowntimeReason,
    EquipmentState,
    MaterialConsumption,
    ScrapReason,
    WorkReport,
)
from execution.services.equipment import equipment_set_state
from execution.services.materials import material_issue
from execution.services.reporting import task_report_quantity, task_start
from mes.models import User
from planning.calendars import calendar_windows
from planning.models import (
    Item,
    MaterialRequirement,
    Priority,
    ProductionOrder,
    Task,
    WorkCenter,
    WorkOrder,
)
from planning.services.orders import (
    production_order_create,
    production_order_explode,
    production_order_release,
)
from quality.models import DefectCode, Inspection, Nonconformance
from quality.services.acceptance import acceptance_blockers, work_order_accept
from quality.services.inspections import inspection_record
from quality.services.nonconformance import nonconformance_disposition

log = logging.getLogger(__name__)
CAUSES = [("设备故障导致停机 / machine breakdown",
           "已维修并恢复生产 / repaired, production resumed"),
          ("物料未及时到位 / material late", "已催料并调整排程 / material chased, re-planned"),
          ("操作工临时调岗 / operator reassigned", "已安排顶岗 / cover arranged"),
          ("报工遗漏 / report forgotten", "已补报并提醒班组 / reported late, team reminded"),
          ("刀具磨损尺寸超差 / worn tool", "已换刀并首件复检 / tool changed, first piece ok")]
CUSTOMERS = ["华东机械", "宏达泵业", "中联重工", "蓝天环保", "Nordic Pumps AB", "三一配套",
             "金桥水务"]
PRODUCTS = ["GB-100", "GB-200", "MT-5", "PM-50", "VL-25", "CV-300", "HY-10", "FN-400",
            "CP-20", "SP-KIT"]
# Reasons the simulated people give, as the plant's own staff would write them.
DECIDED = "模拟决策 / simulated decision"
REWORK_LIMIT = "返工次数已达上限 / rework limit reached"
WENT_ON = "已流入下道工序，让步接收 / units already at the next step: used as is"
UNITS_WENT_ON = "units_went_on"  # quality.services.nonconformance: too late to scrap or rework


@dataclass
class Rates:
    """How often things happen (per simulated hour unless said otherwise)."""

    open_orders: int = 10          # top-level orders the planners keep open
    rush_per_day: float = 0.5      # rush orders per day
    late_report: float = 0.12      # share of reports entered late (补报)
    scrap_per_report: float = 0.06
    qc_fail: float = 0.10          # share of inspections that fail
    rework_share: float = 0.8      # failures dispositioned to rework (rest scrap)
    breakdown_per_hour: float = 0.015  # per running equipment
    repair_minutes: tuple = (15, 150)
    ack_minutes: tuple = (3, 240)  # alert acknowledge delay
    resolve_minutes: tuple = (20, 300)
    accept_minutes: tuple = (20, 240)
    qc_delay_minutes: tuple = (10, 90)
    report_batch_minutes: int = 90  # operators report roughly this often on long tasks


@dataclass
class Simulator:
    seed: int = 1
    speed: float = 1.0
    rates: Rates = field(default_factory=Rates)
    scheduler_every_hours: float = 8
    history: bool = False

    def __post_init__(self):
        self.rng = random.Random(self.seed)
        self.windows: dict[int, list] = {}
        self.windows_until = None
        self.people = {}
        self.last_schedule = None
        self.last_sweep = None
        self.pending_late: list = []   # (due time, callable) for late reports
        self.due_actions: dict = {}    # key -> time an action becomes due (decided once)
        self.counters = {"orders": 0, "reports": 0, "inspections": 0, "breakdowns": 0,
                         "accepted": 0, "rush": 0, "acks": 0, "used_as_is": 0}

    # --- helpers -------------------------------------------------------------------------
    def _existing(self, queryset, field: str, now):
        """Making the history, only what existed at the simulated time `now` (by its `field`):
        an order a user creates at the real time while the history is being made (`make run`
        serves pages meanwhile) is not worked, inspected or accepted at times before it
        existed. Live, everything."""
        return queryset.filter(**{f"{field}__lte": now}) if self.history else queryset

    def _users(self, prefix_role):
        if prefix_role not in self.people:
            self.people[prefix_role] = list(
                User.objects.filter(groups__name=prefix_role, is_active=True).order_by("pk"))
        return self.people[prefix_role]

    def _pick(self, seq):
        return seq[self.rng.randrange(len(seq))] if seq else None

    def _delay(self, key, now, bounds) -> bool:
        """True once the randomly chosen delay for `key` has passed."""
        if key not in self.due_actions:
            lo, hi = bounds
            self.due_actions[key] = now + datetime.timedelta(
                minutes=self.rng.uniform(lo, hi) / max(self.speed, 1e-6))
        return now >= self.due_actions[key]

    def _working(self, wc: WorkCenter, now) -> bool:
        if wc.calendar_id is None:
            return True
        if self.windows_until is None or now + datetime.timedelta(hours=1) > self.windows_until:
            start = now - datetime.timedelta(days=1)
            self.windows_until = now + datetime.timedelta(days=7)
            ids = set(WorkCenter.objects.exclude(calendar=None).values_list("calendar_id",
                                                                             flat=True))
            self.windows = calendar_windows(ids, start, self.windows_until)
        return any(s <= now < e for s, e in self.windows.get(wc.calendar_id, []))

    def _token(self) -> str:
        return uuid.UUID(int=self.rng.getrandbits(128)).hex

    # --- one step ------------------------------------------------------------------------
    def step(self, now: datetime.datetime, minutes: float) -> None:
        self._planners(now)
        self._late_reports(now)
        wcs = [wc for wc in self._work_centers() if self._working(wc, now)]
        ids = [wc.pk for wc in wcs]
        tasks = list(self._existing(Task.objects.filter(
                         work_center_id__in=ids, status__in=("in_progress", "released", "paused")),
                                    "work_order__released_at", now)
                     .exclude(work_order__status="on_hold")
                     .select_related("work_order", "work_order__item")
                     .order_by(F("planned_start").asc(nulls_last=True),
                               "-work_order__priority", "work_order__due", "pk"))
        inputs = self._inputs(tasks)
        last_end = dict(WorkReport.objects.filter(task__in=[t for t in tasks
                                                             if t.status == "in_progress"])
                        .values("task_id").annotate(m=Max("work_end")).values_list("task_id",
                                                                                   "m"))
        by_wc = defaultdict(list)
        for task in tasks:
            by_wc[task.work_center_id].append(task)
        states = dict(EquipmentState.objects.filter(equipment__work_center_id__in=ids)
                      .values_list("equipment_id", "state"))
        for wc in wcs:
            self._equipment(wc, now, minutes, states)
            self._operators(wc, now, by_wc[wc.pk], inputs, last_end, states)
        self._qc(now)
        self._acceptance(now)
        self._alerts(now)

    def _work_centers(self):
        if not hasattr(self, "_wcs"):
            self._wcs = list(WorkCenter.objects.filter(active=True).select_related("lead")
                             .prefetch_related("operators", "equipment").order_by("code"))
        return self._wcs

    @staticmethod
    def _inputs(tasks) -> dict:
        """What each task may still work on, for many tasks in one query."""
        wo_ids = {t.work_order_id for t in tasks}
        steps = defaultdict(list)
        for row in (Task.objects.filter(work_order_id__in=wo_ids, kind="normal")
                    .exclude(status="cancelled").order_by("seq")
                    .values("work_order_id", "seq", "qty_good", "wait_for_qc",
                            "qty_qc_accepted")):
            steps[row["work_order_id"]].append(row)
        out = {}
        for t in tasks:
            if t.kind == "rework":
                source = t.quantity
            else:
                prev = [r for r in steps[t.work_order_id] if r["seq"] < t.seq]
                source = t.work_order.quantity if not prev else (
                    prev[-1]["qty_qc_accepted"] if prev[-1]["wait_for_qc"]
                    else prev[-1]["qty_good"])
            out[t.pk] = max(Decimal(0), source - t.qty_taken)
        return out

    def _planners(self, now):
        planner = self._pick(self._users("planner"))
        open_orders = ProductionOrder.objects.filter(
            status__in=("planned", "released", "in_progress")).count()
        rush = self.rng.random() < self.rates.rush_per_day / 96
        while open_orders < self.rates.open_orders or rush:
            code = self._pick(PRODUCTS)
            item = Item.objects.get(code=code)
            urgent = rush
            qty = Decimal(self.rng.choice([2, 3, 4, 5, 6, 8, 10, 12]))
            days = self.rng.uniform(1.0, 2.0) if urgent else self.rng.uniform(3, 9)
            priority = Priority.URGENT if urgent else self.rng.choices(
                [Priority.NORMAL, Priority.HIGH], [0.8, 0.2])[0]
            customer = self._pick(CUSTOMERS)
            order = production_order_create(
                actor=planner, item=item, quantity=qty,
                due=now + datetime.timedelta(days=days), priority=priority, customer=customer,
                sales_order_ref=f"SO-{now:%y%m}-{self.rng.randint(1000, 9999)}",
                reason="插单 / rush order" if urgent else "客户订单 / customer order")
            production_order_explode(actor=planner, order=order)
            production_order_release(actor=planner, order=order)
            self.counters["orders"] += 1
            self.counters["rush"] += urgent
            open_orders += 1
            rush = False
            self.last_schedule = None  # new work: re-plan
        if self.last_schedule is None or now - self.last_schedule >= datetime.timedelta(
                hours=self.scheduler_every_hours):
            self._schedule(planner, now)

    def _schedule(self, planner, now):
        from planning.services.schedule import schedule_apply, schedule_compute, schedule_request

        # The dispatch rule alone: deterministic for a seed (CP-SAT's parallel search is not).
        version = schedule_request(actor=planner, reason="例行重排 / routine re-plan",
                                   heuristic_only=True, enqueue=False)
        version = schedule_compute(version.pk)
        if version.status == "ready":
            try:
                schedule_apply(actor=planner, version=version)
            except ValidationError:
                # Someone applied a schedule at the real time while the history is being
                # made (`make run` serves pages meanwhile): it stays, as it would for a planner.
                self.counters["plans_refused"] = self.counters.get("plans_refused", 0) + 1
        self.last_schedule = now

    def _operators(self, wc, now, tasks, inputs, last_end, states):
        ops = sorted(wc.operators.all(), key=lambda u: u.pk)
        if not ops:
            return  # nobody may work here
        running = [t for t in tasks if t.status == "in_progress"]
        for task in running:
            self._progress(task, wc, ops, now, inputs[task.pk], last_end.get(task.pk))
        free = wc.machines - len(running)
        equipment = list(wc.equipment.all())
        if free <= 0 or (equipment and all(states.get(e.pk) == "down" for e in equipment)):
            return
        for task in tasks:
            if free <= 0:
                break
            if task.status == "in_progress" or inputs[task.pk] <= 0:
                continue
            operator = self._pick(ops)
            try:
                task_start(operator=operator, task=task, work_center=wc,
                           client_token=self._token(), at=now)
            except ValidationError:
                continue
            self._issue_materials(task, wc, operator, now)
            free -= 1

    def _issue_materials(self, task, wc, operator, now):
        """On starting a step that consumes bought components, its operator scans their lots
        in (one or two lots per component, as packs come), so that every finished work
        order's record names the lots its units contain."""
        if task.kind != "normal":
            return
        first = not Task.objects.filter(work_order_id=task.work_order_id, kind="normal",
                                        seq__lt=task.seq).exists()
        needs = MaterialRequirement.objects.filter(work_order_id=task.work_order_id).filter(
            Q(operation_seq=task.seq) | Q(operation_seq__isnull=True) if first
            else Q(operation_seq=task.seq)).select_related("item").order_by("item__code")
        for need in needs:
            if MaterialConsumption.objects.filter(work_order_id=task.work_order_id,
                                                  item=need.item).exists():
                continue  # issued at an earlier start (a re-started step)
            packs = [need.quantity]
            if need.quantity > 1 and self.rng.random() < 0.3:  # the first pack ran out
                first_pack = (need.quantity / 2).quantize(Decimal("1") if need.item.discrete
                                                          else Decimal("0.01"))
                packs = [first_pack, need.quantity - first_pack]
            for quantity in packs:
                lot = f"{need.item.code}-{now:%y%m%d}-{self.rng.randint(1, 99):02d}"
                try:
                    material_issue(operator=operator, task=task, work_center=wc,
                                   item_code=need.item.code, lot_code=lot, quantity=quantity,
                                   client_token=self._token())
                    self.counters["lots_issued"] = self.counters.get("lots_issued", 0) + 1
                except ValidationError as exc:
                    log.debug("simulated material issue refused: %s", exc)

    def _progress(self, task, wc, ops, now, remaining, last):
        since = last or task.actual_start or now
        worked = (now - since).total_seconds() / 60 * self.speed
        run = float(task.run_minutes_per_unit) or 1.0
        setup = float(task.setup_minutes) if last is None else 0.0
        units = int(max(0.0, worked - setup) // run)
        if remaining <= 0:
            return
        units = min(Decimal(units), remaining)
        batch_due = worked >= self.rates.report_batch_minutes or units >= remaining
        if units <= 0 or not batch_due:
            return
        scrap = Decimal(0)
        if self.rng.random() < self.rates.scrap_per_report and units > 1:
            scrap = Decimal(1)
        good = units - scrap
        kwargs = {"operator": self._pick(ops), "task": task, "work_center": wc,
                  "client_token": self._token(), "good": good, "scrap": scrap,
                  "scrap_reason": self._pick(self._scrap_reasons()) if scrap else None,
                  "work_start": since, "work_end": now}
        if self.rng.random() < self.rates.late_report:
            delay = datetime.timedelta(minutes=self.rng.uniform(35, 150) / max(self.speed, 1))
            self.pending_late.append((now + delay, kwargs))
            return
        self._report(kwargs)

    def _scrap_reasons(self):
        if not hasattr(self, "_scrap"):
            self._scrap = list(ScrapReason.objects.order_by("code"))
        return self._scrap

    def _report(self, kwargs):
        try:
            task_report_quantity(**kwargs)
            self.counters["reports"] += 1
        except ValidationError as exc:
            log.debug("simulated report refused: %s", exc)

    def _late_reports(self, now):
        keep = []
        for due, kwargs in self.pending_late:
            if now >= due:
                kwargs["task"] = Task.objects.get(pk=kwargs["task"].pk)
                self._report(kwargs)
            else:
                keep.append((due, kwargs))
        self.pending_late = keep

    def _equipment(self, wc, now, minutes, states):
        for eq in sorted(wc.equipment.all(), key=lambda e: e.code):
            if not eq.active:
                continue
            state = states.get(eq.pk)
            if state == "down":
                if self._delay(("repair", eq.pk), now, self.rates.repair_minutes):
                    equipment_set_state(actor=wc.lead, equipment=eq, state="running", at=now)
                    states[eq.pk] = "running"
                    self.due_actions.pop(("repair", eq.pk), None)
                continue
            p = 1 - (1 - self.rates.breakdown_per_hour) ** (minutes * self.speed / 60)
            if self.rng.random() < p:
                if not hasattr(self, "_dt_reasons"):
                    self._dt_reasons = list(DowntimeReason.objects.filter(
                        code__in=("DT-BRK", "DT-TOOL", "DT-MAT", "DT-PWR")).order_by("code"))
                equipment_set_state(actor=wc.lead, equipment=eq, state="down",
                                    reason=self._pick(self._dt_reasons), at=now)
                states[eq.pk] = "down"
                self.counters["breakdowns"] += 1
            elif state != "running":
                equipment_set_state(actor=wc.lead, equipment=eq, state="running", at=now)
                states[eq.pk] = "running"

    def _qc(self, now):
        inspectors = self._users("qc_inspector")
        defects = list(DefectCode.objects.order_by("code"))
        for insp in (self._existing(Inspection.objects.filter(status="pending"), "created_at",
                                    now).select_related("plan").order_by("created_at", "pk")[:30]):
            if not self._delay(("qc", insp.pk), now, self.rates.qc_delay_minutes):
                continue
            fail = self.rng.random() < self.rates.qc_fail
            results = {}
            chars = list(insp.plan.characteristics.all()) if insp.plan else []
            for i, ch in enumerate(chars):
                if ch.kind == "measured":
                    lo = ch.lower if ch.lower is not None else (ch.nominal or 0) - 1
                    hi = ch.upper if ch.upper is not None else (ch.nominal or 0) + 1
                    value = lo + (hi - lo) * Decimal(str(round(self.rng.uniform(0.2, 0.8), 3)))
                    if fail and i == 0:
                        value = hi + (hi - lo) * Decimal("0.3") + Decimal("0.001")
                    results[ch.pk] = {"value": str(value.quantize(Decimal("0.001")))}
                else:
                    results[ch.pk] = {"passed": not (fail and i == 0)}
            failed_qty = None
            if fail:
                failed_qty = min(insp.quantity, Decimal(self.rng.randint(1, 3)))
            try:
                inspection_record(inspector=self._pick(inspectors), inspection=insp,
                                  results=results, qty_failed=failed_qty,
                                  defect_code=self._pick(defects) if fail else None,
                                  verdict="failed" if fail else "passed",
                                  notes="" if not fail else "模拟检验不合格")
                self.counters["inspections"] += 1
            except ValidationError as exc:
                log.debug("simulated inspection refused: %s", exc)
        for nc in self._existing(Nonconformance.objects.filter(
                status="open", disposition="pending"), "created_at", now).order_by("pk"):
            if not self._delay(("nc", nc.pk), now, (5, 60)):
                continue
            choice = "rework" if self.rng.random() < self.rates.rework_share else "scrap"
            self._decide(nc, choice, inspectors)

    def _decide(self, nc, choice, inspectors):
        """QC's decision; rework refused (the plan's loops used up): scrap; either refused
        because the units already went on to the next step: a manager approves them for use
        as is, as the refusal asks. Anything else refused is left for a later step."""
        # Units failed at an inspection step (a QC station's: it measures, it makes nothing)
        # go back to the step that made them.
        station = None
        if (choice == "rework"
                and nc.responsible_task.work_center.code in INSPECTION_STATIONS):
            station = (Task.objects.filter(work_order_id=nc.work_order_id, kind="normal",
                                           seq__lt=nc.responsible_task.seq)
                       .order_by("-seq").values_list("work_center", flat=True).first())
        station = WorkCenter.objects.filter(pk=station).first() if station else None
        try:
            try:
                nonconformance_disposition(actor=self._pick(inspectors), nonconformance=nc,
                                           disposition=choice, reason=DECIDED,
                                           work_center=station)
            except ValidationError as exc:
                if choice != "rework" or UNITS_WENT_ON in _codes(exc):
                    raise
                nonconformance_disposition(actor=self._pick(inspectors), nonconformance=nc,
                                           disposition="scrap", reason=REWORK_LIMIT)
        except ValidationError as exc:
            if UNITS_WENT_ON not in _codes(exc):
                log.debug("simulated disposition refused: %s", exc)
                return
            approvers = [u for u in self._users("manager") if u.pk != nc.operator_id]
            if not approvers:
                log.debug("simulated use as is: no approver for %s", nc)
                return
            try:
                nonconformance_disposition(actor=self._pick(approvers), nonconformance=nc,
                                           disposition="use_as_is", reason=WENT_ON)
                self.counters["used_as_is"] += 1
            except (ValidationError, PermissionDenied) as exc:
                log.debug("simulated use as is refused: %s", exc)

    def _acceptance(self, now):
        leads = self._users("workshop_lead")
        for wo in self._existing(WorkOrder.objects.filter(status="awaiting_acceptance"),
                                 "actual_end", now).order_by("pk")[:30]:
            if not self._delay(("accept", wo.pk), now, self.rates.accept_minutes):
                continue
            if acceptance_blockers(wo):
                continue
            try:
                work_order_accept(actor=self._pick(leads), work_order=wo,
                                  reason="验收合格 / accepted")
                self.counters["accepted"] += 1
            except (ValidationError, PermissionDenied) as exc:
                log.debug("simulated acceptance refused: %s", exc)

    def _alerts(self, now):
        """The sweep runs (history: in-process; live: Celery beat does it) and leads answer:
        acknowledge after a while, then resolve with cause and action."""
        from alerts.models import Alert
        from alerts.services.lifecycle import alert_acknowledge, alert_resolve
        from alerts.services.sweep import alerts_sweep

        if self.history and (self.last_sweep is None
                             or now - self.last_sweep >= datetime.timedelta(minutes=30)):
            alerts_sweep(now=now)
            self.last_sweep = now
        leads = self._users("workshop_lead")
        for alert in self._existing(Alert.objects.filter(status__in=("open", "acknowledged")),
                                    "raised_at", now).order_by("raised_at", "pk")[:40]:
            try:
                if alert.status == "open" and self._delay(("ack", alert.pk), now,
                                                          self.rates.ack_minutes):
                    alert_acknowledge(actor=alert.assignee or self._pick(leads), alert=alert,
                                      now=now)
                    self.counters["acks"] += 1
                elif alert.status == "acknowledged" and self._delay(
                        ("resolve", alert.pk), now, self.rates.resolve_minutes):
                    cause, action = self._pick(CAUSES)
                    alert_resolve(actor=alert.assignee or self._pick(leads), alert=alert,
                                  cause=cause, action=action, now=now)
            except (ValidationError, PermissionDenied) as exc:
                log.debug("simulated alert answer refused: %s", exc)


def _codes(exc: ValidationError) -> set:
    errors = (exc.error_list if not hasattr(exc, "error_dict")
              else [e for errs in exc.error_dict.values() for e in errs])
    return {e.code for e in errors}


def downtime_open() -> int:
    return DowntimeEvent.objects.filter(end__isnull=True).count()


def now_minute() -> datetime.datetime:
    return timezone.now().replace(second=0, microsecond=0)
