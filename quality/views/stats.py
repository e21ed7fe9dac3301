"""Quality statistics (质量统计): first-pass yield, rework and scrap rates, defect Pareto.

Figures come from quality.selectors.quality_stats (a fixed number of aggregate queries); the
bars are plain server-rendered SVG."""

import datetime

from django.http import HttpResponseBadRequest
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from mes.export import EXPORT_FORMATS, export_response
from planning.models.common import localized_name
from quality import selectors
from quality.filtersets import StatsFilterForm
from quality.forms import plain
from quality.views.common import quality_context, require_any

DEFAULT_DAYS = 30
REWORK_TARGET = 3  # % (DESIGN.md: rework ≤ 3 %)

# Pareto tables: key -> (title, first column's label, row -> (code, name))
PARETOS = {
    "by_code": (_("Defects by code"), _("Defect code"), lambda r: (
        r["defect_code__code"], localized_name(r["defect_code__name"],
                                               r["defect_code__name_en"]))),
    "by_step": (_("Defects by step"), _("Operation"), lambda r: (
        r["responsible_task__name"], r["responsible_task__work_center__code"])),
    "by_line": (_("Defects by line"), _("Line"), lambda r: (
        r["responsible_task__work_center__line__code"] or "—",
        localized_name(r["responsible_task__work_center__line__name"],
                       r["responsible_task__work_center__line__name_en"]))),
}


def _form(request) -> StatsFilterForm:
    """The filter form, bound, with the default period filled in (so the dates show)."""
    data = request.GET.copy()
    end = timezone.localdate()
    data.setdefault("end", end.isoformat())
    data.setdefault("start", (end - datetime.timedelta(days=DEFAULT_DAYS - 1)).isoformat())
    return StatsFilterForm(data)


def _period(form):
    today = timezone.localdate()
    data = form.cleaned_data if form.is_valid() else {}
    end = data.get("end") or today
    start = data.get("start") or end - datetime.timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        start = end
    tz = timezone.get_current_timezone()
    return (start, end, datetime.datetime.combine(start, datetime.time.min, tzinfo=tz),
            datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time.min,
                                      tzinfo=tz), data)


def _bars(rows, label):
    """Each row with its share of the total, the cumulative share and the bar length."""
    total = sum((r["qty"] or 0) for r in rows) or 1
    top = max([(r["qty"] or 0) for r in rows] or [1]) or 1
    out, cum = [], 0
    for r in rows:
        qty = r["qty"] or 0
        cum += qty
        code, name = label(r)
        out.append({"code": code, "name": name, "count": r["count"], "qty": plain(qty),
                    "share": float(qty * 100 / total), "cum": float(cum * 100 / total),
                    "bar": float(qty * 100 / top)})
    return out


def _every_period(rows, start, end, monthly) -> list[dict]:
    """The selector's buckets with the empty days (or months) between them filled in."""
    def key(value):
        value = value.date() if isinstance(value, datetime.datetime) else value
        return (value.year, value.month) if monthly else value
    found = {key(r["period"]): r for r in rows}
    out, day = [], start
    while day <= end:
        k = key(day)
        if not out or key(out[-1]["period"]) != k:
            out.append(found.get(k, {"period": day, "count": 0, "qty": 0}))
        day += datetime.timedelta(days=1)
    return out


def _timeline(periods) -> dict:
    """Vertical bars, 10 units apart in a 50-high SVG box (scaled to the page width)."""
    bars = [{"x": i * 10 + 1, "h": p["bar"] / 2, "y": 50 - p["bar"] / 2, "label": p["code"],
             "qty": p["qty"]} for i, p in enumerate(periods)]
    return {"bars": bars, "width": max(len(bars), 1) * 10,
            "first": periods[0]["code"] if periods else "",
            "last": periods[-1]["code"] if periods else ""}


def stats(request):
    require_any(request.user, ("view_dashboards",))
    form = _form(request)
    start, end, start_dt, end_dt, data = _period(form)
    figures = selectors.quality_stats(start=start_dt, end=end_dt,
                                      workshop=data.get("workshop"), line=data.get("line"))
    paretos = [{"key": key, "title": title, "first_label": first, "rows": _bars(figures[key],
                                                                               label)}
               for key, (title, first, label) in PARETOS.items()]
    periods = _bars(_every_period(figures["by_period"], start, end, figures["monthly"]),
                    lambda r: (r["period"].strftime("%Y-%m" if figures["monthly"] else
                                                    "%m-%d"), ""))
    period_rows = [p for p in periods if p["count"]]  # the table lists days with defects
    fmt = request.GET.get("export")
    if fmt:
        return _export(fmt, request.GET.get("table", "by_code"), paretos, period_rows)
    context = {
        "title": _g("Quality statistics"), "form": form, "figures": figures,
        "start": start, "end": end, "paretos": paretos, "periods": period_rows,
        "timeline": _timeline(periods), "period_label": _("Period"),
        "rework_target": REWORK_TARGET, "export_formats": EXPORT_FORMATS,
        "inspected": plain(figures["inspections"]["inspected"] or 0),
        "passed": plain(figures["inspections"]["passed"] or 0),
        "nc_qty": {k: plain(figures["nonconformances"][k] or 0)
                   for k in ("qty", "rework", "scrap", "use_as_is")},
    }
    context.update(quality_context(request, "quality:stats"))
    return render(request, "quality/stats.html", context)


def _export(fmt, table, paretos, periods):
    if fmt not in EXPORT_FORMATS:
        return HttpResponseBadRequest(f"Unknown export format {fmt!r}; use csv or xlsx.")
    rows = periods if table == "by_period" else next(
        (p["rows"] for p in paretos if p["key"] == table), None)
    if rows is None:
        return HttpResponseBadRequest(f"Unknown table {table!r}.")
    header = [_("code"), _("Name"), _("nonconformances"), _("quantity"), _("share %"),
              _("cumulative %")]
    return export_response(
        basename=f"quality-{table.replace('_', '-')}", fmt=fmt, header=header,
        rows=([r["code"], r["name"], r["count"], r["qty"], round(r["share"], 1),
               round(r["cum"], 1)] for r in rows))
