"""Periods, trend buckets and scopes: the filters every board and KPI page share.

A period is half-open, [start, end), in plant time; the forms turn "1 to 31 January" into
[1 January 00:00, 1 February 00:00). A scope is a workshop, a line or a work center (the
narrowest one given wins); an empty scope is the whole plant.
"""

import datetime
from dataclasses import dataclass

from django.db.models.functions import TruncDay, TruncMonth, TruncWeek
from django.utils import timezone
from django.utils.http import urlencode

BUCKETS = ("day", "week", "month")
_TRUNC = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}


def local_midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time()),
                               timezone.get_current_timezone())


def local_date(value) -> datetime.date:
    if isinstance(value, datetime.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.date()
    return value


@dataclass(frozen=True)
class Period:
    start: datetime.datetime
    end: datetime.datetime  # exclusive

    @classmethod
    def of_dates(cls, first: datetime.date, last: datetime.date) -> "Period":
        """The plant days first..last, both included."""
        return cls(local_midnight(first), local_midnight(last + datetime.timedelta(days=1)))

    @classmethod
    def month(cls, year: int, month: int) -> "Period":
        first = datetime.date(year, month, 1)
        nxt = datetime.date(year + month // 12, month % 12 + 1, 1)
        return cls(local_midnight(first), local_midnight(nxt))

    @property
    def first_day(self) -> datetime.date:
        return local_date(self.start)

    @property
    def last_day(self) -> datetime.date:
        return local_date(self.end - datetime.timedelta(microseconds=1))

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600

    def until_now(self, now=None) -> "Period":
        """The part of the period that has happened (time that has not come yet is not
        working time lost)."""
        now = now or timezone.now()
        return Period(self.start, max(self.start, min(self.end, now)))

    def params(self) -> dict:
        return {"start": self.first_day.isoformat(), "end": self.last_day.isoformat()}


def default_bucket(period: Period) -> str:
    days = (period.end - period.start).days
    return "day" if days <= 62 else "week" if days <= 190 else "month"


def bucket_start(day: datetime.date, bucket: str) -> datetime.date:
    if bucket == "week":
        return day - datetime.timedelta(days=day.weekday())
    if bucket == "month":
        return day.replace(day=1)
    return day


def _next(day: datetime.date, bucket: str) -> datetime.date:
    if bucket == "week":
        return day + datetime.timedelta(days=7)
    if bucket == "month":
        return datetime.date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return day + datetime.timedelta(days=1)


def buckets(period: Period, bucket: str) -> list[Period]:
    """The trend buckets covering the period, each clipped to it (a week or month that starts
    before the period counts only its days inside the period)."""
    out = []
    day = bucket_start(period.first_day, bucket)
    while True:
        nxt = _next(day, bucket)
        piece = Period(max(period.start, local_midnight(day)),
                       min(period.end, local_midnight(nxt)))
        if piece.start < piece.end:
            out.append(piece)
        if local_midnight(nxt) >= period.end:
            return out
        day = nxt


def bucket_label(piece: Period, bucket: str) -> str:
    day = bucket_start(piece.first_day, bucket)
    if bucket == "month":
        return day.strftime("%Y-%m")
    if bucket == "week":
        iso = day.isocalendar()
        return f"{iso[0]}-W{iso[1]:02d}"
    return day.strftime("%m-%d")


def trunc(field: str, bucket: str):
    """A database expression giving each row's bucket, in plant time."""
    return _TRUNC[bucket](field, tzinfo=timezone.get_current_timezone())


def bucket_key(value, bucket: str) -> datetime.date:
    """The bucket's first day, from a Trunc result or a datetime (either database)."""
    return bucket_start(local_date(value), bucket)


@dataclass(frozen=True)
class Scope:
    workshop: int | None = None
    line: int | None = None
    work_center: int | None = None

    @classmethod
    def of(cls, workshop=None, line=None, work_center=None) -> "Scope":
        def pk(value):
            return getattr(value, "pk", value) or None
        return cls(pk(workshop), pk(line), pk(work_center))

    @property
    def level(self) -> str:
        """The narrowest level given: 'work_center', 'line', 'workshop' or 'plant'."""
        for name in ("work_center", "line", "workshop"):
            if getattr(self, name):
                return name
        return "plant"

    @property
    def narrowest(self) -> tuple[str, int | None]:
        level = self.level
        return level, getattr(self, level, None)

    def params(self) -> dict:
        return {k: getattr(self, k) for k in ("workshop", "line", "work_center")
                if getattr(self, k)}


def query(period: Period | None = None, scope: Scope | None = None, **extra) -> str:
    """The query string of a KPI page or drill-down for a period and scope."""
    params = {}
    if period is not None:
        params.update(period.params())
    if scope is not None:
        params.update(scope.params())
    params.update({k: v for k, v in extra.items() if v not in (None, "")})
    return urlencode(params)


def overlap_seconds(a_start, a_end, b_start, b_end) -> float:
    return max(0.0, (min(a_end, b_end) - max(a_start, b_start)).total_seconds())
