"""Nonconformance and its disposition: rework (an automatic rework task), scrap, use as is."""

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from execution.services.reporting import task_upstream_changed_announce
from mes.audit import audit_record, snapshot
from mes.events import (
    TOPIC_PLANT,
    domain_event_publish,
    event_emit,
    topic_user,
    topic_work_center,
)
from mes.models import AuditEntry
from mes.quantities import quantity_text
from mes.roles import perm
from mes.system_text import system_text
from planning.models import Task, WorkOrder
from planning.states import next_status
from quality.models import DefectCode, Inspection, Nonconformance

D = Nonconformance.Disposition
NS = Nonconformance.Status


def _next_number() -> str:
    stamp = timezone.localdate().strftime("%Y%m%d")
    prefix = f"NC{stamp}-"
    last = (Nonconformance.objects.filter(number__startswith=prefix).order_by("-number")
            .values_list("number", flat=True).first())
    return f"{prefix}{(int(last.rsplit('-', 1)[1]) + 1) if last else 1:04d}"


def nonconformance_open(*, actor, inspection: Inspection, quantity, defect_code: DefectCode,
                        description: str = "") -> Nonconformance:
    """Open the nonconformance of a failed inspection (called inside inspection_record)."""
    origin = inspection.origin_task
    last_report = origin.reports.order_by("-reported_at").first()
    nc = Nonconformance.objects.create(
        number=_next_number(), inspection=inspection, work_order_id=inspection.work_order_id,
        responsible_task=origin, defect_code=defect_code, quantity=quantity,
        operator_id=last_report.operator_id if last_report else None,
        equipment_id=last_report.equipment_id if last_report else None,
        description=description, loop=inspection.loop, created_by=actor)
    audit_record(actor=actor, instance=nc, action=AuditEntry.Action.CREATE)
    event_emit(topic=TOPIC_PLANT, kind="nonconformance.opened", actor=actor,
               payload={"nonconformance": nc.number, "work_order": nc.work_order.number,
                        "defect": defect_code.code, "quantity": str(quantity),
                        "loop": nc.loop})
    domain_event_publish("nonconformance.opened", nonconformance_id=nc.pk)
    return nc


@transaction.atomic
def nonconformance_disposition(*, actor, nonconformance: Nonconformance, disposition: str,
                               reason: str = "", work_center=None) -> Nonconformance:
    """Decide what happens to nonconforming units.

    - rework: a rework task for the quantity is created on the responsible step's work center
      (or `work_center`), released onto that station's list and announced; refused once the
      plan's maximum rework loops is reached (then scrap, or use as is with approval);
    - scrap: the quantity leaves the flow as scrap of the responsible step;
    - use as is: needs the approve_quality capability; the units count as accepted.
    Scrap and rework of a first failure are refused when the units are no longer at the step:
    its next step does not wait for QC and has already taken more than would be left
    (see _check_units_still_here); nothing is written then.
    After: quantities on the responsible step moved (never created), audit entry, events.
    """
    from quality.services.inspections import rework_loops_allowed

    # Only the nonconformance's row here: its step, the next step and then the work order are
    # locked below in that order, tasks before their work order as a report locks them (the
    # joined rows locked with it would put the work order first: a deadlock with a report
    # completing the next step).
    nc = Nonconformance.objects.select_for_update(of=("self",)).select_related(
        "inspection", "responsible_task", "work_order").get(pk=nonconformance.pk)
    if nc.status != NS.OPEN or nc.disposition != D.PENDING:
        raise ValidationError(_("%(nc)s has already been decided.") % {"nc": nc})
    if disposition not in (D.REWORK, D.SCRAP, D.USE_AS_IS):
        raise ValidationError({"disposition": _("Choose rework, scrap or use as is.")})
    if disposition == D.USE_AS_IS:
        if not actor.has_perm(perm("approve_quality")):
            raise PermissionDenied(_("Use as is needs an approver (manager)."))
        if nc.operator_id is not None and nc.operator_id == actor.pk:
            # Four eyes: whoever made the units may not release them as they are.
            raise PermissionDenied(_("You made these units: another approver must decide "
                                     "on use as is."))
        if not (reason or "").strip():
            raise ValidationError({"reason": _("Say why the units may be used as is.")})
    if disposition == D.REWORK and nc.loop >= rework_loops_allowed(nc.inspection):
        raise ValidationError({"disposition": _(
            "%(nc)s has been reworked %(n)d times, the most the plan allows: scrap it or "
            "have it approved for use as is.") % {"nc": nc, "n": nc.loop}})
    before = snapshot(nc)
    origin = Task.objects.select_for_update().get(pk=nc.responsible_task_id)
    q = nc.quantity
    first_loop = nc.loop == 0
    if first_loop and disposition in (D.REWORK, D.SCRAP):
        _check_units_still_here(nc, origin)
    # First failure: the units were counted good on the step. Later loops: already in rework.
    if disposition == D.REWORK:
        if first_loop:
            Task.objects.filter(pk=origin.pk).update(qty_good=F("qty_good") - q,
                                                     qty_rework=F("qty_rework") + q)
        nc.rework_task = _create_rework_task(actor, nc, origin, work_center)
        nc.status = NS.IN_REWORK
    elif disposition == D.SCRAP:
        source = "qty_good" if first_loop else "qty_rework"
        Task.objects.filter(pk=origin.pk).update(**{source: F(source) - q,
                                                    "qty_scrap": F("qty_scrap") + q})
        nc.status, nc.closed_at = NS.CLOSED, timezone.now()
    else:
        changes = {"qty_qc_accepted": F("qty_qc_accepted") + q}
        if not first_loop:
            changes.update(qty_rework=F("qty_rework") - q, qty_good=F("qty_good") + q)
        Task.objects.filter(pk=origin.pk).update(**changes)
        nc.approved_by = actor
        nc.status, nc.closed_at = NS.CLOSED, timezone.now()
    nc.disposition, nc.dispositioned_by = disposition, actor
    nc.save()
    audit_record(actor=actor, instance=nc, action=AuditEntry.Action.TRANSITION, before=before,
                 reason=reason)
    event_emit(topic=TOPIC_PLANT, kind="nonconformance.decided", actor=actor,
               payload={"nonconformance": nc.number, "disposition": disposition,
                        "work_order": nc.work_order.number})
    # The step's good, rework or accepted units moved: its next step's station hears of it.
    task_upstream_changed_announce(task_id=origin.pk, cause="nonconformance.decided",
                                   actor=actor)
    return nc


def _check_units_still_here(nc: Nonconformance, origin: Task) -> None:
    """Refuse to scrap or rework units of a first failure that already went on to the next step.

    A step whose next step does not wait for QC passes on its good quantity: the next step may
    take units before they are inspected. Scrap or rework takes the nonconformance's units out
    of the step's good count, which must still cover what the next step has taken (good, scrap,
    in rework, completed short by), or that step would hold more than it was given. The next
    step's row is locked after the step's own (in routing order; a report locks only the task
    it reports on), so that a report on it either is seen here or waits and sees the smaller
    good count.
    """
    if origin.wait_for_qc:
        return  # the next step has only what QC accepted, which a disposition never lowers
    nxt = (Task.objects.select_for_update()
           .filter(work_order_id=origin.work_order_id, kind=Task.Kind.NORMAL,
                   seq__gt=origin.seq)
           .exclude(status=Task.Status.CANCELLED).order_by("seq", "id").first())
    if nxt is None:
        return
    taken = nxt.qty_taken + nxt.qty_short
    here = max(origin.qty_good - taken, 0)
    if nc.quantity <= here:
        return
    raise ValidationError({"disposition": ValidationError(_(
        "Step %(next_seq)s %(next)s does not wait for QC and has already taken %(taken)s of "
        "the %(good)s units step %(seq)s reported good: only %(here)s are still at step "
        "%(seq)s, so the %(q)s units of %(nc)s cannot be scrapped or sent to rework here. "
        "Have it approved for use as is and record the defect where the units are now (at "
        "step %(next_seq)s or a later inspection); to keep units at step %(seq)s until they "
        "are inspected, set “next step waits for QC” on its routing step.") % {
            "next_seq": nxt.seq, "next": nxt.name, "taken": quantity_text(taken),
            "good": quantity_text(origin.qty_good), "seq": origin.seq,
            "here": quantity_text(here), "q": quantity_text(nc.quantity), "nc": nc.number},
        code="units_went_on")})


def _create_rework_task(actor, nc: Nonconformance, origin: Task, work_center) -> Task:
    """The rework task, released to the station at once but not yet planned: like any task
    the schedule has not placed, it has no planned start or end (the next schedule run plans
    it among the open work), so it is not judged late before it has a plan. (It used to get
    its creation time as planned start and read "late start" the moment it was made.)"""
    wc = work_center or origin.work_center
    # A task's name is the plant's, like its operation's name: in the plant's language, not
    # in the language of whoever decided (an English browser left "Rework: …" in a 返工 plant).
    with translation.override(settings.LANGUAGE_CODE):
        name = _("Rework: %(op)s (%(nc)s)") % {"op": origin.name, "nc": nc.number}
    task = Task.objects.create(
        work_order_id=origin.work_order_id, seq=origin.seq, kind=Task.Kind.REWORK,
        origin=origin, name=name,
        work_center=wc, setup_minutes=0, run_minutes_per_unit=origin.run_minutes_per_unit,
        is_qc_checkpoint=True, inspection_plan_code=origin.inspection_plan_code,
        quantity=nc.quantity, status=Task.Status.RELEASED)
    audit_record(actor=actor, instance=task, action=AuditEntry.Action.CREATE,
                 reason=system_text("rework of %(nc)s", nc=nc.number))
    wo = WorkOrder.objects.select_for_update().get(pk=origin.work_order_id)
    if wo.status == WorkOrder.Status.AWAITING_ACCEPTANCE:
        # Back on the floor: not finished any more (its finish is set again when it is).
        before = snapshot(wo, ["status", "actual_end"])
        wo.status, wo.actual_end = next_status(wo, "reject"), None
        wo.save(update_fields=["status", "actual_end"])
        audit_record(actor=actor, instance=wo, action=AuditEntry.Action.TRANSITION,
                     before=before, after=snapshot(wo, ["status", "actual_end"]),
                     reason=system_text("rework opened by %(nc)s", nc=nc.number))
    payload = {"task": task.pk, "work_order": wo.number, "nonconformance": nc.number,
               "quantity": str(nc.quantity)}
    event_emit(topic=topic_work_center(wc.pk), kind="rework.created", payload=payload,
               actor=actor)
    event_emit(topic=TOPIC_PLANT, kind="rework.created", payload=payload, actor=actor)
    for person in {wc.lead_id, wo.responsible_id} - {None}:
        event_emit(topic=topic_user(person), kind="rework.created", payload=payload,
                   actor=actor)
    return task
