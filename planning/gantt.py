"""Gantt charts rendered on the server as one SVG string: no chart library, no client work.

Plain data in (rows, bars, calendar gaps, links), markup out. Strings are joined once and
shared shapes are drawn once (a calendar's non-working time is one path that every row on it
`<use>`s), so a thousand bars render in a few milliseconds.
"""

import datetime
import unicodedata
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)
LABEL_W = 190          # the row-label column
HEAD_H = 40            # two axis lines
LANE_H = 20
LANE_GAP = 3
ROW_PAD = 4
ROW_MIN_H = 36         # room for a row's label and sublabel


@dataclass(frozen=True)
class Scale:
    code: str
    label: str
    px_per_hour: float
    minor: datetime.timedelta      # one grid line per step
    major: str                     # "day", "week" or "month": the upper axis line
    minor_fmt: str                 # Django date formats: weekday names follow the language
    major_fmt: str
    span: datetime.timedelta       # the window one page shows


SCALES = {s.code: s for s in (
    Scale("hour", gettext_lazy("hour"), 40, HOUR, "day", "H", "m-d D",
          datetime.timedelta(days=2)),
    Scale("shift", gettext_lazy("shift"), 10, 4 * HOUR, "day", "H:i", "m-d D",
          datetime.timedelta(days=8)),
    Scale("day", gettext_lazy("day"), 2.5, DAY, "week", "d", "m-d",
          datetime.timedelta(days=56)),
    Scale("week", gettext_lazy("week"), 0.5, 7 * DAY, "month", "m-d", "Y-m",
          datetime.timedelta(days=364)),
)}
DEFAULT_SCALE = "day"


def scale_for(minutes) -> Scale:
    """The zoom that shows a plan of this length (minutes) on one page, bars still readable."""
    if minutes is None:
        return SCALES[DEFAULT_SCALE]
    for code, limit in (("hour", 36 * 60), ("shift", 6 * 24 * 60), ("day", 50 * 24 * 60)):
        if minutes <= limit:
            return SCALES[code]
    return SCALES["week"]


@dataclass
class Row:
    key: object
    label: str
    sublabel: str = ""
    lanes: int = 1
    href: str | None = None
    calendar: object = None        # key into Chart.off; None: works around the clock
    indent: int = 0


@dataclass
class Bar:
    task_id: int
    row: object
    start: datetime.datetime
    end: datetime.datetime
    label: str
    title: str
    href: str
    lane: int | None = None        # None: packed into the first free lane of its row
    status: str = "planned"
    priority: int = 1
    late: bool = False
    pinned: bool = False
    moved: bool = False


@dataclass
class Chart:
    rows: list[Row]
    bars: list[Bar]
    start: datetime.datetime
    end: datetime.datetime
    scale: Scale
    now: datetime.datetime
    frozen: tuple[datetime.datetime, datetime.datetime] | None = None
    # calendar key -> non-working intervals inside [start, end)
    off: dict[object, list[tuple[datetime.datetime, datetime.datetime]]] = field(
        default_factory=dict)
    links: list[tuple[int, int]] = field(default_factory=list)   # (predecessor, successor)
    view: str = "wc"
    preview: bool = False          # a version not applied yet: its moved bars stand out


def window(scale: Scale, start: datetime.datetime | None, now: datetime.datetime
           ) -> tuple[datetime.datetime, datetime.datetime]:
    """The page's time window: from `start` (default: a little before now) for one span."""
    if start is None:
        local = timezone.localtime(now)
        if scale.code == "hour":
            start = (local - 2 * HOUR).replace(minute=0, second=0, microsecond=0)
        else:
            start = local.replace(hour=0, minute=0, second=0, microsecond=0)
            if scale.code == "week":
                start -= start.weekday() * DAY
    return start, start + scale.span


def gaps(windows, start, end) -> list[tuple[datetime.datetime, datetime.datetime]]:
    """The complement of sorted working windows inside [start, end): the time off."""
    out, cursor = [], start
    for s, e in windows:
        if e <= cursor:
            continue
        if s >= end:
            break
        if s > cursor:
            out.append((cursor, s))
        cursor = max(cursor, e)
    if cursor < end:
        out.append((cursor, end))
    return out


def pack_lanes(bars: list[Bar]) -> dict[object, int]:
    """Give bars without a lane the first lane of their row that is free (interval
    partitioning); returns lanes per row."""
    lanes: dict[object, list[datetime.datetime]] = {}
    used: dict[object, int] = {}
    for bar in sorted(bars, key=lambda b: (b.start, b.end)):
        if bar.lane is not None:
            used[bar.row] = max(used.get(bar.row, 0), bar.lane + 1)
            continue
        free = lanes.setdefault(bar.row, [])
        for i, busy_until in enumerate(free):
            if busy_until <= bar.start:
                bar.lane, free[i] = i, bar.end
                break
        else:
            bar.lane = len(free)
            free.append(bar.end)
        used[bar.row] = max(used.get(bar.row, 0), bar.lane + 1)
    return used


def _ticks(scale: Scale, start, end):
    """(minor ticks, major ticks) as local datetimes inside [start, end]."""
    local = timezone.localtime(start)
    if scale.minor >= DAY:
        t = local.replace(hour=0, minute=0, second=0, microsecond=0)
        if scale.minor == 7 * DAY:
            t -= t.weekday() * DAY
    else:
        hours = int(scale.minor / HOUR)
        t = local.replace(hour=local.hour - local.hour % hours, minute=0, second=0,
                          microsecond=0)
    minor = []
    while t <= end:
        if t >= start:
            minor.append(t)
        t += scale.minor
    major = []
    t = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if scale.major == "week":
        t -= t.weekday() * DAY
    elif scale.major == "month":
        t = t.replace(day=1)
    while t <= end:
        major.append(t)
        if scale.major == "day":
            t += DAY
        elif scale.major == "week":
            t += 7 * DAY
        else:
            t = (t.replace(day=28) + 4 * DAY).replace(day=1)
    return minor, major


def render_svg(chart: Chart) -> SafeString:
    """The chart as an inline SVG element (class names carry colours: static/mes/gantt.css)."""
    scale, start, end = chart.scale, chart.start, chart.end
    pxh = scale.px_per_hour
    width = LABEL_W + max(1.0, (end - start) / HOUR * pxh)

    def x(t):
        return LABEL_W + (min(max(t, start), end) - start).total_seconds() / 3600 * pxh

    used = pack_lanes(chart.bars)
    row_y, y = {}, HEAD_H
    for row in chart.rows:
        row.lanes = max(row.lanes, used.get(row.key, 1), 1)
        row_y[row.key] = y
        y += _row_h(row)
    height = y + 2
    kind = f"gantt-{chart.view}" + (" gantt-preview" if chart.preview else "")
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="gantt {kind}" '
           f'width="{width:.0f}" height="{height}" viewBox="0 0 {width:.0f} {height}" '
           f'role="img" aria-label="{escape(_("Gantt chart"))}" data-testid="gantt-svg" '
           f'data-bars="{len(chart.bars)}">',
           '<defs><marker id="gantt-arrow" viewBox="0 0 8 8" refX="8" refY="4" '
           'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
           '<path d="M0,0 L8,4 L0,8 z" class="arrow-head"/></marker>']
    # Each calendar's time off once, in row-height units; rows scale it to their height.
    for key, intervals in chart.off.items():
        parts = [f"M{x(s):.1f} 0h{x(e) - x(s):.1f}v1h-{x(e) - x(s):.1f}z"
                 for s, e in intervals if x(e) - x(s) >= 0.5]
        if parts:
            out.append(f'<path id="gantt-off-{escape(key)}" d="{"".join(parts)}"/>')
    out.append("</defs>")
    # Row bands, then time off, then the grid.
    for i, row in enumerate(chart.rows):
        h = _row_h(row)
        out.append(f'<rect class="row-band row-{i % 2}" x="0" y="{row_y[row.key]}" '
                   f'width="{width:.0f}" height="{h}"/>')
        if row.calendar is not None and row.calendar in chart.off:
            out.append(f'<use href="#gantt-off-{escape(row.calendar)}" class="off" '
                       f'transform="translate(0 {row_y[row.key]}) scale(1 {h})"/>')
    minor, major = _ticks(scale, start, end)
    out.append('<g class="grid">')
    out += [f'<line x1="{x(t):.1f}" y1="{HEAD_H // 2}" x2="{x(t):.1f}" y2="{height}"/>'
            for t in minor]
    out += [f'<line class="major" x1="{x(t):.1f}" y1="0" x2="{x(t):.1f}" y2="{height}"/>'
            for t in major if start <= t <= end]
    out.append("</g>")
    if chart.frozen and chart.frozen[1] > start and chart.frozen[0] < end:
        fx0, fx1 = x(chart.frozen[0]), x(chart.frozen[1])
        tip = escape(_("Frozen horizon: the scheduler does not move released tasks that "
                       "start in here"))
        out.append(f'<rect class="frozen" data-testid="gantt-frozen" x="{fx0:.1f}" '
                   f'y="{HEAD_H}" width="{max(fx1 - fx0, 1):.1f}" height="{height - HEAD_H}">'
                   f'<title>{tip}</title></rect>')
    # Axis labels.
    out.append('<g class="axis">')
    for t in major:
        out.append(f'<text x="{max(x(t), LABEL_W) + 3:.1f}" y="14">'
                   f'{escape(date_format(t, scale.major_fmt))}</text>')
    min_gap = 24
    last = -min_gap
    for t in minor:
        if x(t) - last >= min_gap:
            out.append(f'<text class="minor" x="{x(t) + 2:.1f}" y="{HEAD_H - 6}">'
                       f'{escape(date_format(t, scale.minor_fmt))}</text>')
            last = x(t)
    out.append("</g>")
    _labels(out, chart.rows, row_y, height)
    bars_by_task = {b.task_id: b for b in chart.bars}
    if chart.links:
        _links(out, chart.links, bars_by_task, x, row_y)
    out.append('<g class="bars">')
    for bar in chart.bars:
        _bar(out, bar, x, row_y[bar.row])
    out.append("</g>")
    if start <= chart.now <= end:
        nx = x(chart.now)
        out.append(f'<line class="now" data-testid="gantt-now" x1="{nx:.1f}" y1="{HEAD_H - 4}" '
                   f'x2="{nx:.1f}" y2="{height}"><title>{escape(_("now"))} '
                   f'{timezone.localtime(chart.now):%H:%M}</title></line>')
    out.append("</svg>")
    return mark_safe("".join(out))  # noqa: S308 - every text above went through escape()


def _row_h(row: Row) -> int:
    return max(row.lanes * (LANE_H + LANE_GAP) + 2 * ROW_PAD - LANE_GAP, ROW_MIN_H)


def _fit(text: str, width: int) -> str:
    """`text` cut to `width` columns of the label, a Chinese (wide) character counting two, and
    ended with "…" when cut."""
    used = 0
    for i, char in enumerate(text):
        used += 2 if unicodedata.east_asian_width(char) in "WF" else 1
        if used > width:
            return text[:max(0, i - 1)] + "…"
    return text


def _label_text(css: str, x: int, y: int, text: str, width: int) -> str:
    """A row label, cut to its column with the whole text as its tooltip when it does not
    fit."""
    shown = _fit(text, width)
    title = f"<title>{escape(text)}</title>" if shown != text else ""
    return f'<text{css} x="{x}" y="{y}">{title}{escape(shown)}</text>'


def _labels(out, rows, row_y, height):
    out.append(f'<g class="labels"><rect class="label-bg" x="0" y="0" width="{LABEL_W}" '
               f'height="{height}"/>')
    for row in rows:
        y = row_y[row.key] + ROW_PAD + 14
        indent = 8 + 10 * row.indent
        # (bold 12 px: about 26 narrow characters fit the column beside the indent)
        text = _label_text("", indent, y, row.label, 26 - row.indent)
        out.append(f'<a href="{escape(row.href)}">{text}</a>' if row.href else text)
        if row.sublabel:
            out.append(_label_text(' class="sub"', indent, y + 13, row.sublabel, 30 - row.indent))
    out.append("</g>")


def _links(out, links, bars, x, row_y):
    out.append('<g class="links">')
    for pred, succ in links:
        a, b = bars.get(pred), bars.get(succ)
        if a is None or b is None:
            continue
        y1 = row_y[a.row] + ROW_PAD + a.lane * (LANE_H + LANE_GAP) + LANE_H / 2
        y2 = row_y[b.row] + ROW_PAD + b.lane * (LANE_H + LANE_GAP) + LANE_H / 2
        x1, x2 = x(a.end), x(b.start)
        out.append(f'<path class="link" data-link="{pred}-{succ}" '
                   f'd="M{x1:.1f} {y1:.1f}H{x1 + 5:.1f}V{y2:.1f}H{max(x2, x1 + 6):.1f}" '
                   f'marker-end="url(#gantt-arrow)"/>')
    out.append("</g>")


def _bar(out, bar: Bar, x, row_top):
    x0, x1 = x(bar.start), x(bar.end)
    w = max(x1 - x0, 2.0)
    y = row_top + ROW_PAD + bar.lane * (LANE_H + LANE_GAP)
    classes = f"bar st-{bar.status} prio-{bar.priority}"
    if bar.late:
        classes += " late"
    if bar.pinned:
        classes += " pinned"
    if bar.moved:
        classes += " moved"
    out.append(f'<a href="{escape(bar.href)}" class="{classes}" data-task="{bar.task_id}">'
               f'<title>{escape(bar.title)}</title>'
               f'<rect x="{x0:.1f}" y="{y}" width="{w:.1f}" height="{LANE_H}" rx="3"/>')
    if w > 7 * len(bar.label) + 6:
        out.append(f'<text x="{x0 + 4:.1f}" y="{y + 14}">{escape(bar.label)}</text>')
    if bar.late:
        out.append(f'<path class="late-mark" d="M{x0 + w:.1f} {y - 3}l5 0l-5 8z"/>')
    if bar.pinned:
        out.append(f'<circle class="pin-mark" cx="{x0:.1f}" cy="{y}" r="3.5"/>')
    out.append("</a>")
