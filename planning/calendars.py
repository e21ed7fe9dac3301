"""Shift calendars expanded into working windows (clock datetimes), for scheduling."""

import datetime
from collections import defaultdict

from django.utils import timezone

from planning.models import Holiday, Shift


def _parse_hhmm(value: str) -> datetime.time:
    hours, minutes = str(value).split(":")[:2]
    return datetime.time(int(hours), int(minutes))


def calendar_windows(calendar_ids, start: datetime.datetime, end: datetime.datetime
                     ) -> dict[int, list[tuple[datetime.datetime, datetime.datetime]]]:
    """calendar id -> sorted, merged working windows between `start` and `end` (aware datetimes
    in plant time). Shifts may cross midnight; breaks are cut out; holidays have no shifts
    starting on them. Two queries, whatever the number of calendars and days."""
    tz = timezone.get_current_timezone()
    shifts = defaultdict(list)
    for shift in Shift.objects.filter(calendar_id__in=calendar_ids):
        shifts[shift.calendar_id].append(shift)
    holidays = defaultdict(set)
    for cal_id, day in Holiday.objects.filter(calendar_id__in=calendar_ids,
                                              date__gte=start.date() - datetime.timedelta(1),
                                              date__lte=end.date()).values_list("calendar_id",
                                                                                "date"):
        holidays[cal_id].add(day)
    out = {}
    first_day = timezone.localtime(start, tz).date() - datetime.timedelta(days=1)
    last_day = timezone.localtime(end, tz).date()
    for cal_id in calendar_ids:
        windows = []
        day = first_day
        while day <= last_day:
            if day not in holidays[cal_id]:
                for shift in shifts[cal_id]:
                    if shift.weekday != day.weekday():
                        continue
                    s = timezone.make_aware(datetime.datetime.combine(day, shift.start), tz)
                    e_day = day if shift.end > shift.start else day + datetime.timedelta(1)
                    e = timezone.make_aware(datetime.datetime.combine(e_day, shift.end), tz)
                    pieces = [(s, e)]
                    for b_start, b_end in shift.breaks or []:
                        bs = timezone.make_aware(datetime.datetime.combine(
                            day, _parse_hhmm(b_start)), tz)
                        if bs < s:
                            bs += datetime.timedelta(days=1)
                        be = timezone.make_aware(datetime.datetime.combine(
                            bs.date(), _parse_hhmm(b_end)), tz)
                        if be <= bs:
                            be += datetime.timedelta(days=1)
                        cut = []
                        for ps, pe in pieces:
                            if be <= ps or bs >= pe:
                                cut.append((ps, pe))
                                continue
                            if ps < bs:
                                cut.append((ps, bs))
                            if be < pe:
                                cut.append((be, pe))
                        pieces = cut
                    windows += pieces
            day += datetime.timedelta(days=1)
        windows = sorted((max(s, start), min(e, end)) for s, e in windows if e > start and
                         s < end)
        merged = []
        for s, e in windows:
            if merged and s <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], e))
            else:
                merged.append((s, e))
        out[cal_id] = merged
    return out
