"""Nonconformance (不合格品) list and page, and its disposition: rework, scrap, use as is."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from mes.forms import add_service_errors
from quality import filtersets, selectors, tables
from quality.forms import DispositionForm, plain
from quality.models import Nonconformance
from quality.services.inspections import rework_loops_allowed
from quality.services.nonconformance import nonconformance_disposition
from quality.views.common import (
    QUALITY_READERS,
    QualityListView,
    error_messages,
    has_any,
    quality_context,
    require_any,
)
from quality.views.inspections import results_of

DECIDERS = ("inspect_quality", "approve_quality")


class NonconformanceListView(QualityListView):
    capabilities = QUALITY_READERS
    tab = "quality:nc_list"
    filterset_class = filtersets.NonconformanceFilterSet
    table_class = tables.NonconformanceTable
    title, export_basename = _("Nonconformance"), "nonconformances"

    def get_queryset(self):
        return selectors.nonconformance_list()


def _nc(pk) -> Nonconformance:
    return get_object_or_404(Nonconformance.objects.select_related(
        "work_order", "work_order__item", "inspection", "inspection__plan",
        "inspection__origin_task", "responsible_task", "responsible_task__work_center",
        "defect_code", "operator", "equipment", "rework_task", "rework_task__work_center",
        "created_by", "dispositioned_by", "approved_by"), pk=pk)


def nc_detail(request, pk, form=None, refusal=None, status=200):
    require_any(request.user, QUALITY_READERS)
    nc = _nc(pk)
    user = request.user
    can_decide = (nc.status == Nonconformance.Status.OPEN
                  and nc.disposition == Nonconformance.Disposition.PENDING
                  and has_any(user, DECIDERS))
    results = results_of(nc.inspection_id)
    context = {
        "nc": nc, "title": str(_("Nonconformance %(nc)s") % {"nc": nc.number}),
        "quantity": plain(nc.quantity), "results": results,
        "max_loops": rework_loops_allowed(nc.inspection),
        "chain": selectors.nonconformance_chain(nc),
        "history": selectors.record_history(nc),
        "can_decide": can_decide, "refusal": refusal,
        "form": form or DispositionForm(initial={"disposition": "rework"}, nc=nc),
    }
    context.update(quality_context(request, "quality:nc_list"))
    return render(request, "quality/nc_detail.html", context, status=status)


@require_POST
def nc_disposition(request, pk):
    """Decide through nonconformance_disposition; a refusal shows the service's reason."""
    require_any(request.user, DECIDERS)
    nc = get_object_or_404(Nonconformance.objects.select_related("responsible_task"), pk=pk)
    form = DispositionForm(request.POST, nc=nc)
    if not form.is_valid():
        return nc_detail(request, pk, form=form, status=422)
    data = form.cleaned_data
    try:
        done = nonconformance_disposition(
            actor=request.user, nonconformance=nc, disposition=data["disposition"],
            reason=data["reason"].strip(), work_center=data["work_center"])
    except PermissionDenied as exc:
        return nc_detail(request, pk, form=form, refusal=error_messages(exc), status=403)
    except ValidationError as exc:
        add_service_errors(form, exc)
        return nc_detail(request, pk, form=form, status=422)
    if done.rework_task_id:
        task = done.rework_task
        messages.success(request, _g("Rework task “%(task)s” is on the list of %(wc)s.") % {
            "task": task.name, "wc": task.work_center.code})
    else:
        messages.success(request, _g("%(nc)s: %(d)s.") % {
            "nc": done.number, "d": done.get_disposition_display()})
    return redirect("quality:nc_detail", pk=done.pk)
