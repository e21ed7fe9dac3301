"""What the KPI pages show: targets, trends, breakdowns and drill-down lists, from kpis.KPIS."""

from dataclasses import dataclass

from dashboards.kpis import HOURS_PER_YEAR, KPIS, Figure, KpiDef
from dashboards.models import KpiTarget
from dashboards.periods import Period, Scope, bucket_key, bucket_label, buckets
from planning.models import Line, WorkCenter
from planning.models.common import localized_name


def kpi_targets() -> dict:
    """key -> target (Decimal or None) for every KPI: the saved ones over the defaults."""
    targets = {k: d.default_target for k, d in KPIS.items()}
    targets.update(dict(KpiTarget.objects.filter(key__in=list(KPIS)).values_list("key",
                                                                                  "value")))
    return targets


def lines_in_scope(scope: Scope) -> int | None:
    """How many lines a per-line target applies to (None at a work center)."""
    level, pk = scope.narrowest
    if level == "work_center":
        return None
    if level == "line":
        return 1
    qs = Line.objects.filter(active=True)
    return (qs.filter(workshop_id=pk) if level == "workshop" else qs).count()


def target_for(kdef: KpiDef, targets: dict, period: Period, n_lines: int | None):
    """The target of a figure over `period`: downtime's per-line-year hours pro rata."""
    value = targets.get(kdef.key)
    if value is None or not kdef.better:
        return None
    if kdef.key == "downtime":
        if not n_lines:
            return None
        return float(value) * n_lines * period.hours / HOURS_PER_YEAR
    return float(value)


def meets(kdef: KpiDef, value, target) -> bool | None:
    if value is None or target is None:
        return None
    return value >= target if kdef.better == "higher" else value <= target


@dataclass
class Point:
    label: str
    figure: Figure
    period: Period | None = None
    scope: Scope | None = None
    target: float | None = None
    ok: bool | None = None
    name: str = ""


def kpi_trend(kdef: KpiDef, period: Period, scope: Scope, bucket: str, targets: dict,
              n_lines: int | None, got: dict | None = None) -> list[Point]:
    """One point per bucket (empty buckets included, with no value)."""
    if got is None:
        got = kdef.grouped(period, scope, ("bucket", bucket))
    points = []
    for piece in buckets(period, bucket):
        fig = got.get(bucket_key(piece.start, bucket)) or Figure(None)
        if fig.value is None and kdef.key in ("downtime", "pareto"):
            fig = Figure(0.0, 0.0, None, {"stops": 0, "count": 0})
        target = target_for(kdef, targets, piece, n_lines)
        points.append(Point(bucket_label(piece, bucket), fig, piece, scope, target,
                            meets(kdef, fig.value, target)))
    return points


def breakdown_dim(kdef: KpiDef, scope: Scope) -> str:
    if scope.level in ("line", "work_center") and "work_center" in kdef.dims:
        return "work_center"
    return "line"


def kpi_breakdown(kdef: KpiDef, period: Period, scope: Scope, targets: dict, dim: str = "",
                  got: dict | None = None) -> tuple[str, list[Point]]:
    """(dimension, one row per line or work center that has a figure), two queries."""
    dim = dim or breakdown_dim(kdef, scope)
    if got is None:
        got = kdef.grouped(period, scope, ("dim", dim))
    model = WorkCenter if dim == "work_center" else Line
    names = {pk: (code, localized_name(name, name_en)) for pk, code, name, name_en in
             model.objects.filter(pk__in=[k for k in got if k is not None])
             .values_list("pk", "code", "name", "name_en")}
    rows = []
    for pk, fig in got.items():
        code, name = names.get(pk, ("—", ""))
        sub = Scope(work_center=pk) if dim == "work_center" else Scope(line=pk)
        n_lines = None if dim == "work_center" else 1
        target = target_for(kdef, targets, period, n_lines)
        rows.append(Point(code, fig, period, sub if pk else scope, target,
                          meets(kdef, fig.value, target), name))
    rows.sort(key=lambda r: r.label)
    return dim, rows


@dataclass
class KpiPage:
    figure: Figure
    target: float | None
    ok: bool | None
    trend: list[Point]
    dim: str
    breakdown: list[Point]


def kpi_page(kdef: KpiDef, period: Period, scope: Scope, bucket: str, targets: dict,
             n_lines: int | None) -> KpiPage:
    """The figure, its trend and its breakdown from one pass over the data (kdef.page)."""
    dim = breakdown_dim(kdef, scope)
    fig, by_bucket, by_dim = kdef.page(period, scope, bucket, dim)
    target = target_for(kdef, targets, period, n_lines)
    trend = kpi_trend(kdef, period, scope, bucket, targets, n_lines, by_bucket)
    _dim, rows = kpi_breakdown(kdef, period, scope, targets, dim, by_dim)
    return KpiPage(fig, target, meets(kdef, fig.value, target), trend, dim, rows)


def kpi_records(kdef: KpiDef, part: str, period: Period, scope: Scope, **filters):
    """The records behind a figure (None when the part is unknown or its app is absent)."""
    if part not in kdef.parts:
        return None
    qs = kdef.parts[part][1](period, scope)
    if qs is None:
        return None
    if kdef.key == "pareto" and filters.get("defect"):
        qs = qs.filter(defect_code__code=filters["defect"])
    if qs.model._meta.model_name == "downtimeevent" and filters.get("equipment"):
        qs = qs.filter(equipment_id=filters["equipment"])
    return qs
