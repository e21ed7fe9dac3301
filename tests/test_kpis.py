"""Each KPI against a value computed by hand on a small scenario, with the edge cases."""

import datetime

import pytest
from django.test import override_settings
from django.utils import timezone, translation

from dashboards import kpis
from dashboards.periods import Period, Scope, buckets
from dashboards.selectors.kpi_pages import kpi_breakdown, kpi_targets, kpi_trend, target_for
from planning.models import Shift, ShiftCalendar, WorkOrder
from tests.factories import LineFactory, WorkCenterFactory
from tests.factories_kpi import (
    EquipmentFactory,
    alert,
    at,
    downtime,
    inspection,
    nonconformance,
    report,
    rework_task,
    work_order,
)

pytestmark = pytest.mark.django_db
MARCH = (at("2026-03-01"), at("2026-04-01"))


@pytest.fixture
def wc():
    return WorkCenterFactory()


def test_on_time_rate_counts_completion_within_the_period(wc):
    work_order(work_centers=[wc], due=at("2026-03-10", "12:00"),
               actual_end=at("2026-03-10", "12:00"))                      # on time: = due
    late = work_order(work_centers=[wc], due=at("2026-03-05"), actual_end=at("2026-03-06"))
    work_order(work_centers=[wc], due=at("2026-03-20"), actual_end=at("2026-03-15"),
               status=WorkOrder.Status.ACCEPTED)                            # accepted counts
    work_order(work_centers=[wc], due=at("2026-03-20"), actual_end=at("2026-02-28", "23:59"))
    work_order(work_centers=[wc], due=at("2026-04-20"), actual_end=at("2026-04-01"))  # next
    work_order(work_centers=[wc], due=at("2026-03-02"))                     # not completed
    r = kpis.kpi_on_time_rate(*MARCH)
    assert (r.numerator, r.denominator) == (2, 3)
    assert r.value == pytest.approx(200 / 3)
    assert r.records.count() == 3
    assert late.pk not in set(r.numerator_records.values_list("pk", flat=True))
    assert set(kpis.KPIS["on_time"].parts["rest"][1](Period(*MARCH), Scope())
               .values_list("pk", flat=True)) == {late.pk}


def test_on_time_scope_by_line_workshop_and_work_center(wc):
    other = WorkCenterFactory()
    work_order(work_centers=[wc], due=at("2026-03-10"), actual_end=at("2026-03-09"))
    work_order(work_centers=[other, wc], due=at("2026-03-10"), actual_end=at("2026-03-11"))
    assert kpis.kpi_on_time_rate(*MARCH, line=wc.line).denominator == 1
    assert kpis.kpi_on_time_rate(*MARCH, workshop=other.line.workshop).value == 0
    # A work order belongs to every work center one of its operations runs at.
    assert kpis.kpi_on_time_rate(*MARCH, work_center=wc).denominator == 2
    assert kpis.kpi_on_time_rate(*MARCH, work_center=other).denominator == 1


def test_report_timeliness_grace_boundary(wc):
    wo = work_order(work_centers=[wc], due=at("2026-03-30"))
    task = wo.tasks.get()
    end = at("2026-03-02", "10:00")
    report(task, work_end=end, reported_at=end + datetime.timedelta(minutes=30))  # exactly
    report(task, work_end=end, reported_at=end + datetime.timedelta(minutes=30, seconds=1))
    report(task, work_end=end, reported_at=end + datetime.timedelta(minutes=5))
    report(task, work_end=at("2026-02-28"), reported_at=at("2026-02-28", "23:59"))  # before
    r = kpis.kpi_report_timeliness(*MARCH)
    assert (r.numerator, r.denominator) == (2, 3)
    assert r.value == pytest.approx(200 / 3)
    with override_settings(MES_REPORT_GRACE_MINUTES=60):
        assert kpis.kpi_report_timeliness(*MARCH).numerator == 3
        with translation.override("en"):
            assert "60 min" in kpis.formula(kpis.KPIS["report_timeliness"])


def test_exception_response_counts_in_the_period_raised(wc):
    alert(raised_at=at("2026-03-31", "23:00"), acknowledged_at=at("2026-04-01", "01:00"),
          work_center=wc)                                   # acknowledged after the period
    alert(raised_at=at("2026-03-10", "08:00"), acknowledged_at=at("2026-03-10", "08:30"),
          resolved_at=at("2026-03-10", "10:00"), work_center=wc)
    alert(raised_at=at("2026-03-11"), work_center=wc)                    # not acknowledged
    alert(raised_at=at("2026-02-28", "23:00"), acknowledged_at=at("2026-03-01", "01:00"),
          work_center=wc)                                   # raised before the period
    r = kpis.kpi_exception_response(*MARCH)
    assert r.value == pytest.approx(1.25)                   # (2 h + 0.5 h) / 2
    assert (r.numerator, r.denominator) == (pytest.approx(2.5), 2)
    assert r.extra["ack_p50"] == pytest.approx(1.25)
    assert r.extra["ack_p90"] == pytest.approx(0.5 + 1.5 * 0.9)
    assert r.extra["raised"] == 3 and r.extra["unacknowledged"] == 1
    assert r.extra["resolve_mean"] == pytest.approx(2.0) and r.extra["resolved"] == 1
    assert r.numerator_records.count() == 2
    assert kpis.kpi_exception_response(*MARCH, line=LineFactory()).extra["raised"] == 0


def test_rework_rate_counts_a_work_order_reworked_twice_once(wc):
    twice = work_order(work_centers=[wc], due=at("2026-03-10"), actual_end=at("2026-03-09"))
    rework_task(twice)
    rework_task(twice)
    work_order(work_centers=[wc], due=at("2026-03-10"), actual_end=at("2026-03-09"))
    work_order(work_centers=[wc], due=at("2026-03-10"), actual_end=at("2026-03-09"))
    r = kpis.kpi_rework_rate(*MARCH)
    assert (r.numerator, r.denominator) == (1, 3)
    assert list(r.numerator_records) == [twice]


@pytest.fixture
def inspected(wc):
    wo = work_order(work_centers=[wc], due=at("2026-03-30"))
    task = wo.tasks.get()
    i1 = inspection(task, quantity="10", passed="8", inspected_at=at("2026-03-05"))
    inspection(task, quantity="5", passed="5", inspected_at=at("2026-03-06"))
    inspection(task, quantity="2", passed="2", loop=1, inspected_at=at("2026-03-07"))
    i5 = inspection(task, quantity="3", passed="0", inspected_at=at("2026-03-08"))
    inspection(task, quantity="4", passed="4", inspected_at=at("2026-02-27"))  # before
    nonconformance(i1, quantity="2", code="D01", disposition="rework")
    nonconformance(i5, quantity="3", code="D02", disposition="scrap")
    return wo


def test_first_pass_yield_ignores_reinspections(inspected):
    r = kpis.kpi_first_pass_yield(*MARCH)
    assert (float(r.numerator), float(r.denominator)) == (13, 18)
    assert r.records.count() == 3 and r.numerator_records.count() == 2


def test_rework_rate_units(inspected):
    r = kpis.kpi_rework_rate_units(*MARCH)
    assert (float(r.numerator), float(r.denominator)) == (2, 18)
    assert r.value == pytest.approx(200 / 18)


def test_defect_pareto(inspected):
    r = kpis.kpi_defect_pareto(*MARCH)
    rows = r.extra["rows"]
    assert [(x["defect_code__code"], x["qty"]) for x in rows] == [("D02", 3), ("D01", 2)]
    assert [round(x["cum"]) for x in rows] == [60, 100]
    assert r.value == 5
    # 5 nonconforming units read "5" on the tile, as a count of units does (not "5.0").
    from dashboards.charts import figure_text

    assert figure_text(r.value) == figure_text(r.numerator) == "5"


def test_downtime_clipped_to_the_period_and_split_by_day(wc):
    eq1, eq2 = EquipmentFactory(work_center=wc), EquipmentFactory(work_center=wc)
    downtime(eq1, at("2026-02-28", "22:00"), at("2026-03-01", "02:00"))  # 2 h in March
    downtime(eq2, at("2026-03-31", "23:00"), at("2026-04-01", "01:00"))  # 1 h in March
    downtime(eq1, at("2026-03-10", "08:00"), at("2026-03-10", "09:30"))  # 1.5 h
    downtime(eq1, at("2026-03-12", "08:00"), at("2026-03-12", "12:00"), planned=True)
    r = kpis.kpi_downtime_hours(*MARCH)
    assert r.value == pytest.approx(4.5)
    assert [(e["code"], e["hours"]) for e in r.extra["by_equipment"]] == [
        (eq1.code, pytest.approx(3.5)), (eq2.code, pytest.approx(1.0))]
    assert r.records.count() == 3
    february = kpis.kpi_downtime_hours(at("2026-02-01"), at("2026-03-01"))
    assert february.value == pytest.approx(2.0)
    period = Period(*MARCH)
    trend = kpi_trend(kpis.KPIS["downtime"], period, Scope(), "day", kpi_targets(), 1)
    assert len(trend) == 31
    by_day = {p.label: p.figure.value for p in trend if p.figure.value}
    assert by_day == {"03-01": pytest.approx(2), "03-10": pytest.approx(1.5),
                      "03-31": pytest.approx(1)}
    # 60 h per line per year, pro rata: March on one line.
    assert trend[0].target == pytest.approx(60 / 365)
    assert target_for(kpis.KPIS["downtime"], kpi_targets(), period, 2) == pytest.approx(
        60 * 2 * 31 / 365)


def test_open_downtime_counts_until_now(wc):
    from django.utils import timezone

    now = timezone.now()
    downtime(EquipmentFactory(work_center=wc), now - datetime.timedelta(hours=2))
    r = kpis.kpi_downtime_hours(now - datetime.timedelta(days=1),
                                now + datetime.timedelta(days=1))
    assert r.value == pytest.approx(2, abs=0.01)


def test_oee_around_the_clock(wc):
    eq = EquipmentFactory(work_center=wc)
    day = (at("2026-03-10"), at("2026-03-11"))
    downtime(eq, at("2026-03-10"), at("2026-03-10", "02:00"), planned=True)
    downtime(eq, at("2026-03-10", "08:00"), at("2026-03-10", "09:30"))
    task = work_order(work_centers=[wc], due=at("2026-03-30")).tasks.get()  # 6 min per unit
    report(task, work_end=at("2026-03-10", "10:00"), good="60", scrap="10")
    report(task, work_end=at("2026-03-10", "14:00"), good="40")
    report(task, work_end=at("2026-03-11", "01:00"), good="40")  # next day
    r = kpis.kpi_oee(*day)
    e = r.extra
    assert e["calendar_h"] == pytest.approx(24)
    assert e["planned_busy_h"] == pytest.approx(22)
    assert e["run_h"] == pytest.approx(20.5)
    assert e["availability"] == pytest.approx(100 * 20.5 / 22)
    assert e["performance"] == pytest.approx(100 * 11 / 20.5)   # 110 units × 6 min = 11 h
    assert e["quality"] == pytest.approx(100 * 100 / 110)
    assert r.value == pytest.approx(100 * 10 / 22)
    assert r.value == pytest.approx(e["availability"] * e["performance"] * e["quality"] / 1e4)
    assert r.numerator_records.count() == 2


def test_oee_uses_the_shift_calendar(wc):
    cal = ShiftCalendar.objects.create(code="C1", name="白班")
    Shift.objects.create(calendar=cal, name="白班", weekday=1, start=datetime.time(8),
                         end=datetime.time(16), breaks=[["12:00", "12:30"]])  # Tuesdays
    wc.calendar, wc.machines = cal, 2
    wc.save()
    eq = EquipmentFactory(work_center=wc)
    downtime(eq, at("2026-03-10", "07:00"), at("2026-03-10", "09:30"))  # 1.5 h in the shift
    downtime(eq, at("2026-03-10", "20:00"), at("2026-03-10", "22:00"))  # outside: no cost
    task = work_order(work_centers=[wc], due=at("2026-03-30")).tasks.get()
    report(task, work_end=at("2026-03-10", "11:00"), good="50")
    r = kpis.kpi_oee(at("2026-03-10"), at("2026-03-11"))
    assert r.extra["calendar_h"] == pytest.approx(15)          # 7.5 h × 2 machines
    assert r.extra["run_h"] == pytest.approx(13.5)
    assert r.value == pytest.approx(100 * 5 / 15)
    week = kpis.KPIS["oee"].grouped(Period(at("2026-03-09"), at("2026-03-16")), Scope(),
                                    ("bucket", "day"))
    assert week[datetime.date(2026, 3, 10)].value == pytest.approx(100 * 5 / 15)
    assert week[datetime.date(2026, 3, 11)].extra["calendar_h"] == 0


def test_oee_work_beyond_the_planned_time_counts_as_overtime(wc):
    """A day-shift work center that also worked at night: the night's work is not set against
    the day's hours (the plant read 795 % with performance 820 %). Its ideal time beyond the
    planned run time is added as overtime, so performance stays within 100 %."""
    cal = ShiftCalendar.objects.create(code="C2", name="白班")
    Shift.objects.create(calendar=cal, name="白班", weekday=1, start=datetime.time(8),
                         end=datetime.time(10))  # Tuesdays, 2 h
    wc.calendar = cal
    wc.save()
    task = work_order(work_centers=[wc], due=at("2026-03-30")).tasks.get()  # 6 min per unit
    report(task, work_end=at("2026-03-10", "09:00"), good="10")  # 1 h in the shift
    report(task, work_end=at("2026-03-10", "23:00"), good="40")  # 4 h at night
    r = kpis.kpi_oee(at("2026-03-10"), at("2026-03-11"))
    assert r.extra["performance"] == pytest.approx(100)
    assert r.extra["calendar_h"] == pytest.approx(5)  # 2 h planned + 3 h beyond them
    assert r.value == pytest.approx(100)
    # Within its planned time, a work center's figures are as before.
    idle = WorkCenterFactory(line=wc.line)
    by_center = kpis.KPIS["oee"].grouped(Period(at("2026-03-10"), at("2026-03-11")),
                                         Scope(line=wc.line_id), ("dim", "work_center"))
    assert by_center[idle.pk].extra["calendar_h"] == pytest.approx(24)
    line = kpis.kpi_oee(at("2026-03-10"), at("2026-03-11"), line=wc.line_id)
    assert line.extra["performance"] <= 100


def test_oee_counts_planned_time_from_the_day_a_work_center_came_into_service(wc):
    """A work center put into service (or under this system) on the 10th of March lost no
    planned time before: March's OEE is that of its days in service, and a stop before them
    costs nothing. Another one, in service all along, still counts the whole month."""
    wc.in_service_from = datetime.date(2026, 3, 10)
    wc.save()
    older = WorkCenterFactory(line=wc.line)
    eq = EquipmentFactory(work_center=wc)
    downtime(eq, at("2026-03-09", "20:00"), at("2026-03-10", "02:00"))  # 2 h of it in service
    downtime(eq, at("2026-03-05"), at("2026-03-06"), planned=True)  # before: not counted
    task = work_order(work_centers=[wc], due=at("2026-03-30")).tasks.get()  # 6 min per unit
    report(task, work_end=at("2026-03-10", "10:00"), good="60")
    march = kpis.kpi_oee(at("2026-03-01"), at("2026-03-11"), work_center=wc.pk)
    assert march.extra["calendar_h"] == pytest.approx(24)
    assert march.extra["planned_busy_h"] == pytest.approx(24)
    assert march.extra["run_h"] == pytest.approx(22)
    assert march.value == pytest.approx(100 * 6 / 24)
    assert kpis.kpi_oee(at("2026-03-01"), at("2026-03-10"),
                        work_center=wc.pk).extra["calendar_h"] == 0
    both = kpis.kpi_oee(at("2026-03-01"), at("2026-03-11"), line=wc.line_id)
    assert both.extra["calendar_h"] == pytest.approx(24 + 10 * 24)
    by_center = kpis.KPIS["oee"].grouped(Period(at("2026-03-01"), at("2026-03-11")),
                                         Scope(line=wc.line_id), ("dim", "work_center"))
    assert by_center[wc.pk].extra["calendar_h"] == pytest.approx(24)
    assert by_center[older.pk].extra["calendar_h"] == pytest.approx(240)


def test_breakdown_by_line_then_by_work_center(wc):
    other = WorkCenterFactory()
    for center, end in ((wc, at("2026-03-09")), (other, at("2026-03-11"))):
        task = work_order(work_centers=[center], due=at("2026-03-10"),
                          actual_end=end).tasks.get()
        report(task, work_end=end, reported_at=end + datetime.timedelta(hours=2))
    period = Period(*MARCH)
    dim, rows = kpi_breakdown(kpis.KPIS["on_time"], period, Scope(), kpi_targets())
    assert dim == "line"
    assert {r.label: r.figure.value for r in rows} == {wc.line.code: 100, other.line.code: 0}
    dim, rows = kpi_breakdown(kpis.KPIS["report_timeliness"], period, Scope(line=wc.line_id),
                              kpi_targets())
    assert dim == "work_center" and [r.label for r in rows] == [wc.code]


def test_buckets_cover_the_period_exactly():
    period = Period(at("2026-03-04"), at("2026-04-02"))
    weeks = buckets(period, "week")
    assert weeks[0].start == period.start and weeks[-1].end == period.end
    assert all(a.end == b.start for a, b in zip(weeks, weeks[1:], strict=False))
    assert [b.first_day.isoformat() for b in buckets(period, "month")] == [
        "2026-03-04", "2026-04-01"]


def test_the_report_rollup_gives_the_same_figures(wc):
    from dashboards.models import ReportDay
    from dashboards.selectors import rollup
    from dashboards.services import report_days_roll_up

    other = WorkCenterFactory()
    for center in (wc, other):
        task = work_order(work_centers=[center], due=at("2026-03-30")).tasks.get()
        for day, delay in (("2026-02-28", 5), ("2026-03-01", 40), ("2026-03-02", 30),
                           ("2026-03-09", 31), ("2026-03-31", 0)):
            end = at(day, "23:50")
            report(task, work_end=end, reported_at=end + datetime.timedelta(minutes=delay),
                   good="3", scrap="1")
    period, week = Period(*MARCH), Period(at("2026-03-02"), at("2026-03-09"))
    scopes = (Scope(), Scope(line=wc.line_id), Scope(work_center=other.pk))

    def figures():
        out = []
        for key in ("report_timeliness", "oee"):
            kdef = kpis.KPIS[key]
            for p in (period, week):
                for s in scopes:
                    total, by_bucket, by_dim = kdef.page(p, s, "day", "work_center")
                    out.append((total.value, total.numerator, total.denominator,
                                sorted((k, v.value) for k, v in by_bucket.items()),
                                sorted((k, v.value) for k, v in by_dim.items())))
        return out

    live = figures()
    assert report_days_roll_up(through=datetime.date(2026, 3, 5)) > 0
    assert ReportDay.objects.filter(day__lte=datetime.date(2026, 3, 5)).exists()
    assert figures() == live                     # half rollup, half raw
    report_days_roll_up()                        # up to yesterday: everything above
    assert report_days_roll_up() == 0            # idempotent
    assert figures() == live
    # A report written now but dated in a rolled-up day (an import): the stale days are read
    # raw until the next roll-up remakes them.
    late = report(wc.tasks.get(), work_end=at("2026-03-03"),
                  reported_at=at("2026-03-03", "00:10"))
    assert rollup.rolled_through() is None
    live = figures()
    assert live[0][2] == 9
    assert report_days_roll_up() == (timezone.localdate() - datetime.date(2026, 3, 3)).days
    assert rollup.rolled_through() is not None and figures() == live
    assert ReportDay.objects.get(day=datetime.date(2026, 3, 3), work_center=late.work_center
                                 ).reports == 2
    with override_settings(MES_REPORT_GRACE_MINUTES=60):  # made with another grace: unused
        assert kpis.kpi_report_timeliness(*MARCH).numerator == 9


# --- One figure, one text --------------------------------------------------------------------
def _headline(html: str) -> str:
    import re

    return re.search(r'data-testid="value">([^<]*)<', html).group(1)


def test_a_figure_reads_the_same_on_the_headline_the_tables_and_the_overview(wc, client_as):
    """The downtime page read 252.5 h in its headline, 253 in the table beside it and
    "hours: 252.50" on the KPI overview: every page now writes a figure with one rule."""
    import re

    from django.urls import reverse

    downtime(EquipmentFactory(work_center=wc), at("2026-03-02"), at("2026-03-12", "12:30"))
    march = {"start": "2026-03-01", "end": "2026-03-31"}
    client = client_as("manager")
    page = client.get(reverse("dashboards:kpi_detail", args=["downtime"]), march)
    assert _headline(page.content.decode()) == "252.5 h"
    assert [c.text for _h, c in page.context["summary"]][:2] == ["252.5", "1"]
    per_equipment = next(g for g in page.context["grids"] if g.key == "equipment")
    assert per_equipment.rows[0][2].text == "252.5"
    overview = client.get(reverse("dashboards:kpi_index"), march).content.decode()
    card = overview.split('data-testid="kpi-downtime"')[1].split("</article>")[0]
    assert _headline(card) == "252.5 h"
    assert re.search(r'data-testid="numerator">[^<]*[:：] ?252\.5</a>', card), card
    # A percentage and a time under 10 h likewise (they read 100 beside 100.0 %, and 0.33
    # beside 0.3 h).
    work_order(work_centers=[wc], due=at("2026-03-20"), actual_end=at("2026-03-19"))
    page = client.get(reverse("dashboards:kpi_detail", args=["on_time"]), march)
    assert _headline(page.content.decode()) == "100.0 %"
    assert page.context["summary"][0][1].text == "100.0"
    alert(raised_at=at("2026-03-05", "08:00"), acknowledged_at=at("2026-03-05", "08:20"),
          work_center=wc)
    page = client.get(reverse("dashboards:kpi_detail", args=["response"]), march)
    assert _headline(page.content.decode()) == "0.3 h"
    assert page.context["summary"][2][1].text == "0.3"
    # Chinese readers read the hours as 小时 (the target form, the chart's axis alike).
    zh = client.get(reverse("dashboards:kpi_detail", args=["downtime"]), march,
                    HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert _headline(zh) == "252.5 小时"
    assert " h<" not in zh and " h " not in zh.split('data-testid="value"')[1][:400]


def test_the_oee_page_says_its_downtime_is_the_part_in_working_time(wc, client_as):
    """The OEE page counts only the part of each stop inside working time, the downtime page
    every stop whole: the walk saw 148.2 h beside 309.2 h under the same name. The OEE page's
    column says which downtime it is, in both languages."""
    from django.urls import reverse

    downtime(EquipmentFactory(work_center=wc), at("2026-03-02"), at("2026-03-03"))
    march = {"start": "2026-03-01", "end": "2026-03-31"}
    client = client_as("manager")
    oee = client.get(reverse("dashboards:kpi_detail", args=["oee"]), march).content.decode()
    assert "Unplanned downtime in working time (h)" in oee or \
        "unplanned downtime in working time (h)" in oee
    down = client.get(reverse("dashboards:kpi_detail", args=["downtime"]), march).content.decode()
    assert "in working time" not in down
    zh = client.get(reverse("dashboards:kpi_detail", args=["oee"]), march,
                    HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "工作时间内的非计划停机（小时）" in zh
