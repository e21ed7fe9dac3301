"""Production-order and work-order pages and their actions (explode, release, hold, ...).

Actions answer htmx with the refreshed partial (#order-body or #wo-body) and plain POSTs with
a redirect, so every button also works without JavaScript.
"""

import datetime

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from mes.forms import add_service_errors
from mes.labels import join_clauses
from mes.roles import perm
from mes.sql import valid_pk
from planning import filtersets, selectors, tables
from planning.forms import ProductionOrderForm
from planning.history import history_for
from planning.models import ProductionOrder, Task, WorkOrder
from planning.services import orders as order_services
from planning.states import allowed_actions
from planning.views.masterdata import PlanningListView

PO = ProductionOrder.Status
# Work-order actions a planner starts from these pages: label and whether a reason is required.
WO_ACTIONS = {
    "release": (_("Release"), False),
    "hold": (_("Hold"), True),
    "resume": (_("Resume"), True),
    "cancel": (_("Cancel"), True),
}


class ProductionOrderListView(PlanningListView):
    queryset = selectors.production_orders()
    table_class, filterset_class = tables.ProductionOrderTable, \
        filtersets.ProductionOrderFilterSet
    title, export_basename, add_url = _("Production orders"), "production-orders", \
        "planning:order_add"


def _require(request, capability):
    if not request.user.has_perm(perm(capability)):
        raise PermissionDenied


def _route(name, *args) -> str | None:
    """The URL of a page another part of the app provides, or None while it does not exist."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def _buttons(wo) -> list[tuple]:
    """(action, label, needs a reason) for the actions the work order's state allows."""
    return [(a, *WO_ACTIONS[a]) for a in allowed_actions(wo) if a in WO_ACTIONS]


# --- Create and edit ------------------------------------------------------------------------
def order_form(request, pk=None):
    _require(request, "manage_planning")
    order = get_object_or_404(ProductionOrder.objects.select_related("item"), pk=pk) if pk \
        else None
    if order and order.status not in (PO.DRAFT, PO.PLANNED):
        messages.error(request, _g("%(order)s is %(status)s: it can no longer be edited here.")
                       % {"order": order, "status": order.get_status_display()})
        return redirect("planning:order_detail", pk=order.pk)
    if order:
        initial = {name: getattr(order, name) for name in
                   ("item", "quantity", "due", "release_date", "priority", "customer",
                    "sales_order_ref", "notes")}
    else:
        due = timezone.localtime() + datetime.timedelta(days=14)
        initial = {"due": due.replace(hour=17, minute=0, second=0, microsecond=0),
                   "item": request.GET.get("item")}
    form = ProductionOrderForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        kwargs = form.service_kwargs()
        reason = form.cleaned_data.get("reason", "")
        try:
            if order is None:
                order = order_services.production_order_create(actor=request.user,
                                                               reason=reason, **kwargs)
                messages.success(request, _g("Created production order %(order)s.")
                                 % {"order": order})
            else:
                changes = {k: v for k, v in kwargs.items() if getattr(order, k) != v}
                if changes:
                    order_services.production_order_update(actor=request.user, order=order,
                                                           reason=reason, **changes)
                messages.success(request, _g("Saved %(order)s.") % {"order": order})
            if order.due < timezone.now():  # accepted (catch-up orders exist), but said
                messages.warning(request, _g(
                    "%(order)s is due %(due)s, which has passed: it is late from the start.")
                    % {"order": order,
                       "due": timezone.localtime(order.due).strftime("%Y-%m-%d %H:%M")})
            return redirect("planning:order_detail", pk=order.pk)
        except ValidationError as exc:
            add_service_errors(form, exc)
    return render(request, "planning/order_form.html", {
        "form": form, "order": order,
        "title": _g("Edit %(order)s") % {"order": order} if order else _g("New production order"),
        "item_codes": selectors.code_names(selectors.made_items_with_routing()),
        "cancel_url": reverse("planning:order_detail", args=[order.pk]) if order
        else reverse("planning:order_list"),
    })


# --- Order page -----------------------------------------------------------------------------
def _order_context(request, order, **extra):
    work = selectors.order_work(order)
    for wo in work.work_orders:
        wo.buttons = _buttons(wo)
    context = {
        "order": order, "work": work, "title": str(order),
        "can_manage": request.user.has_perm(perm("manage_planning")),
        "can_explode": order.status in (PO.DRAFT, PO.PLANNED)
        and not any(wo.status != WorkOrder.Status.DRAFT for wo in work.work_orders),
        "can_release": order.status in (PO.PLANNED, PO.RELEASED)
        and any(wo.status == WorkOrder.Status.DRAFT for wo in work.work_orders),
        "can_edit": order.status in (PO.DRAFT, PO.PLANNED),
        "traveler_available": _route("planning:traveler", 1) is not None,
        "traveler_batch_url": _route("planning:traveler_batch", order.pk),
        "history": history_for(order),
    }
    context.update(extra)
    return context


def _order(pk):
    return get_object_or_404(ProductionOrder.objects.select_related("item", "created_by"), pk=pk)


def order_detail(request, pk):
    _require(request, "view_planning")
    order = _order(pk)
    template = "planning/_order_body.html" if request.htmx and \
        request.htmx.target == "order-body" else "planning/order_detail.html"
    return render(request, template, _order_context(request, order))


@require_POST
def order_action(request, pk, action):
    """Explode, release all, or release the ticked work orders of one production order."""
    _require(request, "manage_planning")
    order = _order(pk)
    notices, refusals, errors = [], [], []
    reason = request.POST.get("reason", "").strip()
    try:
        if action == "explode":
            result = order_services.production_order_explode(actor=request.user, order=order)
            notices.append(_g("Exploded into %(wo)d work orders and %(tasks)d tasks over "
                              "%(levels)d levels.") % {"wo": result.work_orders,
                                                       "tasks": result.tasks,
                                                       "levels": result.levels})
        elif action in ("release", "release_selected"):
            if action == "release":
                result = order_services.production_order_release(actor=request.user,
                                                                 order=order, reason=reason)
            else:
                # Ids a column cannot hold (or no numbers at all) match no work order.
                ids = {pk for v in request.POST.getlist("work_orders")
                       if (pk := valid_pk(WorkOrder, v)) is not None}
                chosen = list(order.work_orders.filter(pk__in=ids))
                if not chosen:
                    raise ValidationError(_g("Tick the work orders to release first."))
                result = order_services.work_orders_release(actor=request.user,
                                                            work_orders=chosen, reason=reason)
            n = len(result.released)
            notices.append(ngettext("Released %(n)d work order.", "Released %(n)d work orders.",
                                    n) % {"n": n})
            refusals = result.refused
        else:
            raise Http404
    except ValidationError as exc:
        errors = exc.messages
    return _answer(request, order, notices, refusals, errors)


def _answer(request, order, notices, refusals, errors):
    """htmx: the refreshed order body; otherwise the messages and back to the order page."""
    if request.htmx:
        order.refresh_from_db()
        return render(request, "planning/_order_body.html", _order_context(
            request, order, notices=notices, refusals=refusals, errors=errors))
    for text in notices:
        messages.success(request, text)
    for wo, reasons in refusals:
        messages.warning(request, _g("%(wo)s not released: %(reasons)s.")
                         % {"wo": wo, "reasons": join_clauses(reasons)})
    for text in errors:
        messages.error(request, text)
    return redirect("planning:order_detail", pk=order.pk)


# --- Work orders ----------------------------------------------------------------------------
def _wo_context(request, wo, **extra):
    context = {
        "wo": wo, "title": str(wo),
        "can_manage": request.user.has_perm(perm("manage_planning")),
        "buttons": _buttons(wo),
        "traveler_url": _route("planning:traveler", wo.pk),
        # With its tasks' status changes: why a step stopped shows where the planner looks.
        "history": history_for(wo, child_transitions=Task.objects.filter(work_order=wo)),
    }
    context.update(extra)
    return context


def work_order_detail(request, pk):
    _require(request, "view_planning")
    try:
        wo = selectors.work_order_detail(pk)
    except WorkOrder.DoesNotExist:
        raise Http404 from None
    template = "planning/_work_order_body.html" if request.htmx and \
        request.htmx.target == "wo-body" else "planning/work_order_detail.html"
    return render(request, template, _wo_context(request, wo))


def work_order_action(request, pk, action):
    """Release, hold, resume or cancel one work order. GET (no JavaScript): ask for a reason."""
    _require(request, "manage_planning")
    if action not in WO_ACTIONS:
        raise Http404
    wo = get_object_or_404(WorkOrder.objects.select_related("production_order", "item"), pk=pk)
    label, needs_reason = WO_ACTIONS[action]
    if request.method != "POST":
        return render(request, "planning/work_order_action.html", {
            "wo": wo, "action": action, "label": label, "needs_reason": needs_reason,
            "title": f"{label} {wo}", "next": request.GET.get("next", "")})
    reason = (request.POST.get("reason") or (request.htmx.prompt if request.htmx else "")
              or "").strip()
    notices, refusals, errors = [], [], []
    try:
        if action == "release":
            result = order_services.work_orders_release(actor=request.user, work_orders=[wo],
                                                        reason=reason)
            refusals = result.refused
            if result.released:
                notices.append(_g("Released %(wo)s.") % {"wo": wo})
        else:
            service = getattr(order_services, f"work_order_{action}")
            service(actor=request.user, work_order=wo, reason=reason)
            notices.append(_g("%(wo)s: %(action)s done.") % {"wo": wo, "action": label})
    except ValidationError as exc:
        errors = exc.messages
    if request.htmx and request.htmx.target == "wo-body":
        return render(request, "planning/_work_order_body.html", _wo_context(
            request, selectors.work_order_detail(pk), notices=notices, refusals=refusals,
            errors=errors))
    if request.htmx or request.POST.get("next") == "order":
        return _answer(request, wo.production_order, notices, refusals, errors)
    for text in notices:
        messages.success(request, text)
    for refused, reasons in refusals:
        messages.warning(request, _g("%(wo)s not released: %(reasons)s.")
                         % {"wo": refused, "reasons": join_clauses(reasons)})
    for text in errors:
        messages.error(request, text)
    return redirect("planning:work_order_detail", pk=wo.pk)
