"""OEE run time (APT) is the time work actually ran, from the stations' start, pause, resume
and complete records: planned time with no task running is an availability loss, not a slow
machine (the plant read performance 13 % for machines that stood idle)."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboards import kpis
from dashboards.periods import Period, Scope
from dashboards.selectors.oee import oee_figures
from planning.models import Shift, ShiftCalendar
from tests.factories import WorkCenterFactory
from tests.factories_kpi import EquipmentFactory, at, downtime, ran, report, work_order

pytestmark = pytest.mark.django_db
TUESDAY = (at("2026-03-10"), at("2026-03-11"))


def _shift_center(machines=1):
    """A work center working 08:00–16:00 on Tuesdays (8 h), no break."""
    cal = ShiftCalendar.objects.create(code=f"S{machines}", name="白班")
    Shift.objects.create(calendar=cal, name="白班", weekday=1, start=datetime.time(8),
                         end=datetime.time(16))
    return WorkCenterFactory(calendar=cal, machines=machines)


def _task(wc):
    return work_order(work_centers=[wc], due=at("2026-03-30")).tasks.get()  # 6 min per unit


def test_two_hours_of_work_in_an_eight_hour_shift():
    """2 h running of 8 h planned, 1.5 h ideal: availability 25 %, performance 75 %."""
    wc = _shift_center()
    task = _task(wc)
    ran(task, (at("2026-03-10", "10:00"), at("2026-03-10", "12:00")))
    report(task, work_end=at("2026-03-10", "12:00"), good="15")  # 15 × 6 min = 1.5 h
    e = kpis.kpi_oee(*TUESDAY).extra
    assert e["availability"] == pytest.approx(25)
    assert e["performance"] == pytest.approx(75)
    assert e["quality"] == pytest.approx(100)
    assert (e["planned_busy_h"], e["run_h"], e["idle_h"]) == (
        pytest.approx(8), pytest.approx(2), pytest.approx(6))
    assert kpis.kpi_oee(*TUESDAY).value == pytest.approx(100 * 1.5 / 8)


def test_paused_time_is_not_run_time():
    wc = _shift_center()
    task = _task(wc)
    ran(task, (at("2026-03-10", "09:00"), at("2026-03-10", "10:00")),
        (at("2026-03-10", "11:00"), at("2026-03-10", "12:00")))  # paused 10:00–11:00
    report(task, work_end=at("2026-03-10", "12:00"), good="15")
    e = kpis.kpi_oee(*TUESDAY).extra
    assert e["run_h"] == pytest.approx(2)
    assert e["availability"] == pytest.approx(25)
    assert e["performance"] == pytest.approx(75)


def test_work_outside_the_shift_is_not_run_time_of_the_shift():
    wc = _shift_center()
    task = _task(wc)
    ran(task, (at("2026-03-10", "06:00"), at("2026-03-10", "09:00")))  # 1 h in the shift
    report(task, work_end=at("2026-03-10", "09:00"), good="5")  # 0.5 h ideal
    e = kpis.kpi_oee(*TUESDAY).extra
    assert e["run_h"] == pytest.approx(1)
    assert e["performance"] == pytest.approx(50)


def test_a_task_running_across_the_period_start_counts_from_the_start():
    wc = WorkCenterFactory()  # no calendar: around the clock
    task = _task(wc)
    ran(task, (at("2026-03-09", "22:00"), at("2026-03-10", "02:00")))
    report(task, work_end=at("2026-03-10", "02:00"), good="10")  # 1 h ideal
    e = kpis.kpi_oee(*TUESDAY).extra
    assert e["run_h"] == pytest.approx(2)
    assert e["availability"] == pytest.approx(100 * 2 / 24)
    assert e["performance"] == pytest.approx(50)
    monday = kpis.kpi_oee(at("2026-03-09"), at("2026-03-10")).extra
    assert monday["run_h"] == pytest.approx(2)  # nothing reported then: no ideal time
    by_day = kpis.KPIS["oee"].grouped(Period(at("2026-03-09"), at("2026-03-11")), Scope(),
                                      ("bucket", "day"))
    assert [by_day[d].extra["run_h"] for d in sorted(by_day)] == [
        pytest.approx(2), pytest.approx(2)]


def test_parallel_machines_run_at_most_as_many_tasks_as_they_are():
    wc = _shift_center(machines=2)
    other = WorkCenterFactory(line=wc.line)  # around the clock, nothing ran
    spans = ((8, 12), (10, 14), (11, 13))  # three at once 11:00–12:00: two count
    for start, end in spans:
        task = _task(wc)
        ran(task, (at("2026-03-10", f"{start:02d}:00"), at("2026-03-10", f"{end:02d}:00")))
        report(task, work_end=at("2026-03-10", f"{end:02d}:00"), good="20")  # 2 h ideal
    e = kpis.kpi_oee(*TUESDAY, work_center=wc.pk).extra
    assert e["calendar_h"] == pytest.approx(16)
    assert e["run_h"] == pytest.approx(2 + 2 + 2 + 2 + 1)
    assert e["availability"] == pytest.approx(100 * 9 / 16)
    assert e["performance"] == pytest.approx(100 * 6 / 9)
    by_center = kpis.KPIS["oee"].grouped(Period(*TUESDAY), Scope(line=wc.line_id),
                                         ("dim", "work_center"))
    assert by_center[wc.pk].extra["run_h"] == pytest.approx(9)
    assert by_center[other.pk].extra["run_h"] == 0
    assert by_center[other.pk].extra["idle_h"] == pytest.approx(24)
    line = kpis.kpi_oee(*TUESDAY, line=wc.line_id).extra
    assert line["run_h"] == pytest.approx(9) and line["idle_h"] == pytest.approx(16 - 9 + 24)


def test_downtime_while_running_is_not_run_time():
    wc = _shift_center()
    eq = EquipmentFactory(work_center=wc)
    task = _task(wc)
    ran(task, (at("2026-03-10", "08:00"), at("2026-03-10", "12:00")))
    downtime(eq, at("2026-03-10", "09:00"), at("2026-03-10", "10:00"))  # the task not paused
    report(task, work_end=at("2026-03-10", "12:00"), good="15")
    e = kpis.kpi_oee(*TUESDAY).extra
    assert e["unplanned_down_h"] == pytest.approx(1)
    assert e["run_h"] == pytest.approx(3)
    assert e["idle_h"] == pytest.approx(8 - 1 - 3)
    assert e["availability"] == pytest.approx(100 * 3 / 8)
    assert e["performance"] == pytest.approx(50)


def test_a_task_still_running_counts_until_now():
    now = timezone.now()
    wc = WorkCenterFactory()  # around the clock
    task = _task(wc)
    ran(task, (now - datetime.timedelta(hours=3), None))
    report(task, work_end=now - datetime.timedelta(minutes=5), good="10")  # 1 h ideal
    e = kpis.kpi_oee(now - datetime.timedelta(days=1), now + datetime.timedelta(days=1)).extra
    assert e["calendar_h"] == pytest.approx(24, abs=0.01)
    assert e["run_h"] == pytest.approx(3, abs=0.01)
    assert e["performance"] == pytest.approx(100 / 3, abs=0.1)


def test_the_oee_is_the_same_as_before_only_its_split_changes():
    """OEE = ideal × good ÷ total ÷ PBT whatever the run time: per day, per work center and
    in total, and A × P × Q gives it."""
    wc, around = _shift_center(machines=2), WorkCenterFactory()
    eq = EquipmentFactory(work_center=wc)
    downtime(eq, at("2026-03-10", "13:00"), at("2026-03-10", "14:00"))
    downtime(eq, at("2026-03-11", "08:00"), at("2026-03-11", "09:00"), planned=True)
    for center, day, good, scrap in ((wc, "2026-03-10", "30", "2"), (around, "2026-03-10", "5",
                                     "0"), (around, "2026-03-11", "12", "3"),
                                     (wc, "2026-03-10", "200", "0")):  # beyond the shift
        task = _task(center)
        ran(task, (at(day, "08:30"), at(day, "11:00")))
        report(task, work_end=at(day, "11:00"), good=good, scrap=scrap)
    period = Period(at("2026-03-09"), at("2026-03-12"))
    for group in (None, ("bucket", "day"), ("dim", "work_center")):
        for t in oee_figures(period, Scope(), group).values():
            if not t.planned_busy_h:
                continue
            assert t.run_h <= t.planned_busy_h - t.unplanned_down_h + 1e-9
            if not t.total:
                assert t.oee == 0
                continue
            assert t.oee == pytest.approx(t.ideal_h * t.good / t.total / t.planned_busy_h)
            assert t.oee == pytest.approx(t.availability * t.performance * t.quality)
            assert t.performance <= 1 + 1e-9
    total = oee_figures(period, Scope())[None]
    # Tuesday 2 × 8 h at the shift work center, 72 h around the clock at the other one, and
    # the shift work center's 232 units (23.2 h ideal) beyond its 16 h less the 1 h stop.
    assert total.planned_busy_h == pytest.approx(16 + 72 + (23.2 - 15))
    assert total.oee == pytest.approx((3.2 * 30 / 32 + 23.2 - 3.2 + 0.5 + 1.5 * 12 / 15)
                                      / total.planned_busy_h)


def test_a_fixed_number_of_queries_whatever_the_activities(django_assert_num_queries):
    wc = _shift_center()
    period = Period(*TUESDAY)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            oee_figures(period, Scope(), ("cube", "day", "work_center"))
        return len(ctx.captured_queries)

    ran(_task(wc), (at("2026-03-10", "08:00"), at("2026-03-10", "09:00")))
    few = count()
    for hour in range(9, 15):
        task = _task(wc)
        ran(task, (at("2026-03-10", f"{hour:02d}:00"), at("2026-03-10", f"{hour:02d}:20")),
            (at("2026-03-10", f"{hour:02d}:30"), at("2026-03-10", f"{hour:02d}:50")))
        report(task, work_end=at("2026-03-10", f"{hour:02d}:50"), good="3")
    assert count() == few


def test_the_page_shows_the_idle_hours_and_why_its_downtime_differs(client_as):
    """Where the availability went (no work running), and that its unplanned downtime is the
    part in working time (the plant read 148.2 h here and 309.2 h on the downtime page)."""
    from django.urls import reverse

    wc = _shift_center()
    eq = EquipmentFactory(work_center=wc)
    task = _task(wc)
    ran(task, (at("2026-03-10", "10:00"), at("2026-03-10", "12:00")))
    report(task, work_end=at("2026-03-10", "12:00"), good="15")
    downtime(eq, at("2026-03-10", "15:00"), at("2026-03-10", "18:00"))  # 1 h in the shift
    client = client_as("manager")
    url = reverse("dashboards:kpi_detail", args=["oee"])
    query = {"start": "2026-03-10", "end": "2026-03-10"}
    page = client.get(url, query, HTTP_ACCEPT_LANGUAGE="zh-hans")
    parts = dict(page.context["summary"])
    assert [c.value for h, c in page.context["summary"] if str(h).startswith("无任务运行")] == [
        pytest.approx(5)]  # 8 h − 1 h down − 2 h running
    assert "工作时间内的非计划停机（小时）" in {str(h) for h in parts}
    assert "此处的非计划停机只计计划工作时间内的部分" in page.content.decode()
    english = client.get(url, query, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "no work running (h)" in english and "downtime hours KPI counts every" in english
