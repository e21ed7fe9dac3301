"""Alert sweep over 100,000 open tasks on PostgreSQL: time and query count.

Builds (with bulk_create) a plant of 30 work centers and 12,500 released work orders × 8
tasks, with running tasks behind plan, late starts, overdue reports, inspections, stops and
nonconformances; one rule per swept kind, each with a two-level chain. Then, on 10,000 tasks
and again on 100,000: the first sweep (raising and notifying in bulk), the steady-state sweep
(what beat runs every 30 s), and the sweep that escalates everything an hour later. The query
counts must not depend on the number of tasks.

    python -m tests.benchmarks alert_sweep
"""

import datetime
import random
import time
from decimal import Decimal

from tests.benchmarks.django_bench import median, setup_django

TASKS_PER_ORDER = 8
BAR_SECONDS = 2.0


def _build(start_index: int, n_orders: int, ctx: dict) -> None:
    """n_orders work orders × 8 one-hour tasks, inserted in bulk, relative to ctx["now"].

    Most work is planned in the coming days (nothing wrong). One order in ten is running on
    plan; one in fifty is in trouble: its first step runs behind, unreported for two hours,
    and the next steps have not started although they should have. Due times sit 2 h before
    to 5 days after the planned end. Inspections and nonconformances on the running steps."""
    from execution.models import WorkReport
    from planning.models import Task, WorkOrder
    from quality.models import Inspection, Nonconformance

    rng, now, wcs = ctx["rng"], ctx["now"], ctx["wcs"]
    m = datetime.timedelta(minutes=1)
    plans, orders = [], []
    for i in range(start_index, start_index + n_orders):
        troubled, running = i % 50 == 0, i % 10 == 1
        if troubled:
            base = now - rng.randint(180, 300) * m
        elif running:
            base = now - rng.randint(10, 50) * m
        else:
            base = now + rng.randint(60, 10 * 24 * 60) * m
        end = base + TASKS_PER_ORDER * 60 * m
        plans.append((base, troubled, running))
        orders.append(WorkOrder(number=f"BW-{i:06d}", production_order=ctx["po"],
                                item=ctx["item"], quantity=Decimal(20),
                                status="in_progress" if troubled or running else "released",
                                due=end + rng.randint(-120, 5 * 24 * 60) * m,
                                responsible=ctx["planner"], line=wcs[i % len(wcs)].line))
    WorkOrder.objects.bulk_create(orders, batch_size=5000)
    tasks, first_steps = [], []
    for wo, (base, troubled, running) in zip(orders, plans, strict=True):
        for seq in range(1, TASKS_PER_ORDER + 1):
            start, end = base + (seq - 1) * 60 * m, base + seq * 60 * m
            active = seq == 1 and (troubled or running)
            elapsed = max(0.0, min(1.0, (now - start) / (end - start)))
            good = Decimal(1) if troubled else Decimal(int(20 * elapsed)) if active else 0
            task = Task(work_order=wo, seq=seq * 10, name=f"工序{seq}",
                        work_center=wcs[(wo.pk + seq) % len(wcs)],
                        setup_minutes=Decimal(10), run_minutes_per_unit=Decimal("1.5"),
                        quantity=Decimal(20), qty_good=good,
                        status="in_progress" if active else "released",
                        planned_start=start, planned_end=end,
                        actual_start=start if active else None)
            tasks.append(task)
            if active:
                first_steps.append((task, troubled))
    Task.objects.bulk_create(tasks, batch_size=5000)
    WorkReport.objects.bulk_create([
        WorkReport(task=t, operator=ctx["operator"], work_center=t.work_center, good=Decimal(1),
                   work_start=now - (125 if troubled else 10) * m,
                   work_end=now - (120 if troubled else 5) * m,
                   reported_at=now - (120 if troubled else 5) * m, client_token=f"bench-{t.pk}")
        for t, troubled in first_steps], batch_size=5000)
    inspections = []
    for t, _troubled in first_steps[::2]:
        failed = Decimal(rng.choice([0, 0, 0, 0, 0, 0, 0, 1, 2, 5]))
        inspections.append(Inspection(
            task=t, work_order=t.work_order, origin_task=t, quantity=Decimal(20),
            sample_size=Decimal(20), qty_passed=Decimal(20) - failed, qty_failed=failed,
            status="failed" if failed else "passed", inspected_at=now - rng.randint(1, 600) * m))
    Inspection.objects.bulk_create(inspections, batch_size=5000)
    failed = [i for i in inspections if i.status == "failed"]
    Nonconformance.objects.bulk_create([
        Nonconformance(number=f"BNC-{start_index}-{n}", inspection=insp,
                       work_order=insp.work_order, responsible_task=insp.origin_task,
                       defect_code=ctx["defect"], quantity=insp.qty_failed, loop=2)
        for n, insp in enumerate(failed[::5])], batch_size=5000)


def _plant() -> dict:
    from django.contrib.auth.models import Group
    from django.utils import timezone

    from execution.models import DowntimeEvent
    from mes.models import User
    from mes.roles import sync_role_groups
    from planning.models import Equipment, Item, Line, ProductionOrder, Site, WorkCenter, Workshop
    from quality.models import DefectCode

    sync_role_groups()
    now = timezone.now()
    site = Site.objects.create(code="BS", name="基准工厂")
    leads = User.objects.bulk_create([User(username=f"bench-lead-{i}") for i in range(30)])
    Group.objects.get(name="workshop_lead").user_set.add(*leads)
    manager = User.objects.create(username="bench-manager")
    Group.objects.get(name="manager").user_set.add(manager)
    wcs = []
    for w in range(2):
        shop = Workshop.objects.create(site=site, code=f"BWS{w}", name=f"车间{w}")
        for li in range(3):
            line = Line.objects.create(workshop=shop, code=f"BL{w}{li}", name=f"产线{w}{li}")
            for c in range(5):
                wcs.append(WorkCenter.objects.create(
                    line=line, code=f"BWC{w}{li}{c}", name=f"工作中心{w}{li}{c}",
                    lead=leads[len(wcs)]))
    machines = Equipment.objects.bulk_create([
        Equipment(code=f"BEQ{i}", name=f"设备{i}", work_center=wc) for i, wc in enumerate(wcs)])
    DowntimeEvent.objects.bulk_create([
        DowntimeEvent(equipment=eq, start=now - datetime.timedelta(minutes=20 + i * 7),
                      planned=False) for i, eq in enumerate(machines[:6])])
    item = Item.objects.create(code="B-ITEM", name="基准产品", kind="make")
    po = ProductionOrder.objects.create(number="B-PO", item=item, quantity=Decimal(1),
                                        due=now + datetime.timedelta(days=10),
                                        status="in_progress")
    return {"rng": random.Random(7), "now": now, "wcs": wcs, "item": item, "po": po,
            "planner": User.objects.create(username="bench-planner"),
            "operator": User.objects.create(username="bench-operator"),
            "defect": DefectCode.objects.create(code="BD1", name="缺陷")}


def _rules() -> None:
    from alerts.kinds import Channel, Kind
    from alerts.services.config import alert_rule_save

    chain = [{"after_minutes": 0, "notify_responsible": True, "channels": [Channel.IN_APP]},
             {"after_minutes": 60, "roles": ["manager"], "channels": [Channel.IN_APP]}]
    for kind, thresholds in [
        (Kind.SCHEDULE_LAG, {"minutes": 30}), (Kind.PROGRESS_LAG, {"percent": Decimal(30)}),
        (Kind.DUE_DATE_RISK, {}), (Kind.OVERDUE_REPORT, {"minutes": 30}),
        (Kind.INSPECTION_FAILED, {}),
        (Kind.DEFECT_RATE, {"percent": Decimal(5), "window_hours": Decimal(8)}),
        (Kind.REWORK_LOOPS, {}), (Kind.DOWNTIME, {"minutes": 15}),
    ]:
        alert_rule_save(actor=None, rule=None, levels=[dict(lv) for lv in chain],
                        fields={"code": f"B-{kind}", "name": kind, "kind": kind, **thresholds})


def _timed(fn, *, count=False) -> tuple[float, int, object]:
    """(seconds, queries, result) of fn(). Queries are counted in a separate run: the capture
    formats every statement for its log, which would distort the time."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if count:
        with CaptureQueriesContext(connection) as ctx:
            result = fn()
        return 0.0, len(ctx.captured_queries), result
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, 0, result


def _phase(label: str, now) -> dict:
    from alerts.models import Notification
    from alerts.services.escalation import alerts_escalate_due
    from alerts.services.sweep import alerts_sweep
    from planning.models import Task

    def sweep():
        return alerts_sweep(now=now)

    def escalate():
        # an hour later nobody has acknowledged anything: every alert climbs to level 2
        return alerts_escalate_due(now=now + datetime.timedelta(minutes=61))

    _reset()
    first_q = _timed(sweep, count=True)[1]
    firsts = []
    for _ in range(3):
        _reset()
        seconds, _q, first = _timed(sweep)
        firsts.append(seconds)
    # the next sweeps, with nothing new: what beat runs every 30 s on a quiet floor
    steady_s = median([_timed(sweep)[0] for _ in range(5)])
    steady_q = _timed(sweep, count=True)[1]
    esc_q = _timed(escalate, count=True)[1]
    _reset()
    sweep()
    before = Notification.objects.count()
    esc_s, _q, escalated = _timed(escalate)
    return {"label": label, "tasks": Task.objects.count(), "first_s": median(firsts),
            "first_q": first_q, "raised": first.outcome.raised, "steady_s": steady_s,
            "steady_q": steady_q, "esc_s": esc_s, "esc_q": esc_q, "escalated": escalated,
            "notified": Notification.objects.count() - before}


def _reset() -> None:
    from alerts.models import Alert, Notification
    from mes.models import AuditEntry, Event

    Notification.objects.all().delete()
    Alert.objects.all().delete()
    Event.objects.all().delete()
    AuditEntry.objects.filter(content_type__app_label="alerts").delete()


def run() -> list[dict]:
    setup_django()
    from django.db import connection
    from django.test.utils import override_settings
    from django.urls import reverse

    reverse("alerts:alert_list")  # load the URL configuration once, as a worker has
    # Notifications in the app only; nothing is enqueued (no worker in a benchmark).
    ctx = _plant()
    _rules()
    phases = []
    with override_settings(DEBUG=False):
        n_small = 10_000 // TASKS_PER_ORDER
        _build(0, n_small, ctx)
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
        phases.append(_phase("10,000 tasks", ctx["now"]))
        _build(n_small, 100_000 // TASKS_PER_ORDER - n_small, ctx)
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
        phases.append(_phase("100,000 tasks", ctx["now"]))
    small, big = phases
    fixed = big["steady_q"] <= small["steady_q"] and big["first_q"] <= small["first_q"]
    notes = "; ".join(
        f"{p['label']}: first sweep {p['first_s']:.2f} s / {p['first_q']} queries raising "
        f"{p['raised']:,} alerts (median of 3), steady {p['steady_s']:.2f} s / "
        f"{p['steady_q']} queries (median of 5), escalating {p['escalated']:,} alerts an hour "
        f"later {p['esc_s']:.2f} s / {p['esc_q']} queries ({p['notified']:,} notifications)"
        for p in phases)
    return [
        {"benchmark": f"Alert sweep, 8 rules over {big['tasks']:,} open tasks (steady state)",
         "figure": f"{big['steady_s']:.2f} s, {big['steady_q']} queries "
                   f"({small['steady_q']} at 10,000 tasks)",
         "bar": "≤ 2 s, a fixed number of queries", "baseline": "",
         "meets": big["steady_s"] <= BAR_SECONDS and fixed, "notes": notes},
        {"benchmark": f"Alert sweep raising {big['raised']:,} new alerts over "
                      f"{big['tasks']:,} open tasks (first sweep, notifications included)",
         "figure": f"{big['first_s']:.2f} s, {big['first_q']} queries "
                   f"({small['first_q']} at 10,000 tasks)",
         "bar": "≤ 2 s, a fixed number of queries", "baseline": "",
         "meets": big["first_s"] <= BAR_SECONDS and fixed},
        {"benchmark": f"Escalating {big['escalated']:,} unacknowledged alerts one level",
         "figure": f"{big['esc_s']:.2f} s, {big['esc_q']} queries "
                   f"({small['esc_q']} for {small['escalated']:,} alerts)",
         "bar": "a fixed number of queries", "baseline": "",
         "meets": big["esc_q"] <= small["esc_q"]},
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
