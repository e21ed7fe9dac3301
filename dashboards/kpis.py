"""The KPIs, one definition each (DESIGN.md "KPIs: one definition each").

Each `kpi_*` function takes the period [start, end) and scope filters and returns a KpiResult:
the value, its numerator and denominator, and the querysets of the records counted (for the
drill-down lists). The figure, its trend, its breakdown by line or work center and its
drill-down all come from the same definition below, so they always agree.
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from dashboards.periods import Period, Scope
from dashboards.selectors.figures import (
    Figure,
    alerts_in,
    downtime_grouped,
    downtime_page,
    fold,
    oee_grouped,
    oee_page,
    pareto_grouped,
    pareto_page,
    response_grouped,
    response_page,
)
from dashboards.selectors.ratios import Part, Ratio, ratio_figures, ratio_page, ratio_value
from dashboards.selectors.rollup import report_sums
from dashboards.selectors.sources import (
    FIRST_INSPECTIONS,
    NONCONFORMANCES,
    REWORK_NONCONFORMANCES,
    WORK_ORDERS_COMPLETED,
    WORK_REPORTS,
    downtime_overlapping,
)
from planning.models import Task

HOURS_PER_YEAR = 365 * 24


@dataclass
class KpiResult(Figure):
    key: str = ""
    records: QuerySet | None = None            # every record counted (the denominator's)
    numerator_records: QuerySet | None = None  # those in the numerator


# --- Ratio definitions ------------------------------------------------------------------------
def on_time_ratio() -> Ratio:
    return Ratio(Part(WORK_ORDERS_COMPLETED, Q(actual_end__lte=F("due"))),
                 Part(WORK_ORDERS_COMPLETED))


def timely_q() -> Q:
    grace = datetime.timedelta(minutes=settings.MES_REPORT_GRACE_MINUTES)
    return Q(reported_at__lte=F("work_end") + grace)


def report_timeliness_ratio() -> Ratio:
    return Ratio(Part(WORK_REPORTS, timely_q()), Part(WORK_REPORTS))


def _timeliness_sums(period, scope, bucket=None, dim=None) -> dict:
    # Same definition as report_timeliness_ratio(), read through the daily rollup.
    return report_sums(period, scope, {
        "num": (Count("pk", filter=timely_q()), "timely"), "den": (Count("pk"), "reports")},
        bucket=bucket, dim=dim)


def _ratio_figure(acc) -> Figure:
    num, den = acc.get("num") or 0, acc.get("den") or 0
    return Figure(ratio_value(report_timeliness_ratio(), num, den), num, den)


def timeliness_grouped(period, scope, group=None):
    if group is None:
        return {None: _ratio_figure(_timeliness_sums(period, scope).get((None, None), {}))}
    bucket, dim = (group[1], None) if group[0] == "bucket" else (None, group[1])
    return {(b if bucket else d): _ratio_figure(v)
            for (b, d), v in _timeliness_sums(period, scope, bucket, dim).items()}


def timeliness_page(period, scope, bucket, dim):
    def add(acc, row):
        for k in ("num", "den"):
            acc[k] = acc.get(k, 0) + (row.get(k) or 0)
    return fold(_timeliness_sums(period, scope, bucket, dim), dict, add, _ratio_figure)


def had_rework_q() -> Q:
    # "In the set of work orders with a rework task" rather than a correlated EXISTS: the
    # database hashes that set once instead of probing the tasks once per work order.
    return Q(pk__in=Task.objects.filter(kind=Task.Kind.REWORK).values("work_order_id"))


def rework_ratio() -> Ratio:
    return Ratio(Part(WORK_ORDERS_COMPLETED, had_rework_q()), Part(WORK_ORDERS_COMPLETED))


def rework_units_ratio() -> Ratio:
    return Ratio(Part(REWORK_NONCONFORMANCES, quantity="quantity"),
                 Part(FIRST_INSPECTIONS, quantity="quantity"))


def fpy_ratio() -> Ratio:
    return Ratio(Part(FIRST_INSPECTIONS, Q(qty_passed__gt=0), "qty_passed"),
                 Part(FIRST_INSPECTIONS, quantity="quantity"))


def _ratio_grouped(make: Callable[[], Ratio]):
    def grouped(period, scope, group=None):
        return {k: Figure(v, n, d) for k, (n, d, v) in
                ratio_figures(make(), period, scope, group).items()}
    return grouped


def _ratio_page(make: Callable[[], Ratio]):
    def page(period, scope, bucket, dim):
        total, by_bucket, by_dim = ratio_page(make(), period, scope, bucket, dim)

        def fig(x):
            return Figure(x[2], x[0], x[1])
        return (fig(total), {k: fig(v) for k, v in by_bucket.items()},
                {k: fig(v) for k, v in by_dim.items()})
    return page


def _ratio_parts(make: Callable[[], Ratio], num_label, den_label, rest_label=None):
    parts = {"numerator": (num_label, lambda p, s: make().numerator.records(p, s)),
             "denominator": (den_label, lambda p, s: make().denominator.records(p, s))}
    if rest_label is not None:
        parts["rest"] = (rest_label, lambda p, s: make().denominator.records(p, s).exclude(
            make().numerator.where))
    return parts


# --- The registry ---------------------------------------------------------------------------
@dataclass(frozen=True)
class KpiDef:
    key: str
    label: str
    unit: str                   # "%" or "h"
    better: str                 # "higher", "lower" or "" (no target)
    default_target: Decimal | None
    formula: str
    grouped: Callable           # (period, scope, group=None) -> {key: Figure}
    page: Callable              # (period, scope, bucket, dim) -> (total, by bucket, by dim)
    parts: dict                 # drill-down part -> (label, (period, scope) -> queryset)
    numerator_part: str
    denominator_part: str | None
    numerator_label: str
    denominator_label: str = ""
    dims: tuple = ("line", "work_center")
    chart: str = "line"


def _formula_report_timeliness():
    return _("Work reports with reported at − work end ≤ %(grace)s min (the grace) ÷ all work "
             "reports in the period (by when they were reported).") % {
        "grace": settings.MES_REPORT_GRACE_MINUTES}


KPIS: dict[str, KpiDef] = {k.key: k for k in (
    KpiDef("on_time", _("Task on-time rate"), "%", "higher", Decimal(98), _(
        "Work orders completed in the period with completion ≤ due ÷ work orders completed in "
        "the period. Completion is when the last operation finished; work orders awaiting "
        "acceptance and accepted ones both count."),
        _ratio_grouped(on_time_ratio), _ratio_page(on_time_ratio),
        _ratio_parts(on_time_ratio, _("completed on time"), _("completed"), _("completed late")),
        "numerator", "denominator", _("on time"), _("completed"), ("line",)),
    KpiDef("report_timeliness", _("Report timeliness"), "%", "higher", Decimal(95), "",
           timeliness_grouped, timeliness_page,
           _ratio_parts(report_timeliness_ratio, _("reported in time"), _("work reports"),
                        _("reported late")),
           "numerator", "denominator", _("in time"), _("reports")),
    KpiDef("response", _("Exception response time"), "h", "lower", Decimal(12), _(
        "Acknowledged − raised, for the alerts raised in the period (whenever they were "
        "acknowledged): mean, median (p50) and 90th percentile; resolved − raised likewise. "
        "The target applies to the mean time to acknowledge."),
        response_grouped, response_page,
        {"numerator": (_("acknowledged"), lambda p, s: alerts_in(p, s, Q(
            acknowledged_at__isnull=False))),
         "denominator": (_("raised"), lambda p, s: alerts_in(p, s)),
         "rest": (_("not acknowledged"), lambda p, s: alerts_in(p, s, Q(
             acknowledged_at__isnull=True))),
         "resolved": (_("resolved"), lambda p, s: alerts_in(p, s, Q(resolved_at__isnull=False)))},
        "numerator", "numerator", _("hours to acknowledge, in total"), _("acknowledged")),
    KpiDef("rework", _("Rework rate (work orders)"), "%", "lower", Decimal(3), _(
        "Work orders completed in the period that had at least one rework task ÷ work orders "
        "completed in the period. A work order reworked twice counts once."),
        _ratio_grouped(rework_ratio), _ratio_page(rework_ratio),
        _ratio_parts(rework_ratio, _("completed with rework"), _("completed"),
                     _("completed without rework")),
        "numerator", "denominator", _("with rework"), _("completed"), ("line",)),
    KpiDef("rework_units", _("Rework rate (units)"), "%", "lower", Decimal(3), _(
        "Units sent to rework (nonconformances dispositioned rework, by when they were opened) "
        "÷ units inspected at their first inspection in the period."),
        _ratio_grouped(rework_units_ratio), _ratio_page(rework_units_ratio),
        _ratio_parts(rework_units_ratio, _("sent to rework"), _("first inspections")),
        "numerator", "denominator", _("units to rework"), _("units inspected")),
    KpiDef("downtime", _("Downtime hours"), "h", "lower", Decimal(60), _(
        "Sum of unplanned downtime, each stop clipped to the period (a stop still open counts "
        "until now). Target: hours per line per year, pro rata for the period and the lines "
        "in scope."),
        downtime_grouped, downtime_page,
        {"numerator": (_("unplanned stops"), lambda p, s: downtime_overlapping(p, s)),
         "planned": (_("planned stops"), lambda p, s: downtime_overlapping(p, s,
                                                                            planned=True))},
        "numerator", None, _("hours"), chart="bar"),
    KpiDef("oee", _("OEE"), "%", "higher", None, _(
        "Availability × Performance × Quality (ISO 22400-2). Calendar time = shift-calendar "
        "working time in the period (until now) × parallel machines, from the day a work "
        "center came into service when it has one; planned busy time = "
        "calendar time − planned downtime (maintenance) inside it; run time = planned busy "
        "time − unplanned downtime inside it. Availability = run time ÷ planned busy time; "
        "Performance = ideal cycle time (the routing's run time per unit) × total count ÷ run "
        "time; Quality = good ÷ total (good + scrap) from the work reports of the period. A "
        "line adds up its work centers' times and counts."),
        oee_grouped, oee_page,
        {"numerator": (_("work reports"), lambda p, s: WORK_REPORTS.queryset(p, s)),
         "unplanned": (_("unplanned stops"), lambda p, s: downtime_overlapping(p, s)),
         "planned": (_("planned stops"), lambda p, s: downtime_overlapping(p, s,
                                                                            planned=True))},
        "numerator", "unplanned", _("fully productive hours"), _("planned busy hours")),
    KpiDef("fpy", _("First pass yield"), "%", "higher", None, _(
        "Units passing their first inspection ÷ units inspected at their first inspection "
        "(re-inspections after rework do not count), by inspection time."),
        _ratio_grouped(fpy_ratio), _ratio_page(fpy_ratio),
        _ratio_parts(fpy_ratio, _("first inspections with passed units"),
                     _("first inspections")),
        "numerator", "denominator", _("units passed"), _("units inspected")),
    KpiDef("pareto", _("Defect Pareto"), "", "", None, _(
        "Nonconforming units by defect code (nonconformances opened in the period), largest "
        "first, with each code's share and the cumulative share."),
        pareto_grouped, pareto_page,
        {"numerator": (_("nonconformances"), lambda p, s: NONCONFORMANCES.queryset(p, s))},
        "numerator", None, _("nonconforming units"), chart="bar"),
)}


def formula(kdef: KpiDef) -> str:
    return str(_formula_report_timeliness() if kdef.key == "report_timeliness"
               else kdef.formula)


def kpi_compute(key: str, period: Period, scope: Scope) -> KpiResult:
    kdef = KPIS[key]
    fig = kdef.grouped(period, scope)[None]
    parts = kdef.parts
    den = parts[kdef.denominator_part][1](period, scope) if kdef.denominator_part else None
    num = parts[kdef.numerator_part][1](period, scope)
    return KpiResult(fig.value, fig.numerator, fig.denominator, fig.extra, key=key,
                     records=den if den is not None else num, numerator_records=num)


def _kpi(key: str):
    def compute(start, end, *, workshop=None, line=None, work_center=None) -> KpiResult:
        return kpi_compute(key, Period(start, end), Scope.of(workshop, line, work_center))
    compute.__name__ = f"kpi_{key}"
    compute.__doc__ = f"{KPIS[key].label}: see KPIS[{key!r}].formula."
    return compute


kpi_on_time_rate = _kpi("on_time")
kpi_report_timeliness = _kpi("report_timeliness")
kpi_exception_response = _kpi("response")
kpi_rework_rate = _kpi("rework")
kpi_rework_rate_units = _kpi("rework_units")
kpi_downtime_hours = _kpi("downtime")
kpi_oee = _kpi("oee")
kpi_first_pass_yield = _kpi("fpy")
kpi_defect_pareto = _kpi("pareto")
