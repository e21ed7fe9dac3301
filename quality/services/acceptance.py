"""Acceptance (验收) of finished work orders, the immutable archive (归档), and re-opening."""

import hashlib
import json
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from mes.audit import audit_record, snapshot
from mes.events import TOPIC_PLANT, event_emit, topic_work_center
from mes.labels import join_list
from mes.models import AuditEntry
from mes.quantities import quantity_text as _fmt
from mes.roles import perm
from mes.system_text import system_text
from planning.models import Task, WorkOrder
from planning.services.orders import production_orders_advance
from planning.states import next_status
from quality.models import Acceptance, ArchivedRecord, Inspection, Nonconformance

WO = WorkOrder.Status


def reconciliation(work_order: WorkOrder, tasks: list[Task] | None = None) -> list[str]:
    """Step-by-step quantity balance problems (empty when every unit is accounted for).

    For each operation: what the previous step passed on (the work-order quantity for the
    first) = good + scrap + what it was completed short by, with nothing still in rework; a
    QC checkpoint's good quantity has all passed inspection (or been accepted as is). Rework
    tasks must be finished.
    """
    tasks = tasks if tasks is not None else list(
        work_order.tasks.exclude(status=Task.Status.CANCELLED).order_by("seq", "id"))
    problems = []
    passed_on = work_order.quantity
    for task in tasks:
        if task.kind == Task.Kind.REWORK:
            if task.status != Task.Status.DONE:
                problems.append(_("rework task “%(t)s” is not finished") % {"t": task.name})
            continue
        # Units a step was completed short by (with the operator's reason) are accounted for.
        accounted = task.qty_good + task.qty_scrap + task.qty_short
        if task.qty_rework:
            problems.append(_("step %(seq)s: %(q)s units still in rework") % {
                "seq": task.seq, "q": _fmt(task.qty_rework)})
        if accounted != passed_on and task.qty_short:
            problems.append(_("step %(seq)s: %(input)s passed on, but %(good)s good + "
                              "%(scrap)s scrap reported and %(short)s completed short") % {
                "seq": task.seq, "input": _fmt(passed_on), "good": _fmt(task.qty_good),
                "scrap": _fmt(task.qty_scrap), "short": _fmt(task.qty_short)})
        elif accounted != passed_on:
            problems.append(_("step %(seq)s: %(input)s passed on, but %(good)s good + "
                              "%(scrap)s scrap reported") % {
                "seq": task.seq, "input": _fmt(passed_on), "good": _fmt(task.qty_good),
                "scrap": _fmt(task.qty_scrap)})
        if task.is_qc_checkpoint and task.qty_qc_accepted != task.qty_good:
            problems.append(_("step %(seq)s: %(good)s good, but %(ok)s passed inspection") % {
                "seq": task.seq, "good": _fmt(task.qty_good), "ok": _fmt(task.qty_qc_accepted)})
        passed_on = step_output(task)
    return problems


def step_output(task: Task) -> Decimal:
    """What a step passes on: the units QC accepted when the next step waits for QC, else its
    good units."""
    return task.qty_qc_accepted if task.wait_for_qc else task.qty_good


def _figure(row, key: str) -> Decimal:
    value = row.get(key) if isinstance(row, dict) else getattr(row, key)
    return Decimal(str(value or 0))


def delivery_shortfall(quantity, tasks) -> str:
    """“3 of 4 good (1 scrapped)” when the last step's output is below the work-order quantity,
    "" when the order is made in full. A warning for whoever signs it off, not a blocker.

    `tasks` are the work order's tasks in step order (cancelled ones left out), as Task rows or
    as an archived record's plain rows (which keep no wait-for-QC flag: at acceptance a QC
    checkpoint's good units have all passed inspection, so its good units are its output)."""
    normal = [t for t in tasks if (t.get("kind") if isinstance(t, dict) else t.kind)
              != Task.Kind.REWORK]
    if not normal:
        return ""
    ordered = Decimal(str(quantity))
    last = normal[-1]
    good = _figure(last, "qty_good") if isinstance(last, dict) else step_output(last)
    if good >= ordered:
        return ""
    scrapped = sum((_figure(t, "qty_scrap") for t in normal), Decimal(0))
    short = sum((_figure(t, "qty_short") for t in normal), Decimal(0))
    open_ = ordered - good - scrapped - short
    parts = [text % {"n": _fmt(n)} for n, text in (
        (scrapped, _("%(n)s scrapped")), (short, _("%(n)s completed short")),
        (open_, _("%(n)s not accounted for"))) if n > 0]
    return _("%(good)s of %(ordered)s good (%(why)s)") % {
        "good": _fmt(good), "ordered": _fmt(ordered),
        "why": join_list(parts)}


def acceptance_blockers(work_order: WorkOrder) -> list[str]:
    """Everything that stops the work order from being accepted now, in plain words."""
    blockers = []
    if work_order.status != WO.AWAITING_ACCEPTANCE:
        blockers.append(_("it is %(s)s, not awaiting acceptance") % {
            "s": work_order.get_status_display()})
    for nc in Nonconformance.objects.filter(work_order=work_order).exclude(
            status=Nonconformance.Status.CLOSED):
        blockers.append(_("nonconformance %(nc)s is %(s)s (%(d)s)") % {
            "nc": nc.number, "s": nc.get_status_display(), "d": nc.get_disposition_display()})
    pending = Inspection.objects.filter(work_order=work_order,
                                        status=Inspection.Status.PENDING).count()
    if pending:
        blockers.append(ngettext("%(n)d inspection not yet recorded",
                                 "%(n)d inspections not yet recorded", pending) % {"n": pending})
    blockers += reconciliation(work_order)
    return blockers


@transaction.atomic
def work_order_accept(*, actor, work_order: WorkOrder, reason: str = "") -> ArchivedRecord:
    """Accept a finished work order and archive it. Before: no blockers and the actor may
    accept. After: accepted, an Acceptance row, a frozen ArchivedRecord, audit entries."""
    if not actor.has_perm(perm("accept_work")):
        raise PermissionDenied(_("Only a workshop lead or QC approver can accept."))
    wo = WorkOrder.objects.select_for_update().get(pk=work_order.pk)
    blockers = acceptance_blockers(wo)
    if blockers:
        raise ValidationError([_("Cannot accept %(wo)s: %(why)s.") % {
            "wo": wo, "why": b} for b in blockers], code="blocked")
    before = snapshot(wo, ["status"])
    wo.status = next_status(wo, "accept")
    wo.save(update_fields=["status"])
    Acceptance.objects.create(work_order=wo, verdict=Acceptance.Verdict.ACCEPTED, by=actor,
                              reason=reason)
    audit_record(actor=actor, instance=wo, action=AuditEntry.Action.TRANSITION, before=before,
                 reason=reason or system_text("accepted"))
    record = _archive(wo, actor)
    if not wo.production_order.work_orders.exclude(
            status__in=(WO.ACCEPTED, WO.CANCELLED)).exists():
        production_orders_advance(actor=actor, order_ids=[wo.production_order_id],
                                  action="complete",
                                  reason=system_text("all its work orders accepted"))
    event_emit(topic=TOPIC_PLANT, kind="work_order.accepted", actor=actor,
               payload={"work_order": wo.number})
    return record


@transaction.atomic
def work_order_reject(*, actor, work_order: WorkOrder, reason: str) -> WorkOrder:
    """Send a finished work order back to the floor: its last step is re-opened."""
    if not actor.has_perm(perm("accept_work")):
        raise PermissionDenied(_("Only a workshop lead or QC approver can reject."))
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Say why it is rejected.")})
    wo = WorkOrder.objects.select_for_update().get(pk=work_order.pk)
    # Back on the floor: not finished any more (its finish is set again when it is).
    before = snapshot(wo, ["status", "actual_end"])
    wo.status, wo.actual_end = next_status(wo, "reject"), None
    wo.save(update_fields=["status", "actual_end"])
    Acceptance.objects.create(work_order=wo, verdict=Acceptance.Verdict.REJECTED, by=actor,
                              reason=reason)
    audit_record(actor=actor, instance=wo, action=AuditEntry.Action.TRANSITION, before=before,
                 after=snapshot(wo, ["status", "actual_end"]), reason=reason)
    last = wo.tasks.filter(kind=Task.Kind.NORMAL).order_by("-seq").first()
    if last is not None and last.status == Task.Status.DONE:
        t_before = snapshot(last, ["status"])
        last.status = next_status(last, "reopen")
        last.save(update_fields=["status"])
        audit_record(actor=actor, instance=last, action=AuditEntry.Action.TRANSITION,
                     before=t_before, reason=reason)
        # Its station's list and task panel show it open again.
        event_emit(topic=topic_work_center(last.work_center_id), kind="work_order.rejected",
                   actor=actor, payload={"work_order": wo.number, "task": last.pk,
                                         "reason": reason})
    event_emit(topic=TOPIC_PLANT, kind="work_order.rejected", actor=actor,
               payload={"work_order": wo.number, "reason": reason})
    return wo


@transaction.atomic
def work_order_reopen(*, actor, work_order: WorkOrder, reason: str) -> WorkOrder:
    """Re-open an archived work order (explicit, permissioned, audit-logged). Its archived
    record is kept, marked superseded; a new one is made at the next acceptance."""
    if not actor.has_perm(perm("approve_quality")):
        raise PermissionDenied(_("Re-opening an archived work order needs an approver."))
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Say why it is re-opened.")})
    wo = WorkOrder.objects.select_for_update().get(pk=work_order.pk)
    before = snapshot(wo, ["status"])
    wo.status = next_status(wo, "reopen")
    wo.save(update_fields=["status"])
    ArchivedRecord.objects.filter(work_order=wo, superseded_at__isnull=True).update(
        superseded_at=timezone.now())
    audit_record(actor=actor, instance=wo, action=AuditEntry.Action.TRANSITION, before=before,
                 reason=reason)
    # Its production order, completed when its last work order was accepted, is open again
    # (it completes once more when this one is accepted again).
    production_orders_advance(actor=actor, order_ids=[wo.production_order_id], action="reopen",
                              reason=reason)
    event_emit(topic=TOPIC_PLANT, kind="work_order.reopened", actor=actor,
               payload={"work_order": wo.number, "reason": reason})
    return wo


def _archive(wo: WorkOrder, actor) -> ArchivedRecord:
    from quality.selectors import work_order_record

    data = work_order_record(wo)
    text = json.dumps(data, cls=DjangoJSONEncoder, sort_keys=True, ensure_ascii=False)
    return ArchivedRecord.objects.create(work_order=wo, archived_by=actor,
                                         data=json.loads(text),
                                         sha256=hashlib.sha256(text.encode()).hexdigest())


def archive_verify(record: ArchivedRecord) -> bool:
    """True when the stored record still matches its checksum (nobody edited it)."""
    text = json.dumps(record.data, cls=DjangoJSONEncoder, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest() == record.sha256
