"""Ratio KPIs (numerator ÷ denominator over record sets) evaluated in aggregate queries.

A Ratio names its numerator and denominator as Parts: a Source, what is added up (records or a
quantity) and which of the source's records count. The same Parts give the figure, the trend
(grouped by bucket), the breakdown (grouped by line or work center) and the drill-down lists,
in one query per source whatever the data size.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, F, Q, QuerySet, Sum

from dashboards.periods import Period, Scope, bucket_key, trunc
from dashboards.selectors.sources import Source


@dataclass(frozen=True)
class Part:
    source: Source
    where: Q | None = None   # which of the source's records count (None: all)
    quantity: str | None = None  # field added up; None: records are counted

    def aggregate(self):
        if self.quantity is None:
            return Count("pk", filter=self.where)
        return Sum(self.quantity, filter=self.where)

    def records(self, period: Period, scope: Scope) -> QuerySet:
        qs = self.source.queryset(period, scope)
        return qs.filter(self.where) if self.where is not None else qs


@dataclass(frozen=True)
class Ratio:
    numerator: Part
    denominator: Part
    scale: int = 100  # a percentage


def _number(value) -> float:
    if value is None:
        return 0.0
    return float(value) if isinstance(value, Decimal) else value


def ratio_value(ratio: Ratio, num, den) -> float | None:
    return None if not den else _number(num) * ratio.scale / _number(den)


def grouped_rows(qs, source: Source, group, aggregates: dict):
    """(key, {aggregate: value}) rows; group: ("bucket", unit), ("dim", "line"|...) or
    ("cube", unit, dim) whose key is (bucket's first day, dim id)."""
    kind = group[0]
    if kind == "dim":
        rows = qs.values(d=F(source.dims[group[1]])).annotate(**aggregates)
    else:
        qs = qs.annotate(b=trunc(source.time_field, group[1]))
        rows = (qs.values("b", d=F(source.dims[group[2]])) if kind == "cube"
                else qs.values("b")).annotate(**aggregates)
    for row in rows:
        b = row.pop("b", None)
        d = row.pop("d", None)
        b = bucket_key(b, group[1]) if b is not None else None
        yield {"dim": d, "bucket": b, "cube": (b, d)}[kind], row


def _figures(parts: dict, period: Period, scope: Scope, group) -> dict:
    """{group key: {part name: value}} with one query per distinct source."""
    by_source: dict[str, list] = {}
    for name, part in parts.items():
        by_source.setdefault(part.source.key, []).append((name, part))
    out: dict = {}
    for items in by_source.values():
        source = items[0][1].source
        qs = source.queryset(period, scope).order_by()
        aggregates = {name: part.aggregate() for name, part in items}
        if group is None:
            out.setdefault(None, {}).update(qs.aggregate(**aggregates))
            continue
        for key, row in grouped_rows(qs, source, group, aggregates):
            out.setdefault(key, {}).update(row)
    return out


def ratio_page(ratio: Ratio, period: Period, scope: Scope, bucket: str, dim: str):
    """(total, {bucket day: ...}, {dim id: ...}) of (numerator, denominator, value), from one
    query per source grouped by bucket and dimension and added up here."""
    cube = _figures({"num": ratio.numerator, "den": ratio.denominator}, period, scope,
                    ("cube", bucket, dim))
    total, by_bucket, by_dim = [0, 0], {}, {}
    for (b, d), values in cube.items():
        num, den = values.get("num") or 0, values.get("den") or 0
        for acc in (total, by_bucket.setdefault(b, [0, 0]), by_dim.setdefault(d, [0, 0])):
            acc[0] += num
            acc[1] += den

    def done(acc):
        return acc[0], acc[1], ratio_value(ratio, acc[0], acc[1])

    return (done(total), {k: done(v) for k, v in by_bucket.items()},
            {k: done(v) for k, v in by_dim.items()})


def ratio_figures(ratio: Ratio, period: Period, scope: Scope, group=None) -> dict:
    """{group key: (numerator, denominator, value)}; the key is None for the total."""
    raw = _figures({"num": ratio.numerator, "den": ratio.denominator}, period, scope, group)
    out = {}
    for key, values in raw.items():
        num, den = values.get("num") or 0, values.get("den") or 0
        out[key] = (num, den, ratio_value(ratio, num, den))
    if group is None and None not in out:
        out[None] = (0, 0, None)
    return out
