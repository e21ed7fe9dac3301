"""In a real browser: an alert raised by another process appears on the open alert list
without a reload, the responsible person's toast and badge update, and the row actions work;
a machine stopped at a station reaches an open board as an alert through a real Celery worker."""

import subprocess
import sys
import time

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from alerts.kinds import Kind
from alerts.models import Alert
from tests.conftest import ROOT, browser_login, screenshot, subprocess_env
from tests.factories import PASSWORD, WorkCenterFactory
from tests.factories_alerts import equipment_for, make_rule, minutes, now, schedule
from tests.factories_execution import released_order
from tests.processes import start_worker, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.embedded, pytest.mark.django_db(transaction=True)]

STREAM_OPEN = """() => {
  const el = document.querySelector('[data-testid=alert-stream]');
  const d = el && el['htmx-internal-data'];
  const bell = document.getElementById('mes-notify');
  return d && d.sseEventSource && d.sseEventSource.readyState === 1
         && bell && bell.dataset.live === '1';
}"""


def test_alert_from_another_process_appears_live_with_toast_and_badge(asgi_server, page,
                                                                       make_user):
    lead = make_user("workshop_lead", username="live_lead")
    wc = WorkCenterFactory(lead=lead)
    _wo, (task,), _ = released_order(steps=1, work_center=wc)
    t0 = now()
    schedule(task, t0 - minutes(60), t0 + minutes(30))
    make_rule(Kind.SCHEDULE_LAG, minutes=30, severity="critical")

    browser_login(page, asgi_server, lead.username, PASSWORD)
    page.goto(asgi_server.url + "/alerts/list/")
    page.wait_for_function(STREAM_OPEN)
    assert page.locator("[data-testid=alert-row]").count() == 0
    assert page.get_by_test_id("notify-count").is_hidden()

    started = time.monotonic()
    subprocess.run([sys.executable, "manage.py", "alerts_sweep"], cwd=ROOT,
                   env=subprocess_env(), check=True, capture_output=True)
    written = time.monotonic()
    row = page.locator("[data-testid=alert-row]")
    row.first.wait_for(timeout=5_000)
    assert time.monotonic() - written <= 3.0, f"took {time.monotonic() - written:.2f}s"
    assert written - started < 60
    toast = page.get_by_test_id("toast")
    toast.wait_for(timeout=5_000)
    assert str(task.work_order) in toast.inner_text()
    badge = page.get_by_test_id("notify-count")
    badge.wait_for(state="visible", timeout=5_000)
    assert badge.inner_text() == "1"
    screenshot(page, "alerts-live-toast")

    # acknowledge from the row; the list follows
    page.get_by_test_id("ack").click()
    page.locator("[data-testid=alert-row][data-status=acknowledged]").wait_for(timeout=5_000)
    status = page.get_by_test_id("action-status")
    status.wait_for(state="visible", timeout=5_000)
    assert status.inner_text() == f"Alert #{Alert.objects.get().pk} acknowledged."
    # resolve in the dialog: refused without a cause, then done
    page.get_by_test_id("resolve").click()
    dialog = page.locator("#alert-dialog")
    dialog.wait_for(state="visible")
    page.get_by_test_id("action-submit").click()
    dialog.locator(".error", has_text="Say what caused it.").wait_for()
    dialog.locator("textarea[name=cause]").fill("Operator was at another machine")
    dialog.locator("textarea[name=action]").fill("Relief operator assigned")
    page.get_by_test_id("action-submit").click()
    dialog.wait_for(state="hidden")
    page.locator("[data-testid=alert-row]").first.wait_for(state="detached", timeout=5_000)
    alert = Alert.objects.get()
    page.wait_for_function("document.querySelector('[data-testid=action-status]').textContent"
                           f" === 'Alert #{alert.pk} resolved.'", timeout=5_000)
    assert status.is_visible()  # the row left the list (filtered: open ones): this says why
    assert (alert.status, alert.resolved_by_id) == ("resolved", lead.pk)
    screenshot(page, "alerts-list-after-resolve")

    # the toast's link opened later marks the notification read
    page.goto(asgi_server.url + "/alerts/inbox/")
    page.get_by_test_id("inbox-item").first.locator("a").click()
    page.wait_for_url(f"**/alerts/{alert.pk}/")
    page.wait_for_function("() => document.getElementById('mes-notify').dataset.unread === '0'")
    screenshot(page, "alerts-detail")


# What a station's "machine down" button does, from another process, through the service.
BREAK_DOWN = """
import sys, django
django.setup()
from execution.models import DowntimeReason
from execution.services.equipment import equipment_set_state
from planning.models import Equipment
reason, _ = DowntimeReason.objects.get_or_create(code="MECH", defaults={"name": "机械故障"})
equipment_set_state(actor=None, equipment=Equipment.objects.get(pk=int(sys.argv[1])),
                    state="down", reason=reason)
"""
BOARD_OPEN = ("() => { const el = document.querySelector('[sse-connect]');"
              " const d = el && el['htmx-internal-data'];"
              " return !!(d && d.sseEventSource && d.sseEventSource.readyState === 1); }")


def test_downtime_alert_reaches_an_open_board_through_a_real_worker(asgi_server, page,
                                                                     make_user, tmp_path):
    lead = make_user("workshop_lead", username="board_lead")
    wc = WorkCenterFactory(lead=lead)
    machine = equipment_for(wc)
    make_rule(Kind.DOWNTIME, minutes=0, severity="critical")
    # A broker folder of this test's own (embedded), so no other worker takes its messages.
    env = subprocess_env(DJANGO_SETTINGS_MODULE="mes.settings", MES_VAR_DIR=str(tmp_path))
    worker = start_worker(env, name="alerts-board-worker")
    try:
        wait_for(lambda: "ready." in worker.output(), 60, "the Celery worker did not start: "
                 + str(worker.log_path), 0.2)
        browser_login(page, asgi_server, lead.username, PASSWORD)
        page.goto(asgi_server.url + reverse("dashboards:board"))
        page.wait_for_function(BOARD_OPEN)
        critical = page.get_by_test_id(f"tile-{wc.code}").locator(".sev-critical")
        expect(critical).to_have_text("⚠ 0")
        page.evaluate("window.boardNotReloaded = true")

        subprocess.run([sys.executable, "-c", BREAK_DOWN, str(machine.pk)], cwd=ROOT,  # noqa: S603
                       env=env, check=True, capture_output=True)
        expect(critical).to_have_text("⚠ 1", timeout=15_000)
        expect(critical).to_have_class("sev sev-critical on")
        expect(page.get_by_test_id("alerts-critical")).to_have_text("1")
        assert page.evaluate("window.boardNotReloaded") is True  # pushed, not reloaded
        screenshot(page, "board-downtime-alert-live")
        log = worker.output()
    finally:
        worker.stop()
    # Raised by the worker's event-driven evaluation (nothing else runs: no beat, no sweep).
    assert "alerts.tasks.alerts_evaluate_focus_task" in log and "succeeded" in log
    (alert,) = Alert.objects.all()
    assert (alert.kind, alert.equipment_id, alert.work_center_id, alert.status) == (
        Kind.DOWNTIME, machine.pk, wc.pk, "open")
