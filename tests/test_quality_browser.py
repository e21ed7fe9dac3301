"""The quality loop in a real browser: a lot appears live in the QC queue, fails inspection,
is sent to rework (the rework task shows at the station), passes re-inspection, is accepted
by the workshop lead and archived; the archive and traceability pages show all of it."""

import pytest

from execution.views.terminal import DISPATCH_EVENTS
from quality.models import Inspection, Nonconformance
from tests.conftest import browser_login, screenshot
from tests.factories import PASSWORD
from tests.factories_quality import DefectCodeFactory, issue_lot, measured_plan, qc_order, report

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SSE_OPEN = ("() => { const el = document.querySelector('[sse-connect]'); const d = el && "
            "el['htmx-internal-data']; return !!(d && d.sseEventSource && "
            "d.sseEventSource.readyState === 1); }")
STATION_LIVE = "() => document.querySelector('#live-dot.is-live') !== null"


def new_page(browser):
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    return pg


def queue_row(page, inspection_pk):
    return page.locator(f'[data-testid=queue-row][data-inspection="{inspection_pk}"]')


def test_fail_rework_reinspect_accept_archive_trace(asgi_server, page, browser, make_user):
    url = asgi_server.url
    op = make_user("operator", username="op1", display_name="张师傅")
    qc = make_user("qc_inspector", username="qc1")
    lead = make_user("workshop_lead", username="lead1")
    plan = measured_plan(code="IP-DIA", max_rework_loops=2)
    defect = DefectCodeFactory(code="D01")
    wo, (t1, t2, t3), wc = qc_order(plan, qty="10")
    issue_lot(wo, t1, op, wc, "LOT-A1")
    report(t1, op, wc, good=10)

    # The inspector watches the QC queue; the lot reported at the checkpoint appears live.
    browser_login(page, asgi_server, qc.username, PASSWORD)
    page.goto(url + "/quality/queue/")
    page.get_by_test_id("queue-empty").wait_for()
    page.wait_for_function(SSE_OPEN)
    report(t2, op, wc, good=10)
    first = Inspection.objects.get(task=t2)
    queue_row(page, first.pk).wait_for(timeout=5_000)
    assert wo.number in queue_row(page, first.pk).inner_text()
    screenshot(page, "quality-queue-live")

    # Record a failing measurement: the browser flags it while typing, the server judges.
    queue_row(page, first.pk).get_by_role("link", name="Record").click()
    ch = plan.characteristics.get()
    value = page.get_by_test_id(f"value-{ch.pk}")
    # Sent without its value: refused, the field's error beside it; once a value is typed,
    # the error about the empty field goes (it would sit beside "within limits").
    page.get_by_test_id("record-submit").click()
    missing = page.locator(f'p.error[data-field="{value.get_attribute("name")}"]')
    missing.wait_for()
    # Only the control the refusal is about is marked red, not the row's photo and note.
    in_row = page.locator(f'[data-testid=char-row][data-char="{ch.pk}"]')

    def border(selector):
        return in_row.locator(selector).evaluate("e => getComputedStyle(e).borderTopColor")

    bad = "rgb(180, 35, 24)"  # --bad, #b42318
    assert border("input.measure") == bad
    assert border("input[type=file]") != bad and border("input[name^=note_]") != bad
    value.fill("10.01")
    assert missing.count() == 0
    assert border("input.measure") != bad
    assert "has-error" not in page.locator(
        f'[data-testid=char-row][data-char="{ch.pk}"]').get_attribute("class")
    value.fill("10.2")
    row = page.locator(f'[data-testid=char-row][data-char="{ch.pk}"]')
    assert "is-out" in row.get_attribute("class")
    assert page.get_by_test_id(f"judge-{ch.pk}").inner_text() == "out of tolerance"
    assert "is-failing" in page.get_by_test_id("record-form").get_attribute("class")
    value.fill("10.01")
    assert "is-in" in row.get_attribute("class")
    value.fill("10.2")
    page.fill("input[name=qty_failed]", "3")
    page.select_option("select[name=defect_code]", str(defect.pk))
    screenshot(page, "quality-record-failing")
    page.get_by_test_id("record-submit").click()
    page.get_by_test_id("nc-status").wait_for()
    nc = Nonconformance.objects.get()
    assert page.url.endswith(f"/quality/nonconformances/{nc.pk}/")
    assert page.get_by_test_id("nc-qty").inner_text() == "3"
    report(t3, op, wc, good=7)  # the 7 that passed go on

    # The workshop lead has the responsible work center's station page open.
    station = new_page(browser)
    browser_login(station, asgi_server, lead.username, PASSWORD)
    station.goto(f"{url}/execution/stations/{wc.code}/")
    station.wait_for_function(STATION_LIVE)

    # Disposition: rework. The rework task is made on the responsible step's work center.
    page.get_by_test_id("disp-rework").check()
    page.get_by_test_id("disposition-submit").click()
    page.get_by_test_id("rework-task").wait_for()
    nc.refresh_from_db()
    rework = nc.rework_task
    assert rework.work_center_id == t2.work_center_id and rework.quantity == 3
    # The QC inspector does not report work: the work center is named, not linked to a station
    # page that would refuse them (the lead, who may, gets the link: test_quality_ui).
    assert page.get_by_test_id("station-link").count() == 0
    assert wc.code in page.get_by_test_id("rework-task").inner_text()
    screenshot(page, "quality-nc-rework")
    rework_row = station.locator(f'[data-testid=dispatch-row][data-task="{rework.pk}"]')
    if "rework.created" not in DISPATCH_EVENTS:
        # The station list refreshes live on its own task events only (execution/views/
        # terminal.py DISPATCH_EVENTS); until it listens to rework.created, reload it.
        station.reload()
    rework_row.wait_for(timeout=5_000)
    assert wo.number in rework_row.inner_text()
    screenshot(station, "quality-station-rework-task")

    # The operator reworks the 3 units (through the services); the re-inspection is queued.
    report(rework, op, wc, good=3)
    again = Inspection.objects.get(loop=1)
    page.goto(url + "/quality/queue/")
    queue_row(page, again.pk).get_by_role("link", name="Record").click()
    assert "re-inspection 1" in page.get_by_test_id("loop").inner_text()
    page.get_by_test_id(f"value-{ch.pk}").fill("10.01")
    page.get_by_test_id("record-submit").click()
    page.get_by_test_id("queue-empty").wait_for()
    again.refresh_from_db()
    nc.refresh_from_db()
    assert again.status == "passed" and nc.status == "closed"
    report(t3, op, wc, good=3)

    # The lead accepts in the browser: first the queue, then the acceptance page.
    station.goto(url + "/quality/acceptance/")
    station.get_by_test_id("acceptance-link").filter(has_text=wo.number).click()
    station.get_by_test_id("ready").wait_for()
    screenshot(station, "quality-acceptance-ready")
    station.get_by_test_id("accept").click()
    station.get_by_test_id("checksum").wait_for()
    assert station.get_by_test_id("checksum").inner_text() == "OK"
    archive = station.content()
    for expected in (wo.number, nc.number, "LOT-A1", "D01", rework.name, "IP-DIA", "10.2",
                     "10.01", "accepted", lead.display_name):  # signed by name
        assert expected in archive, expected
    assert station.get_by_test_id("section-inspections").locator("tbody tr").count() == 2
    screenshot(station, "quality-archive")
    station.emulate_media(media="print")
    screenshot(station, "quality-archive-print")
    station.emulate_media(media="screen")

    # Traceability, from the search box: back from the work order, forward from the lot.
    station.goto(url + "/quality/trace/")
    station.get_by_test_id("trace-q").fill(wo.number)
    station.get_by_test_id("trace-go").click()
    station.get_by_test_id("trace-lots").wait_for()
    back = station.content()
    assert "LOT-A1" in back and "张师傅" in back and nc.number in back
    assert station.locator("[data-testid=trace-inspections] tbody tr").count() == 2
    screenshot(station, "quality-trace-backward")
    station.get_by_test_id("lot-link").first.click()
    station.get_by_test_id("lot-affected").wait_for()
    assert wo.number in station.get_by_test_id("lot-affected").inner_text()
    screenshot(station, "quality-trace-forward")
