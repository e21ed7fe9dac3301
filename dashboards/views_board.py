"""The workshop / line board: desk and wall-TV mode, its live partial and its export."""

from django.shortcuts import render
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from dashboards.forms import BoardFilterForm
from dashboards.selectors.board import board, board_rows
from dashboards.views_common import DashboardView, export_format
from mes.export import EXPORT_FORMATS, export_response

# The plant-topic events that change what a tile shows. htmx listens to each by name; bursts
# (a scan storm, an alert sweep) are folded into one refresh by the trigger's delay.
LIVE_EVENTS = (
    "task.start", "task.pause", "task.resume", "task.completed", "task.reported",
    "equipment.state", "downtime.corrected", "alert.raised", "alert.acknowledged",
    "alert.resolved", "alert.closed", "alert.cleared", "alert.recurred", "alert.escalated",
    "schedule.changed", "work_order.completed", "work_order.accepted", "work_order.hold",
    "work_order.resume", "work_order.cancel", "work_orders.released",
)
DEBOUNCE_MS = 500


def live_trigger(events=LIVE_EVENTS, delay_ms: int = DEBOUNCE_MS, every: str = "60s") -> str:
    # `every`: planned-by-now grows with the clock even when nothing is reported.
    return ", ".join([f"sse:{e} delay:{delay_ms}ms" for e in events] + [f"every {every}"])


def _context(request):
    form = BoardFilterForm(request.GET or None)
    form.is_valid()
    scope = form.scope()
    params = scope.params()
    return form, scope, params


class BoardView(DashboardView):
    def get(self, request):
        form, scope, params = _context(request)
        fmt, error = export_format(request)
        if error:
            return error
        data = board(scope)
        if fmt:
            header = [_("workshop"), _("line"), _("work center"), _("Name"), _("state"),
                      _("current tasks"), _("operators"), _("good today"),
                      _("planned by now"), _("progress %"), _("critical alerts"),
                      _("warnings"), _("info alerts"), _("downtime today (h)")]
            return export_response(basename="board", fmt=fmt, header=header,
                                   rows=board_rows(data))
        tv = request.GET.get("tv") == "1"
        return render(request, "dashboards/board.html", {
            "title": _("Production board"), "form": form, "board": data, "tv": tv,
            "scope_query": urlencode(params), "live_trigger": live_trigger(),
            "export_formats": EXPORT_FORMATS, "scope_label": _scope_label(form),
            # The wall clock shows plant time whatever the TV's own time zone.
            "utc_offset": int(timezone.localtime().utcoffset().total_seconds() // 60),
        })


class BoardGridView(DashboardView):
    """The live partial: what an SSE event makes the board fetch again."""

    def get(self, request):
        _form, scope, _params = _context(request)
        return render(request, "dashboards/_board_grid.html", {
            "board": board(scope), "tv": request.GET.get("tv") == "1"})


def _scope_label(form) -> str:
    data = form.cleaned_data if form.is_bound and not form.errors else {}
    target = data.get("line") or data.get("workshop")
    return target.display_name if target else _("All workshops")
