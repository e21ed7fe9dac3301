"""The monthly KPI report: a printable page and the same report as an XLSX workbook."""

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from dashboards.forms import MonthForm
from dashboards.periods import query
from dashboards.report import monthly_sections, monthly_workbook
from dashboards.views_common import DashboardView
from dashboards.views_kpi import scope_label
from mes.export import XLSX_CONTENT_TYPE


class MonthlyReportView(DashboardView):
    def get(self, request):
        form = MonthForm.from_query(request.GET)
        period, scope = form.period(), form.scope()
        sections = monthly_sections(period, scope)
        label = scope_label(form)
        if request.GET.get("export") == "xlsx":
            stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
            response = HttpResponse(monthly_workbook(sections, period, label),
                                    content_type=XLSX_CONTENT_TYPE)
            response["Content-Disposition"] = (
                f'attachment; filename="kpi-report-{period.first_day:%Y-%m}-{stamp}.xlsx"')
            return response
        return render(request, "dashboards/kpi_report.html", {
            "title": _("Monthly KPI report"), "form": form, "period": period,
            "scope_label": label, "sections": sections, "month": f"{period.first_day:%Y-%m}",
            "scope_query": query(None, scope)})
