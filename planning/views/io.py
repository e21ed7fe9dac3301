"""Import and export pages: templates and exports for viewers, check and import for planners.

Thin: the form is parsed here, planning.imports.run does the work.
"""

import csv
import io
from urllib.parse import quote

from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from mes.export import EXPORT_FORMATS
from mes.generic import CapabilityRequiredMixin
from mes.roles import perm
from planning.imports.fields import RowError
from planning.imports.forms import ImportForm
from planning.imports.parsing import MAX_ROWS, MAX_UPLOAD_BYTES
from planning.imports.run import (
    KINDS,
    ImportReport,
    export_kind_response,
    import_file_apply,
    import_file_check,
    template_response,
)

ERRORS_SHOWN = 500  # the page lists this many; the CSV download has them all


def _kind_and_format(kind: str, fmt: str) -> None:
    if kind not in KINDS or fmt not in EXPORT_FORMATS:
        raise Http404


def errors_csv_href(errors: list[RowError]) -> str:
    """Every error as a CSV the browser saves without another request (the file is gone)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["sheet 工作表", "row 行", "column 列", "value 值", "reason 原因"])
    writer.writerows(e.as_list() for e in errors)
    return "data:text/csv;charset=utf-8," + quote("\ufeff" + buf.getvalue())


def _context(request, *, form=None, report: ImportReport | None = None) -> dict:
    context = {
        "title": _("Import and export"),
        "kinds": [{"key": key, "label": kind.label, "rules": kind.rules,
                   "columns": kind.importable_columns()} for key, kind in KINDS.items()],
        "formats": EXPORT_FORMATS,
        "can_import": request.user.has_perm(perm("manage_planning")),
        "form": form or ImportForm(),
        "max_mb": MAX_UPLOAD_BYTES // 2**20, "max_rows": f"{MAX_ROWS:,}",
        "report": report,
        # The file input keeps its file only when htmx swapped the check result in place.
        "file_still_chosen": bool(getattr(request, "htmx", False)),
    }
    if report is not None and report.errors:
        context["errors_shown"] = report.errors[:ERRORS_SHOWN]
        context["errors_hidden"] = max(0, len(report.errors) - ERRORS_SHOWN)
        context["errors_csv_href"] = errors_csv_href(report.errors)
    return context


class ImportExportView(CapabilityRequiredMixin, TemplateView):
    capability = "view_planning"
    template_name = "planning/io/index.html"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), **_context(self.request)}


class TemplateDownloadView(CapabilityRequiredMixin, View):
    capability = "view_planning"

    def get(self, request, kind, fmt):
        _kind_and_format(kind, fmt)
        return template_response(kind, fmt)


class ExportView(CapabilityRequiredMixin, View):
    capability = "view_planning"

    def get(self, request, kind, fmt):
        _kind_and_format(kind, fmt)
        return export_kind_response(kind, fmt)


class ImportCheckView(CapabilityRequiredMixin, View):
    """Validate without writing; htmx swaps the outcome under the still-filled form."""

    capability = "manage_planning"

    def post(self, request):
        form = ImportForm(request.POST, request.FILES)
        report = None
        if form.is_valid():
            report = import_file_check(upload=form.cleaned_data["file"],
                                       kind=form.cleaned_data["kind"] or None)
        context = _context(request, form=form, report=report)
        if request.htmx:
            return render(request, "planning/io/_check.html", context)
        return render(request, "planning/io/index.html", context,
                      status=200 if form.is_valid() else 422)


class ImportApplyView(CapabilityRequiredMixin, View):
    capability = "manage_planning"

    def post(self, request):
        form = ImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return render(request, "planning/io/index.html", _context(request, form=form),
                          status=422)
        report = import_file_apply(actor=request.user, upload=form.cleaned_data["file"],
                                   kind=form.cleaned_data["kind"] or None)
        context = _context(request, report=report)
        if report.written:
            return render(request, "planning/io/result.html", context)
        return render(request, "planning/io/errors.html", context, status=422)

