"""The whole loop across roles, in one real browser session per person:

planner imports an order file, explodes and releases it → operator scans badge and traveler at
the station (keyboard wedge, into the auto-focused field) and reports → QC fails the lot →
rework appears at the station → re-inspection passes → an alert reaches the alert list and the
lead acknowledges it → the lead accepts and the work order is archived → the manager's KPI
page counts it. A screenshot of each page goes to artifacts/screenshots/e2e-*.png; the last
page is shown once more in Chinese.

Steps no page drives (yet) go through the same services the pages call, and say so: the alert
sweep (Celery beat's job), and the operator's later reports (the station page was already
driven for the first one; the others are the same form).
"""

import datetime
import re
import uuid

import pytest
from django.utils import timezone

from alerts.kinds import Channel, Kind
from alerts.models import Alert
from alerts.services.sweep import alerts_sweep
from planning.models import ProductionOrder, RoutingStep, Task, WorkOrder
from planning.travelers import payload_for_task
from quality.models import Inspection, Nonconformance
from tests.conftest import browser_login, screenshot
from tests.factories import PASSWORD, WorkCenterFactory, make_product
from tests.factories_alerts import make_rule
from tests.factories_imports import csv_upload
from tests.factories_quality import DefectCodeFactory, measured_plan, report

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SSE_OPEN = ("() => { const el = document.querySelector('[sse-connect]'); const d = el && "
            "el['htmx-internal-data']; return !!(d && d.sseEventSource && "
            "d.sseEventSource.readyState === 1); }")
STATION_LIVE = "() => document.querySelector('#live-dot.is-live') !== null"


def person(browser, server, user):
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    browser_login(page, server, user.username, PASSWORD)
    return page


def wedge(page, text):
    """A keyboard-wedge scanner types into whatever has the focus and presses Enter."""
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def test_plan_to_kpi_across_every_role(asgi_server, page, browser, make_user):
    url = asgi_server.url
    planner = make_user("planner", username="e2e_planner")
    operator = make_user("operator", username="e2e_op", badge_code="B-E2E",
                         display_name="李师傅")
    qc = make_user("qc_inspector", username="e2e_qc")
    lead = make_user("workshop_lead", username="e2e_lead")
    manager = make_user("manager", username="e2e_manager")
    wc = WorkCenterFactory(lead=lead)
    plan = measured_plan(code="IP-E2E", max_rework_loops=2)
    defect = DefectCodeFactory(code="D01")
    top, _made, wc = make_product(1, steps=3, work_center=wc)
    second = RoutingStep.objects.filter(routing__item=top).order_by("seq")[1]
    RoutingStep.objects.filter(pk=second.pk).update(
        is_qc_checkpoint=True, wait_for_qc=True, inspection_plan_code=plan.code)
    make_rule(Kind.INSPECTION_FAILED, severity="critical", chain=[
        {"after_minutes": 0, "roles": ["workshop_lead"], "channels": [Channel.IN_APP]}])
    number = f"PO-E2E-{uuid.uuid4().hex[:4].upper()}"
    due = (timezone.localtime() + datetime.timedelta(days=5)).strftime("%Y-%m-%d 17:00")

    # 1. Planner: import the order file (checked first), then explode and release it.
    browser_login(page, asgi_server, planner.username, PASSWORD)
    page.goto(url + "/planning/io/")
    orders = csv_upload([["order_number", "item_code", "quantity", "due", "priority"],
                         [number, top.code, "10", due, "high"]], name="orders.csv")
    page.set_input_files("input[type=file]", {"name": "orders.csv", "mimeType": "text/csv",
                                              "buffer": orders.read()})
    page.get_by_test_id("check").click()
    page.get_by_test_id("check-ok").wait_for()
    with page.expect_navigation():
        page.get_by_test_id("import-now").click()
    assert "1 created" in page.get_by_test_id("import-result").inner_text()
    screenshot(page, "e2e-1-planner-import")
    order = ProductionOrder.objects.get(number=number)
    page.goto(f"{url}/planning/orders/{order.pk}/")
    page.get_by_test_id("explode").click()
    page.locator("tr.wo-row").first.wait_for()
    page.get_by_test_id("release-all").click()
    page.locator('[data-testid="order-status"]', has_text="released").wait_for()
    screenshot(page, "e2e-2-planner-released")
    wo = order.work_orders.get(level=0)
    t1, t2, t3 = wo.tasks.order_by("seq")

    # 2. Operator at the station: badge, traveler, start, report — no mouse for the scans.
    station = person(browser, asgi_server, make_user("operator", username="e2e_tablet",
                                                     badge_code=None))
    station.goto(f"{url}/execution/stations/{wc.code}/")
    station.wait_for_function(STATION_LIVE)
    station.wait_for_function("() => document.activeElement && "
                              "document.activeElement.id === 'scan-input'")
    wedge(station, "B-E2E")
    station.get_by_test_id("operator-name").filter(has_text="李师傅").wait_for()
    wedge(station, payload_for_task(t1))
    station.get_by_test_id("task-start").click()
    # The click's own answer (a live refresh of the task panel may show "pause" before it).
    station.get_by_test_id("station-status").filter(has_text="Started").wait_for()
    station.get_by_test_id("report-good").fill("10")
    station.get_by_test_id("report-submit").click()
    station.get_by_test_id("station-status").filter(has_text="good 10").wait_for()
    screenshot(station, "e2e-3-operator-reported")
    # The next step is the same form: reported through the service the form calls.
    report(t2, operator, wc, good=10)
    first = Inspection.objects.get(task=t2)

    # 3. QC fails 3 of the 10; the nonconformance goes to rework.
    qc_page = person(browser, asgi_server, qc)
    qc_page.goto(url + "/quality/queue/")
    row = qc_page.locator(f'[data-testid=queue-row][data-inspection="{first.pk}"]')
    row.get_by_role("link", name="Record").click()
    ch = plan.characteristics.get()
    qc_page.get_by_test_id(f"value-{ch.pk}").fill("10.2")
    qc_page.fill("input[name=qty_failed]", "3")
    qc_page.select_option("select[name=defect_code]", str(defect.pk))
    qc_page.get_by_test_id("record-submit").click()
    qc_page.get_by_test_id("nc-status").wait_for()
    screenshot(qc_page, "e2e-4-qc-failed")
    qc_page.get_by_test_id("disp-rework").check()
    qc_page.get_by_test_id("disposition-submit").click()
    qc_page.get_by_test_id("rework-task").wait_for()
    rework = Nonconformance.objects.get().rework_task
    rework_row = station.locator(f'[data-testid=dispatch-row][data-task="{rework.pk}"]')
    rework_row.wait_for(timeout=5_000)  # live on the station's list
    screenshot(station, "e2e-5-station-rework")

    # 4. The alert sweep (Celery beat's job) raises the inspection alert; the lead's open
    #    alert list shows it live and the lead acknowledges it.
    lead_page = person(browser, asgi_server, lead)
    lead_page.goto(url + "/alerts/list/")
    lead_page.wait_for_function(SSE_OPEN)
    alerts_sweep(now=timezone.now())
    alert = Alert.objects.get(kind=Kind.INSPECTION_FAILED)
    lead_page.locator("[data-testid=alert-row]").first.wait_for(timeout=5_000)
    lead_page.get_by_test_id("ack").first.click()
    lead_page.locator("[data-testid=alert-row][data-status=acknowledged]").wait_for()
    screenshot(lead_page, "e2e-6-lead-alert-acknowledged")
    alert.refresh_from_db()
    assert alert.acknowledged_by == lead

    # 5. Rework done (service), re-inspection passes in the browser, the last step reported.
    report(Task.objects.get(pk=rework.pk), operator, wc, good=3)
    again = Inspection.objects.get(loop=1)
    qc_page.goto(url + "/quality/queue/")
    qc_page.locator(f'[data-testid=queue-row][data-inspection="{again.pk}"]').get_by_role(
        "link", name="Record").click()
    qc_page.get_by_test_id(f"value-{ch.pk}").fill("10.01")
    qc_page.get_by_test_id("record-submit").click()
    qc_page.get_by_test_id("queue-empty").wait_for()
    screenshot(qc_page, "e2e-7-qc-reinspected")
    report(Task.objects.get(pk=t3.pk), operator, wc, good=10)
    wo.refresh_from_db()
    assert wo.status == WorkOrder.Status.AWAITING_ACCEPTANCE

    # 6. The lead accepts; the archive is sealed.
    lead_page.goto(url + "/quality/acceptance/")
    lead_page.get_by_test_id("acceptance-link").filter(has_text=wo.number).click()
    lead_page.get_by_test_id("ready").wait_for()
    lead_page.get_by_test_id("accept").click()
    lead_page.get_by_test_id("checksum").wait_for()
    assert lead_page.get_by_test_id("checksum").inner_text() == "OK"
    screenshot(lead_page, "e2e-8-lead-accepted-archive")
    wo.refresh_from_db()
    assert wo.status == WorkOrder.Status.ACCEPTED

    # 7. The manager's KPI page counts the work order: completed, on time, with rework.
    boss = person(browser, asgi_server, manager)
    boss.goto(url + "/dashboards/kpis/")
    on_time = boss.get_by_test_id("kpi-on_time")
    assert re.search(r"completed: 1\b", on_time.get_by_test_id("denominator").inner_text())
    assert on_time.get_by_test_id("value").inner_text().startswith("100")
    rework_card = boss.get_by_test_id("kpi-rework")
    assert rework_card.get_by_test_id("value").inner_text().startswith("100")
    screenshot(boss, "e2e-9-manager-kpis")

    # The same page in Chinese, once.
    with boss.expect_navigation():
        boss.select_option("select[name=language]", "zh-hans")
    assert boss.locator("html").get_attribute("lang") == "zh-hans"
    assert "任务准时率" in boss.content()
    screenshot(boss, "e2e-10-manager-kpis-zh-hans")
    for p in (station, qc_page, lead_page, boss):
        p.context.close()
