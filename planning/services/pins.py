"""A planner's pins: keep a task at a start time and/or on a work center in every later run.

The scheduler honours `Task.pinned_start` / `Task.pinned_work_center` (a pin is a wish for
the next run; it changes no planned time until a schedule with it is applied).
"""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mes.audit import audit_record, snapshot
from mes.events import TOPIC_PLANT, event_emit
from mes.models import AuditEntry
from planning.calendars import calendar_windows
from planning.models import Task, WorkCenter

T = Task.Status
# A started task stays where it runs: only work that has not started can be pinned.
PINNABLE = (T.PLANNED, T.RELEASED, T.ON_HOLD)
PIN_FIELDS = ["pinned_start", "pinned_work_center"]


def _locked(task: Task) -> Task:
    return (Task.objects.select_for_update(of=("self",))
            .select_related("work_order", "work_center").get(pk=task.pk))


def _check_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the task is pinned or unpinned.")})
    return reason


def _check_start(start: datetime.datetime, work_center: WorkCenter) -> datetime.datetime:
    start = start.replace(second=0, microsecond=0)  # the scheduler counts whole minutes
    if start < timezone.now().replace(second=0, microsecond=0):
        raise ValidationError({"start": _("%(t)s is in the past: a pinned start must be in the "
                                          "future.") % {"t": _local(start)}})
    since = work_center.in_service_from
    if since is not None and timezone.localtime(start).date() < since:
        raise ValidationError({"start": _("%(t)s is before %(wc)s comes into service (%(day)s).")
                               % {"t": _local(start), "wc": work_center.code,
                                  "day": since.isoformat()}})
    if work_center.calendar_id:
        windows = calendar_windows([work_center.calendar_id], start - datetime.timedelta(1),
                                   start + datetime.timedelta(1))[work_center.calendar_id]
        if not any(s <= start < e for s, e in windows):
            raise ValidationError({"start": _(
                "%(t)s is outside the working time of %(wc)s (calendar %(cal)s): pin a start "
                "inside a shift.") % {"t": _local(start), "wc": work_center.code,
                                      "cal": work_center.calendar}})
    return start


def _local(dt: datetime.datetime) -> str:
    return timezone.localtime(dt).strftime("%Y-%m-%d %H:%M")


@transaction.atomic
def task_pin(*, actor, task: Task, start: datetime.datetime | None = None,
             work_center: WorkCenter | None = None, reason: str) -> Task:
    """Pin an open, not yet started task to a start and/or a work center.

    Before: the task is planned, released or on hold; the work center (if any) is active; the
    start (if any) is in the future and inside the work center's working time. After: the pin
    is exactly (start, work_center), audit-logged with the reason; the next run honours it.
    """
    reason = _check_reason(reason)
    if start is None and work_center is None:
        raise ValidationError(_("Nothing to pin: give a start, a work center or both."))
    task = _locked(task)
    if task.status not in PINNABLE:
        raise ValidationError(_("%(task)s is %(status)s: only a task that has not started can "
                                "be pinned.") % {"task": task, "status": task.get_status_display()})
    if work_center is not None:
        work_center = WorkCenter.objects.select_related("calendar").get(pk=work_center.pk)
        if not work_center.active:
            raise ValidationError({"work_center": _("%(wc)s is not active: pin the task to an "
                                                    "active work center.")
                                   % {"wc": work_center}})
    if start is not None:
        start = _check_start(start, work_center or task.work_center)
    before = snapshot(task, PIN_FIELDS)
    task.pinned_start, task.pinned_work_center = start, work_center
    task.save(update_fields=PIN_FIELDS)
    audit_record(actor=actor, instance=task, action=AuditEntry.Action.UPDATE, before=before,
                 after=snapshot(task, PIN_FIELDS), reason=reason)
    event_emit(topic=TOPIC_PLANT, kind="task.pinned", actor=actor, payload={
        "task": task.pk, "start": start.isoformat() if start else None,
        "work_center": work_center.pk if work_center else None})
    return task


@transaction.atomic
def task_unpin(*, actor, task: Task, reason: str) -> Task:
    """Remove a task's pin; the next run places it freely again. A task without a pin is an
    error (nothing to undo), so a double click shows why nothing happened."""
    reason = _check_reason(reason)
    task = _locked(task)
    if task.pinned_start is None and task.pinned_work_center_id is None:
        raise ValidationError(_("%(task)s is not pinned.") % {"task": task})
    before = snapshot(task, PIN_FIELDS)
    task.pinned_start, task.pinned_work_center = None, None
    task.save(update_fields=PIN_FIELDS)
    audit_record(actor=actor, instance=task, action=AuditEntry.Action.UPDATE, before=before,
                 after=snapshot(task, PIN_FIELDS), reason=reason)
    event_emit(topic=TOPIC_PLANT, kind="task.unpinned", actor=actor, payload={"task": task.pk})
    return task
