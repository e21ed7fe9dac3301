"""A planner inserts a rush order in a real browser, reads its impact, applies it, and the
station of the affected work center updates live on a second page.

The ASGI server runs in another process; so does a real Celery worker (solo pool) that
computes the what-if schedule, exactly as `make run` does. Both get a broker of their own (a
private MES_VAR_DIR, no Redis) so they cannot exchange messages with anybody else's server or
worker running at the same time (the file broker in var/ and Redis db 15 are shared).
"""

import datetime
import os
import subprocess
import sys

import pytest
from django.utils import timezone

from planning.models import ScheduleVersion, WorkOrder
from tests.conftest import ARTIFACTS, ROOT, browser_login, screenshot, subprocess_env
from tests.factories import PASSWORD
from tests.factories_schedule import applied, released_orders

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module", autouse=True)
def private_broker(tmp_path_factory):
    """Set before the module's server starts (autouse fixtures of a scope come first)."""
    saved = {k: os.environ.get(k) for k in ("MES_VAR_DIR", "REDIS_URL")}
    os.environ["MES_VAR_DIR"] = str(tmp_path_factory.mktemp("mes-var"))
    os.environ.pop("REDIS_URL", None)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="module")
def celery_worker(private_broker, django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        env = subprocess_env()
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / f"worker-schedule-{os.getpid()}.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "celery", "-A", "mes", "worker", "--pool", "solo", "-l", "info",
         "-n", f"schedule-test-{os.getpid()}@%h"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    yield proc
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def wait_for_stream(page):
    page.wait_for_function("() => { const el = document.querySelector('[sse-connect]');"
                           " const d = el && el['htmx-internal-data'];"
                           " return d && d.sseEventSource && d.sseEventSource.readyState === 1; }")


def test_rush_order_in_the_browser_updates_the_station_live(asgi_server, celery_worker,
                                                            browser, make_user):
    planner = make_user("planner", username="plan_rush")
    lead = make_user("workshop_lead", username="lead_rush")
    orders, wc = released_orders(2, steps=2, qty="6", planner=planner)
    applied(planner)  # the current schedule the rush order is compared with

    station = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 800})
    desk = browser.new_context(locale="en-US", viewport={"width": 1400, "height": 900})
    try:
        st = station.new_page()
        st.set_default_timeout(10_000)
        browser_login(st, asgi_server, lead.username, PASSWORD)
        st.goto(f"{asgi_server.url}/execution/stations/{wc.code}/")
        wait_for_stream(st)
        st.evaluate("window.__notReloaded = true")
        before = st.locator("[data-testid=dispatch-row]").count()

        pg = desk.new_page()
        pg.set_default_timeout(10_000)
        browser_login(pg, asgi_server, planner.username, PASSWORD)
        pg.goto(asgi_server.url + "/planning/schedule/")
        pg.click("[data-testid=open-rush]")
        due = timezone.localtime() + datetime.timedelta(hours=8)
        pg.fill("input[name=item]", orders[0].item.code)
        pg.fill("input[name=quantity]", "2")
        pg.fill("input[name=due]", due.strftime("%Y-%m-%dT%H:%M"))
        assert pg.input_value("select[name=priority]") == "3"  # urgent by default
        pg.fill("input[name=customer]", "VIP")
        pg.fill("input[name=reason]", "customer line stopped")
        pg.fill("input[name=time_limit]", "2")
        screenshot(pg, "schedule-rush-form")
        pg.click("[data-testid=preview]")
        pg.wait_for_url("**/planning/schedule/versions/*/")
        # The worker computes; the page polls every second and stops when it is done.
        body = pg.locator("[data-testid=version-body]:not([data-status=running])")
        body.wait_for(timeout=45_000)
        status = body.get_attribute("data-status")
        assert status == "ready", pg.locator("[data-testid=version-error]").inner_text()
        impact = pg.locator("[data-testid=diff]")
        assert "tasks moved" in impact.inner_text()
        pg.locator(f"[data-testid=affected] [data-wc='{wc.code}']").wait_for()
        assert pg.locator("[data-testid=rush-order]").is_visible()
        version = ScheduleVersion.objects.get(rush_order__isnull=False)
        rush_wo = WorkOrder.objects.get(production_order=version.rush_order, level=0)
        screenshot(pg, "schedule-rush-impact")

        # A bar of the preview loads its task into the side panel.
        pg.locator("svg.gantt a.bar").first.dispatch_event("click")
        pg.locator("#gantt-panel [data-testid=task-panel]").wait_for()
        assert pg.url.endswith(f"/versions/{version.pk}/")  # no navigation

        pg.click("[data-testid=apply]")
        pg.locator("[data-testid=version-body][data-status=applied]").wait_for()
        assert "is now the current schedule" in pg.locator(".messages").inner_text()
        screenshot(pg, "schedule-rush-applied")

        # The station shows the released rush work without a reload.
        st.locator("[data-testid=dispatch-row]", has_text=rush_wo.number).first.wait_for(
            timeout=10_000)
        assert st.evaluate("window.__notReloaded") is True
        assert st.locator("[data-testid=dispatch-row]").count() > before
        screenshot(st, "schedule-station-after-rush")

        # Zoom swaps the chart in place and keeps a real URL.
        pg.goto(asgi_server.url + "/planning/schedule/gantt/")
        pg.click("[data-scale=hour]")
        pg.wait_for_url("**scale=hour**")
        pg.locator("[data-scale=hour].active").wait_for()
        assert pg.locator("svg.gantt a.bar").count() >= 1
        screenshot(pg, "schedule-gantt-hour")
    finally:
        station.close()
        desk.close()
