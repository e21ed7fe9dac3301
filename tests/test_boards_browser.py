"""The production board in a real browser: live updates from another process, wall-TV mode."""

import subprocess
import sys

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from tests.conftest import ROOT, browser_login, screenshot, subprocess_env
from tests.factories import PASSWORD, UserFactory, WorkCenterFactory
from tests.factories_execution import released_order
from tests.factories_kpi import EquipmentFactory, alert, equipment_state, report

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CONNECTED = ("() => { const el = document.querySelector('[sse-connect]');"
             " const data = el && el['htmx-internal-data'];"
             " return !!(data && data.sseEventSource && data.sseEventSource.readyState === 1); }")

# Another process doing what a station does, through the same services.
REPORT = """
import sys, uuid, django
django.setup()
from execution.services.reporting import task_report_quantity
from mes.models import User
from planning.models import Task
task = Task.objects.select_related("work_center").get(pk=int(sys.argv[1]))
task_report_quantity(operator=User.objects.get(pk=int(sys.argv[2])), task=task,
                     work_center=task.work_center, client_token=uuid.uuid4().hex,
                     good=sys.argv[3])
"""
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


def run_elsewhere(code: str, *args) -> None:
    subprocess.run([sys.executable, "-c", code, *map(str, args)], cwd=ROOT,  # noqa: S603
                   env=subprocess_env(DJANGO_SETTINGS_MODULE="mes.settings"), check=True,
                   capture_output=True)


def test_board_updates_live_without_reloading(asgi_server, page):
    lead = UserFactory(roles=["workshop_lead"])
    operator = UserFactory(roles=["operator"])
    _wo, tasks, wc = released_order(steps=2, qty="10")
    machine = EquipmentFactory(work_center=wc)
    browser_login(page, asgi_server, lead.username, PASSWORD)
    page.goto(asgi_server.url + reverse("dashboards:board"))
    page.wait_for_function(CONNECTED)
    tile = page.get_by_test_id(f"tile-{wc.code}")
    expect(tile.get_by_test_id("good-today")).to_have_text("0")
    expect(tile.get_by_test_id("state")).to_have_text("idle")
    page.evaluate("window.boardNotReloaded = true")

    run_elsewhere(REPORT, tasks[0].pk, operator.pk, 3)
    expect(tile.get_by_test_id("good-today")).to_have_text("3", timeout=10_000)
    expect(tile.get_by_test_id("state")).to_have_text("running")
    expect(tile).to_contain_text(str(operator.display_name))

    run_elsewhere(BREAK_DOWN, machine.pk)
    expect(tile.get_by_test_id("state")).to_have_text("down", timeout=10_000)
    assert page.evaluate("window.boardNotReloaded") is True  # partial swaps only
    screenshot(page, "board-desk-live")


def _wall_of_work_centers(n=24):
    first = WorkCenterFactory()
    states = ("running", "running", "running", "idle", "setup", "down", "maintenance")
    operator = UserFactory(roles=["operator"])
    for i in range(n):
        wc = first if i == 0 else WorkCenterFactory(line=first.line)
        equipment_state(EquipmentFactory(work_center=wc), states[i % len(states)])
        if i % 3 == 0:
            _wo, tasks, _wc = released_order(steps=1, qty="20", work_center=wc)
            report(tasks[0], work_end=timezone.now(), good=str(5 + i), operator=operator)
        if i % 5 == 0:
            alert(raised_at=timezone.now(), work_center=wc,
                  severity=("critical", "warning")[i % 2])
    return first.line


@pytest.mark.parametrize("width,height", [(1920, 1080), (3840, 2160)])
def test_tv_mode_fits_the_screen(asgi_server, page, width, height):
    lead = UserFactory(roles=["manager"])
    line = _wall_of_work_centers()
    browser_login(page, asgi_server, lead.username, PASSWORD)
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{asgi_server.url}{reverse('dashboards:board')}?line={line.pk}&tv=1")
    expect(page.locator("body.tv")).to_have_count(1)
    expect(page.locator("header.topbar")).to_have_count(0)   # no navigation on the wall
    tiles = page.locator("[data-board-tiles] > article")
    expect(tiles).to_have_count(24)
    # Every tile on screen at once, nothing to scroll.
    fits = page.evaluate("""() => {
        const tiles = [...document.querySelectorAll('[data-board-tiles] > article')];
        return tiles.every(t => !t.hidden && t.getBoundingClientRect().bottom <= innerHeight
                                 && t.getBoundingClientRect().right <= innerWidth)
            && document.documentElement.scrollHeight <= innerHeight + 1; }""")
    assert fits
    font = page.evaluate("() => parseFloat(getComputedStyle("
                         "document.querySelector('[data-board-tiles]')).fontSize)")
    assert font >= (18 if width >= 3840 else 11)  # readable from across the aisle
    screenshot(page, f"board-tv-{width}x{height}")
