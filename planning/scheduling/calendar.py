"""Working-time arithmetic: a calendar seen as an axis of working minutes.

An operation on a resource occupies a contiguous block [w, w + duration) of that resource's
working minutes. Mapped back to the clock, the block is interrupted by every break, shift end or
Sunday it crosses and resumes in the next working window: its clock span is the duration plus
those gaps. Working inside the axis makes the capacity constraints exact and gap-free, and two
operations on resources that share a calendar compare directly in working minutes.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence

from planning.scheduling.problem import Key, ProblemError


class WorkAxis:
    """Maps clock minutes to the working minutes of one calendar and back.

    Working minute w (0-based, counted from the first window) is the clock minute
    [clock_start(w), clock_start(w) + 1). Without windows (None) the axis is the clock itself
    and unbounded both ways.
    """

    __slots__ = ("starts", "ends", "cum", "total")

    def __init__(self, windows: Sequence[tuple[int, int]] | None) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.cum: list[int] = []  # working minutes before window k
        self.total: int | None = None  # working minutes in the calendar; None = unbounded
        if windows is None:
            return
        total = 0
        for start, end in windows:
            if self.ends and start == self.ends[-1]:
                # Touching windows (shift change without a gap) are one window.
                total += end - start
                self.ends[-1] = end
                continue
            self.starts.append(start)
            self.ends.append(end)
            self.cum.append(total)
            total += end - start
        self.total = total

    @property
    def always(self) -> bool:
        return self.total is None

    def work_before(self, t: int) -> int:
        """Working minutes before clock time t = index of the first working minute ≥ t."""
        if self.total is None:
            return t
        k = bisect_right(self.starts, t) - 1
        if k < 0:
            return 0
        return self.cum[k] + min(t, self.ends[k]) - self.starts[k]

    def clock_start(self, w: int) -> int:
        """Clock time at which working minute w begins. Requires 0 ≤ w < total."""
        if self.total is None:
            return w
        k = bisect_right(self.cum, w) - 1
        return self.starts[k] + w - self.cum[k]

    def clock_end(self, x: int) -> int:
        """Clock time at which the first x working minutes are over. Requires 1 ≤ x ≤ total."""
        return self.clock_start(x - 1) + 1

    def span(self, w: int, duration: int) -> tuple[int, int]:
        """Clock [start, end) of an operation occupying working minutes [w, w + duration)."""
        start = self.clock_start(w)
        return start, (self.clock_end(w + duration) if duration else start)

    def is_working(self, t: int) -> bool:
        """Whether clock minute [t, t + 1) is working time."""
        if self.total is None:
            return True
        k = bisect_right(self.starts, t) - 1
        return k >= 0 and t < self.ends[k]

    def windows(self) -> list[tuple[int, int, int]]:
        """(working start, working end, clock − working offset) of each window, in order."""
        return [(c, c + e - s, s - c) for s, e, c in zip(self.starts, self.ends, self.cum,
                                                          strict=True)]


def validate_windows(resource: Key, windows: Iterable[tuple[int, int]] | None) -> None:
    """Raise ProblemError unless the windows are well-formed, sorted and disjoint."""
    if windows is None:
        return
    previous_end: int | None = None
    for pair in windows:
        try:
            start, end = pair
        except (TypeError, ValueError):
            raise ProblemError(f"resource {resource!r}: calendar entry {pair!r} is not a "
                               f"(start, end) pair", [resource]) from None
        if not (isinstance(start, int) and isinstance(end, int)) or end <= start:
            raise ProblemError(f"resource {resource!r}: calendar window [{start}, {end}) must "
                               f"be integer minutes with start < end", [resource])
        if previous_end is not None and start < previous_end:
            raise ProblemError(f"resource {resource!r}: calendar window [{start}, {end}) "
                               f"overlaps or precedes the previous one", [resource])
        previous_end = end
