"""The monthly KPI report: every KPI with its daily trend and its breakdown by line and work
center, as a printable page and as an XLSX workbook (one sheet per KPI, with a chart)."""

import io
from dataclasses import dataclass

from django.utils.translation import gettext as _

from dashboards.charts import trend_svg
from dashboards.kpis import KPIS, Figure, KpiDef, formula
from dashboards.periods import Period, Scope
from dashboards.selectors.kpi_pages import (
    kpi_breakdown,
    kpi_page,
    kpi_targets,
    lines_in_scope,
)
from dashboards.views_cells import Grid, cells, equipment_grid, grid, header, pareto_grid
from mes.export import _xlsx_cell


@dataclass
class Section:
    kdef: KpiDef
    figure: Figure
    target: float | None
    ok: bool | None
    formula: str
    summary: list
    chart: str
    grids: list[Grid]


def monthly_sections(period: Period, scope: Scope) -> list[Section]:
    targets, n_lines = kpi_targets(), lines_in_scope(scope)
    sections = []
    labels = {"line": _("line"), "work_center": _("work center")}
    for key, kdef in KPIS.items():
        page = kpi_page(kdef, period, scope, "day", targets, n_lines)
        fig, target, ok, trend = page.figure, page.target, page.ok, page.trend
        grids = [grid(kdef, "trend", _("By day"), _("day"), trend),
                 grid(kdef, page.dim, _("By %(dim)s") % {"dim": labels[page.dim]},
                      labels[page.dim], page.breakdown)]
        # The page breaks down by line; the report also by work center where that applies.
        if page.dim == "line" and "work_center" in kdef.dims:
            _d, rows = kpi_breakdown(kdef, period, scope, targets, "work_center")
            grids.append(grid(kdef, "work_center", _("By %(dim)s") % {
                "dim": labels["work_center"]}, labels["work_center"], rows))
        if key == "downtime":
            grids.append(equipment_grid(kdef, fig.extra["by_equipment"], period, scope))
        if key == "pareto":
            grids.insert(0, pareto_grid(kdef, fig.extra["rows"], period, scope))
        summary = list(zip(header(kdef, "")[1:], cells(kdef, fig, period, scope, target, ok),
                           strict=False))
        chart = trend_svg(trend, unit=kdef.unit, kind=kdef.chart, title=str(kdef.label),
                          hundred=kdef.unit == "%" and key != "oee")
        sections.append(Section(kdef, fig, target, ok, formula(kdef), summary, chart, grids))
    return sections


def monthly_workbook(sections: list[Section], period: Period, scope_label: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, LineChart, Reference
    from openpyxl.styles import Font

    wb = Workbook()
    summary = wb.active
    summary.title = _("Summary")[:31]
    bold = Font(bold=True)
    span = f"{period.first_day:%Y-%m-%d} – {period.last_day:%Y-%m-%d}"
    summary.append([_("Monthly KPI report"), span, scope_label])
    summary.append([])
    summary.append([_("KPI"), _("value"), _("unit"), _("target"), _("met"), _("numerator"),
                    _("denominator"), _("definition")])
    for cell in summary[3]:
        cell.font = bold
    for s in sections:
        summary.append([_xlsx_cell(v) for v in (
            str(s.kdef.label), _r(s.figure.value), s.kdef.unit, _r(s.target),
            "" if s.ok is None else (_("yes") if s.ok else _("no")), _r(s.figure.numerator),
            _r(s.figure.denominator), s.formula)])
    summary.column_dimensions["A"].width = 28
    summary.column_dimensions["H"].width = 100
    for s in sections:
        ws = wb.create_sheet(_sheet_name(str(s.kdef.label), wb.sheetnames))
        ws.append([str(s.kdef.label), span, scope_label])
        ws["A1"].font = Font(bold=True, size=14)
        ws.append([s.formula])
        ws.append([str(h) for h, _c in s.summary])
        ws.append([c.value for _h, c in s.summary])
        for g in s.grids:
            ws.append([])
            ws.append([str(g.title)])
            ws.cell(row=ws.max_row, column=1).font = bold
            ws.append([str(h) for h in g.header])
            first = ws.max_row + 1
            for row in g.rows:
                ws.append([_xlsx_cell(c.value) for c in row])
            if g.key == "trend" and g.rows:
                _chart(ws, s, first, ws.max_row, LineChart if s.kdef.chart == "line"
                       else BarChart, Reference)
        ws.column_dimensions["A"].width = 24
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _chart(ws, s: Section, first: int, last: int, kind, Reference) -> None:
    chart = kind()
    chart.title = str(s.kdef.label)
    chart.height, chart.width = 7.5, 22
    value_col = 4 if s.kdef.key == "response" else 2  # the mean, after raised / acknowledged
    values = Reference(ws, min_col=value_col, min_row=first - 1, max_row=last)
    chart.add_data(values, titles_from_data=True)
    target_col = len(header(s.kdef, "")) - 1  # the "target" column, before "met"
    if s.kdef.key not in ("pareto",) and target_col > 2:
        chart.add_data(Reference(ws, min_col=target_col, min_row=first - 1, max_row=last),
                       titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=first, max_row=last))
    ws.add_chart(chart, f"{'P' if s.kdef.key != 'oee' else 'R'}2")


def _sheet_name(label: str, taken: list[str]) -> str:
    name = "".join(ch for ch in label if ch not in "[]:*?/\\")[:31] or "KPI"
    n = 2
    while name in taken:
        name = f"{name[:28]} {n}"
        n += 1
    return name


def _r(value, digits: int = 3):
    if value is None:
        return None
    return round(float(value), digits)
