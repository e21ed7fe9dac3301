"""Work-report sums from the daily rollup (closed days) plus the raw reports (the days after).

A year of history is about a million work reports; adding them up on every page view is what
the ReportDay rollup is for. A period is split at the end of the last rolled-up day: before it
the sums come from ReportDay (one row per work center and day), after it from the reports
themselves. Both halves are added up with the same definitions (dashboards.kpis), so a page
shows the same figure whichever way it was computed. Without a rollup, or for a period that
does not start at midnight, everything comes from the raw reports.
"""

import datetime
from decimal import Decimal

from django.conf import settings
from django.db.models import F, Sum
from django.db.models.functions import TruncMonth, TruncWeek
from django.utils import timezone

from dashboards.models import ReportDay, RollupState
from dashboards.periods import Period, Scope, bucket_key, local_midnight
from dashboards.selectors.ratios import grouped_rows
from dashboards.selectors.sources import WORK_REPORTS
from execution.models import WorkReport

ROLLUP_KEY = "report_days"
_SCOPE = {"workshop": "work_center__line__workshop_id", "line": "work_center__line_id",
          "work_center": "work_center_id"}
_DIMS = {"line": "work_center__line_id", "work_center": "work_center_id"}
_DAY_TRUNC = {"week": TruncWeek, "month": TruncMonth}


def rolled_through() -> datetime.date | None:
    """The last plant day in the rollup (None: no usable rollup). Two queries."""
    state = RollupState.objects.filter(key=ROLLUP_KEY).values_list(
        "through_day", "grace_minutes", "high_water").first()
    if state is None or state[0] is None or state[1] != settings.MES_REPORT_GRACE_MINUTES:
        return None  # none yet, or made with another grace: its in-time counts do not apply
    through, _grace, high_water = state
    # A report written since, but dated inside the rolled-up days, makes them stale until the
    # next roll-up remakes them; meanwhile read the raw reports. (By id first: only the
    # reports written since the roll-up are looked at.)
    stale = WorkReport.objects.filter(
        pk__gt=high_water, reported_at__lt=local_midnight(through + datetime.timedelta(days=1)))
    return None if stale.exists() else through


def split(period: Period, through: datetime.date | None) -> tuple[Period | None, Period | None]:
    """(the part of the period in the rollup, the part to read from the raw reports)."""
    local_start = timezone.localtime(period.start)
    if through is None or local_start.time() != datetime.time(0):
        return None, period
    cut = local_midnight(through + datetime.timedelta(days=1))
    if cut <= period.start:
        return None, period
    rolled = Period(period.start, min(period.end, cut))
    return rolled, (Period(cut, period.end) if cut < period.end else None)


def report_sums(period: Period, scope: Scope, aggregates: dict, *, bucket: str | None = None,
                dim: str | None = None) -> dict:
    """{(bucket's first day or None, dim id or None): {name: sum}}.

    aggregates: name -> (aggregate over WorkReport, ReportDay field holding the same sum).
    Two queries at most (one per half), whatever the period."""
    rolled, live = split(period, rolled_through())
    out: dict = {}

    def add(key, row):
        acc = out.setdefault(key, {})
        for name, value in row.items():
            if isinstance(value, Decimal):  # the rollup keeps floats; counts stay integers
                value = float(value)
            acc[name] = (acc.get(name) or 0) + (value or 0)

    if rolled is not None:
        qs = ReportDay.objects.filter(day__gte=rolled.first_day, day__lte=rolled.last_day)
        level, pk = scope.narrowest
        if level != "plant":
            qs = qs.filter(**{_SCOPE[level]: pk})
        fields = {}
        if bucket is not None:
            fields["b"] = F("day") if bucket == "day" else _DAY_TRUNC[bucket]("day")
        if dim is not None:
            fields["d"] = F(_DIMS[dim])
        sums = {name: Sum(field) for name, (_raw, field) in aggregates.items()}
        rows = (qs.order_by().values(**fields).annotate(**sums) if fields
                else [qs.aggregate(**sums)])
        for row in rows:
            b, d = row.pop("b", None), row.pop("d", None)
            add((bucket_key(b, bucket) if b is not None else None, d), row)
    if live is not None:
        qs = WORK_REPORTS.queryset(live, scope).order_by()
        raw = {name: agg for name, (agg, _field) in aggregates.items()}
        if bucket is None and dim is None:
            add((None, None), qs.aggregate(**raw))
        else:
            group = (("cube", bucket, dim) if bucket and dim else
                     ("bucket", bucket) if bucket else ("dim", dim))
            for key, row in grouped_rows(qs, WORK_REPORTS, group, raw):
                add(key if group[0] == "cube" else
                    (key, None) if group[0] == "bucket" else (None, key), row)
    return out
