"""The archive (归档): an accepted work order's frozen record, its checksum, print and export,
and re-opening it (approvers only).

The page is rendered from ArchivedRecord.data alone (what was frozen), never from the live
tables, so it shows exactly what the checksum covers."""

import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from mes.export import XLSX_CONTENT_TYPE
from planning.models import WorkOrder
from quality import filtersets, selectors, tables
from quality.forms import ReasonForm
from quality.models import ArchivedRecord
from quality.services.acceptance import archive_verify, work_order_reopen
from quality.views.archive_sections import sections, shortfall, work_order_rows
from quality.views.common import (
    QUALITY_READERS,
    QualityListView,
    error_messages,
    quality_context,
    require_any,
)


class ArchiveListView(QualityListView):
    capabilities = QUALITY_READERS
    tab = "quality:archive_list"
    filterset_class = filtersets.ArchiveFilterSet
    table_class = tables.ArchiveTable
    title, export_basename = _("Archive"), "archive"

    def get_queryset(self):
        return selectors.archived_records()


def _record(pk) -> ArchivedRecord:
    return get_object_or_404(ArchivedRecord.objects.select_related("work_order", "archived_by"),
                             pk=pk)


def archive_detail(request, pk, errors=None, reopen_form=None, status=200):
    require_any(request.user, QUALITY_READERS)
    record = _record(pk)
    context = {
        "record": record, "verified": archive_verify(record),
        "title": str(_("Archived record of %(wo)s") % {"wo": record.work_order.number}),
        "wo_rows": work_order_rows(record.data.get("work_order", {})),
        "shortfall": shortfall(record.data),
        "sections": sections(record.data),
        "versions": list(ArchivedRecord.objects.filter(work_order_id=record.work_order_id)
                         .exclude(pk=record.pk).order_by("-archived_at")),
        "reopen_form": reopen_form or ReasonForm(), "errors": errors or [],
        "can_reopen": (record.superseded_at is None
                       and record.work_order.status == WorkOrder.Status.ACCEPTED),
        "printed_at": timezone.localtime(),
    }
    context.update(quality_context(request, "quality:archive_list"))
    return render(request, "quality/archive_detail.html", context, status=status)


def archive_of_work_order(request, pk):
    """The current archived record of a work order (the latest, when it was re-opened)."""
    require_any(request.user, QUALITY_READERS)
    record = (ArchivedRecord.objects.filter(work_order_id=pk)
              .order_by("superseded_at", "-archived_at").first())
    if record is None:
        messages.info(request, _g("This work order has not been archived yet."))
        return redirect("quality:trace_work_order", pk=pk)
    return redirect("quality:archive_detail", pk=record.pk)


def _filename(record, ext) -> str:
    return f"archive-{record.work_order.number}-{record.archived_at:%Y%m%d%H%M}.{ext}"


def archive_json(request, pk):
    """The record exactly as frozen, with its checksum: sha256 of the canonical JSON of
    `record` (keys sorted, UTF-8, no ASCII escaping), so anyone can check it again."""
    require_any(request.user, QUALITY_READERS)
    record = _record(pk)
    body = {"work_order": record.work_order.number, "archived_at": record.archived_at,
            "archived_by": str(record.archived_by), "superseded_at": record.superseded_at,
            "sha256": record.sha256, "verified": archive_verify(record), "record": record.data}
    response = HttpResponse(json.dumps(body, cls=DjangoJSONEncoder, ensure_ascii=False,
                                       indent=2), content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(record, "json")}"'
    return response


def archive_xlsx(request, pk):
    """One sheet for the work order and one per section, as the page shows them."""
    require_any(request.user, QUALITY_READERS)
    record = _record(pk)
    from io import BytesIO

    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_sheet_name(_g("Work order")))
    for label, value in work_order_rows(record.data.get("work_order", {})):
        ws.append([str(label), value])
    short = shortfall(record.data)
    if short:
        ws.append([str(_("short of the ordered quantity")), short])
    ws.append([str(_("checksum")), record.sha256])
    ws.append([str(_("checksum verified")), _g("OK") if archive_verify(record) else
               _g("TAMPERED")])
    used = set()
    for section in sections(record.data):
        name = _sheet_name(str(section["title"]), used)
        ws = wb.create_sheet(name)
        ws.append([str(h) for h in section["headers"]])
        for row in section["rows"]:
            ws.append(row)
    out = BytesIO()
    wb.save(out)
    response = HttpResponse(out.getvalue(), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{_filename(record, "xlsx")}"'
    return response


def _sheet_name(title: str, used: set | None = None) -> str:
    name = "".join(c for c in title if c not in "[]:*?/\\")[:31] or "sheet"
    if used is not None:
        base, n = name, 2
        while name in used:
            name = f"{base[:28]} {n}"
            n += 1
        used.add(name)
    return name


@require_POST
def archive_reopen(request, pk):
    require_any(request.user, ("approve_quality",))
    record = _record(pk)
    form = ReasonForm(request.POST)
    form.is_valid()
    try:
        work_order_reopen(actor=request.user, work_order=record.work_order,
                          reason=form.cleaned_data.get("reason", "").strip())
    except PermissionDenied as exc:
        return archive_detail(request, pk, errors=error_messages(exc), status=403)
    except ValidationError as exc:
        if hasattr(exc, "error_dict") and "reason" in exc.error_dict:
            form.add_error("reason", exc.error_dict["reason"])
            return archive_detail(request, pk, reopen_form=form, status=422)
        return archive_detail(request, pk, errors=error_messages(exc), status=422)
    messages.success(request, _g("%(wo)s is re-opened: it awaits acceptance again. Its "
                                 "archived record is kept, marked re-opened.") % {
        "wo": record.work_order.number})
    return redirect("quality:acceptance", pk=record.work_order_id)

