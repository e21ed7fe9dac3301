"""Exception response time (异常响应时效) from the alerts: acknowledge and resolve times.

An alert counts in the period it was raised, whenever it was acknowledged or resolved (an
alert raised on the 31st and acknowledged on the 1st counts on the 31st). The mean, median
and 90th percentile need every duration, so the alerts of the period are read once (one query,
four columns) and every figure, bucket and breakdown row is computed from that list.
"""

import bisect
import math
from dataclasses import dataclass

from dashboards.periods import Period, Scope, bucket_key, buckets
from dashboards.selectors.expressions import epoch, seconds
from dashboards.selectors.sources import alerts_source

# Times as epoch seconds (see expressions.py).
FIELDS = ("raised_s", "acknowledged_s", "resolved_s", "line_id", "work_center_id")


def percentile(sorted_values: list[float], p: float) -> float | None:
    """Linear interpolation between closest ranks (PostgreSQL's percentile_cont)."""
    if not sorted_values:
        return None
    rank = p * (len(sorted_values) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)


@dataclass
class Durations:
    """Hours from raised to acknowledged (or resolved) of the alerts that got there."""

    hours: list[float]

    @property
    def count(self) -> int:
        return len(self.hours)

    @property
    def total(self) -> float:
        return sum(self.hours)

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.hours else None

    @property
    def p50(self) -> float | None:
        return percentile(sorted(self.hours), 0.5)

    @property
    def p90(self) -> float | None:
        return percentile(sorted(self.hours), 0.9)


@dataclass
class ResponseFigures:
    raised: int
    acknowledge: Durations
    resolve: Durations


def alert_rows(period: Period, scope: Scope) -> list[tuple]:
    source = alerts_source()
    if source is None:
        return []
    return list(source.queryset(period, scope).order_by()
                .annotate(raised_s=epoch("raised_at"), acknowledged_s=epoch("acknowledged_at"),
                          resolved_s=epoch("resolved_at")).values_list(*FIELDS))


def response_figures(rows) -> ResponseFigures:
    ack, res = [], []
    for raised, acknowledged, resolved, *_where in rows:
        if acknowledged is not None:
            ack.append(max(0.0, (acknowledged - raised) / 3600))
        if resolved is not None:
            res.append(max(0.0, (resolved - raised) / 3600))
    return ResponseFigures(len(rows), Durations(ack), Durations(res))


def response_grouped(rows, group, period: Period) -> dict:
    """{key: ResponseFigures} by ("bucket", unit) of raised_at or ("dim", "line"|...)."""
    kind, arg = group
    grouped: dict = {}
    if kind == "bucket":
        pieces = buckets(period, arg)
        starts = [seconds(p.start) for p in pieces]
        for row in rows:
            i = max(0, bisect.bisect_right(starts, row[0]) - 1)
            grouped.setdefault(bucket_key(pieces[i].start, arg), []).append(row)
    else:
        index = {"line": 3, "work_center": 4}[arg]
        for row in rows:
            grouped.setdefault(row[index], []).append(row)
    return {key: response_figures(items) for key, items in grouped.items()}
