"""The large data set: a big plant with a year of history and 10,000 open work orders.

`demo_load --scale` and the page benchmarks (tests/benchmarks/bench_pages.py) build it. At full
size: 500 work centers, 1,000 pieces of equipment, 200 operators; 20,000 completed production
orders (60,000 accepted work orders, 240,000 tasks, 960,000 work reports, 60,000 inspections
at the QC step with nonconformances, rework and re-inspections) over the past year; 2,000 open
orders with 10,000 open work orders (50,000 tasks, every twentieth running) scheduled around
now; 20,000 stops and 15,000 alerts.

Unlike the demo history (the simulator through the services, a few weeks), this is
bulk-generated: rows are written with bulk inserts, a few thousand orders per transaction, so
a year takes minutes instead of days. The rows keep the invariants the services keep:

- a step works on what the step before it made good: each step's good + scrap is its input,
  and a task's good and scrap are the sums of its work reports;
- report times are ordered (start <= end <= reported), `late` is the report grace rule, task
  and work-order actual times enclose their reports, done tasks and accepted work orders have
  their finish, an accepted work order has its acceptance sign-off;
- an inspection's passed + failed is its lot; each failure has a nonconformance whose rework
  task made the units good again and whose re-inspection passed them;
- alerts are raised <= acknowledged <= resolved, their status says how far they got; only
  equipment that is down has an open stop;
- the KPI daily rollup is made at the end (as beat would), so the KPI pages are current.

Not written: audit entries, outbox events, activity rows of finished tasks and archived
records (checksums are made only by the acceptance service). Everything is deterministic.
It is meant for a database of its own (a benchmark's, a trial's): it is written once, and a
run that was interrupted leaves the chunks it committed (start again on a fresh database).
"""

import datetime
import time
from dataclasses import dataclass, fields, replace
from decimal import Decimal

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import F
from django.utils import timezone

SITE = "B"  # codes of the scale plant all start with B, apart from the demo plant's


@dataclass(frozen=True)
class ScaleSize:
    work_centers: int = 500
    equipment: int = 1000
    operators: int = 200
    items: int = 200
    history_orders: int = 20_000  # completed, 3 work orders × 4 steps each, over a year
    open_orders: int = 2_000      # open, 5 work orders × 5 steps each
    stops: int = 20_000
    alerts: int = 15_000
    chunk: int = 1_000            # orders per transaction

    def scaled(self, factor: float) -> "ScaleSize":
        """Every count times `factor` (at least the few rows the shape needs)."""
        minimum = {"work_centers": 10, "equipment": 20, "operators": 5, "items": 5}
        return replace(self, **{f.name: max(minimum.get(f.name, 1),
                                            round(getattr(self, f.name) * factor))
                                for f in fields(self) if f.name != "chunk"})


def _master(size: ScaleSize) -> dict:
    from django.contrib.auth.models import Group

    from alerts.models import AlertRule
    from mes.demo import demo_password_hash
    from mes.models import User
    from mes.roles import OPERATOR, WORKSHOP_LEAD, sync_role_groups
    from planning.models import (
        Equipment,
        Item,
        Line,
        Shift,
        ShiftCalendar,
        Site,
        WorkCenter,
        Workshop,
    )
    from quality.models import DefectCode

    sync_role_groups()
    site = Site.objects.create(code=SITE, name="基准工厂", name_en="Scale plant")
    n_lines = max(1, size.work_centers // 10)
    shops = Workshop.objects.bulk_create([
        Workshop(site=site, code=f"BW{i}", name=f"车间{i}", name_en=f"Workshop {i}")
        for i in range(max(1, n_lines // 10))])
    lines = Line.objects.bulk_create([
        Line(workshop=shops[i % len(shops)], code=f"BL{i:02d}", name=f"产线{i}",
             name_en=f"Line {i}") for i in range(n_lines)])
    day, two = (ShiftCalendar.objects.create(code=c, name=c) for c in ("B-DAY", "B-2SHIFT"))
    Shift.objects.bulk_create(
        [Shift(calendar=day, name="白班", weekday=d, start=datetime.time(8),
               end=datetime.time(17), breaks=[["12:00", "13:00"]]) for d in range(5)]
        + [Shift(calendar=two, name=n, weekday=d, start=datetime.time(s), end=datetime.time(e))
           for d in range(6) for n, s, e in (("早班", 6, 14), ("中班", 14, 22))])
    hashed = demo_password_hash()
    lead = User.objects.create(username="blead", display_name="基准车间主管", badge_code="BB-LEAD",
                               password=hashed)
    lead.groups.add(Group.objects.get(name=WORKSHOP_LEAD))
    wcs = WorkCenter.objects.bulk_create([
        WorkCenter(line=lines[i * n_lines // size.work_centers], code=f"BWC{i:03d}",
                   name=f"工作中心{i}", name_en=f"Work center {i}", machines=1 + i % 2,
                   calendar=(None, day, two)[i % 3], lead=lead)
        for i in range(size.work_centers)])
    eqs = Equipment.objects.bulk_create([
        Equipment(work_center=wcs[i * size.work_centers // size.equipment], code=f"BEQ{i:04d}",
                  name=f"设备{i}") for i in range(size.equipment)])
    ops = User.objects.bulk_create([
        User(username=f"bop{i}", display_name=f"操作工{i}", badge_code=f"BB{i:04d}",
             password=hashed) for i in range(size.operators)])
    Group.objects.get(name=OPERATOR).user_set.add(*ops)
    # Operator i works at every work center w with w % operators == i (and reports only there).
    through = WorkCenter.operators.through
    through.objects.bulk_create([through(workcenter_id=wc.pk, user_id=ops[w % len(ops)].pk)
                                 for w, wc in enumerate(wcs)])
    items = Item.objects.bulk_create([Item(code=f"BI{i:03d}", name=f"产品{i}",
                                           name_en=f"Product {i}") for i in range(size.items)])
    defects = DefectCode.objects.bulk_create([DefectCode(code=f"BD{i}", name=f"缺陷{i}")
                                              for i in range(10)])
    rules = AlertRule.objects.bulk_create([
        AlertRule(code=f"BR{s}", name=s, kind="downtime", severity=s, minutes=10)
        for s in ("critical", "warning", "info")])
    return {"wcs": wcs, "eqs": eqs, "ops": ops, "items": items, "defects": defects,
            "rules": rules, "lead": lead}


class _Plant:
    """Who works where: a task's work center, and the operator who reports there."""

    def __init__(self, master):
        self.wcs = master["wcs"]
        self.ops = master["ops"]
        self.n_wc = len(self.wcs)

    def wc(self, wo_index: int, step: int):
        return self.wcs[(wo_index * 7 + step) % self.n_wc]

    def operator(self, wc_index: int):
        return self.ops[wc_index % len(self.ops)]


_MISSING = object()


def _insert(model, rows: list[dict], batch: int = 5000) -> None:
    """INSERT plain rows (dicts by attribute name) in batches: no model instances, defaults
    filled in from the model, datetimes adapted per column. For the large tables only."""
    if not rows:
        return
    cols = [f for f in model._meta.concrete_fields if not f.primary_key]
    sqlite = connection.vendor == "sqlite"

    def as_dt(value):
        if value is None or not sqlite:
            return value
        return str(value.astimezone(datetime.UTC).replace(tzinfo=None))  # as Django stores it

    convert = [as_dt if isinstance(f, models.DateTimeField) else None for f in cols]
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(f.column) for f in cols)

    def values(row):
        out = []
        for f, conv in zip(cols, convert, strict=True):
            value = row.get(f.attname, _MISSING)
            if value is _MISSING:
                value = f.get_default()
            out.append(conv(value) if conv else value)
        return out

    with connection.cursor() as cur:
        if connection.vendor == "postgresql":  # COPY: an order of magnitude above INSERTs
            with cur.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(values(row))
            return
        sql = (f"INSERT INTO {table} ({names}) "  # noqa: S608 - model metadata
               f"VALUES ({', '.join(['%s'] * len(cols))})")
        for start in range(0, len(rows), batch):
            cur.executemany(sql, [values(row) for row in rows[start:start + batch]])


def _history_chunk(plant, master, first: int, count: int, size: ScaleSize, now) -> None:
    from execution.models import TaskActivity, WorkReport
    from planning.models import ProductionOrder, Task, WorkOrder
    from quality.models import Acceptance, Inspection, Nonconformance

    grace = datetime.timedelta(minutes=settings.MES_REPORT_GRACE_MINUTES)
    year = datetime.timedelta(days=365)
    hour = datetime.timedelta(hours=1)
    items, defects, lead = master["items"], master["defects"], master["lead"]
    ten = Decimal(10)
    orders = []
    for g in range(first, first + count):
        done = now - (g + 1) * year / size.history_orders
        start = done - datetime.timedelta(days=5)
        orders.append(ProductionOrder(
            number=f"H{g:06d}", item=items[g % len(items)], quantity=ten,
            due=done + ((g * 37 % 100) - 4) * hour, priority=1 + g % 3,
            customer=f"C{g % 50}", status="completed", exploded_at=start,
            release_date=start))
    ProductionOrder.objects.bulk_create(orders)
    # auto_now_add stamped them now: they were created when they were exploded
    ProductionOrder.objects.filter(pk__in=[o.pk for o in orders]).update(
        created_at=F("exploded_at"))
    wos = []
    for po in orders:
        for k in range(3):  # the top work order and two children, made a day before it
            end = po.exploded_at + datetime.timedelta(days=5 - min(k, 1))
            wos.append(WorkOrder(
                number=f"{po.number}-{k}", production_order=po, level=min(k, 1),
                item=po.item, quantity=ten, status="accepted",
                due=po.due - min(k, 1) * datetime.timedelta(days=1), priority=po.priority,
                actual_start=end - 16 * hour, actual_end=end, released_at=po.exploded_at,
                planned_start=end - 17 * hour, planned_end=end - hour,
                qr_token=f"Q{po.number}-{k}"))
    WorkOrder.objects.bulk_create(wos[0::3])  # the top ones first: the children need their ids
    for i in range(0, len(wos), 3):
        for child in wos[i + 1:i + 3]:
            child.parent = wos[i]
    WorkOrder.objects.bulk_create([w for i, w in enumerate(wos) if i % 3])
    tasks = []
    for w_i, wo in enumerate(wos):
        wo_index = first * 3 + w_i
        scrap_last = 1 if wo_index % 50 == 0 else 0
        for s in range(1, 5):
            wc = plant.wc(wo_index, s)
            begin = wo.actual_end - (5 - s) * 4 * hour
            good = ten - (scrap_last if s == 4 else 0)
            tasks.append({
                "work_order_id": wo.pk, "seq": s * 10, "name": f"工序{s}", "kind": "normal",
                "work_center_id": wc.pk, "setup_minutes": Decimal(15),
                "run_minutes_per_unit": Decimal("0.5") * (1 + s % 3),
                "is_qc_checkpoint": s == 2, "quantity": ten, "qty_good": good,
                "qty_scrap": ten - good, "status": "done", "planned_start": begin,
                "planned_end": begin + 4 * hour, "actual_start": begin,
                "actual_end": begin + 4 * hour, "qr_token": f"T{wo.number}-{s}",
                "wc_index": (wo_index * 7 + s) % plant.n_wc})
    _insert(Task, tasks)
    ids = {(wo, seq): pk for pk, wo, seq in Task.objects.filter(
        work_order_id__in=[w.pk for w in wos]).values_list("pk", "work_order_id", "seq")}
    reports = []
    for task in tasks:
        task["id"] = ids[task["work_order_id"], task["seq"]]
        op = plant.operator(task["wc_index"]).pk
        left_good, left_scrap = task["qty_good"], task["qty_scrap"]
        for r in range(1, 5):  # four reports of 55 minutes: 3 + 3 + 2 + 2 (scrap in the last)
            good = min(left_good, Decimal(3 if r <= 2 else 2)) if r < 4 else left_good
            scrap = left_scrap if r == 4 else Decimal(0)
            left_good -= good
            w_start = task["actual_start"] + (r - 1) * datetime.timedelta(minutes=55)
            w_end = w_start + datetime.timedelta(minutes=55)
            tardy = (task["id"] * 13 + r * 7) % 100 >= 96
            reported = w_end + (datetime.timedelta(minutes=45) if tardy
                                else datetime.timedelta(minutes=(task["id"] + r) % 25))
            if good or scrap:
                reports.append({
                    "task_id": task["id"], "operator_id": op,
                    "work_center_id": task["work_center_id"], "good": good, "scrap": scrap,
                    "work_start": w_start, "work_end": w_end, "reported_at": reported,
                    "late": reported - w_end > grace,
                    "client_token": f"R{task['qr_token']}-{r}"})
    _insert(WorkReport, reports)
    # Each step started and completed at its station (OEE's run time comes from these).
    _insert(TaskActivity, [{
        "task_id": task["id"], "operator_id": plant.operator(task["wc_index"]).pk,
        "work_center_id": task["work_center_id"], "kind": kind, "at": task[field],
        "client_token": f"A{task['qr_token']}-{kind}"}
        for task in tasks for kind, field in (("start", "actual_start"),
                                              ("complete", "actual_end"))])
    # QC at step 20: one in 25 lots has a unit out of tolerance; it is reworked and passes.
    passing, failing = [], []
    for task in tasks:
        if task["seq"] != 20:
            continue
        failed = Decimal(1) if task["id"] % 25 == 0 else Decimal(0)
        row = {"task_id": task["id"], "work_order_id": task["work_order_id"],
               "origin_task_id": task["id"], "loop": 0, "quantity": task["qty_good"],
               "sample_size": task["qty_good"], "qty_passed": task["qty_good"] - failed,
               "qty_failed": failed, "status": "failed" if failed else "passed",
               "created_at": task["actual_end"], "inspected_at": task["actual_end"],
               "inspector_id": lead.pk}
        if failed:
            failing.append(Inspection(**row))
        else:
            passing.append(row)
    _insert(Inspection, passing)
    Inspection.objects.bulk_create(failing)
    by_id = {t["id"]: t for t in tasks}
    rework = [Task(work_order_id=i.work_order_id, seq=25, name="返工", kind="rework",
                   origin_id=i.task_id, work_center_id=by_id[i.task_id]["work_center_id"],
                   quantity=i.qty_failed, qty_good=i.qty_failed, status="done",
                   actual_start=i.inspected_at, actual_end=i.inspected_at + hour,
                   qr_token=f"RW{by_id[i.task_id]['qr_token']}") for i in failing]
    Task.objects.bulk_create(rework)
    wc_index = {wc.pk: n for n, wc in enumerate(plant.wcs)}
    WorkReport.objects.bulk_create([WorkReport(
        task=t, operator=plant.operator(wc_index[t.work_center_id]),
        work_center_id=t.work_center_id, good=t.qty_good, work_start=t.actual_start,
        work_end=t.actual_end, reported_at=t.actual_end, client_token=f"R{t.qr_token}")
        for t in rework])
    Nonconformance.objects.bulk_create([Nonconformance(
        number=f"BNC{i.pk}", inspection=i, work_order_id=i.work_order_id,
        responsible_task_id=i.task_id, defect_code=defects[i.pk % len(defects)],
        quantity=i.qty_failed, disposition="rework", status="closed", rework_task=t,
        created_at=i.inspected_at, created_by=lead, dispositioned_by=lead,
        closed_at=t.actual_end + hour) for i, t in zip(failing, rework, strict=True)])
    Inspection.objects.bulk_create([Inspection(
        task=t, work_order_id=t.work_order_id, origin_task_id=i.task_id, loop=1,
        quantity=t.qty_good, sample_size=t.qty_good, qty_passed=t.qty_good, status="passed",
        created_at=t.actual_end, inspected_at=t.actual_end + hour, inspector=lead)
        for i, t in zip(failing, rework, strict=True)])
    _insert(Acceptance, [{"work_order_id": wo.pk, "verdict": "accepted", "by_id": lead.pk,
                          "at": wo.actual_end + hour, "reason": "验收合格"} for wo in wos])


def _open_chunk(plant, master, first: int, count: int, now) -> int:
    from execution.models import TaskActivity, WorkReport
    from planning.models import ProductionOrder, Task, WorkOrder

    hour = datetime.timedelta(hours=1)
    items = master["items"]
    ten = Decimal(10)
    orders = [ProductionOrder(
        number=f"O{g:06d}", item=items[g % len(items)], quantity=ten,
        due=now + ((g % 20) - 3) * datetime.timedelta(days=1), priority=1 + g % 3,
        customer=f"C{g % 50}", status="released", exploded_at=now - 72 * hour)
        for g in range(first, first + count)]
    ProductionOrder.objects.bulk_create(orders)
    ProductionOrder.objects.filter(pk__in=[o.pk for o in orders]).update(
        created_at=F("exploded_at"))
    wos = []
    for o_i, po in enumerate(orders):
        for k in range(5):  # a tree: 0 ← 1, 2; 1 ← 3, 4
            wo_index = (first + o_i) * 5 + k
            base = now - 24 * hour + (wo_index % 72) * hour
            runs = wo_index % 20 == 0  # its first step is running
            wos.append(WorkOrder(
                number=f"{po.number}-{k}", production_order=po, level=(k + 1) // 2,
                item=po.item, quantity=ten, due=po.due, priority=po.priority,
                status="in_progress" if runs else "released",
                actual_start=now - 2 * hour if runs else None,
                line_id=plant.wc(wo_index, 1).line_id, planned_start=base + 2 * hour,
                planned_end=base + 12 * hour, released_at=po.exploded_at,
                qr_token=f"Q{po.number}-{k}"))
    for i, wo in enumerate(wos):
        if wo.level:
            wo.parent = wos[i - i % 5 + (0 if i % 5 <= 2 else 1)]
    for depth in (0, 1, 2):  # parents first: the children need their ids
        WorkOrder.objects.bulk_create([w for w in wos if w.level == depth])
    tasks, running = [], []
    for w_i, wo in enumerate(wos):
        wo_index = first * 5 + w_i
        runs = wo.status == "in_progress"
        base = wo.planned_start - 2 * hour
        for s in range(1, 6):
            start = base + s * 2 * hour
            first_running = runs and s == 1
            tasks.append({
                "work_order_id": wo.pk, "seq": s * 10, "name": f"工序{s}", "kind": "normal",
                "work_center_id": plant.wc(wo_index, s).pk, "setup_minutes": Decimal(15),
                "run_minutes_per_unit": Decimal(1), "quantity": ten,
                "qty_good": Decimal(4) if first_running else Decimal(0),
                "status": ("in_progress" if runs else "released") if s == 1 else "planned",
                "planned_start": start, "planned_end": start + 2 * hour,
                "actual_start": wo.actual_start if first_running else None,
                "qr_token": f"T{wo.number}-{s}"})
            if first_running:
                running.append((tasks[-1], (wo_index * 7 + s) % plant.n_wc))
    _insert(Task, tasks)
    started = {wo.production_order_id for wo in wos if wo.status == "in_progress"}
    ProductionOrder.objects.filter(pk__in=started).update(status="in_progress")
    ids = dict(Task.objects.filter(qr_token__in=[t["qr_token"] for t, _wc in running])
               .values_list("qr_token", "pk"))
    minutes = datetime.timedelta(minutes=1)
    _insert(WorkReport, [{  # 2 + 2 good of the 4 the running step made so far
        "task_id": ids[t["qr_token"]], "operator_id": plant.operator(wc_i).pk,
        "work_center_id": t["work_center_id"], "good": Decimal(2), "scrap": Decimal(0),
        "work_start": now - (r + 1) * 40 * minutes, "work_end": now - r * 40 * minutes,
        "reported_at": now - r * 40 * minutes + 5 * minutes, "late": False,
        "client_token": f"R{t['qr_token']}-{r}"} for t, wc_i in running for r in (1, 2)])
    _insert(TaskActivity, [{
        "task_id": ids[t["qr_token"]], "operator_id": plant.operator(wc_i).pk,
        "work_center_id": t["work_center_id"], "kind": "start", "at": t["actual_start"],
        "client_token": f"A{t['qr_token']}"} for t, wc_i in running])
    return len(wos)


def _stops_and_alerts(master, size: ScaleSize, now) -> None:
    from django.contrib.contenttypes.models import ContentType

    from alerts.models import Alert
    from execution.models import DowntimeEvent, EquipmentState
    from planning.models import WorkCenter

    eqs, wcs, rules, lead = master["eqs"], master["wcs"], master["rules"], master["lead"]
    year = datetime.timedelta(days=365)
    minute = datetime.timedelta(minutes=1)
    DowntimeEvent.objects.bulk_create([DowntimeEvent(
        equipment=eqs[g % len(eqs)], start=now - g * year / size.stops - 5 * 60 * minute,
        end=now - g * year / size.stops - 5 * 60 * minute + ((g * 17) % 240 + 10) * minute,
        planned=g % 5 == 0) for g in range(1, size.stops + 1)], batch_size=5000)
    down = eqs[:min(20, len(eqs))]  # stopped now: an open stop and the state that says so
    DowntimeEvent.objects.bulk_create([DowntimeEvent(equipment=e, start=now - 70 * minute)
                                       for e in down])
    down_ids = {e.pk for e in down}
    EquipmentState.objects.bulk_create([EquipmentState(
        equipment=e, state="down" if e.pk in down_ids else ("running", "running", "running",
                                                            "idle")[i % 4])
        for i, e in enumerate(eqs)], batch_size=5000)
    ct = ContentType.objects.get_for_model(WorkCenter)
    alerts = []
    for g in range(1, size.alerts + 1):
        rule, wc = rules[g % len(rules)], wcs[g % len(wcs)]
        raised = now - g * year / size.alerts
        recent = now - raised < datetime.timedelta(days=1)
        ack = None if recent and g % 10 == 0 else raised + ((g * 7) % 600 + 1) * minute
        res = ack + 60 * minute if ack and not (recent and g % 5 == 0) else None
        if res and res > now or ack and ack > now:
            ack, res = None, None
        alerts.append(Alert(
            rule=rule, kind="downtime", severity=rule.severity,
            status="resolved" if res else "acknowledged" if ack else "open", content_type=ct,
            object_id=wc.pk, subject_repr=wc.code, message="停机", raised_at=raised,
            acknowledged_at=ack, acknowledged_by=lead if ack else None, resolved_at=res,
            resolved_by=lead if res else None, cause="原因" if res else "",
            action="措施" if res else "", work_center=wc, line_id=wc.line_id,
            workshop_id=wc.line.workshop_id))
    Alert.objects.bulk_create(alerts, batch_size=5000)


def scale_build(size: ScaleSize | None = None, *, now=None, progress=None) -> dict:
    """Write the large data set (once: refuses when it is there). Returns what was written."""
    from django.core.exceptions import ValidationError

    from dashboards.services import report_days_roll_up
    from execution.models import WorkReport
    from planning.models import Site, Task, WorkOrder

    size = size or ScaleSize()
    started = time.monotonic()
    now = (now or timezone.now()).replace(microsecond=0)
    say = progress or (lambda _msg: None)
    if Site.objects.filter(code=SITE).exists():
        raise ValidationError("The scale data set is already in this database.")
    with transaction.atomic():
        master = _master(size)
    plant = _Plant(master)
    for first in range(0, size.history_orders, size.chunk):
        with transaction.atomic():
            _history_chunk(plant, master, first, min(size.chunk, size.history_orders - first),
                           size, now)
        say(f"history: {min(first + size.chunk, size.history_orders):,} of "
            f"{size.history_orders:,} orders")
    open_wos = 0
    for first in range(0, size.open_orders, size.chunk):
        with transaction.atomic():
            open_wos += _open_chunk(plant, master, first,
                                    min(size.chunk, size.open_orders - first), now)
    say(f"open work: {open_wos:,} work orders")
    with transaction.atomic():
        _stops_and_alerts(master, size, now)
    with connection.cursor() as cur:
        # Fresh planner statistics for the pages that read all this; on PostgreSQL the tables
        # just filled are vacuumed too, as autovacuum would do once (a year written in a
        # minute would otherwise be vacuumed while the pages are measured).
        # (VACUUM cannot run in a transaction: inside one, as in the tests, only analyze.)
        vacuum = connection.vendor == "postgresql" and not connection.in_atomic_block
        cur.execute("VACUUM ANALYZE" if vacuum else "ANALYZE")
    built = time.monotonic() - started
    say("stops and alerts written; rolling up the report days (what beat does every hour)")
    report_days_roll_up()
    return {"open work orders": WorkOrder.objects.filter(
                status__in=WorkOrder.OPEN_STATUSES).count(),
            "tasks": Task.objects.count(), "work reports": WorkReport.objects.count(),
            "build_s": round(built, 1), "rollup_s": round(time.monotonic() - started - built, 1)}
