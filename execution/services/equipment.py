"""Equipment state and downtime. Entering `down` opens an unplanned downtime event; leaving it
closes the event. Leads may correct a downtime afterwards; each correction is audit-logged."""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from execution.models import DowntimeEvent, DowntimeReason, EquipmentState, EquipmentStateChange
from mes.audit import audit_record, snapshot
from mes.events import TOPIC_PLANT, domain_event_publish, event_emit, topic_work_center
from mes.models import AuditEntry
from mes.system_text import system_text
from planning.models import Equipment

S = EquipmentState.State
STOPPED = (S.DOWN, S.MAINTENANCE)
# Clocks of devices and browsers drift; a change this far ahead of ours is still "now".
CLOCK_TOLERANCE = datetime.timedelta(minutes=5)


@transaction.atomic
def equipment_set_state(*, actor, equipment: Equipment, state: str,
                        reason: DowntimeReason | None = None, note: str = "", at=None,
                        client_token: str | None = None) -> EquipmentState:
    """Set the current state. Before: `down` needs a reason; only down and maintenance take
    one. After: a state change row; an unplanned downtime opened (down) or closed (leaving
    down/maintenance); events emitted.
    Maintenance opens a planned downtime. A token already used changes nothing. `at` may not
    lie in the future: a state that begins later would refuse every change until then.
    Still stopped with another reason (down for a breakdown, then down for a tool change): the
    open stop ends at `at` (audit-logged on it) and a stop with the new reason begins; the
    same state with the same reason (or with none) changes nothing."""
    if client_token and EquipmentStateChange.objects.filter(client_token=client_token).exists():
        return EquipmentState.objects.get(equipment=equipment)
    if state not in S.values:
        raise ValidationError({"state": system_text("Unknown state “%(s)s”.", s=state)})
    if state == S.DOWN and reason is None:
        raise ValidationError({"reason": system_text("Say why the equipment is down.")})
    if reason is not None and state not in STOPPED:
        # The station's reason list sits beside every state button: a reason left picked
        # would be recorded on a running or idle machine as the cause of a stop.
        raise ValidationError({"reason": system_text(
            "Only a stop (down or maintenance) has a reason: clear the reason to set the "
            "equipment %(state)s.", state=S(state).label)})
    if reason is not None and not reason.active:
        raise ValidationError({"reason": system_text("Reason %(code)s is no longer in use.",
                                                     code=reason.code)})
    if not equipment.active:
        raise ValidationError(system_text("%(eq)s is inactive.", eq=equipment.code))
    now = timezone.now()
    if at is not None and at > now + CLOCK_TOLERANCE:
        raise ValidationError({"at": system_text(
            "The time of the change cannot be in the future.")})
    at = at or now
    current, _created = EquipmentState.objects.select_for_update().get_or_create(
        equipment=equipment, defaults={"state": S.IDLE, "since": at})
    previous = current.state
    if previous == state and (reason is None or reason == current.reason):
        return current
    if at < current.since:
        raise ValidationError({"at": system_text(
            "The change cannot be before the current state began.")})
    open_stop = DowntimeEvent.objects.select_for_update().filter(equipment=equipment,
                                                                 end__isnull=True).first()
    # Still stopped, for another cause (breakdown, then a tool change): the stop with the old
    # reason ends here and one with the new reason begins, so each cause keeps its own time.
    cause_changed = state == previous and state in STOPPED
    if open_stop is not None:
        before = snapshot(open_stop, ["end"])
        open_stop.end = max(at, open_stop.start + datetime.timedelta(seconds=1))
        open_stop.save(update_fields=["end"])
        at = max(at, open_stop.end)  # the next stop begins where this one ended
        if cause_changed:
            audit_record(actor=actor, instance=open_stop, action=AuditEntry.Action.TRANSITION,
                         before=before, after=snapshot(open_stop, ["end"]),
                         reason=system_text("the cause of the stop changed to %(reason)s",
                                            reason=reason.code if reason else ""))
        event_emit(topic=topic_work_center(equipment.work_center_id), kind="downtime.ended",
                   payload={"equipment": equipment.code, "downtime": open_stop.pk},
                   actor=actor)
    if state in STOPPED:
        stop = DowntimeEvent.objects.create(equipment=equipment, reason=reason, start=at,
                                            planned=state == S.MAINTENANCE, note=note[:200],
                                            reported_by=_user(actor))
        event_emit(topic=topic_work_center(equipment.work_center_id), kind="downtime.started",
                   payload={"equipment": equipment.code, "downtime": stop.pk,
                            "planned": stop.planned, "reason": reason.code if reason else ""},
                   actor=actor)
    current.state, current.reason, current.since = state, reason, at
    current.updated_by = _user(actor)
    current.save()
    EquipmentStateChange.objects.create(equipment=equipment, state=state, previous=previous,
                                        reason=reason, at=at, by=_user(actor),
                                        client_token=client_token or None)
    payload = {"equipment": equipment.code, "state": state, "previous": previous,
               "work_center": equipment.work_center_id}
    event_emit(topic=topic_work_center(equipment.work_center_id), kind="equipment.state",
               payload=payload, actor=actor)
    event_emit(topic=TOPIC_PLANT, kind="equipment.state", payload=payload, actor=actor)
    domain_event_publish("equipment.state_changed", equipment_id=equipment.pk,
                         downtime_id=stop.pk if state in STOPPED else None)
    return current


def _user(actor):
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


UNCHANGED = object()  # (downtime_edit's reason: not given, as opposed to None, cleared)


@transaction.atomic
def downtime_edit(*, actor, downtime: DowntimeEvent, start=None, end=None,
                  reason: DowntimeReason | None | object = UNCHANGED,
                  planned: bool | None = None, note: str | None = None,
                  why: str) -> DowntimeEvent:
    """Correct a recorded downtime (a lead's job). Before: a reason for the correction; times
    in order, not in the future, not overlapping another stop of the same equipment; a stop
    still going on keeps no end (it ends when the equipment's state is set again). After: the
    event changed; for a stop still going on, the equipment's state follows it (since its
    start, its reason, down or maintenance as it is unplanned or planned); one audit entry with
    before/after and why; the station and the plant told. Nothing changed: nothing written.
    `reason` None clears it (a planned stop may have none; an unplanned one is refused)."""
    why = " ".join((why or "").split())
    if not why:
        raise ValidationError({"why": _("Say why the downtime is corrected.")})
    stop = DowntimeEvent.objects.select_for_update().select_related("equipment").get(
        pk=downtime.pk)
    before = snapshot(stop)
    ongoing = stop.end is None
    if ongoing and end is not None:
        raise ValidationError({"end": _(
            "This stop is still going on: it ends when the state of %(eq)s is set at its "
            "station (to running, idle or setup).") % {"eq": stop.equipment.code}})
    if start is not None:
        stop.start = start
    if end is not None:
        stop.end = end
    if reason is not UNCHANGED:
        if reason is not None and not reason.active and reason.pk != stop.reason_id:
            raise ValidationError({"reason": _("Reason %(code)s is no longer in use.")
                                   % {"code": reason.code}})
        stop.reason = reason
    if planned is not None:
        stop.planned = planned
    if note is not None:
        stop.note = note[:200]
    if not stop.planned and stop.reason is None:
        raise ValidationError({"reason": _("An unplanned stop needs its reason.")})
    soon = timezone.now() + CLOCK_TOLERANCE
    if stop.start > soon:
        raise ValidationError({"start": _("The start cannot be in the future.")})
    if stop.end is not None and stop.end <= stop.start:
        raise ValidationError({"end": _("The end must be after the start.")})
    if stop.end is not None and stop.end > soon:
        raise ValidationError({"end": _("The end cannot be in the future.")})
    overlap = DowntimeEvent.objects.filter(equipment=stop.equipment_id).exclude(pk=stop.pk)
    overlap = overlap.filter(start__lt=stop.end or timezone.now() + datetime.timedelta(days=3650))
    overlap = overlap.exclude(end__isnull=False, end__lte=stop.start)
    other = overlap.order_by("start").first()
    if other is not None:
        raise ValidationError(_("The corrected times overlap another stop of %(eq)s (from "
                                "%(start)s).") % {"eq": stop.equipment.code,
                                                  "start": _local(other.start)})
    after = snapshot(stop)
    if after == before:
        return stop
    stop.save()
    if ongoing and any(before[f] != after[f] for f in ("start", "reason", "planned")):
        # The equipment's state is this stop as the station and the boards show it: in it
        # since the stop began, for its reason, down (unplanned) or in maintenance (planned).
        EquipmentState.objects.filter(equipment=stop.equipment_id, state__in=STOPPED).update(
            since=stop.start, reason=stop.reason,
            state=S.MAINTENANCE if stop.planned else S.DOWN)
    audit_record(actor=actor, instance=stop, action=AuditEntry.Action.UPDATE, before=before,
                 reason=why)
    payload = {"downtime": stop.pk, "equipment": stop.equipment.code,
               "work_center": stop.equipment.work_center_id}
    event_emit(topic=TOPIC_PLANT, kind="downtime.corrected", actor=actor, payload=payload)
    event_emit(topic=topic_work_center(stop.equipment.work_center_id), kind="downtime.corrected",
               actor=actor, payload=payload)
    return stop


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")
