"""KPI pages: the overview, one page per KPI, the drill-down lists and the targets."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django_tables2 import RequestConfig

from dashboards import services
from dashboards.charts import trend_svg
from dashboards.forms import BUCKET_LABELS, KpiFilterForm, TargetsForm, presets
from dashboards.kpis import KPIS, formula
from dashboards.periods import query
from dashboards.selectors.kpi_pages import (
    kpi_page,
    kpi_records,
    kpi_targets,
    lines_in_scope,
    meets,
    target_for,
)
from dashboards.tables import records_table
from dashboards.views_cells import cells, equipment_grid, grid, header, pareto_grid
from dashboards.views_common import (
    DashboardView,
    can_edit_targets,
    export_format,
    kpi_url,
    records_url,
    require_target_editor,
)
from mes.export import EXPORT_FORMATS, export_response, table_export_response
from mes.labels import labelled

DIM_LABELS = {"line": _lazy("Line"), "work_center": _lazy("Work center")}


def _filters(request):
    form = KpiFilterForm.from_query(request.GET)
    period, scope = form.period(), form.scope()
    return form, period, scope


def scope_label(form) -> str:
    data = form.cleaned_data if not form.errors else {}
    target = data.get("work_center") or data.get("line") or data.get("workshop")
    return str(target) if target else _("Whole plant")


def _common(request, form, period, scope) -> dict:
    today = timezone.localdate()
    scope_q = query(None, scope)
    return {"form": form, "period": period, "scope": scope, "scope_label": scope_label(form),
            "export_formats": EXPORT_FORMATS, "query": query(period, scope),
            "presets": [(label, f"?{query(None, None, start=a.isoformat(), end=b.isoformat())}"
                         f"{'&' + scope_q if scope_q else ''}") for label, a, b in presets(today)]}


class KpiIndexView(DashboardView):
    def get(self, request):
        form, period, scope = _filters(request)
        targets, n_lines = kpi_targets(), lines_in_scope(scope)
        cards = []
        for key, kdef in KPIS.items():
            fig = kdef.grouped(period, scope)[None]
            target = target_for(kdef, targets, period, n_lines)
            cards.append({"kdef": kdef, "figure": fig, "target": target,
                          "ok": meets(kdef, fig.value, target),
                          "url": kpi_url(key, period, scope),
                          "num_url": records_url(key, kdef.numerator_part, period, scope),
                          "den_url": (records_url(key, kdef.denominator_part, period, scope)
                                      if kdef.denominator_part else None)})
        context = _common(request, form, period, scope)
        context.update({"title": _("KPIs"), "cards": cards,
                        "can_edit_targets": can_edit_targets(request.user)})
        return render(request, "dashboards/kpi_index.html", context)


class KpiDetailView(DashboardView):
    def get(self, request, key):
        kdef = KPIS.get(key)
        if kdef is None:
            raise Http404(_("There is no KPI “%(key)s”.") % {"key": key})
        fmt, error = export_format(request)
        if error:
            return error
        form, period, scope = _filters(request)
        bucket = form.trend_bucket(period)
        page = kpi_page(kdef, period, scope, bucket, kpi_targets(), lines_in_scope(scope))
        fig, target, trend, dim, rows = (page.figure, page.target, page.trend, page.dim,
                                         page.breakdown)
        grids = [grid(kdef, "trend", _("Trend by %(bucket)s") % {
                     "bucket": BUCKET_LABELS[bucket]}, _("period"), trend),
                 grid(kdef, "breakdown", _("By %(dim)s") % {"dim": str(DIM_LABELS[dim]).lower()},
                      DIM_LABELS[dim], rows)]
        if key == "downtime":
            grids.append(equipment_grid(kdef, fig.extra["by_equipment"], period, scope))
        if key == "pareto":
            grids.insert(0, pareto_grid(kdef, fig.extra["rows"], period, scope))
        if fmt:
            wanted = request.GET.get("table", "trend")
            g = next((g for g in grids if g.key == wanted), None)
            if g is None:
                return HttpResponseBadRequest(f"Unknown table {wanted!r}.")
            return export_response(basename=f"kpi-{key}-{g.key}", fmt=fmt,
                                   header=[str(h) for h in g.header],
                                   rows=([c.value for c in row] for row in g.rows))
        chart_part = kdef.denominator_part or kdef.numerator_part
        chart = trend_svg(trend, unit=kdef.unit, kind=kdef.chart, title=str(kdef.label),
                          hundred=kdef.unit == "%" and key != "oee",
                          href=lambda p: records_url(key, chart_part, p.period, scope))
        summary = list(zip(header(kdef, "")[1:], cells(kdef, fig, period, scope, target,
                                                       meets(kdef, fig.value, target)),
                           strict=False))
        context = _common(request, form, period, scope)
        context.update({
            "title": kdef.label, "kdef": kdef, "figure": fig, "target": target,
            "ok": meets(kdef, fig.value, target), "formula": formula(kdef), "chart": chart,
            "grids": grids, "summary": summary, "bucket": bucket,
            "num_url": records_url(key, kdef.numerator_part, period, scope),
            "den_url": (records_url(key, kdef.denominator_part, period, scope)
                        if kdef.denominator_part else None),
            "parts": [(label, records_url(key, part, period, scope))
                      for part, (label, _fn) in kdef.parts.items()],
        })
        return render(request, "dashboards/kpi_detail.html", context)


class KpiRecordsView(DashboardView):
    """The exact records behind a figure: `part` is numerator, denominator, rest, ..."""

    def get(self, request, key, part):
        kdef = KPIS.get(key)
        if kdef is None or part not in kdef.parts:
            raise Http404(_("Unknown KPI or figure."))
        fmt, error = export_format(request)
        if error:
            return error
        extra = {"defect": request.GET.get("defect", "")[:40]}
        if request.GET.get("equipment"):
            try:
                extra["equipment"] = int(request.GET["equipment"])
            except ValueError:
                return HttpResponseBadRequest("equipment: give the equipment's id (a number).")
        form, period, scope = _filters(request)
        qs = kpi_records(kdef, part, period, scope, **extra)
        if qs is None:
            raise Http404(_("The alerts app is not installed."))
        table = records_table(qs, period=period)
        if fmt:
            return table_export_response(table, basename=f"kpi-{key}-{part}", fmt=fmt)
        RequestConfig(request, paginate={"per_page": 50}).configure(table)
        if request.htmx and request.htmx.target == "object-list":
            return render(request, "mes/_object_list_table.html", {"table": table})
        context = _common(request, form, period, scope)
        context.update({"title": labelled(kdef.label, kdef.parts[part][0]), "kdef": kdef,
                        "table": table, "part_label": kdef.parts[part][0],
                        "kpi_url": kpi_url(key, period, scope), "formula": formula(kdef),
                        "extra": {k: v for k, v in extra.items() if v}})
        return render(request, "dashboards/kpi_records.html", context)


class KpiTargetsView(DashboardView):
    def get(self, request):
        form = TargetsForm(targets=kpi_targets())
        return self._render(request, form)

    def post(self, request):
        require_target_editor(request.user)
        form = TargetsForm(request.POST, targets=kpi_targets())
        if form.is_valid():
            try:
                changed = services.kpi_targets_save(actor=request.user, values=form.cleaned_data)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, _("%(n)s target(s) changed.") % {"n": len(changed)})
                return redirect("dashboards:kpi_targets")
        return self._render(request, form, status=422)

    def _render(self, request, form, status=200):
        editable = can_edit_targets(request.user)
        if not editable:
            for field in form.fields.values():
                field.disabled = True
        return render(request, "dashboards/kpi_targets.html", {
            "title": _("KPI targets"), "form": form, "editable": editable}, status=status)
