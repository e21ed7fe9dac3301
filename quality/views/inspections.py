"""The QC queue (质检队列, live), recording an inspection on a tablet, the inspection history."""

import mimetypes
from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from mes.forms import add_service_errors
from quality import filtersets, selectors, tables
from quality.forms import InspectionRecordForm, limits_text, plain
from quality.models import Inspection, InspectionResult
from quality.services.inspections import inspection_record, rework_loops_allowed
from quality.views.common import QUALITY_READERS, QualityListView, quality_context, require_any

QC_EVENTS = ("inspection.created", "inspection.passed", "inspection.failed")


class QCQueueView(QualityListView):
    """Pending inspections, oldest first; the table re-fetches itself on the "qc" topic."""

    capabilities = ("inspect_quality",)
    tab = "quality:qc_queue"
    template_name = "quality/qc_queue.html"
    partial_template_name = "quality/_qc_queue_table.html"
    filterset_class = filtersets.QCQueueFilterSet
    table_class = tables.QCQueueTable
    title, export_basename = _("QC queue"), "qc-queue"
    table_pagination = {"per_page": 100}

    def get_queryset(self):
        return selectors.qc_queue()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["sse_trigger"] = ", ".join(f"sse:{e}" for e in QC_EVENTS)
        return context


class InspectionListView(QualityListView):
    capabilities = QUALITY_READERS
    tab = "quality:inspection_list"
    filterset_class = filtersets.InspectionFilterSet
    table_class = tables.InspectionTable
    title, export_basename = _("Inspections"), "inspections"

    def get_queryset(self):
        return selectors.inspection_list()


def _inspection(pk) -> Inspection:
    return get_object_or_404(
        Inspection.objects.select_related(
            "work_order", "work_order__item", "origin_task", "origin_task__work_center",
            "origin_task__work_center__line", "task", "plan", "inspector", "report",
            "report__operator"), pk=pk)


def _header(insp: Inspection) -> dict:
    return {"insp": insp, "lot": plain(insp.quantity), "sample": plain(insp.sample_size),
            "max_loops": rework_loops_allowed(insp) if insp.loop else None,
            "title": _g("Inspect %(wo)s step %(seq)s") % {"wo": insp.work_order.number,
                                                          "seq": insp.origin_task.seq}}


def record(request, pk):
    """The recording page: GET shows the form, POST records through inspection_record.

    A refusal re-shows the form with the service's message on the field it names (422)."""
    require_any(request.user, ("inspect_quality",))
    insp = _inspection(pk)
    if insp.status != Inspection.Status.PENDING:
        messages.info(request, _g("This inspection was already recorded."))
        return redirect("quality:inspection_detail", pk=insp.pk)
    chars = list(insp.plan.characteristics.all()) if insp.plan else []
    posted = request.method == "POST"
    form = InspectionRecordForm(request.POST if posted else None,
                                request.FILES if posted else None, characteristics=chars)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                done = inspection_record(
                    inspector=request.user, inspection=insp, results=form.results(),
                    qty_failed=form.cleaned_data["qty_failed"].strip() or None,
                    defect_code=form.cleaned_data["defect_code"],
                    notes=form.cleaned_data["notes"], verdict=form.cleaned_data.get("verdict"))
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                return _recorded(request, done)
        status = 422
    context = _header(insp) | {"form": form, "rows": form.rows}
    context.update(quality_context(request, "quality:qc_queue"))
    return render(request, "quality/record.html", context, status=status)


def _plural_count(quantity) -> int:
    """The number ngettext picks its form by: a fraction of a unit (0.5, 2.5) reads plural."""
    q = Decimal(quantity or 0)
    return int(q) if q == q.to_integral_value() else 2


def _recorded(request, insp: Inspection):
    if insp.status == Inspection.Status.FAILED:
        nc = insp.nonconformances.order_by("-id").first()
        messages.warning(request, ngettext(
            "Recorded: %(wo)s failed. Nonconformance %(nc)s is open: decide what happens to "
            "the %(q)s unit.",
            "Recorded: %(wo)s failed. Nonconformance %(nc)s is open: decide what happens to "
            "the %(q)s units.", _plural_count(nc.quantity)) % {
            "wo": insp.work_order.number, "nc": nc.number, "q": plain(nc.quantity)})
        return redirect("quality:nc_detail", pk=nc.pk)
    messages.success(request, ngettext(
        "Recorded: %(wo)s step %(seq)s passed (%(q)s unit).",
        "Recorded: %(wo)s step %(seq)s passed (%(q)s units).",
        _plural_count(insp.qty_passed)) % {
        "wo": insp.work_order.number, "seq": insp.origin_task.seq, "q": plain(insp.qty_passed)})
    return redirect("quality:qc_queue")


def inspection_detail(request, pk):
    require_any(request.user, QUALITY_READERS)
    insp = _inspection(pk)
    results = results_of(insp.pk)
    context = _header(insp) | {
        "results": results, "ncs": list(insp.nonconformances.select_related("defect_code")),
        "title": str(_("Inspection of %(wo)s step %(seq)s") % {
            "wo": insp.work_order.number, "seq": insp.origin_task.seq}),
        "record_url": reverse("quality:record", args=[insp.pk]),
    }
    context.update(quality_context(request, "quality:inspection_list"))
    return render(request, "quality/inspection_detail.html", context)


def results_of(inspection_id) -> list[InspectionResult]:
    """An inspection's recorded results, each with its value and limits as people write them."""
    results = list(InspectionResult.objects.filter(inspection_id=inspection_id)
                   .select_related("characteristic").order_by("characteristic__seq"))
    for r in results:
        r.value_text, r.limits = plain(r.value), limits_text(r.characteristic)
    return results


def result_photo(request, pk):
    """The photo of one recorded result (media is not public: it is served to readers only)."""
    require_any(request.user, QUALITY_READERS)
    result = get_object_or_404(InspectionResult, pk=pk)
    if not result.photo:
        raise Http404
    try:
        handle = result.photo.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    kind = mimetypes.guess_type(result.photo.name)[0]
    # The upload check admits only these images; a file named x.html must not be served as HTML.
    if kind not in ("image/jpeg", "image/png", "image/webp"):
        kind = "application/octet-stream"
    return FileResponse(handle, content_type=kind)
