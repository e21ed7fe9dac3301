"""Traceability (追溯): from a work order back to what went into it, and from a component lot
forward to every work order (and finished product) it went into."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _g

from planning.models import WorkOrder
from quality import selectors
from quality.forms import plain
from quality.models import ArchivedRecord
from quality.views.common import QUALITY_READERS, quality_context, require_any


def _render(request, template, context):
    context.update(quality_context(request, "quality:trace"))
    return render(request, template, context)


def lot_url(code: str) -> str:
    # Lot codes may hold any character (slashes too): they travel in the query string.
    return reverse("quality:trace_lot") + "?" + urlencode({"code": code})


def trace(request):
    """One search box: a work-order number or a lot code; close matches when neither."""
    require_any(request.user, QUALITY_READERS)
    q = request.GET.get("q", "").strip()[:100]
    found = selectors.trace_lookup(q)
    if found["work_order"] is not None:
        return redirect("quality:trace_work_order", pk=found["work_order"].pk)
    if found["lot"] is not None:
        return redirect(lot_url(found["lot"]))
    if q and not (found["work_orders"] or found["lots"]):
        messages.error(request, _g("No work order or lot “%(q)s” was found.") % {"q": q})
    return _render(request, "quality/trace.html", {
        "title": _g("Traceability"), "q": q, "matches": found,
        "lot_links": [(code, lot_url(code)) for code in found["lots"]],
    })


def trace_work_order(request, pk):
    require_any(request.user, QUALITY_READERS)
    wo = get_object_or_404(WorkOrder.objects.select_related("item", "production_order"), pk=pk)
    back = selectors.trace_backward(wo)
    back["work_orders"] = _depth_first(back["work_orders"])
    for lot in back["lots"]:
        lot.qty, lot.url = plain(lot.quantity), lot_url(lot.lot_code)
    archived = set(ArchivedRecord.objects.filter(
        work_order__in=back["work_orders"], superseded_at__isnull=True)
        .values_list("work_order_id", flat=True))
    return _render(request, "quality/trace_work_order.html", {
        "title": _g("Traceability of %(wo)s") % {"wo": wo.number}, "wo": wo, "back": back,
        "archived": archived, "q": wo.number,
    })


def _depth_first(tree: list) -> list:
    """The work orders as an indented tree: each followed by its children (w.depth set)."""
    kids: dict = {}
    for w in tree[1:]:
        kids.setdefault(w.parent_id, []).append(w)
    out, stack = [], [(tree[0], 0)]
    while stack:
        w, depth = stack.pop()
        w.depth, w.indent, w.qty = depth, depth * 1.5, plain(w.quantity)
        out.append(w)
        stack += [(c, depth + 1) for c in reversed(kids.get(w.pk, []))]
    return out


def trace_lot(request):
    require_any(request.user, QUALITY_READERS)
    code = request.GET.get("code", "").strip()
    if not code:
        return redirect("quality:trace")
    forward = selectors.trace_forward(code)
    for use in forward["uses"]:
        use.qty = plain(use.quantity)
    direct = {u.work_order_id for u in forward["uses"]}
    for w in forward["work_orders"]:
        w.direct, w.qty = w.pk in direct, plain(w.quantity)
    return _render(request, "quality/trace_lot.html", {
        "title": _g("Where lot %(lot)s went") % {"lot": code}, "code": code,
        "forward": forward, "q": code,
        "finished": [w for w in forward["work_orders"] if w.parent_id is None],
    })
