"""OEE (ISO 22400-2) per work center, line or period, from what our records hold.

For a work center and a period (only the part that has happened: time still to come is not
time lost):

- calendar time   = its shift-calendar working time in the period (breaks and holidays cut
                    out; no calendar: around the clock) × its parallel machines, from the day
                    it came into service (`in_service_from`, when set: before, nobody planned
                    it to produce, and nothing was recorded);
- planned busy time (PBT) = calendar time − planned downtime (maintenance) of its equipment
                    inside that working time;
- run time (APT)  = PBT − unplanned downtime of its equipment inside that working time;
- total count     = good + scrap of the work reports at the work center, by report time;
- ideal time      = Σ (good + scrap) × the task's run time per unit (copied from the
                    routing step at explosion; setup is not ideal production time);
- Availability = run ÷ PBT;  Performance = ideal ÷ run;  Quality = good ÷ total;
- OEE = A × P × Q (= ideal × good ÷ total ÷ PBT).

A line (or the plant, or a bucket) adds up the times and counts of its work centers and then
takes the same ratios. A stop outside the working time costs nothing: the machine was not
planned to run. Work recorded beyond the time a work center was planned to run (overtime at
night or on a day off, or a work center with no planned time) adds the time it ideally took
to that work center's calendar and run time (`overtime_h`): its performance cannot pass 100 %,
and a plant figure does not count ideal time against hours nobody planned. Fixed queries: work
centers, calendars (2), downtime, reports (and the lines of inactive work centers that
reported, when there are any).
"""

import bisect
import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Sum
from django.utils import timezone

from dashboards.periods import Period, Scope, bucket_key, buckets
from dashboards.selectors.downtime import stops
from dashboards.selectors.expressions import seconds
from dashboards.selectors.rollup import report_sums
from planning.calendars import calendar_windows
from planning.models import WorkCenter

_MINUTES = DecimalField(max_digits=24, decimal_places=6)


@dataclass
class OeeTimes:
    calendar_h: float = 0.0
    planned_down_h: float = 0.0
    unplanned_down_h: float = 0.0
    ideal_h: float = 0.0
    overtime_h: float = 0.0  # added to calendar_h: work beyond the planned time (see above)
    good: float = 0.0
    total: float = 0.0
    reports: int = 0

    def add(self, other: "OeeTimes") -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def planned_busy_h(self) -> float:
        return max(0.0, self.calendar_h - self.planned_down_h)

    @property
    def run_h(self) -> float:
        return max(0.0, self.planned_busy_h - self.unplanned_down_h)

    @property
    def availability(self) -> float | None:
        return self.run_h / self.planned_busy_h if self.planned_busy_h else None

    @property
    def performance(self) -> float | None:
        return self.ideal_h / self.run_h if self.run_h else None

    @property
    def quality(self) -> float | None:
        return self.good / self.total if self.total else None

    @property
    def productive_h(self) -> float:
        """Fully productive time: ideal time of the good units (the OEE numerator)."""
        return self.ideal_h * self.good / self.total if self.total else 0.0

    @property
    def oee(self) -> float | None:
        return self.productive_h / self.planned_busy_h if self.planned_busy_h else None


def _windows_overlap(windows, ends, start: float, end: float) -> float:
    """Seconds of [start, end) inside the sorted, disjoint windows (epoch seconds; their ends
    in `ends`)."""
    total, i = 0.0, bisect.bisect_right(ends, start)
    while i < len(windows) and windows[i][0] < end:
        s, e = windows[i]
        total += max(0.0, min(e, end) - max(s, start))
        i += 1
    return total


def _day_start(day) -> float:
    """The start of `day` in plant time, in epoch seconds; 0 for None (no limit)."""
    if day is None:
        return 0.0
    return seconds(timezone.make_aware(datetime.datetime.combine(day, datetime.time.min)))


def _shape(group) -> tuple[str | None, str | None]:
    """(bucket unit, dimension) a grouping asks for: ("bucket", unit), ("dim", dim),
    ("cube", unit, dim) or None (one total)."""
    if group is None:
        return None, None
    if group[0] == "bucket":
        return group[1], None
    if group[0] == "dim":
        return None, group[1]
    return group[1], group[2]


def _out_key(group, b, d):
    if group is None:
        return None
    return {"bucket": b, "dim": d, "cube": (b, d)}[group[0]]


def oee_figures(period: Period, scope: Scope, group=None, now=None) -> dict:
    """{key: OeeTimes}; key None for the total, else a bucket's first day, a line id or a
    work center id, as `group` asks: ("bucket", unit), ("dim", "line"|"work_center") or
    ("cube", unit, dim) for (bucket day, dim id) keys. Work centers marked inactive have no
    planned time (their reports still count)."""
    now = now or timezone.now()
    done = period.until_now(now)
    unit, dim = _shape(group)
    level, pk = scope.narrowest
    centers = WorkCenter.objects.filter(active=True)
    if level != "plant":
        centers = centers.filter(**{{"workshop": "line__workshop_id", "line": "line_id",
                                     "work_center": "id"}[level]: pk})
    # Work centers matter only by calendar, by when they came into service (epoch seconds; 0:
    # always) and by the row they add to: (calendar, in service from, dim id).
    place, machines, wc_machines = {}, defaultdict(int), {}
    for wc_id, line_id, cal, n, since in centers.values_list(
            "id", "line_id", "calendar_id", "machines", "in_service_from"):
        place[wc_id] = (cal, _day_start(since), line_id if dim == "line"
                        else wc_id if dim == "work_center" else None)
        machines[place[wc_id]] += n
        wc_machines[wc_id] = n
    pieces = buckets(done, unit) if unit else [done]
    keys = [bucket_key(p.start, unit) if unit else None for p in pieces]
    cal_ids = sorted({cal for cal, _since, _d in machines if cal})
    windows = calendar_windows(cal_ids, done.start, done.end) if cal_ids and done.hours else {}
    windows[None] = [(done.start, done.end)] if done.hours else []
    windows = {cal: [(seconds(s), seconds(e)) for s, e in ws] for cal, ws in windows.items()}
    ends = {cal: [w[1] for w in ws] for cal, ws in windows.items()}
    bounds = [(seconds(p.start), seconds(p.end)) for p in pieces]
    out: dict = defaultdict(OeeTimes)
    in_service = {(cal, since) for cal, since, _d in machines}  # (calendar None: none)
    working_in = []  # per piece: {(calendar, in service from): working hours}
    for i, (b0, b1) in enumerate(bounds):
        # Working hours of each calendar in each piece, computed once per calendar and day of
        # coming into service.
        working = {(cal, since): _windows_overlap(windows[cal], ends[cal], max(b0, since),
                                                  b1) / 3600 for cal, since in in_service}
        working_in.append(working)
        for (cal, since, d), n in machines.items():
            out[_out_key(group, keys[i], d)].calendar_h += working[cal, since] * n
    piece_ends = [b[1] for b in bounds]
    stopped = defaultdict(float)  # (piece, work center): hours of stops in its working time
    for stop in stops(done, scope, planned=None, now=now):
        cal, since, d = place.get(stop.work_center_id, (None, 0, "-"))
        if d == "-":
            continue  # an inactive work center's stop: it had no planned time to lose
        s, e = max(stop.start, since), stop.end
        i = bisect.bisect_right(piece_ends, s)
        while i < len(pieces) and bounds[i][0] < e:
            b = bounds[i]
            hours = _windows_overlap(windows[cal], ends[cal], max(s, b[0]), min(e, b[1])) / 3600
            times = out[_out_key(group, keys[i], d)]
            if stop.planned:
                times.planned_down_h += hours
            else:
                times.unplanned_down_h += hours
            stopped[i, stop.work_center_id] += hours
            i += 1
    # The reports by work center (each one's ideal time is set against its own run time).
    rows = _reports(period, scope, unit, "work_center")
    outside = {wc for _b, wc in rows if wc not in place}  # inactive (or unknown) centers
    lines = (dict(WorkCenter.objects.filter(pk__in=outside).values_list("id", "line_id"))
             if outside and dim == "line" else {})
    piece_of = {k: i for i, k in enumerate(keys)}
    for (b, wc), row in rows.items():
        d = (place[wc][2] if wc in place else lines.get(wc) if dim == "line"
             else wc if dim == "work_center" else None)
        times = out[_out_key(group, b, d)]
        ideal_h = float(row["ideal_min"] or 0) / 60
        times.good += float(row["good_qty"] or 0)
        times.total += float(row["total_qty"] or 0)
        times.ideal_h += ideal_h
        times.reports += row["n"]
        i = piece_of.get(b)
        run_h = 0.0
        if wc in place and i is not None:
            cal, since, _d = place[wc]
            run_h = working_in[i][cal, since] * wc_machines[wc] - stopped[i, wc]
        overtime = ideal_h - max(0.0, run_h)
        if overtime > 1e-9:
            times.calendar_h += overtime
            times.overtime_h += overtime
    if group is None:
        out.setdefault(None, OeeTimes())
    return dict(out)


def _reports(period: Period, scope: Scope, unit: str | None, dim: str | None) -> dict:
    """{(bucket day or None, dim id or None): {good_qty, total_qty, ideal_min, n}}: the
    rollup for closed days, the reports after them (see selectors.rollup)."""
    qty = F("good") + F("scrap")
    aggregates = {
        "good_qty": (Sum("good"), "good"), "total_qty": (Sum(qty), "total"),
        "ideal_min": (Sum(ExpressionWrapper(qty * F("task__run_minutes_per_unit"),
                                            output_field=_MINUTES)), "ideal_minutes"),
        "n": (Count("pk"), "reports")}
    return report_sums(period, scope, aggregates, bucket=unit, dim=dim)
