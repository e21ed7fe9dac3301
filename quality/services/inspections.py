"""Automatic inspections at QC checkpoints, and recording their results.

Quantity rules (conservation): a checkpoint step's good quantity is inspected lot by lot. What
passes becomes `qty_qc_accepted` on the step (all the next step may use when it waits for QC).
What fails leaves the step's good count: into rework (`qty_rework`, until its re-inspection
passes and it comes back as good), into scrap, or it is accepted as is by an approver.
"""

from decimal import ROUND_CEILING, Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from execution.models import WorkReport
from execution.services.quantities import parse_quantity
from execution.services.reporting import task_upstream_changed_announce
from mes.audit import audit_record, snapshot
from mes.events import TOPIC_PLANT, domain_event_publish, event_emit
from mes.models import AuditEntry
from mes.quantities import quantity_text
from mes.system_text import system_text
from planning.models import Task
from quality.models import (
    Characteristic,
    DefectCode,
    Inspection,
    InspectionPlan,
    InspectionResult,
    Nonconformance,
)

TOPIC_QC = "qc"
PHOTO_MAX_BYTES = 8 * 1024 * 1024
PHOTO_FORMATS = {"JPEG", "PNG", "WEBP"}
NOTES_MAX = 2000  # an inspector's remark; it also becomes the nonconformance's description


def sample_size(plan: InspectionPlan | None, quantity: Decimal, first_lot: bool) -> Decimal:
    if plan is None or plan.sampling == InspectionPlan.Sampling.EVERY_UNIT:
        return quantity
    if plan.sampling == InspectionPlan.Sampling.FIRST_ARTICLE:
        return min(quantity, Decimal(1)) if first_lot else Decimal(0)
    if plan.sampling == InspectionPlan.Sampling.N_PER_LOT:
        return min(quantity, Decimal(plan.sample_n))
    pct = (quantity * plan.sample_percent / 100).to_integral_value(rounding=ROUND_CEILING)
    return min(quantity, max(Decimal(1), pct))


def plan_for(task: Task) -> InspectionPlan | None:
    if not task.inspection_plan_code:
        return None
    return InspectionPlan.objects.filter(code=task.inspection_plan_code, active=True).first()


def on_task_reported(*, report_id: int, report: WorkReport | None = None, **_ignored) -> None:
    """Domain-event handler (inside the report's transaction): open the inspection a QC
    checkpoint needs, and carry a rework task's scrap back to the step it reworks. The
    publisher passes the report row (with its task and work order); else it is read."""
    if report is None or report.pk != report_id:
        report = WorkReport.objects.select_related("task", "task__work_order").get(
            pk=report_id)
    task = report.task
    if not (task.kind == Task.Kind.REWORK or (task.is_qc_checkpoint and report.good > 0)):
        return
    if task.kind == Task.Kind.REWORK:
        origin = Task.objects.select_for_update().get(pk=task.origin_id)
        if report.scrap:
            Task.objects.filter(pk=origin.pk).update(qty_scrap=F("qty_scrap") + report.scrap,
                                                     qty_rework=F("qty_rework") - report.scrap)
        if report.good:
            nc = Nonconformance.objects.filter(rework_task=task).first()
            _open_inspection(task=task, origin=origin, report=report, quantity=report.good,
                             loop=(nc.loop + 1) if nc else 1)
        # The lot's last units were scrapped, or their re-inspection passed as is: nobody
        # records an inspection that would close the nonconformance.
        _close_reworked(task, actor=report.operator)
        return
    if task.is_qc_checkpoint and report.good > 0:
        _open_inspection(task=task, origin=task, report=report, quantity=report.good, loop=0)


def _open_inspection(*, task, origin, report, quantity, loop) -> Inspection:
    plan = plan_for(origin)
    first = not Inspection.objects.filter(origin_task=origin).exists()
    size = sample_size(plan, quantity, first)
    inspection = Inspection.objects.create(
        task=task, work_order_id=task.work_order_id, plan=plan, report=report,
        origin_task=origin, loop=loop, quantity=quantity, sample_size=size)
    if size == 0:  # first-article plans inspect only the first lot: the rest passes as is
        _pass(inspection, quantity, actor=None)
        inspection.status = Inspection.Status.PASSED
        inspection.inspected_at = timezone.now()
        inspection.save(update_fields=["status", "inspected_at", "qty_passed"])
    else:
        event_emit(topic=TOPIC_QC, kind="inspection.created",
                   payload={"inspection": inspection.pk, "work_order": task.work_order.number,
                            "quantity": str(quantity), "loop": loop})
    return inspection


def _pass(inspection: Inspection, qty: Decimal, actor) -> None:
    inspection.qty_passed = qty
    changes = {"qty_qc_accepted": F("qty_qc_accepted") + qty}
    if inspection.loop > 0:  # re-inspected rework comes back as good
        changes.update(qty_good=F("qty_good") + qty, qty_rework=F("qty_rework") - qty)
    Task.objects.filter(pk=inspection.origin_task_id).update(**changes)


def _check_photo(photo, name: str) -> None:
    if photo is None:
        return
    if photo.size > PHOTO_MAX_BYTES:
        raise ValidationError({name: _("The photo is larger than 8 MB.")})
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(photo) as img:
            img.verify()
            fmt = img.format
    except (UnidentifiedImageError, OSError, SyntaxError):
        raise ValidationError({name: _("This file is not an image.")}) from None
    finally:
        photo.seek(0)
    if fmt not in PHOTO_FORMATS:
        raise ValidationError({name: _("Photos must be JPEG, PNG or WebP.")})


def evaluate(characteristic: Characteristic, raw_value=None, passed=None) -> tuple:
    """(value, passed) for one characteristic; measured values are judged by the limits."""
    if characteristic.kind == Characteristic.Kind.MEASURED:
        field = f"c{characteristic.pk}"
        if raw_value is None or str(raw_value).strip() == "":
            raise ValidationError({field: _("Enter the measured %(name)s.") % {
                "name": characteristic.name}})
        try:
            value = Decimal(str(raw_value).strip())
        except ArithmeticError:
            raise ValidationError({field: _("“%(v)s” is not a number.") % {
                "v": str(raw_value)[:20]}}) from None
        if not value.is_finite() or abs(value) >= Decimal("1e9"):
            raise ValidationError({field: _("“%(v)s” is not a number.") % {"v": raw_value}})
        ok = ((characteristic.lower is None or value >= characteristic.lower)
              and (characteristic.upper is None or value <= characteristic.upper))
        return value, ok
    if passed is None:
        raise ValidationError({f"c{characteristic.pk}": _("Mark %(name)s pass or fail.") % {
            "name": characteristic.name}})
    return None, bool(passed)


@transaction.atomic
def inspection_record(*, inspector, inspection: Inspection, results: dict, qty_failed=None,
                      defect_code: DefectCode | None = None, notes: str = "",
                      verdict: str | None = None) -> Inspection:
    """Record an inspection. `results` maps characteristic id -> {"value"|"passed", "photo"}.

    The verdict is computed: failed when any characteristic fails (or, with no plan, when
    `verdict` says so). A failure needs a defect code and opens a nonconformance for
    `qty_failed` units (default: the whole lot). A failed count or a defect code with a pass
    is contradictory and refused, as is a failed count above the lot. Nothing is written if
    anything is invalid.
    """
    insp = Inspection.objects.select_for_update().get(pk=inspection.pk)
    if insp.status != Inspection.Status.PENDING:
        raise ValidationError(_("This inspection was already recorded."))
    # A re-inspection: its rework task is locked before the step it reworks (as a report on
    # the rework task does), so that a report ending the lot and this record see each other.
    rework_task = (Task.objects.select_for_update().get(pk=insp.task_id) if insp.loop > 0
                   else None)
    notes = (notes or "").strip()
    if len(notes) > NOTES_MAX:
        raise ValidationError({"notes": _(
            "Notes can be at most %(max)s characters long (these have %(n)s): shorten them.")
            % {"max": f"{NOTES_MAX:,}", "n": f"{len(notes):,}"}}, code="max_length")
    chars = list(insp.plan.characteristics.all()) if insp.plan else []
    rows, failed_any, errors = [], False, {}
    for ch in chars:
        given = results.get(ch.pk) or results.get(str(ch.pk)) or {}
        photo = given.get("photo")
        try:
            value, ok = evaluate(ch, given.get("value"), given.get("passed"))
            _check_photo(photo, f"c{ch.pk}")
            if ch.photo_required and photo is None:
                raise ValidationError({f"c{ch.pk}": _("%(name)s needs a photo.") % {
                    "name": ch.name}})
        except ValidationError as exc:
            # Every characteristic's problem at once (the inspector fixes them in one go),
            # not the first one's only.
            errors.update(exc.error_dict)
            continue
        failed_any |= not ok
        rows.append(InspectionResult(inspection=insp, characteristic=ch, value=value,
                                     passed=ok, photo=photo, note=str(given.get("note", ""))[:200]))
    if errors:
        raise ValidationError(errors)
    if not chars:
        if verdict not in ("passed", "failed"):
            raise ValidationError({"verdict": _("Choose pass or fail.")})
        failed_any = verdict == "failed"
    discrete = insp.work_order.item.discrete
    failed = None
    if qty_failed not in (None, ""):
        failed = parse_quantity(qty_failed, field="qty_failed", discrete=discrete,
                                allow_zero=not failed_any)
        if failed > insp.quantity:
            raise ValidationError({"qty_failed": _("At most %(q)s units were in the lot.") % {
                "q": quantity_text(insp.quantity)}})
    if failed_any:
        failed = insp.quantity if failed is None else failed
        if defect_code is None:
            raise ValidationError({"defect_code": _("Pick the defect code.")})
    else:
        # The verdict comes from the characteristics; a failed count or a defect code beside a
        # pass is a slip in one of the two, and recording either guess would be wrong.
        slips = {}
        if failed:
            slips["qty_failed"] = (
                _("Every characteristic passed, so no units can fail: mark the characteristic "
                  "that failed, or leave the failed quantity empty.") if chars else
                _("The verdict is pass, so no units can fail: choose fail, or leave the failed "
                  "quantity empty."))
        if defect_code is not None:
            slips["defect_code"] = (
                _("Every characteristic passed, so there is no defect: mark the "
                  "characteristic that failed, or leave the defect code empty.") if chars else
                _("The verdict is pass, so there is no defect: choose fail, or leave the "
                  "defect code empty."))
        if slips:
            raise ValidationError(slips)
        failed = Decimal(0)
    before = snapshot(insp, ["status", "qty_passed", "qty_failed", "inspector",
                             "inspected_at", "notes"])
    InspectionResult.objects.bulk_create(rows)
    for row in rows:
        if row.photo:
            row.save(update_fields=["photo"])
    insp.inspector, insp.inspected_at, insp.notes = inspector, timezone.now(), notes
    insp.qty_failed = failed
    _pass(insp, insp.quantity - failed, inspector)
    insp.status = Inspection.Status.FAILED if failed_any else Inspection.Status.PASSED
    insp.save()
    audit_record(actor=inspector, instance=insp, action=AuditEntry.Action.TRANSITION,
                 before=before, reason=notes or "")
    payload = {"inspection": insp.pk, "work_order": insp.work_order.number,
               "status": insp.status, "failed": str(failed)}
    event_emit(topic=TOPIC_QC, kind=f"inspection.{insp.status}", payload=payload,
               actor=inspector)
    event_emit(topic=TOPIC_PLANT, kind=f"inspection.{insp.status}", payload=payload,
               actor=inspector)
    # What passed goes on to the next step (or, failed, cannot come to it as it is).
    task_upstream_changed_announce(task_id=insp.origin_task_id,
                                   cause=f"inspection.{insp.status}", actor=inspector)
    if insp.loop > 0:
        _close_reworked(rework_task, actor=inspector)
    domain_event_publish("inspection.recorded", inspection_id=insp.pk)
    if failed_any:
        from quality.services.nonconformance import nonconformance_open

        nonconformance_open(actor=inspector, inspection=insp, quantity=failed,
                            defect_code=defect_code, description=notes)
    return insp


def _close_reworked(task: Task, *, actor) -> None:
    """The nonconformance whose rework `task` is (locked by the caller, quantities current) is
    closed once every unit of its lot is reported good or scrap and nothing of it waits for
    inspection (a failed re-inspection opens a new one)."""
    if task.qty_good + task.qty_scrap < task.quantity:
        return
    nc = (Nonconformance.objects.select_for_update()
          .filter(rework_task_id=task.pk, status=Nonconformance.Status.IN_REWORK).first())
    if nc is None or Inspection.objects.filter(task_id=task.pk,
                                               status=Inspection.Status.PENDING).exists():
        return
    before = snapshot(nc, ["status", "closed_at"])
    nc.status, nc.closed_at = Nonconformance.Status.CLOSED, timezone.now()
    nc.save(update_fields=["status", "closed_at"])
    audit_record(actor=actor, instance=nc, action=AuditEntry.Action.TRANSITION, before=before,
                 after=snapshot(nc, ["status", "closed_at"]),
                 reason=system_text("rework finished"))


def rework_loops_allowed(inspection: Inspection) -> int:
    plan = inspection.plan or plan_for(inspection.origin_task)
    return plan.max_rework_loops if plan else 2

