"""Order progress: the page the boss opens."""

from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from dashboards.forms import OrderFilterForm
from dashboards.selectors.orders import order_locations, order_progress
from dashboards.views_board import live_trigger
from dashboards.views_common import DashboardView, export_format
from mes.export import EXPORT_FORMATS, export_response
from mes.labels import join_clauses

PER_PAGE = 50
LIVE = ("task.completed", "task.reported", "work_order.completed", "work_order.accepted",
        "schedule.changed", "work_orders.released", "order.exploded")


def _where_text(row) -> str:
    return join_clauses(f"{t['work_order__number']}/{t['seq']} {t['name']} @ "
                        f"{t['work_center__code']}" for t in row.where)


class OrderProgressView(DashboardView):
    def get(self, request):
        fmt, error = export_format(request)
        if error:
            return error
        form = OrderFilterForm(request.GET or None)
        rows = order_progress(**form.filters())
        if fmt:
            order_locations(rows)
            levels = sorted({lv for r in rows for lv in r.levels})
            header = ([_("production order"), _("item"), _("customer"), _("priority"),
                       _("quantity"), _("due"), _("status"), _("complete %")]
                      + [_("level %(n)s %%") % {"n": lv} for lv in levels]
                      + [_("planned end"), _("projected finish"), _("slack (h)"), _("risk"),
                         _("steps completed short"), _("where it is now")])
            return export_response(basename="order-progress", fmt=fmt, header=header, rows=(
                [r.number, r.item, r.customer, r.priority, r.quantity, r.due, r.status_label,
                 _round(r.percent)] + [_round(r.levels.get(lv)) for lv in levels]
                + [r.planned_end, r.projected, _round(r.slack_hours), r.risk_label,
                   r.short_steps, _where_text(r)] for r in rows))
        page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
        order_locations(list(page.object_list))
        counts = {risk: sum(1 for r in rows if r.risk == risk)
                  for risk in ("late", "risk", "ok", "done")}
        context = {"title": _("Order progress"), "form": form, "page": page, "counts": counts,
                   "now": timezone.now(), "export_formats": EXPORT_FORMATS,
                   "live_trigger": live_trigger(LIVE, 2000, "120s"),
                   "query": request.GET.urlencode()}
        template = ("dashboards/_order_progress_table.html"
                    if request.htmx and request.htmx.target == "order-progress"
                    else "dashboards/order_progress.html")
        return render(request, template, context)


def _round(value, digits=1):
    return None if value is None else round(value, digits)
