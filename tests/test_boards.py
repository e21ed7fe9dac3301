"""Board, order progress and KPI pages: content, permissions, exports, fixed query counts."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from dashboards.kpis import KPIS
from dashboards.models import KpiTarget
from dashboards.periods import Scope
from dashboards.selectors.board import board, planned_by_now
from dashboards.selectors.orders import order_progress
from mes.models import AuditEntry
from planning.models import ProductionOrder, Task
from tests.factories import WorkCenterFactory
from tests.factories_kpi import (
    EquipmentFactory,
    alert,
    downtime,
    equipment_state,
    plant_activity,
    report,
    work_order,
)

pytestmark = pytest.mark.django_db
HOUR = datetime.timedelta(hours=1)


def pages():
    urls = [reverse("dashboards:board"), reverse("dashboards:board_grid"),
            reverse("dashboards:order_progress"), reverse("dashboards:kpi_index"),
            reverse("dashboards:kpi_targets"), reverse("dashboards:kpi_report")]
    for key, kdef in KPIS.items():
        urls.append(reverse("dashboards:kpi_detail", args=[key]))
        urls += [reverse("dashboards:kpi_records", args=[key, part]) for part in kdef.parts]
    return urls


# --- Permissions ------------------------------------------------------------------------------
def test_operators_get_403_everywhere(client_as):
    client = client_as("operator")
    for url in pages():
        assert client.get(url).status_code == 403, url


@pytest.mark.parametrize("role", ["manager", "workshop_lead", "planner", "qc_inspector"])
def test_roles_with_view_dashboards_see_every_page(client_as, role):
    client = client_as(role)
    for url in pages():
        assert client.get(url).status_code == 200, url


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("dashboards:board"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_managers_edit_targets_and_it_is_audited(client_as):
    client = client_as("manager")
    response = client.post(reverse("dashboards:kpi_targets"),
                           {"on_time": "97.5", "report_timeliness": "95", "response": "",
                            "rework": "3", "rework_units": "3", "downtime": "60", "oee": "85",
                            "fpy": ""})
    assert response.status_code == 302
    assert KpiTarget.objects.get(key="on_time").value == Decimal("97.5")
    assert KpiTarget.objects.get(key="response").value is None    # no target line
    assert KpiTarget.objects.get(key="oee").value == Decimal("85")
    assert not KpiTarget.objects.filter(key="downtime").exists()  # unchanged default
    assert AuditEntry.objects.filter(content_type__model="kpitarget").count() == 3
    page = client.get(reverse("dashboards:kpi_detail", args=["on_time"]))
    assert "97.5" in page.content.decode()


def test_others_cannot_edit_targets(client_as):
    client = client_as("workshop_lead")
    assert client.get(reverse("dashboards:kpi_targets")).status_code == 200
    assert client.post(reverse("dashboards:kpi_targets"), {"on_time": "50"}).status_code == 403
    assert not KpiTarget.objects.exists()


def test_a_bad_target_names_the_field(client_as):
    response = client_as("manager").post(reverse("dashboards:kpi_targets"),
                                         {"on_time": "150", "downtime": "-1"})
    assert response.status_code == 422
    form = response.context["form"]
    assert "on_time" in form.errors and "downtime" in form.errors
    assert not KpiTarget.objects.exists()


def test_bad_filter_input_is_explained(client_as):
    wc = WorkCenterFactory()
    other = WorkCenterFactory()
    response = client_as("manager").get(reverse("dashboards:kpi_index"), {
        "start": "2026-03-10", "end": "2026-03-01", "line": wc.line_id,
        "work_center": other.pk})
    form = response.context["form"]
    assert "end" in form.errors and "work_center" in form.errors
    assert client_as("manager").get(reverse("dashboards:kpi_detail", args=["nope"])
                                    ).status_code == 404


# --- Board -----------------------------------------------------------------------------------
def _plant_noon() -> datetime.datetime:
    """Today's noon in the plant's time zone: "today" figures must not depend on the hour the
    suite runs (a report an hour ago is yesterday's just after midnight)."""
    return timezone.localtime().replace(hour=12, minute=0, second=0, microsecond=0)


def test_board_tiles_show_state_work_progress_alerts_and_downtime():
    with time_machine.travel(_plant_noon(), tick=False):
        _board_tiles_show_state_work_progress_alerts_and_downtime()


def _board_tiles_show_state_work_progress_alerts_and_downtime():
    now = timezone.now()
    wc, idle = WorkCenterFactory(), WorkCenterFactory(line=WorkCenterFactory().line)
    eq = EquipmentFactory(work_center=wc)
    equipment_state(eq, "down")
    wo = work_order(work_centers=[wc], due=now + 24 * HOUR,
                    planned=[(now - 2 * HOUR, now + 2 * HOUR)], quantity="40")
    task = wo.tasks.get()
    Task.objects.filter(pk=task.pk).update(status=Task.Status.IN_PROGRESS)
    report(task, work_end=now - HOUR, reported_at=now - 10 * datetime.timedelta(minutes=1),
           good="5")
    downtime(eq, now - 30 * datetime.timedelta(minutes=1))          # still down
    alert(raised_at=now - HOUR, work_center=wc, severity="critical")
    alert(raised_at=now - HOUR, work_center=wc, severity="critical",
          resolved_at=now, acknowledged_at=now)                       # resolved: not open
    b = board(Scope(), now=now)
    tile = next(t for t in b.tiles if t.id == wc.pk)
    assert tile.state == "down"
    assert tile.current[0]["work_order__number"] == wo.number
    day_start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    expected = planned_by_now(Decimal(40), now - 2 * HOUR, now + 2 * HOUR, day_start, now)
    assert tile.planned_by_now == pytest.approx(expected)
    assert tile.good_today == 5
    assert tile.alerts == {"critical": 1, "warning": 0, "info": 0}
    assert tile.downtime_h == pytest.approx(0.5, abs=0.01)
    assert next(t for t in b.tiles if t.id == idle.pk).state == "idle"
    assert [t.id for t in board(Scope(line=wc.line_id), now=now).tiles] == [wc.pk]


def test_planned_by_now_is_an_even_pace():
    start = timezone.now().replace(hour=0, minute=0)
    assert planned_by_now(Decimal(10), start, start + 10 * HOUR, start,
                          start + 5 * HOUR) == pytest.approx(5)
    assert planned_by_now(Decimal(10), None, None, start, start + HOUR) == 0


def test_progress_agrees_with_the_numbers_the_board_shows():
    from dashboards.selectors.board import progress_of

    assert progress_of(32, 0.507) == pytest.approx(3200)  # shown as 32 / 1
    assert progress_of(8, 0.17) is None  # shown as 8 / 0: no percentage
    assert progress_of(0, 0.001) is None
    assert progress_of(5, 9.6) == pytest.approx(50)  # shown as 5 / 10


def test_tv_mode_has_no_navigation(client_as):
    content = client_as("manager").get(reverse("dashboards:board"), {"tv": "1"}
                                       ).content.decode()
    assert 'class="board-page tv"' in content and 'class="topbar"' not in content
    assert "sse:task.reported delay:500ms" in content and "topics=plant" in content


# --- Order progress --------------------------------------------------------------------------
def test_order_progress_levels_projection_and_risk():
    now = timezone.now()
    wc = WorkCenterFactory()
    top = work_order(work_centers=[wc, wc], due=now + 2 * HOUR, quantity="10",
                     planned=[(now - HOUR, now + HOUR), (now + HOUR, now + 5 * HOUR)])
    order = top.production_order
    child = work_order(work_centers=[wc], due=now, order=order, level=1, parent=top,
                       quantity="10")
    Task.objects.filter(work_order=child).update(status=Task.Status.DONE, qty_good=10)
    first = top.tasks.order_by("seq").first()
    Task.objects.filter(pk=first.pk).update(status=Task.Status.IN_PROGRESS, qty_good=5)
    row = next(r for r in order_progress(now=now) if r.id == order.pk)
    # Each task: 0 setup + 6 min × 10 = 60 min; top earned 30 of 120, child 60 of 60.
    assert row.levels == {0: pytest.approx(25), 1: pytest.approx(100)}
    assert row.percent == pytest.approx(100 * 90 / 180)
    assert abs(row.projected - (now + 5 * HOUR)) < datetime.timedelta(seconds=1)
    assert row.risk == "late"
    assert order_progress(now=now, risk="ok") == []
    other = work_order(work_centers=[wc], due=now + 30 * 24 * HOUR, quantity="1",
                       planned=[(now, now + HOUR)])
    rows = order_progress(now=now)
    assert [r.id for r in rows][:2] == [order.pk, other.production_order_id]
    assert rows[1].risk == "ok"
    ProductionOrder.objects.filter(pk=other.production_order_id).update(customer="华为")
    assert [r.id for r in order_progress(now=now, customer="华")] == [
        other.production_order_id]


def test_order_progress_counts_units_in_rework_as_not_done(client_as):
    """A step whose units failed inspection and went to rework is not done with them: the
    order (and its level) reads less than 100 % and not done while they are in rework or a
    rework task is open, and 100 % / done once they are back good."""
    from tests.factories_kpi import rework_task

    now = timezone.now()
    wc = WorkCenterFactory()
    wo = work_order(work_centers=[wc, wc], due=now + 48 * HOUR, quantity="10")
    first, second = wo.tasks.order_by("seq")
    Task.objects.filter(work_order=wo).update(status=Task.Status.DONE, qty_good=10)

    def row():
        return next(r for r in order_progress(now=now) if r.id == wo.production_order_id)

    assert (row().percent, row().risk) == (pytest.approx(100), "done")
    # 3 of step 1's units failed inspection and are being reworked.
    Task.objects.filter(pk=first.pk).update(qty_good=7, qty_rework=3)
    rework = rework_task(wo, origin=first, quantity="3")
    Task.objects.filter(pk=rework.pk).update(status=Task.Status.RELEASED)
    # Each step: 6 min × 10 = 60 min; step 1 has earned 42 of 60 (7 of its 10 units).
    assert row().percent == pytest.approx(100 * (42 + 60) / 120)
    assert row().levels == {0: pytest.approx(85)} and row().risk != "done"
    assert row().open_tasks == 2  # step 1 (units in rework) and the rework task
    page = client_as("manager").get(reverse("dashboards:order_progress")).content.decode()
    assert 'data-testid="percent">85 %' in page and 'data-testid="risk">done' not in page
    # Reworked and re-inspected: the rework task is done but its units are not back yet...
    Task.objects.filter(pk=rework.pk).update(status=Task.Status.DONE, qty_good=3)
    assert row().risk != "done" and row().percent < 100
    # ...then they pass and are good again.
    Task.objects.filter(pk=first.pk).update(qty_good=10, qty_rework=0)
    assert (row().percent, row().risk, row().open_tasks) == (pytest.approx(100), "done", 0)
    # An open rework task keeps the order open whatever its origin's figures say.
    Task.objects.filter(pk=rework.pk).update(status=Task.Status.IN_PROGRESS)
    assert row().risk != "done" and row().open_tasks == 1


def test_order_progress_page_shows_where_it_is(client_as):
    now = timezone.now()
    wc = WorkCenterFactory()
    wo = work_order(work_centers=[wc], due=now + 48 * HOUR)
    Task.objects.filter(work_order=wo).update(status=Task.Status.IN_PROGRESS)
    client = client_as("manager")
    content = client.get(reverse("dashboards:order_progress")).content.decode()
    assert wo.production_order.number in content and wc.code in content
    # The live refresh (and filters, paging) swap only the table.
    partial = client.get(reverse("dashboards:order_progress"), {"priority": 1},
                         HTTP_HX_REQUEST="true", HTTP_HX_TARGET="order-progress")
    assert "<html" not in partial.content.decode()
    assert wo.production_order.number in partial.content.decode()


# --- Exports -----------------------------------------------------------------------------------
def _csv(response):
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def _xlsx(response):
    assert response.status_code == 200
    return load_workbook(io.BytesIO(response.content), read_only=True)


def test_exports_parse_back(client_as):
    wcs = [WorkCenterFactory(), WorkCenterFactory()]
    plant_activity(3, wcs)
    client = client_as("manager")
    rows = _csv(client.get(reverse("dashboards:board"), {"export": "csv"}))
    assert {r[2] for r in rows[1:]} == {wc.code for wc in wcs}
    sheet = _xlsx(client.get(reverse("dashboards:board"), {"export": "xlsx"})).active
    assert len(list(sheet.iter_rows())) == 3
    rows = _csv(client.get(reverse("dashboards:order_progress"), {"export": "csv"}))
    assert len(rows) == 1 + ProductionOrder.objects.count()
    for key in KPIS:
        for table in ("trend", "breakdown"):
            rows = _csv(client.get(reverse("dashboards:kpi_detail", args=[key]),
                                   {"export": "csv", "table": table}))
            assert len(rows) >= 2, (key, table)
        sheet = _xlsx(client.get(reverse("dashboards:kpi_detail", args=[key]),
                                 {"export": "xlsx", "table": "trend"},
                                 HTTP_ACCEPT_LANGUAGE="en")).active
        assert next(sheet.iter_rows(values_only=True))[0] == "period"
    rows = _csv(client.get(reverse("dashboards:kpi_records", args=["on_time", "denominator"]),
                           {"export": "csv"}))
    assert len(rows) == 1 + 3
    rows = _csv(client.get(reverse("dashboards:kpi_records", args=["pareto", "numerator"]),
                           {"export": "csv", "defect": "D01"}))
    assert len(rows) == 2
    book = _xlsx(client.get(reverse("dashboards:kpi_report"), {
        "month": timezone.localdate().strftime("%Y-%m"), "export": "xlsx"}))
    assert len(book.sheetnames) == 1 + len(KPIS)
    summary = list(book[book.sheetnames[0]].iter_rows(values_only=True))
    assert [r[0] for r in summary[3:]] == [str(k.label) for k in KPIS.values()]
    assert client.get(reverse("dashboards:board"), {"export": "pdf"}).status_code == 400


def test_drill_down_lists_exactly_the_counted_records(client_as):
    now = timezone.now()
    wc = WorkCenterFactory()
    on_time = work_order(work_centers=[wc], due=now, actual_end=now - HOUR)
    late = work_order(work_centers=[wc], due=now - 2 * HOUR, actual_end=now - HOUR)
    client = client_as("manager")
    url = reverse("dashboards:kpi_records", args=["on_time", "numerator"])
    listed = client.get(url).context["table"].data.data
    assert list(listed) == [on_time]
    url = reverse("dashboards:kpi_records", args=["on_time", "rest"])
    assert list(client.get(url).context["table"].data.data) == [late]
    page = client.get(reverse("dashboards:kpi_detail", args=["on_time"])).content.decode()
    assert reverse("dashboards:kpi_records", args=["on_time", "numerator"]) in page


# --- Query counts --------------------------------------------------------------------------
def _counts(client, urls):
    out = {}
    for url in urls:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200, url
        out[url] = len(ctx.captured_queries)
    return out


def test_query_counts_do_not_grow_with_the_data(client_as):
    wcs = [WorkCenterFactory() for _ in range(3)]
    client = client_as("manager")
    plant_activity(2, wcs)
    small = _counts(client, pages())
    plant_activity(12, wcs + [WorkCenterFactory() for _ in range(4)])
    large = _counts(client, pages())
    assert large == small
    report = reverse("dashboards:kpi_report")
    assert small.pop(report) <= 60  # every KPI with its trend and two breakdowns
    assert max(small.values()) <= 26, small


def test_without_the_alerts_app_alert_figures_are_empty(monkeypatch):
    from django.apps import apps

    from dashboards import kpis

    now = timezone.now()
    wc = WorkCenterFactory()
    alert(raised_at=now - HOUR, work_center=wc, severity="critical")
    installed = apps.is_installed
    monkeypatch.setattr(apps, "is_installed", lambda name: name != "alerts" and installed(name))
    tile = board(Scope(), now=now).tiles[0]
    assert tile.alerts == {"critical": 0, "warning": 0, "info": 0}
    result = kpis.kpi_exception_response(now - 2 * HOUR, now)
    assert result.value is None and result.extra["raised"] == 0 and result.records is None


# --- Names in the page's language ------------------------------------------------------------
CHINESE_NAMES = ("工作中心", "产线", "物料", "设备", "缺陷", "停机原因")


def test_english_pages_show_the_english_names_of_master_data(client_as):
    """Work centers, lines, items, equipment, downtime reasons and defects: name_en in English
    (boards, order progress, every KPI page and drill-down), name in Chinese."""
    from execution.models import DowntimeEvent, DowntimeReason, EquipmentState

    wcs = [WorkCenterFactory(), WorkCenterFactory()]
    plant_activity(3, wcs)
    reason = DowntimeReason.objects.create(code="BRK", name="停机原因甲", name_en="Breakdown")
    DowntimeEvent.objects.update(reason=reason)
    EquipmentState.objects.update(reason=reason)
    client = client_as("manager")
    urls = pages()
    urls.remove(reverse("dashboards:kpi_report"))  # a form: no records shown
    for url in urls:
        content = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        shown = [name for name in CHINESE_NAMES if name in content]
        assert not shown, (url, shown)
    records = reverse("dashboards:kpi_records", args=["downtime", "numerator"])
    content = client.get(records, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Machine " in content and "Breakdown" in content
    content = client.get(records, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "设备" in content and "停机原因甲" in content
    assert "姓名" not in content  # the equipment's name is not a person's
    board_page = client.get(reverse("dashboards:board"), HTTP_ACCEPT_LANGUAGE="en")
    assert wcs[0].name_en in board_page.content.decode()
    orders = client.get(reverse("dashboards:order_progress"), HTTP_ACCEPT_LANGUAGE="en")
    assert "Item " in orders.content.decode()
    breakdown = client.get(reverse("dashboards:kpi_detail", args=["on_time"]),
                           HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert wcs[0].line.name_en in breakdown
    # Sorting a drill-down by a name column sorts by the name shown.
    sorted_page = client.get(records, {"sort": "-equipment_name"}, HTTP_ACCEPT_LANGUAGE="en")
    names = [r.equipment.name_en for r in sorted_page.context["table"].page.object_list.data]
    assert names == sorted(names, reverse=True)


def test_the_headline_plan_is_the_cards_plans_added_up():
    """Six cards each planned 1.4 by now show 1 each: the headline says 6 (not the 8 of 8.4),
    and its percentage is taken against that."""
    from django.template.loader import render_to_string

    from dashboards.selectors.board import Board, Tile

    now = timezone.now()
    tiles = [Tile(i, f"WC{i}", "车床", "L1", "W1", planned_by_now=1.4, good_today=1.0)
             for i in range(6)]
    b = Board(tiles, now, now - HOUR)
    assert [t.planned_text for t in tiles] == ["1"] * 6
    assert b.planned_by_now == 6 and b.progress == pytest.approx(100)
    html = render_to_string("dashboards/_board_grid.html", {"board": b})
    headline = html.split('data-testid="plant-good"')[1].split("</span>")[0]
    assert ">6</b> / 6" in headline and "(100 %)" in headline
