"""Board, order progress and KPI pages on a big plant (PostgreSQL).

10,000 open work orders (50,000 open tasks) on 500 work centers, plus a year of history:
60,000 completed work orders, 240,000 tasks, 960,000 work reports, 60,000 inspections,
20,000 stops and 15,000 alerts, written with INSERT … SELECT generate_series. Each page is
requested through the Django test client in this process: one warm-up, then the median of
RUNS requests, with its query count.
"""

import statistics
import time

from tests.benchmarks.django_bench import setup_django

RUNS = 5
N_WC, N_EQ, N_USERS, N_ITEMS = 500, 1000, 200, 200
HIST_ORDERS, OPEN_ORDERS = 20_000, 2_000  # × 3 and × 5 work orders
N_STOPS, N_ALERTS = 20_000, 15_000
BAR_MS = 300


def _master():
    from django.contrib.contenttypes.models import ContentType

    from alerts.models import AlertRule
    from execution.models import EquipmentState
    from mes.models import User
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

    site = Site.objects.create(code="B", name="基准工厂")
    shops = Workshop.objects.bulk_create([Workshop(site=site, code=f"BW{i}", name=f"车间{i}")
                                          for i in range(5)])
    lines = Line.objects.bulk_create([Line(workshop=shops[i // 10], code=f"BL{i:02d}",
                                           name=f"产线{i}") for i in range(50)])
    day, two = (ShiftCalendar.objects.create(code=c, name=c) for c in ("B-DAY", "B-2SHIFT"))
    import datetime as dt

    Shift.objects.bulk_create(
        [Shift(calendar=day, name="白班", weekday=d, start=dt.time(8), end=dt.time(17),
               breaks=[["12:00", "13:00"]]) for d in range(5)]
        + [Shift(calendar=two, name=n, weekday=d, start=dt.time(s), end=dt.time(e))
           for d in range(6) for n, s, e in (("早班", 6, 14), ("中班", 14, 22))])
    wcs = WorkCenter.objects.bulk_create([
        WorkCenter(line=lines[i // 10], code=f"BWC{i:03d}", name=f"工作中心{i}",
                   machines=1 + i % 2, calendar=(None, day, two)[i % 3]) for i in range(N_WC)])
    eqs = Equipment.objects.bulk_create([
        Equipment(work_center=wcs[i // 2], code=f"BEQ{i:04d}", name=f"设备{i}")
        for i in range(N_EQ)])
    states = ["running"] * 12 + ["idle"] * 4 + ["setup"] * 2 + ["down", "maintenance"]
    EquipmentState.objects.bulk_create([EquipmentState(equipment=e, state=states[i % 20])
                                        for i, e in enumerate(eqs)])
    User.objects.bulk_create([User(username=f"bop{i}", display_name=f"操作工{i}",
                                   badge_code=f"BB{i:04d}") for i in range(N_USERS)])
    Item.objects.bulk_create([Item(code=f"BI{i:03d}", name=f"产品{i}") for i in range(N_ITEMS)])
    DefectCode.objects.bulk_create([DefectCode(code=f"BD{i}", name=f"缺陷{i}")
                                    for i in range(10)])
    AlertRule.objects.bulk_create([AlertRule(code=f"BR{s}", name=s, kind="downtime",
                                             severity=s, minutes=10)
                                   for s in ("critical", "warning", "info")])
    return ContentType.objects.get_for_model(WorkCenter).pk


LOOKUPS = """
CREATE TEMP TABLE b_wc AS SELECT (row_number() OVER (ORDER BY w.id)) - 1 AS idx, w.id,
  w.line_id, l.workshop_id FROM planning_workcenter w JOIN planning_line l ON l.id = w.line_id
  WHERE w.code LIKE 'BWC%%';
CREATE TEMP TABLE b_eq AS SELECT (row_number() OVER (ORDER BY id)) - 1 AS idx, id
  FROM planning_equipment WHERE code LIKE 'BEQ%%';
CREATE TEMP TABLE b_user AS SELECT (row_number() OVER (ORDER BY id)) - 1 AS idx, id
  FROM mes_user WHERE username LIKE 'bop%%';
CREATE TEMP TABLE b_item AS SELECT (row_number() OVER (ORDER BY id)) - 1 AS idx, id
  FROM planning_item WHERE code LIKE 'BI%%';
CREATE TEMP TABLE b_defect AS SELECT (row_number() OVER (ORDER BY id)) - 1 AS idx, id
  FROM quality_defectcode WHERE code LIKE 'BD%%';
CREATE TEMP TABLE b_rule AS SELECT (row_number() OVER (ORDER BY id)) - 1 AS idx, id, severity
  FROM alerts_alertrule WHERE code LIKE 'BR%%';
"""

# History: completion spread evenly over the past year; ~4 % late, ~4 % of reports late.
HISTORY = """
INSERT INTO planning_productionorder (number, quantity, due, priority, customer,
  sales_order_ref, notes, status, created_at, exploded_at, item_id)
SELECT 'H' || g, 10, c.done + ((g * 37 %% 100) - 4) * interval '1 hour', 1 + g %% 3,
  'C' || (g %% 50), '', '', 'completed', c.done - interval '5 days', c.done - interval '5 days',
  (SELECT id FROM b_item WHERE idx = g %% {items})
FROM generate_series(1, {orders}) g,
  LATERAL (SELECT %(now)s - (g * interval '365 days' / {orders}) AS done) c;
INSERT INTO planning_workorder (number, level, quantity, status, held_from, due, priority,
  actual_start, actual_end, released_at, qr_token, item_id, production_order_id)
SELECT po.number || '-' || k, LEAST(k, 1), 10, 'accepted', '', po.due - LEAST(k, 1) * interval
  '1 day', po.priority, po.exploded_at + interval '1 day' * (2 - LEAST(k, 1)),
  po.exploded_at + interval '1 day' * (5 - LEAST(k, 1)), po.exploded_at,
  'Q' || po.id || '-' || k, po.item_id, po.id
FROM planning_productionorder po, generate_series(0, 2) k WHERE po.number LIKE 'H%%';
INSERT INTO planning_task (seq, name, kind, setup_minutes, run_minutes_per_unit,
  is_qc_checkpoint, inspection_plan_code, wait_for_qc, quantity, qty_good, qty_scrap,
  qty_rework, qty_qc_accepted, status, held_from, planned_start, planned_end, actual_start,
  actual_end, qr_token, work_center_id, work_order_id)
SELECT s * 10, '工序' || s, 'normal', 15, 0.5 + (s %% 3) * 0.5, s = 2, '', false, 10, 10, 0,
  0, 0, 'done', '', wo.actual_end - (5 - s) * interval '4 hours',
  wo.actual_end - (4 - s) * interval '4 hours', wo.actual_end - (5 - s) * interval '4 hours',
  wo.actual_end - (4 - s) * interval '4 hours', 'T' || wo.id || '-' || s,
  (SELECT id FROM b_wc WHERE idx = (wo.id * 7 + s) %% {wcs}), wo.id
FROM planning_workorder wo, generate_series(1, 4) s WHERE wo.number LIKE 'H%%';
INSERT INTO planning_task (seq, name, kind, setup_minutes, run_minutes_per_unit,
  is_qc_checkpoint, inspection_plan_code, wait_for_qc, quantity, qty_good, qty_scrap,
  qty_rework, qty_qc_accepted, status, held_from, actual_start, actual_end, qr_token,
  work_center_id, work_order_id, origin_id)
SELECT 25, '返工', 'rework', 0, 1, false, '', false, 2, 2, 0, 0, 0, 'done', '', t.actual_end,
  t.actual_end + interval '1 hour', 'RW' || t.id, t.work_center_id, t.work_order_id, t.id
FROM planning_task t JOIN planning_workorder wo ON wo.id = t.work_order_id
WHERE wo.number LIKE 'H%%' AND t.seq = 20 AND wo.id %% 33 = 0;
INSERT INTO execution_workreport (good, scrap, work_start, work_end, reported_at, late,
  client_token, note, operator_id, task_id, work_center_id)
SELECT CASE WHEN r <= 2 THEN 3 ELSE 2 END,
  CASE WHEN (t.id + r) %% 50 = 0 AND r = 4 THEN 1 ELSE 0 END,
  t.actual_start + (r - 1) * interval '55 minutes', t.actual_start + r * interval '55 minutes',
  t.actual_start + r * interval '55 minutes' + CASE WHEN (t.id * 13 + r * 7) %% 100 < 96
    THEN ((t.id + r) %% 25) * interval '1 minute' ELSE interval '45 minutes' END,
  (t.id * 13 + r * 7) %% 100 >= 96, 'R' || t.id || '-' || r, '',
  (SELECT id FROM b_user WHERE idx = (t.id + r) %% {users}), t.id, t.work_center_id
FROM planning_task t JOIN planning_workorder wo ON wo.id = t.work_order_id,
  generate_series(1, 4) r WHERE wo.number LIKE 'H%%' AND t.kind = 'normal';
INSERT INTO quality_inspection (loop, quantity, sample_size, qty_passed, qty_failed, status,
  created_at, inspected_at, notes, origin_task_id, task_id, work_order_id)
SELECT 0, 10, 10, CASE WHEN t.id %% 25 = 0 THEN 8 ELSE 10 END,
  CASE WHEN t.id %% 25 = 0 THEN 2 ELSE 0 END,
  CASE WHEN t.id %% 25 = 0 THEN 'failed' ELSE 'passed' END, t.actual_end, t.actual_end, '',
  t.id, t.id, t.work_order_id
FROM planning_task t JOIN planning_workorder wo ON wo.id = t.work_order_id
WHERE wo.number LIKE 'H%%' AND t.seq = 20 AND t.kind = 'normal';
INSERT INTO quality_nonconformance (number, quantity, description, disposition, status, loop,
  created_at, defect_code_id, inspection_id, responsible_task_id, work_order_id)
SELECT 'BNC' || i.id, i.qty_failed, '', CASE WHEN i.id %% 2 = 0 THEN 'rework' ELSE 'scrap' END,
  'closed', 0, i.inspected_at, (SELECT id FROM b_defect WHERE idx = (i.id * i.id) %% 10),
  i.id, i.origin_task_id, i.work_order_id
FROM quality_inspection i WHERE i.qty_failed > 0;
"""

STOPS_ALERTS = """
INSERT INTO execution_downtimeevent (start, "end", planned, note, equipment_id)
SELECT %(now)s - g * interval '365 days' / {stops} - interval '5 hours',
  %(now)s - g * interval '365 days' / {stops} - interval '5 hours'
    + ((g * 17) %% 240 + 10) * interval '1 minute', g %% 5 = 0, '',
  (SELECT id FROM b_eq WHERE idx = g %% {eqs})
FROM generate_series(1, {stops}) g;
INSERT INTO execution_downtimeevent (start, planned, note, equipment_id)
SELECT %(now)s - interval '70 minutes', false, '', id FROM b_eq WHERE idx < 20;
INSERT INTO alerts_alert (kind, severity, status, object_id, subject_repr, message, data,
  raised_at, acknowledged_at, resolved_at, cause, action, auto_resolved, escalation_level,
  content_type_id, rule_id, work_center_id, line_id, workshop_id)
SELECT 'downtime', r.severity, CASE WHEN res IS NOT NULL THEN 'resolved'
  WHEN ack IS NOT NULL THEN 'acknowledged' ELSE 'open' END, g, 'WC', '停机', '{{}}', raised,
  ack, res, CASE WHEN res IS NULL THEN '' ELSE '原因' END,
  CASE WHEN res IS NULL THEN '' ELSE '措施' END, false, 0, %(ct)s, r.id, w.id, w.line_id,
  w.workshop_id
FROM generate_series(1, {alerts}) g
  JOIN b_rule r ON r.idx = g %% 3 JOIN b_wc w ON w.idx = g %% {wcs},
  LATERAL (SELECT %(now)s - g * interval '365 days' / {alerts} AS raised) a,
  LATERAL (SELECT CASE WHEN g %% 10 <> 0 THEN raised + ((g * 7) %% 600) * interval '1 minute'
    END AS ack) b,
  LATERAL (SELECT CASE WHEN g %% 5 <> 0 AND ack IS NOT NULL THEN ack + interval '1 hour'
    END AS res) c;
"""

# Open work: 2,000 orders × 5 work orders × 5 tasks, scheduled around now; 500 tasks running.
OPEN = """
INSERT INTO planning_productionorder (number, quantity, due, priority, customer,
  sales_order_ref, notes, status, created_at, exploded_at, item_id)
SELECT 'O' || g, 10, %(now)s + ((g %% 20) - 3) * interval '1 day', 1 + g %% 3,
  'C' || (g %% 50), '', '', 'in_progress', %(now)s - interval '3 days',
  %(now)s - interval '3 days', (SELECT id FROM b_item WHERE idx = g %% {items})
FROM generate_series(1, {orders}) g;
INSERT INTO planning_workorder (number, level, quantity, status, held_from, due, priority,
  released_at, qr_token, item_id, production_order_id)
SELECT po.number || '-' || k, (k + 1) / 2, 10, 'in_progress', '', po.due, po.priority,
  po.exploded_at, 'Q' || po.id || '-' || k, po.item_id, po.id
FROM planning_productionorder po, generate_series(0, 4) k WHERE po.number LIKE 'O%%';
INSERT INTO planning_task (seq, name, kind, setup_minutes, run_minutes_per_unit,
  is_qc_checkpoint, inspection_plan_code, wait_for_qc, quantity, qty_good, qty_scrap,
  qty_rework, qty_qc_accepted, status, held_from, planned_start, planned_end, actual_start,
  qr_token, work_center_id, work_order_id)
SELECT s * 10, '工序' || s, 'normal', 15, 1, false, '', false, 10,
  CASE WHEN s = 1 AND wo.id %% 20 = 0 THEN 4 ELSE 0 END, 0, 0, 0,
  CASE WHEN s = 1 AND wo.id %% 20 = 0 THEN 'in_progress' WHEN s = 1 THEN 'released'
    ELSE 'planned' END, '',
  %(now)s - interval '1 day' + (wo.id %% 72) * interval '1 hour' + s * interval '2 hours',
  %(now)s - interval '1 day' + (wo.id %% 72) * interval '1 hour' + s * interval '2 hours'
    + interval '2 hours',
  CASE WHEN s = 1 AND wo.id %% 20 = 0 THEN %(now)s - interval '2 hours' END,
  'T' || wo.id || '-' || s, (SELECT id FROM b_wc WHERE idx = (wo.id * 7 + s) %% {wcs}), wo.id
FROM planning_workorder wo, generate_series(1, 5) s WHERE wo.number LIKE 'O%%';
INSERT INTO execution_workreport (good, scrap, work_start, work_end, reported_at, late,
  client_token, note, operator_id, task_id, work_center_id)
SELECT 2, 0, %(now)s - r * interval '40 minutes', %(now)s - r * interval '30 minutes',
  %(now)s - r * interval '25 minutes', false, 'RO' || t.id || '-' || r, '',
  (SELECT id FROM b_user WHERE idx = t.id %% {users}), t.id, t.work_center_id
FROM planning_task t, generate_series(1, 2) r WHERE t.status = 'in_progress';
INSERT INTO execution_taskactivity (kind, at, client_token, operator_id, task_id,
  work_center_id)
SELECT 'start', %(now)s - interval '2 hours', 'A' || t.id,
  (SELECT id FROM b_user WHERE idx = t.id %% {users}), t.id, t.work_center_id
FROM planning_task t WHERE t.status = 'in_progress';
UPDATE planning_workorder w SET line_id = b.line_id FROM planning_task t, b_wc b
WHERE t.work_order_id = w.id AND t.seq = 10 AND b.id = t.work_center_id;
"""


def build(now) -> dict:
    from django.db import connection

    ct = _master()
    sizes = {"wcs": N_WC, "eqs": N_EQ, "users": N_USERS, "items": N_ITEMS, "stops": N_STOPS,
             "alerts": N_ALERTS}
    started = time.perf_counter()
    with connection.cursor() as cur:
        for script, extra in ((LOOKUPS, {}), (HISTORY, {"orders": HIST_ORDERS}),
                              (STOPS_ALERTS, {}), (OPEN, {"orders": OPEN_ORDERS})):
            for statement in script.format(**sizes, **extra).split(";\n"):
                if statement.strip():
                    cur.execute(statement, {"now": now, "ct": ct})
        cur.execute("ANALYZE")
        counts = {}
        for table in ("planning_workorder", "planning_task", "execution_workreport",
                      "quality_inspection", "execution_downtimeevent", "alerts_alert"):
            cur.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - our own table names
            counts[table] = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM planning_workorder WHERE status <> 'accepted'")
        counts["open work orders"] = cur.fetchone()[0]
    counts["build_s"] = round(time.perf_counter() - started, 1)
    # What beat does every hour: closed days into the rollup (here the whole year at once).
    from dashboards.services import report_days_roll_up

    started = time.perf_counter()
    report_days_roll_up()
    counts["rollup_s"] = round(time.perf_counter() - started, 1)
    return counts


def measure(client, url: str) -> tuple[float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    response = client.get(url)  # warm-up (and a check)
    assert response.status_code == 200, (url, response.status_code)
    times = []
    for _ in range(RUNS):
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            client.get(url)
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), len(ctx.captured_queries)


def run() -> list[dict]:
    setup_django()
    from django.conf import settings
    from django.contrib.auth.models import Group
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from dashboards.kpis import KPIS
    from mes.models import User

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    now = timezone.now()
    counts = build(now)
    boss = User.objects.create(username="bench-manager")
    boss.groups.add(Group.objects.get(name="manager"))
    client = Client()
    client.force_login(boss)
    today = timezone.localdate()
    year = f"start={today.replace(year=today.year - 1):%Y-%m-%d}&end={today:%Y-%m-%d}"
    pages = [("board, whole plant (500 work centers)", reverse("dashboards:board")),
             ("board live partial", reverse("dashboards:board_grid")),
             ("board, one line", f"{reverse('dashboards:board')}?line={_a_line()}"),
             ("order progress (2,000 orders, 10,000 work orders)",
              reverse("dashboards:order_progress")),
             ("KPI overview, this month", reverse("dashboards:kpi_index"))]
    pages += [(f"KPI {key}, this month", reverse("dashboards:kpi_detail", args=[key]))
              for key in KPIS]
    pages += [("drill-down: report timeliness, all reports this month",
               reverse("dashboards:kpi_records", args=["report_timeliness", "denominator"]))]
    extra = [(f"KPI {key}, last 12 months", reverse("dashboards:kpi_detail", args=[key])
              + "?" + year) for key in KPIS]
    extra.append(("KPI overview, last 12 months", reverse("dashboards:kpi_index") + "?" + year))
    rows = []
    for name, url in pages + extra:
        ms, queries = measure(client, url)
        in_bar = (name, url) in pages
        rows.append({"benchmark": f"Page: {name}",
                     "figure": f"{ms:.0f} ms (median of {RUNS}), {queries} queries",
                     "bar": f"≤ {BAR_MS} ms, fixed query count" if in_bar else "(reference)",
                     "baseline": "", "meets": ms <= BAR_MS if in_bar else True})
    rows[0]["notes"] = (f"data: {counts['open work orders']:,} open work orders, "
                        f"{counts['planning_task']:,} tasks, "
                        f"{counts['execution_workreport']:,} work reports, "
                        f"{counts['quality_inspection']:,} inspections, "
                        f"{counts['execution_downtimeevent']:,} stops, "
                        f"{counts['alerts_alert']:,} alerts on {N_WC} work centers, "
                        f"built in {counts['build_s']} s; the year's report rollup made in "
                        f"{counts['rollup_s']} s; Django test client in-process")
    return rows


def _a_line() -> int:
    from planning.models import Line

    return Line.objects.filter(code="BL07").values_list("pk", flat=True).get()


if __name__ == "__main__":
    for row in run():
        print(row)
