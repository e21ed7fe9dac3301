"""Acceptance (验收): the queue of finished work orders, and accepting or rejecting one."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from planning.models import Task, WorkOrder
from quality import filtersets, selectors, tables
from quality.forms import ReasonForm, plain
from quality.models import ArchivedRecord, Nonconformance
from quality.services.acceptance import (
    acceptance_blockers,
    delivery_shortfall,
    work_order_accept,
    work_order_reject,
)
from quality.views.common import QualityListView, error_messages, quality_context, require_any

ACCEPTERS = ("accept_work",)


class AcceptanceQueueView(QualityListView):
    capabilities = ACCEPTERS
    tab = "quality:acceptance_queue"
    filterset_class = filtersets.AcceptanceQueueFilterSet
    table_class = tables.AcceptanceQueueTable
    title, export_basename = _("Awaiting acceptance"), "acceptance-queue"

    def get_queryset(self):
        return selectors.acceptance_queue()


def acceptance(request, pk, errors=None, reject_form=None, status=200):
    """What blocks the work order's acceptance, in plain words, or the Accept button."""
    require_any(request.user, ACCEPTERS)
    wo = get_object_or_404(WorkOrder.objects.select_related("item", "production_order",
                                                            "line", "responsible"), pk=pk)
    tasks = list(wo.tasks.exclude(status=Task.Status.CANCELLED)
                 .select_related("work_center").order_by("seq", "id"))
    for t in tasks:
        t.figures = {k: plain(getattr(t, k)) for k in
                     ("quantity", "qty_good", "qty_scrap", "qty_rework", "qty_qc_accepted",
                      "qty_short")}
    context = {
        "wo": wo, "title": str(_("Acceptance of %(wo)s") % {"wo": wo.number}),
        "quantity": plain(wo.quantity), "tasks": tasks,
        "blockers": acceptance_blockers(wo), "errors": errors or [],
        "material_gaps": [{**g, "required": plain(g["required"]), "issued": plain(g["issued"])}
                          for g in selectors.material_gaps(wo)],
        # Before it is finished, what is not made yet is no shortfall.
        "shortfall": (delivery_shortfall(wo.quantity, tasks) if wo.status in (
            WorkOrder.Status.AWAITING_ACCEPTANCE, WorkOrder.Status.ACCEPTED) else ""),
        "ncs": list(Nonconformance.objects.filter(work_order=wo)
                    .select_related("defect_code").order_by("id")),
        "acceptances": list(wo.acceptances.select_related("by").order_by("-at", "-id")),
        "archive": ArchivedRecord.objects.filter(work_order=wo,
                                                 superseded_at__isnull=True).first(),
        "reject_form": reject_form or ReasonForm(),
        "awaiting": wo.status == WorkOrder.Status.AWAITING_ACCEPTANCE,
    }
    context.update(quality_context(request, "quality:acceptance_queue"))
    return render(request, "quality/acceptance.html", context, status=status)


@require_POST
def accept(request, pk):
    require_any(request.user, ACCEPTERS)
    wo = get_object_or_404(WorkOrder, pk=pk)
    try:
        record = work_order_accept(actor=request.user, work_order=wo,
                                   reason=request.POST.get("reason", "").strip())
    except PermissionDenied as exc:
        return acceptance(request, pk, errors=error_messages(exc), status=403)
    except ValidationError as exc:
        return acceptance(request, pk, errors=error_messages(exc), status=422)
    messages.success(request, _g("%(wo)s is accepted and archived.") % {"wo": wo.number})
    return redirect("quality:archive_detail", pk=record.pk)


@require_POST
def reject(request, pk):
    require_any(request.user, ACCEPTERS)
    wo = get_object_or_404(WorkOrder, pk=pk)
    form = ReasonForm(request.POST)
    form.is_valid()
    try:
        work_order_reject(actor=request.user, work_order=wo,
                          reason=form.cleaned_data.get("reason", "").strip())
    except PermissionDenied as exc:
        return acceptance(request, pk, errors=error_messages(exc), status=403)
    except ValidationError as exc:
        if hasattr(exc, "error_dict") and "reason" in exc.error_dict:
            form.add_error("reason", exc.error_dict["reason"])
            return acceptance(request, pk, reject_form=form, status=422)
        return acceptance(request, pk, errors=error_messages(exc), status=422)
    messages.success(request, _g("%(wo)s was sent back to the floor: its last step is "
                                 "re-opened.") % {"wo": wo.number})
    return redirect("quality:acceptance_queue")
