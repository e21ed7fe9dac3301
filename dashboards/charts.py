"""Trend charts drawn on the server as SVG: bars or a line, with the target line.

No chart library and nothing from the internet: the page, the printout and the wall TV get
the same markup, which scales with its box (viewBox) and links every bar or point to the
records behind it.
"""

import math
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from html import escape

from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

WIDTH, HEIGHT = 800, 260
TENTH = Decimal("0.1")
LEFT, RIGHT, TOP, BOTTOM = 52, 16, 14, 30


def nice_max(value: float) -> float:
    """A round axis maximum at or above `value` (1, 2, 2.5 or 5 × a power of ten)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def fmt(value: float | None, unit: str = "") -> str:
    """An axis label (a round number); a figure itself reads as `figure_text` writes it."""
    if value is None:
        return "—"
    digits = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 or unit == "%" else 2
    text = f"{value:,.{digits}f}"
    return f"{text} {unit_text(unit)}".strip() if unit else text


def figure_text(value, unit: str = "") -> str:
    """A KPI figure as every page shows it, so the headline, the tables, the overview and the
    chart's tooltips read the same: whole numbers (counts) as they are, any other figure with
    one decimal."""
    if value is None:
        return "—"
    if isinstance(value, Decimal) and value == value.to_integral():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        text = f"{value:,}"
    else:  # rounded half up, as the pages' floatformat did (0.25 h reads 0.3 h)
        text = f"{Decimal(str(float(value))).quantize(TENTH, ROUND_HALF_UP):,.1f}"
    return f"{text} {unit_text(unit)}" if unit else text


def unit_text(unit: str) -> str:
    """A KPI's unit as the reader writes it ("h" reads 小时 in Chinese; "%" is "%")."""
    if unit == "h":
        return pgettext("unit of time", "h")
    return unit


def trend_svg(points, *, unit: str = "", kind: str = "line", title: str = "",
              href: Callable | None = None, hundred: bool = False) -> SafeString:
    """points: objects with .label, .figure.value, .target and .ok (see kpi_pages.Point).

    `hundred`: a percentage axis that tops at 100 unless a value is above it."""
    n = len(points)
    values = [p.figure.value for p in points]
    targets = [p.target for p in points]
    top = max([v for v in values + targets if v is not None] or [0])
    y_max = 100.0 if hundred and top <= 100 else nice_max(top * 1.05)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(n, 1)

    def x(i: int) -> float:
        return LEFT + step * (i + 0.5)

    def y(v: float) -> float:
        return TOP + plot_h * (1 - min(max(v, 0), y_max) / y_max)

    out = [f'<svg class="chart chart-{kind}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
           f'aria-label="{escape(title)}" data-testid="trend-chart" '
           f'preserveAspectRatio="xMidYMid meet">']
    if title:
        out.append(f"<title>{escape(title)}</title>")
    for k in range(5):  # grid and axis labels
        v = y_max * k / 4
        out.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(v):.1f}" '
                   f'y2="{y(v):.1f}"/><text class="axis" x="{LEFT - 6}" y="{y(v) + 4:.1f}" '
                   f'text-anchor="end">{escape(fmt(v, unit))}</text>')
    every = max(1, math.ceil(n / 12))
    for i, p in enumerate(points):
        if i % every == 0 or i == n - 1:
            out.append(f'<text class="axis" x="{x(i):.1f}" y="{HEIGHT - 10}" '
                       f'text-anchor="middle">{escape(p.label)}</text>')
    if kind == "bar":
        bar_w = max(1.0, step * 0.7)
        for i, p in enumerate(points):
            v = p.figure.value
            if v is None:
                continue
            cls = "ok" if p.ok else "bad" if p.ok is False else "neutral"
            out.append(_linked(href, p, f'<rect class="bar {cls}" x="{x(i) - bar_w / 2:.1f}" '
                                        f'y="{y(v):.1f}" width="{bar_w:.1f}" '
                                        f'height="{y(0) - y(v):.1f}">'
                                        f"{_tip(p, unit)}</rect>"))
    else:
        segment: list[str] = []
        segments = []
        for i, v in enumerate(values):
            if v is None:
                if segment:
                    segments.append(segment)
                segment = []
                continue
            segment.append(f"{x(i):.1f},{y(v):.1f}")
        if segment:
            segments.append(segment)
        for seg in segments:
            out.append(f'<polyline class="series" points="{" ".join(seg)}"/>')
        for i, p in enumerate(points):
            if p.figure.value is None:
                continue
            cls = "ok" if p.ok else "bad" if p.ok is False else "neutral"
            out.append(_linked(href, p, f'<circle class="dot {cls}" cx="{x(i):.1f}" '
                                        f'cy="{y(p.figure.value):.1f}" r="4">'
                                        f"{_tip(p, unit)}</circle>"))
    if any(t is not None for t in targets):
        pts = []
        for i, t in enumerate(targets):
            if t is not None:
                pts += [f"{x(i) - step / 2:.1f},{y(t):.1f}", f"{x(i) + step / 2:.1f},{y(t):.1f}"]
        out.append(f'<polyline class="target" points="{" ".join(pts)}" data-testid="target-line">'
                   f"<title>{escape(_('target'))}</title></polyline>")
        last = next(t for t in reversed(targets) if t is not None)
        label = f'{_("target")} {figure_text(last, unit)}'
        out.append(f'<text class="target-label" x="{WIDTH - RIGHT}" y="{y(last) - 4:.1f}" '
                   f'text-anchor="end">{escape(label)}</text>')
    out.append("</svg>")
    return mark_safe("".join(out))  # noqa: S308 - every text in it is escaped above


def _tip(p, unit: str) -> str:
    return f"<title>{escape(p.label)}: {escape(figure_text(p.figure.value, unit))}</title>"


def _linked(href, p, inner: str) -> str:
    if href is None:
        return inner
    return f'<a href="{escape(href(p))}">{inner}</a>'
