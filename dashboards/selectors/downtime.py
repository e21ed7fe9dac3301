"""Downtime hours (生产停机时长): unplanned stops, clipped to the period.

A stop counts for the part of it inside the period: one from 22:00 on the 31st to 02:00 on
the 1st gives 2 h to each month (and to each day). A stop still open counts until now. The
stops overlapping the period are read once (one query) and the total, every equipment, every
bucket and every line or work center are added up from that list.
"""

import bisect
from dataclasses import dataclass

from django.utils import timezone

from dashboards.periods import Period, Scope, bucket_key, buckets
from dashboards.selectors.expressions import epoch, seconds
from dashboards.selectors.sources import downtime_overlapping
from planning.models.common import localized_name

FIELDS = ("pk", "equipment_id", "equipment__code", "equipment__name", "equipment__name_en",
          "equipment__work_center_id", "equipment__work_center__line_id", "start_s", "end_s",
          "planned")


@dataclass(frozen=True)
class Stop:
    """A stop with its times as epoch seconds (end: now while it lasts)."""

    pk: int
    equipment_id: int
    equipment_code: str
    equipment_name: str
    work_center_id: int
    line_id: int
    start: float
    end: float
    planned: bool

    def hours_in(self, period: Period) -> float:
        return self.seconds_in(seconds(period.start), seconds(period.end)) / 3600

    def seconds_in(self, start: float, end: float) -> float:
        return max(0.0, min(self.end, end) - max(self.start, start))


def stops(period: Period, scope: Scope, *, planned: bool | None = False, now=None
          ) -> list[Stop]:
    """The stops overlapping the period, read as epoch seconds (one query)."""
    now = now or timezone.now()
    qs = (downtime_overlapping(period, scope, planned=planned, now=now).order_by("start")
          .annotate(start_s=epoch("start"), end_s=epoch("end")))
    now_s = seconds(now)
    return [Stop(*row[:3], localized_name(row[3], row[4]), *row[5:8],
                 now_s if row[8] is None else row[8], row[9])
            for row in qs.values_list(*FIELDS)]


def _bounds(period: Period) -> tuple[float, float]:
    return seconds(period.start), seconds(period.end)


def downtime_hours(rows: list[Stop], period: Period) -> float:
    start, end = _bounds(period)
    return sum(s.seconds_in(start, end) for s in rows) / 3600


def downtime_by_equipment(rows: list[Stop], period: Period) -> list[dict]:
    start, end = _bounds(period)
    out: dict[int, dict] = {}
    for s in rows:
        row = out.get(s.equipment_id)
        if row is None:
            row = out[s.equipment_id] = {
                "id": s.equipment_id, "code": s.equipment_code, "name": s.equipment_name,
                "work_center_id": s.work_center_id, "hours": 0.0, "stops": 0}
        row["hours"] += s.seconds_in(start, end) / 3600
        row["stops"] += 1
    return sorted(out.values(), key=lambda r: (-r["hours"], r["code"]))


def downtime_grouped(rows: list[Stop], period: Period, group) -> dict:
    """{key: (hours, stops)} by ("bucket", unit) — each stop split over the buckets it
    overlaps — or by ("dim", "line"|"work_center")."""
    kind, arg = group
    out: dict = {}
    if kind == "bucket":
        pieces = buckets(period, arg)
        bounds = [_bounds(p) for p in pieces]
        keys = [bucket_key(p.start, arg) for p in pieces]
        ends = [b[1] for b in bounds]
        for s in rows:
            # Only the buckets the stop overlaps: stops × buckets would not scale to a year.
            i = bisect.bisect_right(ends, s.start)
            while i < len(pieces) and bounds[i][0] < s.end:
                hours = s.seconds_in(*bounds[i]) / 3600
                if hours > 0:
                    h, n = out.get(keys[i], (0.0, 0))
                    out[keys[i]] = (h + hours, n + 1)
                i += 1
        return out
    attr = {"line": "line_id", "work_center": "work_center_id"}[arg]
    start, end = _bounds(period)
    for s in rows:
        key = getattr(s, attr)
        h, n = out.get(key, (0.0, 0))
        out[key] = (h + s.seconds_in(start, end) / 3600, n + 1)
    return out
