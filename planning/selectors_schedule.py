"""Scheduling reads: versions, a version's difference in people's words, Gantt chart data.

Every function costs a fixed number of queries whatever the number of tasks.
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import (
    BigIntegerField,
    BooleanField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Subquery,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from planning import gantt
from planning.calendars import calendar_windows
from planning.models import (
    Priority,
    ProductionOrder,
    ScheduleEntry,
    ScheduleVersion,
    Task,
    TaskLink,
    WorkCenter,
    WorkOrder,
)

V = ScheduleVersion.Status


# --- Versions -------------------------------------------------------------------------------
def _with_outdated(qs):
    """`outdated`: ready, but computed before another version was applied since, which
    schedule_apply refuses ("run it again"): the pages offer no Apply for it."""
    applied_since = ScheduleVersion.objects.filter(status=V.APPLIED,
                                                   applied_at__gt=OuterRef("created_at"))
    return qs.annotate(outdated=ExpressionWrapper(Q(status=V.READY) & Exists(applied_since),
                                                  output_field=BooleanField()))


def _versions():
    return _with_outdated(ScheduleVersion.objects.select_related(
        "created_by", "applied_by", "rush_order").defer("diff"))


def versions_recent(limit: int = 15) -> list[ScheduleVersion]:
    return list(_versions()[:limit])


def version_current() -> ScheduleVersion | None:
    """The applied version: what the floor works to."""
    return _versions().filter(status=V.APPLIED).order_by("-applied_at", "-id").first()


def version_get(pk) -> ScheduleVersion:
    return _with_outdated(ScheduleVersion.objects.select_related(
        "created_by", "applied_by", "rush_order__item")).get(pk=pk)


def version_card(pk) -> ScheduleVersion:
    """What a polling card needs (the diff is not read: it can be large)."""
    return _versions().get(pk=pk)


def grouped_text(number) -> str:
    """A whole number with its thousands grouped, in every language ("349,763"; Django's
    Chinese number format groups none, and such a figure is not read at a glance)."""
    return "—" if number is None else f"{int(number):,}"


def duration_text(minutes) -> str:
    """Minutes as people read them: "2 d 3 h", "45 min"."""
    if minutes is None:
        return "—"
    days, rest = divmod(int(minutes), 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = ([_("%(n)d d") % {"n": days}] if days else []) + \
        ([_("%(n)d h") % {"n": hours}] if hours else []) + \
        ([_("%(n)d min") % {"n": mins}] if mins or not (days or hours) else [])
    return " ".join(parts)


def _dt(value):
    return parse_datetime(value) if value else None


@dataclass
class VersionDiff:
    moved_count: int = 0
    continuing_count: int = 0  # started tasks that go on from now: not moves
    moved: list[dict] = field(default_factory=list)
    work_center_changed: list[dict] = field(default_factory=list)
    newly_late: list[dict] = field(default_factory=list)
    no_longer_late: list[dict] = field(default_factory=list)
    affected: list[WorkCenter] = field(default_factory=list)
    changes: list[dict] = field(default_factory=list)
    truncated: bool = False

    @property
    def empty(self) -> bool:
        return not (self.moved_count or self.work_center_changed or self.newly_late
                    or self.no_longer_late)


def version_diff(version: ScheduleVersion) -> VersionDiff:
    """The stored diff with ids turned into records and ISO times into datetimes (3 queries:
    work centers, work orders, changed orders)."""
    raw = version.diff or {}
    moved, changed_wc = raw.get("moved", []), raw.get("work_center_changed", [])
    late, back = raw.get("newly_late", []), raw.get("no_longer_late", [])
    wc_ids = {m["work_center"] for m in moved} | set(raw.get("affected_work_centers", []))
    wc_ids |= {c["from"] for c in changed_wc} | {c["to"] for c in changed_wc}
    wcs = WorkCenter.objects.in_bulk(wc_ids)
    numbers = {r["work_order"] for r in late + back}
    wos = {wo.number: wo for wo in WorkOrder.objects.filter(number__in=numbers)
           .select_related("production_order")} if numbers else {}
    order_ids = [c["order"] for c in version.pending_changes or []]
    orders = ProductionOrder.objects.in_bulk(order_ids)
    diff = VersionDiff(moved_count=raw.get("moved_count", len(moved)),
                       continuing_count=raw.get("continuing_count", 0))
    diff.truncated = diff.moved_count > len(moved)
    diff.moved = [{"task": m["task"], "name": m["name"], "work_center": wcs.get(m["work_center"]),
                   "from": _dt(m["from"]), "to": _dt(m["to"])} for m in moved]
    diff.work_center_changed = [{"task": c["task"], "name": c["name"], "from": wcs.get(c["from"]),
                                 "to": wcs.get(c["to"])} for c in changed_wc]
    for source, target in ((late, diff.newly_late), (back, diff.no_longer_late)):
        for r in source:
            due, end = _dt(r["due"]), _dt(r["end"])
            target.append({"number": r["work_order"], "work_order": wos.get(r["work_order"]),
                           "due": due, "end": end,
                           "by_text": duration_text((end - due).total_seconds() // 60)
                           if due and end else ""})
    diff.affected = sorted((wcs[i] for i in raw.get("affected_work_centers", []) if i in wcs),
                           key=lambda wc: wc.code)
    for change in version.pending_changes or []:
        order = orders.get(change["order"])
        diff.changes.append({
            "order": order, "reason": change.get("reason", ""),
            "quantity": change.get("quantity"), "old_quantity": order.quantity if order else None,
            "due": _dt(change.get("due")), "old_due": order.due if order else None,
            "priority": Priority(change["priority"]).label if change.get("priority") else None,
        })
    return diff


# --- Gantt ----------------------------------------------------------------------------------
@dataclass
class GanttFilter:
    view: str = "wc"                      # "wc": per work center; "order": per production order
    scale: gantt.Scale = gantt.SCALES[gantt.DEFAULT_SCALE]
    start: datetime.datetime | None = None
    version: ScheduleVersion | None = None   # None: the current plan (tasks' planned times)
    workshop: object = None
    line: object = None
    work_center: object = None
    order: ProductionOrder | None = None


def plan_span_minutes(version: ScheduleVersion | None, now=None) -> int | None:
    """How far the plan reaches: a version's makespan, or from now to the current plan's end
    (one query)."""
    if version is not None:
        return version.makespan_minutes
    current = (ScheduleVersion.objects.filter(status=V.APPLIED).order_by("-applied_at")
               .values("origin", "makespan_minutes").first())
    if not current or current["makespan_minutes"] is None:
        return None
    end = current["origin"] + datetime.timedelta(minutes=current["makespan_minutes"])
    return max(0, int((end - (now or timezone.now())).total_seconds() // 60))


def _wc_scope(f: GanttFilter):
    """Work centers the filter allows, or None for all."""
    if not (f.workshop or f.line or f.work_center):
        return None
    qs = WorkCenter.objects.all()
    if f.workshop:
        qs = qs.filter(line__workshop=f.workshop)
    if f.line:
        qs = qs.filter(line=f.line)
    if f.work_center:
        qs = qs.filter(pk=getattr(f.work_center, "pk", f.work_center))
    return qs.values("pk")


@dataclass
class _Slot:
    task: Task
    work_center_id: int
    machine: int | None
    start: datetime.datetime
    end: datetime.datetime
    moved: bool = False


# Only what a bar shows: a thousand rows of full tasks would cost more than the drawing.
_BAR_FIELDS = ("seq", "name", "status", "planned_start", "planned_end", "pinned_start",
               "pinned_work_center", "work_center", "work_order__number", "work_order__due",
               "work_order__priority", "work_order__production_order", "work_order__item__code")


def _current_slots(f: GanttFilter, start, end) -> list[_Slot]:
    applied = ScheduleVersion.objects.filter(status=V.APPLIED).order_by("-applied_at").values(
        "pk")[:1]
    entry = ScheduleEntry.objects.filter(version_id=Subquery(applied), task_id=OuterRef("pk"))
    qs = (Task.objects.exclude(status=Task.Status.CANCELLED)
          .filter(planned_start__lt=end, planned_end__gt=start)
          .annotate(plan_wc=Coalesce(Subquery(entry.values("work_center_id")[:1]),
                                     F("work_center_id"), output_field=BigIntegerField()),
                    plan_machine=Subquery(entry.values("machine")[:1]))
          .select_related("work_order__item").only(*_BAR_FIELDS))
    scope = _wc_scope(f)
    if scope is not None:
        qs = qs.filter(plan_wc__in=scope)
    if f.order:
        qs = qs.filter(work_order__production_order=f.order)
    return [_Slot(t, t.plan_wc, t.plan_machine, t.planned_start, t.planned_end)
            for t in qs.order_by("planned_start", "pk")]


def _version_slots(f: GanttFilter, start, end) -> list[_Slot]:
    qs = (ScheduleEntry.objects.filter(version=f.version, start__lt=end, end__gt=start)
          .exclude(task__status=Task.Status.CANCELLED)
          .select_related("task__work_order__item")
          .only("start", "end", "machine", "work_center", *(f"task__{n}" for n in _BAR_FIELDS)))
    scope = _wc_scope(f)
    if scope is not None:
        qs = qs.filter(work_center_id__in=scope)
    if f.order:
        qs = qs.filter(task__work_order__production_order=f.order)
    out = []
    for e in qs.order_by("start", "pk"):
        planned = e.task.planned_start
        moved = planned is None or abs((planned - e.start).total_seconds()) >= 60
        out.append(_Slot(e.task, e.work_center_id, e.machine, e.start, e.end, moved))
    return out


def _due_shifts(version: ScheduleVersion | None) -> dict[int, datetime.timedelta]:
    """Per production order: how far a pending due-date change moves its work orders' dues."""
    if version is None:
        return {}
    out = {}
    orders = ProductionOrder.objects.in_bulk([c["order"] for c in version.pending_changes or []
                                              if c.get("due")])
    for c in version.pending_changes or []:
        if c.get("due") and c["order"] in orders:
            out[c["order"]] = _dt(c["due"]) - orders[c["order"]].due
    return out


class _Words:
    """What every bar's tooltip repeats, looked up once per chart."""

    def __init__(self):
        self.tz = timezone.get_current_timezone()
        self.due, self.late = _("due"), _("late")
        self.status = {value: str(label) for value, label in Task.Status.choices}


def _bar(slot: _Slot, row, shifts, task_href, words: _Words) -> gantt.Bar:
    task, wo = slot.task, slot.task.work_order
    due = wo.due + shifts.get(wo.production_order_id, datetime.timedelta(0))
    late = slot.end > due
    tz = words.tz
    title = (f"{wo.number}/{task.seq} {task.name} · {wo.item.code} · "
             f"{slot.start.astimezone(tz):%m-%d %H:%M} → {slot.end.astimezone(tz):%m-%d %H:%M}"
             f" · {words.status.get(task.status, task.status)} · "
             f"{words.due} {due.astimezone(tz):%m-%d %H:%M}")
    if late:
        title += " · " + words.late
    return gantt.Bar(task_id=task.pk, row=row, start=slot.start, end=slot.end,
                     label=f"{wo.number}/{task.seq}", title=title, href=task_href(task.pk),
                     lane=slot.machine, status=task.status, priority=wo.priority, late=late,
                     pinned=bool(task.pinned_start or task.pinned_work_center_id),
                     moved=slot.moved)


def gantt_chart(f: GanttFilter, *, task_href: Callable[[int], str],
                row_href: Callable[[str, object], str | None] = lambda kind, obj: None,
                now: datetime.datetime | None = None) -> gantt.Chart:
    """The chart for one window. Queries: bars 1, rows 1, calendars 2, due changes 1, and for
    the order view the dependency links 1 — whatever the number of tasks."""
    now = now or timezone.now()
    # A version's chart opens where it was computed; the current plan's opens at now.
    start, end = gantt.window(f.scale, f.start, f.version.origin if f.version else now)
    slots = (_version_slots if f.version else _current_slots)(f, start, end)
    shifts = _due_shifts(f.version)
    if f.version is not None:
        frozen = (f.version.origin,
                  f.version.origin + datetime.timedelta(minutes=f.version.frozen_minutes))
    else:  # what the next run would keep as it is
        frozen = (now, now + datetime.timedelta(minutes=settings.MES_FROZEN_MINUTES))
    if slots:  # no wider than the work shown (a short plan needs no eight empty weeks)
        last = max(s.end for s in slots)
        end = min(end, max(last, now, frozen[1]) + gantt.HOUR)
    chart = gantt.Chart(rows=[], bars=[], start=start, end=end, scale=f.scale, now=now,
                        frozen=frozen, view=f.view,
                        preview=f.version is not None and f.version.status == V.READY)
    if f.view == "order":
        _order_rows(chart, f, slots, shifts, task_href, row_href)
    else:
        _wc_rows(chart, f, slots, shifts, task_href, row_href)
    return chart


def _wc_rows(chart, f, slots, shifts, task_href, row_href):
    ids = {s.work_center_id for s in slots}
    if f.work_center:
        ids.add(getattr(f.work_center, "pk", f.work_center))
    wcs = list(WorkCenter.objects.filter(pk__in=ids).select_related("line__workshop")
               .order_by("line__workshop__code", "line__code", "code"))
    by_id = {wc.pk: wc for wc in wcs}
    words = _Words()
    cal_ids = {wc.calendar_id for wc in wcs if wc.calendar_id}
    windows = calendar_windows(cal_ids, chart.start, chart.end) if cal_ids else {}
    chart.off = {cal: gantt.gaps(w, chart.start, chart.end) for cal, w in windows.items()}
    for wc in wcs:
        chart.rows.append(gantt.Row(
            key=wc.pk, label=f"{wc.code} {wc.display_name}", lanes=wc.machines,
            sublabel=f"{wc.line.code} · " + _("%(n)d machines") % {"n": wc.machines}
            if wc.machines > 1 else wc.line.code,
            href=row_href("wc", wc), calendar=wc.calendar_id))
    for s in slots:
        if s.work_center_id in by_id:
            if s.machine is not None and s.machine >= by_id[s.work_center_id].machines:
                s.machine = None  # capacity changed since: pack it into a free lane
            chart.bars.append(_bar(s, s.work_center_id, shifts, task_href, words))


def _order_rows(chart, f, slots, shifts, task_href, row_href):
    if f.order is None:
        return
    wos = WorkOrder.objects.filter(production_order=f.order).exclude(
        status=WorkOrder.Status.CANCELLED).select_related("item").order_by("level", "number")
    for wo in wos:
        chart.rows.append(gantt.Row(key=wo.pk, label=wo.number, indent=min(wo.level, 4),
                                    sublabel=f"L{wo.level} · {wo.item.code}",
                                    href=row_href("wo", wo)))
    rows = {r.key for r in chart.rows}
    words = _Words()
    for s in slots:
        if s.task.work_order_id in rows:
            s.machine = None  # one row per work order: lanes only where its tasks overlap
            chart.bars.append(_bar(s, s.task.work_order_id, shifts, task_href, words))
    ids = [b.task_id for b in chart.bars]
    chart.links = list(TaskLink.objects.filter(predecessor_id__in=ids, successor_id__in=ids)
                       .values_list("predecessor_id", "successor_id"))


def gantt_order_numbers(limit: int = 300) -> list[str]:
    """Open production orders' numbers, newest first, for the order filter's suggestions."""
    open_ = (ProductionOrder.Status.PLANNED, ProductionOrder.Status.RELEASED,
             ProductionOrder.Status.IN_PROGRESS)
    return list(ProductionOrder.objects.filter(status__in=open_).order_by("-id")
                .values_list("number", flat=True)[:limit])


# --- One task -------------------------------------------------------------------------------
def task_detail(pk) -> Task:
    """A task with what its side panel shows (one query)."""
    return Task.objects.select_related(
        "work_order__production_order", "work_order__item", "work_center__line",
        "pinned_work_center").get(pk=pk)


def pin_work_centers():
    """Active work centers first; inactive ones stay choosable so the refusal says why."""
    return WorkCenter.objects.order_by("-active", "code")
