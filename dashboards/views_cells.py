"""KPI figures as table cells: the text people read, the raw value exports write, and the link
to the records behind it. The page tables, the CSV/XLSX exports and the monthly report are all
made of these, so every figure shown is a figure you can click and download."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from dashboards.charts import figure_text
from dashboards.kpis import Figure, KpiDef
from dashboards.periods import Period, Scope
from dashboards.views_common import kpi_url, records_url
from mes.labels import noted
from planning.models.common import localized_name


@dataclass
class Cell:
    value: object
    text: str = ""
    href: str | None = None
    cls: str = "num"


@dataclass
class Grid:
    key: str
    title: str
    header: list
    rows: list = field(default_factory=list)
    limit: int | None = None  # rows shown on the page (the export has them all)

    @property
    def shown_rows(self) -> list:
        return self.rows if self.limit is None else self.rows[:self.limit]

    @property
    def hidden(self) -> int:
        return len(self.rows) - len(self.shown_rows)


def _c(value, unit="", href=None, cls="num") -> Cell:
    if value is None:
        return Cell(None, "—", href, cls)
    if isinstance(value, Decimal) and value == value.to_integral():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return Cell(value, figure_text(value, unit), href, cls)
    value = float(value)
    return Cell(round(value, 3), figure_text(value, unit), href, cls)


def _met(ok) -> Cell:
    if ok is None:
        return Cell(None, "", cls="")
    return Cell(bool(ok), "✓" if ok else "✗", cls="ok-text" if ok else "bad-text")


def header(kdef: KpiDef, first: str) -> list:
    h = [first]
    key = kdef.key
    if key == "response":
        return h + [_("raised"), _("acknowledged"), _("mean to acknowledge (h)"), _("p50 (h)"),
                    _("p90 (h)"), _("resolved"), _("mean to resolve (h)"), _("p50 (h)"),
                    _("p90 (h)"), _("target (h)"), _("met")]
    if key == "downtime":
        return h + [_("unplanned downtime (h)"), _("stops"), _("target (h)"), _("met")]
    if key == "oee":
        return h + [_("OEE %"), _("availability %"), _("performance %"), _("quality %"),
                    _("calendar time (h)"), _("planned downtime (h)"), _("planned busy time (h)"),
                    # Only the part of each stop inside working time costs OEE (the downtime
                    # page counts every stop whole): the label says which one this is.
                    _("unplanned downtime in working time (h)"), _("run time (h)"),
                    _("ideal time (h)"),
                    _("good"), _("total"), _("target %"), _("met")]
    if key == "pareto":
        return h + [_("nonconforming units"), _("nonconformances")]
    return h + [noted(kdef.label, "%"), kdef.numerator_label, kdef.denominator_label,
                _("target %"), _("met")]


def cells(kdef: KpiDef, fig: Figure, period: Period, scope: Scope, target, ok) -> list[Cell]:
    """The figure's cells (after the first, label column) for `header(kdef)`."""
    key, e = kdef.key, fig.extra

    def link(part, **extra):
        return records_url(key, part, period, scope, **extra)

    if key == "response":
        acked, resolved = link("numerator"), link("resolved")
        return [_c(e.get("raised", 0), href=link("denominator")),
                _c(fig.denominator or 0, href=acked),
                _c(fig.value, href=acked), _c(e.get("ack_p50"), href=acked),
                _c(e.get("ack_p90"), href=acked),
                _c(e.get("resolved", 0), href=resolved),
                _c(e.get("resolve_mean"), href=resolved), _c(e.get("resolve_p50"), href=resolved),
                _c(e.get("resolve_p90"), href=resolved), _c(target), _met(ok)]
    if key == "downtime":
        return [_c(fig.value or 0.0, href=link("numerator")),
                _c(e.get("stops", 0), href=link("numerator")), _c(target), _met(ok)]
    if key == "oee":
        if not e:
            return [_c(None)] * 12 + [_c(target), _met(ok)]
        reports, planned, unplanned = link("numerator"), link("planned"), link("unplanned")
        # Time figures link to the stops that cut them, count figures to the work reports.
        return [_c(fig.value, href=reports), _c(e["availability"], href=unplanned),
                _c(e["performance"], href=reports), _c(e["quality"], href=reports),
                _c(e["calendar_h"], href=planned), _c(e["planned_down_h"], href=planned),
                _c(e["planned_busy_h"], href=planned),
                _c(e["unplanned_down_h"], href=unplanned), _c(e["run_h"], href=unplanned),
                _c(e["ideal_h"], href=reports), _c(e["good"], href=reports),
                _c(e["total"], href=reports), _c(target), _met(ok)]
    if key == "pareto":
        return [_c(fig.value or 0.0, href=link("numerator")),
                _c(e.get("count", 0), href=link("numerator"))]
    return [_c(fig.value, href=kpi_url(key, period, scope)),
            _c(fig.numerator if fig.numerator is not None else 0, href=link("numerator")),
            _c(fig.denominator if fig.denominator is not None else 0, href=link("denominator")),
            _c(target), _met(ok)]


def grid(kdef: KpiDef, key: str, title: str, first: str, points) -> Grid:
    """A table of points (kpi_pages.Point): trend buckets or breakdown rows."""
    g = Grid(key, title, header(kdef, first))
    for p in points:
        label = f"{p.label} {p.name}".strip()
        first_cell = Cell(label, label, kpi_url(kdef.key, p.period, p.scope), cls="")
        g.rows.append([first_cell] + cells(kdef, p.figure, p.period, p.scope, p.target, p.ok))
    return g


def pareto_grid(kdef: KpiDef, rows, period: Period, scope: Scope) -> Grid:
    g = Grid("pareto", _("Defect Pareto"), [_("defect code"), _("defect"),
                                           _("nonconforming units"), _("nonconformances"),
                                           _("share %"), _("cumulative %")])
    for r in rows:
        href = records_url(kdef.key, "numerator", period, scope, defect=r["defect_code__code"])
        name = localized_name(r["defect_code__name"], r["defect_code__name_en"])
        g.rows.append([Cell(r["defect_code__code"], r["defect_code__code"], href, ""),
                       Cell(name, name, cls=""),
                       _c(r["qty"], href=href), _c(r["count"], href=href),
                       _c(r["share"], href=href), _c(r["cum"], href=href)])
    return g


def equipment_grid(kdef: KpiDef, rows, period: Period, scope: Scope) -> Grid:
    g = Grid("equipment", _("Unplanned downtime per equipment"),
             [_("equipment"), _("Name"), _("unplanned downtime (h)"), _("stops")], limit=50)
    for r in rows:
        href = records_url(kdef.key, "numerator", period, Scope(work_center=r["work_center_id"]),
                           equipment=r["id"])
        g.rows.append([Cell(r["code"], r["code"], cls=""), Cell(r["name"], r["name"], cls=""),
                       _c(r["hours"], href=href), _c(r["stops"], href=href)])
    return g
