"""Board, order progress and KPI pages on a big plant (PostgreSQL).

The data set is the one `demo_load --scale` writes (dashboards/demo/scale.py): 10,000 open
work orders (50,000 open tasks) on 500 work centers, plus a year of history: 60,000 accepted
work orders, 240,000 tasks, 960,000 work reports, 60,000 inspections, 20,000 stops and
15,000 alerts, bulk-generated. Each page is requested through the Django test client in this
process: one warm-up, then the median of RUNS requests, with its query count.
"""

import statistics
import time

from tests.benchmarks.django_bench import setup_django

RUNS = 5
BAR_MS = 300


def build(now) -> dict:
    from django.db import connection

    from dashboards.demo.scale import ScaleSize, scale_build

    counts = scale_build(ScaleSize(), now=now)
    with connection.cursor() as cur:
        for table in ("planning_task", "execution_workreport", "quality_inspection",
                      "execution_downtimeevent", "alerts_alert"):
            cur.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - our own table names
            counts[table] = cur.fetchone()[0]
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

    from dashboards.demo.scale import ScaleSize
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
                        f"{counts['alerts_alert']:,} alerts on {ScaleSize().work_centers} "
                        f"work centers (dashboards/demo/scale.py), "
                        f"built in {counts['build_s']} s; the year's report rollup made in "
                        f"{counts['rollup_s']} s; Django test client in-process")
    return rows


def _a_line() -> int:
    from planning.models import Line

    return Line.objects.filter(code="BL07").values_list("pk", flat=True).get()


if __name__ == "__main__":
    for row in run():
        print(row)
