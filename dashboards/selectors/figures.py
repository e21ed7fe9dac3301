"""Figures of the KPIs that are not plain ratios: response times, downtime, OEE, Pareto.

Each KPI has `*_grouped(period, scope, group)` (one total, or by bucket or by line / work
center) and `*_page(period, scope, bucket, dim)` (the total, the trend and the breakdown of a
KPI page from one read of the data). The definitions themselves are in dashboards.kpis and the
modules under dashboards.selectors this calls.
"""

from dataclasses import dataclass, field

from django.db.models import Count, Sum
from django.utils import timezone

from dashboards.periods import Period, Scope
from dashboards.selectors import downtime as dt
from dashboards.selectors import response as rsp
from dashboards.selectors.oee import OeeTimes, oee_figures
from dashboards.selectors.ratios import grouped_rows
from dashboards.selectors.sources import NONCONFORMANCES, alerts_source


@dataclass
class Figure:
    value: float | None
    numerator: float | None = None
    denominator: float | None = None
    extra: dict = field(default_factory=dict)


def fold(cube: dict, zero, add, finish):
    """(total, by bucket, by dim) of a {(bucket day, dim id): accumulator} cube."""
    total, by_bucket, by_dim = zero(), {}, {}
    for (b, d), acc in cube.items():
        for target in (total, by_bucket.setdefault(b, zero()), by_dim.setdefault(d, zero())):
            add(target, acc)
    return (finish(total), {k: finish(v) for k, v in by_bucket.items()},
            {k: finish(v) for k, v in by_dim.items()})



# --- Exception response ----------------------------------------------------------------------
def _response_figure(f: rsp.ResponseFigures) -> Figure:
    ack, res = f.acknowledge, f.resolve
    return Figure(ack.mean, ack.total, ack.count, {
        "raised": f.raised, "ack_p50": ack.p50, "ack_p90": ack.p90,
        "resolve_mean": res.mean, "resolve_p50": res.p50, "resolve_p90": res.p90,
        "resolved": res.count, "unacknowledged": f.raised - ack.count})


def response_grouped(period, scope, group=None):
    rows = rsp.alert_rows(period, scope)
    if group is None:
        return {None: _response_figure(rsp.response_figures(rows))}
    return {k: _response_figure(v)
            for k, v in rsp.response_grouped(rows, group, period).items()}


def response_page(period, scope, bucket, dim):
    rows = rsp.alert_rows(period, scope)  # one query for the figure, trend and breakdown
    return (_response_figure(rsp.response_figures(rows)),
            *({k: _response_figure(v) for k, v in rsp.response_grouped(rows, g, period).items()}
              for g in (("bucket", bucket), ("dim", dim))))


def alerts_in(period, scope, q=None):
    source = alerts_source()
    if source is None:
        return None
    qs = source.queryset(period, scope)
    return qs.filter(q) if q is not None else qs


# --- Downtime ----------------------------------------------------------------------------------
def _downtime_total(rows, period) -> Figure:
    hours = dt.downtime_hours(rows, period)
    return Figure(hours, hours, None, {"stops": len(rows),
                                       "by_equipment": dt.downtime_by_equipment(rows, period)})


def downtime_grouped(period, scope, group=None):
    rows = dt.stops(period, scope, now=timezone.now())
    if group is None:
        return {None: _downtime_total(rows, period)}
    return {k: Figure(h, h, None, {"stops": n})
            for k, (h, n) in dt.downtime_grouped(rows, period, group).items()}


def downtime_page(period, scope, bucket, dim):
    rows = dt.stops(period, scope, now=timezone.now())  # one query for everything
    return (_downtime_total(rows, period),
            *({k: Figure(h, h, None, {"stops": n})
               for k, (h, n) in dt.downtime_grouped(rows, period, g).items()}
              for g in (("bucket", bucket), ("dim", dim))))


# --- OEE ----------------------------------------------------------------------------------------
def _pct(value):
    return None if value is None else value * 100


def _oee_figure(t) -> Figure:
    return Figure(_pct(t.oee), t.productive_h, t.planned_busy_h, {
        "availability": _pct(t.availability), "performance": _pct(t.performance),
        "quality": _pct(t.quality), "calendar_h": t.calendar_h,
        "planned_down_h": t.planned_down_h, "unplanned_down_h": t.unplanned_down_h,
        "planned_busy_h": t.planned_busy_h, "run_h": t.run_h, "ideal_h": t.ideal_h,
        "good": t.good, "total": t.total, "reports": t.reports})


def oee_grouped(period, scope, group=None):
    return {k: _oee_figure(v) for k, v in oee_figures(period, scope, group).items()}


def oee_page(period, scope, bucket, dim):
    return fold(oee_figures(period, scope, ("cube", bucket, dim)), OeeTimes,
                 OeeTimes.add, _oee_figure)


# --- Defect Pareto --------------------------------------------------------------------------
def pareto_rows(period: Period, scope: Scope) -> list[dict]:
    """Nonconforming units by defect code, largest first, with share and cumulative share."""
    rows = list(NONCONFORMANCES.queryset(period, scope).order_by()
                .values("defect_code_id", "defect_code__code", "defect_code__name",
                        "defect_code__name_en")
                .annotate(qty=Sum("quantity"), count=Count("pk"))
                .order_by("-qty", "defect_code__code"))
    total = sum(float(r["qty"] or 0) for r in rows)
    cum = 0.0
    for r in rows:
        r["qty"] = float(r["qty"] or 0)
        cum += r["qty"]
        r["share"] = r["qty"] * 100 / total if total else 0.0
        r["cum"] = cum * 100 / total if total else 0.0
    return rows


def _units(qty: float) -> float | int:
    """A quantity of units as the pages write it: 50 units, not 50.0 (a quantity in kg keeps
    its decimal)."""
    return int(qty) if float(qty).is_integer() else qty


def pareto_grouped(period, scope, group=None):
    qs = NONCONFORMANCES.queryset(period, scope).order_by()
    if group is None:
        rows = pareto_rows(period, scope)
        qty = _units(sum(r["qty"] for r in rows))
        return {None: Figure(qty, qty, None, {"rows": rows,
                                              "count": sum(r["count"] for r in rows)})}
    out = {}
    for key, r in grouped_rows(qs, NONCONFORMANCES, group, {
            "qty": Sum("quantity"), "count": Count("pk")}):
        qty = _units(float(r["qty"] or 0))
        out[key] = Figure(qty, qty, None, {"count": r["count"]})
    return out


def pareto_page(period, scope, bucket, dim):
    def add(acc, fig):
        acc[0] += fig.value
        acc[1] += fig.extra["count"]

    def finish(acc):
        return Figure(_units(acc[0]), _units(acc[0]), None, {"count": acc[1]})

    cube = pareto_grouped(period, scope, ("cube", bucket, dim))
    _total, by_bucket, by_dim = fold(cube, lambda: [0.0, 0], add, finish)
    return pareto_grouped(period, scope)[None], by_bucket, by_dim
