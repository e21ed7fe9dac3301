"""The station's answers in a real browser, on a tablet and a phone: every answer is seen where
the operator tapped, the focus goes where the next keystroke belongs, a double tap counts once
and says so, a server failure says "not recorded", the task panel follows the task's status,
and the equipment's reason list goes only with a stop."""

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from execution.models import ScanRefusal, WorkReport
from planning.models import Equipment
from planning.travelers import payload_for_task
from tests.conftest import screenshot, serve_asgi
from tests.factories_execution import released_order
from tests.test_station_browser import LIVE, open_station, status, wedge

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def asgi_server(django_db_setup, django_db_blocker):
    """A server per test (see tests.conftest.serve_asgi)."""
    yield from serve_asgi(django_db_blocker)


VIEWPORTS = {"tablet": {"width": 1024, "height": 768}, "phone": {"width": 390, "height": 844}}

IN_VIEW = """(id) => { const el = document.querySelector(`[data-testid="${id}"]`);
    const r = el.getBoundingClientRect();
    return r.height > 0 && r.top > -1 && r.bottom < window.innerHeight + 1; }"""


def in_view(page, testid) -> bool:
    """In sight, now or within a moment (the page scrolls just after it swaps an answer in)."""
    try:
        page.wait_for_function(IN_VIEW, arg=testid, timeout=2_000)
    except PlaywrightTimeout:
        return False
    return True


def settled(page):
    """The page has done what it does just after an answer (scroll, focus): a click computed
    before its scroll would land elsewhere."""
    page.evaluate("() => new Promise(done => setTimeout(() => requestAnimationFrame(() => "
                  "done()), 50))")


def status_says(page, pattern):
    page.wait_for_function("(p) => new RegExp(p).test("
                           "document.getElementById('station-status').innerText)", arg=pattern)
    settled(page)


def refused(page):
    page.wait_for_selector("#station-status.st-status-bad")
    settled(page)


def started_task(page, server, make_user, size, *, qty="10", equipment=False):
    """An operator signed in (badge) at a station on a `size` screen, its task started."""
    page.set_viewport_size(VIEWPORTS[size])
    user = make_user("operator", badge_code=f"B-{size}")
    wo, (task,), wc = released_order(steps=1, qty=qty)
    if equipment:
        Equipment.objects.create(code="PRESS-1", name="压力机1", name_en="Press 1",
                                 work_center=wc)
    open_station(page, server, user, wc)
    wedge(page, f"B-{size}")
    page.get_by_test_id("operator-name").wait_for()
    wedge(page, payload_for_task(task))
    page.get_by_test_id("task-start").click()
    status_says(page, "Started")
    page.evaluate("() => window.scrollTo(0, 0)")
    return wo, task, wc


@pytest.mark.parametrize("size", ["tablet", "phone"])
def test_every_answer_is_seen_where_the_operator_tapped(asgi_server, page, make_user, size):
    started_task(page, asgi_server, make_user, size, equipment=True)
    # The Report button is below the fold; the status line is at the top of the console.
    assert not in_view(page, "report-submit")
    page.get_by_test_id("report-good").fill("99")
    page.get_by_test_id("report-submit").click()  # (scrolls down to it, as a thumb would)
    refused(page)
    assert "Only 10 left" in status(page).inner_text()
    # The status line, or (on a phone, when both do not fit) the refusal beside the field.
    assert in_view(page, "station-status") or in_view(page, "report-error"), "off-screen"
    screenshot(page, f"station-refusal-in-view-{size}")
    page.get_by_test_id("report-good").fill("3")
    page.get_by_test_id("report-submit").click()
    status_says(page, "good 3, scrap 0")
    assert in_view(page, "station-status"), "the answer is off-screen"
    # The equipment panel: beside the console on a tablet, far below it on a phone.
    page.get_by_test_id("equipment-PRESS-1").get_by_role("button", name="Running").click()
    status_says(page, "PRESS-1: running")
    assert in_view(page, "station-status"), "the equipment's answer is off-screen"


@pytest.mark.parametrize("size", ["tablet", "phone"])
def test_after_a_refusal_the_field_in_error_has_the_focus(asgi_server, page, make_user, size):
    """The corrected number goes into the field it corrects, not into the scan field (where
    it was an unknown badge, refused and logged)."""
    started_task(page, asgi_server, make_user, size)
    page.get_by_test_id("report-good").fill("25")
    page.get_by_test_id("report-submit").click()
    refused(page)
    page.wait_for_function("() => document.activeElement.name === 'good'")
    # (the status line above may be out of sight on a phone: the refusal is also beside it)
    assert in_view(page, "report-good") and in_view(page, "report-error")
    assert "Only 10 left" in page.get_by_test_id("report-error").inner_text()
    screenshot(page, f"station-refusal-focus-{size}")
    page.keyboard.press("Backspace")
    page.keyboard.press("Enter")  # "2"
    status_says(page, "good 2, scrap 0")
    assert list(ScanRefusal.objects.values_list("action", flat=True)) == ["report"]
    assert WorkReport.objects.get().good == 2
    page.wait_for_function("() => document.activeElement.id === 'scan-input'")  # after success
    assert page.get_by_test_id("report-good").get_attribute("aria-invalid") is None
    assert page.get_by_test_id("report-error").count() == 0
    assert in_view(page, "station-status")
    # Scrap without its reason: the reason's list has the focus.
    page.get_by_test_id("report-scrap").fill("1")
    page.get_by_test_id("report-submit").click()
    refused(page)
    assert "Pick the scrap reason" in status(page).inner_text()
    page.wait_for_function("() => document.activeElement.name === 'scrap_reason'")
    # A refusal about no field (the task on hold, the badge…) leaves the scan field focused.
    page.get_by_test_id("report-scrap").fill("")
    page.evaluate("() => document.querySelector('[data-testid=report-form] [name=task]')"
                  ".value = '999999'")
    page.get_by_test_id("report-good").fill("1")
    page.get_by_test_id("report-submit").click()
    status_says(page, "Unknown task")
    page.wait_for_function("() => document.activeElement.id === 'scan-input'")


def test_a_double_tap_on_report_counts_once_and_says_so(asgi_server, page, make_user):
    """The second tap or Enter of a double one, while the first is on its way or just after
    its answer emptied the form, is not sent: no red "enter a quantity" over the green answer,
    no refusal for the lead, one report."""
    started_task(page, asgi_server, make_user, "tablet")
    sent = []
    page.on("request", lambda r: sent.append(r.url) if r.url.endswith("/report/") else None)
    # Two submissions at once: the second while the first is on its way.
    page.get_by_test_id("report-good").fill("2")
    page.evaluate("() => { const f = document.querySelector('[data-testid=report-form]');"
                  " f.requestSubmit(); f.requestSubmit(); }")
    status_says(page, "good 2, scrap 0")
    page.wait_for_timeout(800)  # time for a second answer, were one coming
    assert page.get_by_test_id("station-status").get_attribute("data-ok") == "1"
    assert len(sent) == 1
    # A second tap just after the answer emptied the form.
    page.get_by_test_id("report-submit").click()
    page.keyboard.press("Enter")
    page.wait_for_timeout(800)
    assert "good 2, scrap 0" in status(page).inner_text()
    assert page.get_by_test_id("station-status").get_attribute("data-ok") == "1"
    assert len(sent) == 1
    assert WorkReport.objects.count() == 1 and not ScanRefusal.objects.exists()
    # A real attempt without a quantity (after another answer; or something typed, then
    # taken back): answered at once, in the page's language, without asking the server.
    page.get_by_test_id("task-pause").click()
    status_says(page, "Paused")
    page.get_by_test_id("report-submit").click()
    refused(page)
    assert "Enter a good or scrap quantity." in status(page).inner_text()
    page.get_by_test_id("task-resume").click()
    status_says(page, "Resumed")
    page.get_by_test_id("report-good").fill("3")
    page.get_by_test_id("report-good").fill("")
    page.get_by_test_id("report-submit").click()
    refused(page)
    assert "Enter a good or scrap quantity." in status(page).inner_text()
    page.wait_for_function("() => document.activeElement.name === 'good'")
    assert len(sent) == 1 and not ScanRefusal.objects.exists()


@pytest.mark.parametrize("size", ["tablet", "phone"])
def test_a_server_failure_says_not_recorded(asgi_server, page, make_user, size):
    started_task(page, asgi_server, make_user, size)
    page.route("**/report/", lambda route: route.fulfill(
        status=500, content_type="text/html", body="<h1>Server Error (500)</h1>"))
    page.get_by_test_id("report-good").fill("4")
    token = page.locator("[data-testid=report-form] [name=client_token]").input_value()
    page.get_by_test_id("report-submit").click()
    refused(page)
    assert "Not recorded" in status(page).inner_text() and "500" in status(page).inner_text()
    assert "Started" not in status(page).inner_text()  # the previous answer is not left up
    assert in_view(page, "station-status")
    screenshot(page, f"station-server-failed-{size}")
    # Kept to try again, with the same token: counted once whatever the server had done.
    assert page.get_by_test_id("report-good").input_value() == "4"
    assert page.locator("[data-testid=report-form] [name=client_token]").input_value() == token
    page.route("**/scan/", lambda route: route.fulfill(status=502, body="Bad Gateway"))
    wedge(page, "B-nobody")
    status_says(page, "Not recorded.*502")
    page.unroute("**/report/")
    page.get_by_test_id("report-submit").click()
    status_says(page, "good 4, scrap 0")
    assert WorkReport.objects.get().client_token == token


def test_the_task_panel_follows_the_tasks_status_live(asgi_server, page, make_user):
    """Held by the planner, resumed, completed at another station: the panel offers only what
    the task's status allows, without a reload."""
    import uuid

    from execution.services.reporting import task_complete
    from planning.services.orders import work_order_hold, work_order_resume

    wo, task, wc = started_task(page, asgi_server, make_user, "phone")
    page.get_by_test_id("report-good").fill("3")
    page.get_by_test_id("report-submit").click()
    status_says(page, "good 3, scrap 0")
    page.get_by_test_id("task-complete").wait_for()
    assert page.get_by_test_id("report-form").is_visible()
    planner = make_user("planner")
    work_order_hold(actor=planner, work_order=wo, reason="material shortage")
    page.get_by_test_id("task-closed").filter(has_text="On hold").wait_for(timeout=5_000)
    assert page.get_by_test_id("task-complete").count() == 0
    assert page.get_by_test_id("task-pause").count() == 0
    assert not page.get_by_test_id("report-form").is_visible()  # and its "all remaining: 7"
    assert not page.locator("[data-fill-good]").is_visible()
    screenshot(page, "station-task-held-live")
    work_order_resume(actor=planner, work_order=wo, reason="material arrived")
    page.get_by_test_id("report-form").wait_for(state="visible", timeout=5_000)
    page.get_by_test_id("task-complete").wait_for()
    assert page.get_by_test_id("task-closed").count() == 0
    # Completed at another station by another operator.
    other = make_user("operator", badge_code="B-OTHER")
    task_complete(operator=other, task=task, work_center=wc, client_token=str(uuid.uuid4()),
                  short_reason="rest to the next shift")
    page.get_by_test_id("task-closed").filter(has_text="Done").wait_for(timeout=5_000)
    assert page.get_by_test_id("task-complete").count() == 0
    assert not page.get_by_test_id("report-form").is_visible()
    assert page.get_by_test_id("task-status").inner_text() == "done"


def test_a_report_that_starts_or_completes_the_task_is_not_fetched_again_when_it_comes_back(
        asgi_server, page, make_user):
    """A report on a task not yet started starts it, and the last one completes it: the start
    and the completion come back on the stream beside the report, naming it. The answer showed
    the task as it is after them, so none of them makes the panel fetch it again when it comes
    back after the answer (as it does unless the server is slow to answer)."""
    user = make_user("operator", username="echo1", badge_code="B-90")
    _wo, (task,), wc = released_order(steps=1, qty="3")
    open_station(page, asgi_server, user, wc)
    wedge(page, "B-90")
    page.get_by_test_id("operator-name").wait_for()
    wedge(page, payload_for_task(task))
    page.get_by_test_id("report-good").wait_for()
    panel_gets = []
    page.on("request", lambda r: panel_gets.append(r.url) if "/task-panel/" in r.url else None)
    page.evaluate("""() => { window.seen = [];
      document.body.addEventListener('htmx:afterRequest', e => {
        if (/report/.test(e.detail.pathInfo.requestPath)) window.seen.push('answer'); });
      document.body.addEventListener('htmx:sseMessage', e => {
        window.seen.push(e.target.id + ':' + e.detail.type); }); }""")

    def report(good, events):
        panel_gets.clear()
        page.evaluate("() => { window.seen = []; }")
        page.get_by_test_id("report-good").fill(good)
        page.get_by_test_id("report-submit").click()
        page.wait_for_function(f"() => /good {good}, scrap 0/.test("
                               "document.getElementById('station-status').innerText)")
        page.wait_for_function(f"() => {events!r}.every(k => window.seen.includes(k))")
        page.wait_for_timeout(500)  # a fetch, were one coming
        seen = page.evaluate("() => window.seen")
        before_answer = [k for k in seen[:seen.index("answer")] if k.startswith("task-panel:")]
        # Each event that came back to the panel before the answer refreshes it (as any other
        # station's would); none after it does.
        assert len(panel_gets) <= len(before_answer), (seen, panel_gets)
        return seen

    seen = report("1", ["task-panel:task.start", "task-panel:task.reported"])
    task.refresh_from_db()
    assert task.status == task.Status.IN_PROGRESS, seen
    # (The completed task leaves the panel: its list hears the completion.)
    seen = report("2", ["dispatch-list:task.reported", "dispatch-list:task.completed"])
    task.refresh_from_db()
    assert task.status == task.Status.DONE, seen


@pytest.mark.parametrize("size", ["tablet", "phone"])
def test_a_reason_left_picked_goes_only_with_a_stop(asgi_server, page, make_user, size):
    from execution.models import DowntimeEvent, DowntimeReason, EquipmentState

    power = DowntimeReason.objects.create(code="PWR", name="停电", name_en="Power cut")
    started_task(page, asgi_server, make_user, size, equipment=True)

    def set_state(state, reason=power):
        # The reason picked, then the state's button: in one go, as the panel's live refresh
        # (on the previous change's events) could replace it, unpicked, between two steps.
        page.evaluate("""([reason, state]) => {
            const form = document.querySelector('[data-testid=equipment-PRESS-1]');
            form.querySelector('select[name=reason]').value = reason;
            form.querySelector(`button[name=state][value=${state}]`).click(); }""",
                      [str(reason.pk), state])

    set_state("running")
    status_says(page, "PRESS-1: running")
    assert in_view(page, "station-status")
    state = EquipmentState.objects.get(equipment__code="PRESS-1")
    assert (state.state, state.reason) == ("running", None)
    assert not ScanRefusal.objects.exists()
    set_state("down")  # a stop: its reason goes with it
    status_says(page, "PRESS-1: down")
    assert DowntimeEvent.objects.get(end__isnull=True).reason == power
    set_state("idle")
    status_says(page, "PRESS-1: idle")
    assert EquipmentState.objects.get(equipment__code="PRESS-1").reason is None
    assert not ScanRefusal.objects.exists()


@pytest.mark.parametrize("how", ["tap", "live"])
def test_signed_out_says_so_and_goes_to_sign_in_and_back(asgi_server, page, make_user, how):
    """The session ended (expired, or signed out on another tab): a tap, or a live refresh
    of a panel, draws no login form inside the console. The page says so, records nothing, and
    goes to the sign-in page, which brings the operator back to the station."""
    from django.contrib.sessions.models import Session

    from mes.models import User
    from planning.services.orders import work_order_hold
    from tests.factories import PASSWORD

    wo, task, wc = started_task(page, asgi_server, make_user, "tablet")
    station = f"/execution/stations/{wc.code}/"
    Session.objects.all().delete()
    if how == "tap":
        page.get_by_test_id("report-good").fill("2")
        page.get_by_test_id("report-submit").click()
        status_says(page, "Signed out: not recorded")
    else:  # the planner's hold comes on the live stream: the panels ask for themselves again
        work_order_hold(actor=make_user("planner"), work_order=wo, reason="material shortage")
        status_says(page, "Signed out")
    assert page.locator("#station input[name=password]").count() == 0
    assert page.get_by_test_id("task-pause").count() == 1  # the panel as it was
    screenshot(page, f"station-signed-out-{how}")
    page.wait_for_url(f"{asgi_server.url}/accounts/login/?next={station}")
    assert not WorkReport.objects.exists()
    page.fill("input[name=username]", User.objects.get(badge_code="B-tablet").username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(asgi_server.url + station)
    page.wait_for_function(LIVE)


def test_a_live_refresh_of_the_equipment_keeps_the_reason_being_picked(asgi_server, page,
                                                                       make_user):
    """Another station stops another machine while the operator is picking why PRESS-1 is
    down: the panel is redrawn live, and the reason picked (and the focus on its list) stays."""
    from execution.models import DowntimeEvent, DowntimeReason
    from execution.services.equipment import equipment_set_state

    power = DowntimeReason.objects.create(code="PWR", name="停电", name_en="Power cut")
    tool = DowntimeReason.objects.create(code="TOOL", name="换刀", name_en="Tool change")
    wo, task, wc = started_task(page, asgi_server, make_user, "tablet", equipment=True)
    press2 = Equipment.objects.create(code="PRESS-2", name="压力机2", name_en="Press 2",
                                      work_center=wc)
    reason = page.get_by_test_id("equipment-PRESS-1").get_by_test_id("equipment-reason")
    reason.select_option(str(power.pk))
    reason.focus()
    page.evaluate("() => { window.panelBefore = document.getElementById('equipment-panel'); }")
    equipment_set_state(actor=make_user("workshop_lead"), equipment=press2, state="down",
                        reason=tool)
    page.get_by_test_id("equipment-PRESS-2").get_by_test_id("equipment-state").filter(
        has_text="down").wait_for(timeout=5_000)  # (it is listed from this refresh on)
    assert page.evaluate("() => document.getElementById('equipment-panel') !== "
                         "window.panelBefore"), "the panel was not redrawn"
    assert reason.input_value() == str(power.pk)
    assert page.evaluate("() => document.activeElement.name === 'reason' && "
                         "document.activeElement.form.dataset.testid === 'equipment-PRESS-1'")
    assert page.get_by_test_id("equipment-PRESS-2").get_by_test_id(
        "equipment-reason").input_value() == ""
    screenshot(page, "station-equipment-reason-kept")
    page.get_by_test_id("equipment-PRESS-1").get_by_role("button", name="Down").click()
    status_says(page, "PRESS-1: down")
    assert DowntimeEvent.objects.get(equipment__code="PRESS-1").reason == power


def test_an_answer_the_task_has_moved_on_from_says_so(asgi_server, page, browser, make_user):
    """Two tablets on one task: the first's answer ("selected … remaining 3") is about the task
    as it was; when the other tablet reports on it, the first's task panel follows live and
    its answer is marked out of date, not left standing as if the task still stood so. Its own
    start coming back on the stream marks nothing."""
    first = make_user("operator", username="tab-a", badge_code="B-A1")
    second = make_user("operator", username="tab-b", badge_code="B-B1")
    _wo, (task,), wc = released_order(steps=1, qty="3")
    open_station(page, asgi_server, first, wc)
    wedge(page, payload_for_task(task))
    page.get_by_test_id("task-start").click()
    page.wait_for_function("() => /Started/.test("
                           "document.getElementById('station-status').innerText)")
    page.wait_for_timeout(1_500)  # its own start came back on the stream meanwhile
    assert page.get_by_test_id("status-stale").count() == 0
    other = browser.new_context(locale="en-US", viewport={"width": 1024, "height": 768})
    tablet_b = other.new_page()
    tablet_b.set_default_timeout(10_000)
    open_station(tablet_b, asgi_server, second, wc)
    wedge(tablet_b, payload_for_task(task))
    tablet_b.get_by_test_id("report-good").fill("2")
    tablet_b.get_by_test_id("report-submit").click()
    tablet_b.wait_for_function("() => /good 2/.test("
                               "document.getElementById('station-status').innerText)")
    page.get_by_test_id("task-good").filter(has_text="2").wait_for(timeout=5_000)
    page.get_by_test_id("status-stale").wait_for(timeout=5_000)
    assert "is-stale" in status(page).get_attribute("class")
    # The form's "all remaining" offers what remains now (it offered 3, which the server
    # would refuse as too many).
    assert page.locator("[data-fill-good]").get_attribute("data-fill-good") == "1"
    screenshot(page, "station-answer-out-of-date")
    # The next action's answer is current again.
    page.get_by_test_id("report-good").fill("1")
    page.get_by_test_id("report-submit").click()
    page.wait_for_function("() => /good 1, scrap 0/.test("
                           "document.getElementById('station-status').innerText)")
    assert page.get_by_test_id("status-stale").count() == 0
    other.close()
