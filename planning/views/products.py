"""Item, BOM and routing pages, the multi-level BOM tree and where-used.

Built from the generic record views of planning.views.masterdata; the tree pages read through
planning.selectors (a fixed number of queries per BOM level, whatever the number of lines).
"""

import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mes.roles import perm
from mes.sql import valid_pk
from planning import filtersets, forms, selectors, tables
from planning.models import BOMLine, BOMVersion, Item, Routing, RoutingStep
from planning.views.masterdata import (
    PlanningListView,
    RecordDetailView,
    crud,
)
from planning.views.masterdata import RecordCreateView as _Create
from planning.views.masterdata import RecordUpdateView as _Update


class ItemListView(PlanningListView):
    queryset = selectors.items()
    table_class, filterset_class = tables.ItemTable, filtersets.ItemFilterSet
    title, export_basename, add_url = _("Items"), "items", "planning:item_add"


class ItemDetailView(RecordDetailView):
    model = Item
    template_name = "planning/item_detail.html"
    fields = ("code", "name", "name_en", "kind", "uom", "discrete", "description", "active")
    edit_url, delete_url = "planning:item_edit", "planning:item_delete"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        item = self.object
        _root, rows, _tops = selectors.where_used(item, direct_only=True)
        context.update(bom_versions=selectors.item_bom_versions(item),
                       routings=selectors.item_routings(item),
                       used_in=[row.line for row in rows[1:]])
        return context


class BOMVersionDetailView(RecordDetailView):
    model = BOMVersion
    queryset = BOMVersion.objects.select_related("item")
    template_name = "planning/bom_detail.html"
    fields = ("item", "version", "effective_from", "effective_to", "active", "note")
    edit_url, delete_url = "planning:bom_edit", "planning:bom_delete"
    history_children = ((BOMLine, "bom"),)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["lines"] = selectors.bom_version_lines(self.object)
        return context


class RoutingDetailView(RecordDetailView):
    model = Routing
    queryset = Routing.objects.select_related("item")
    template_name = "planning/routing_detail.html"
    fields = ("item", "version", "active", "note")
    edit_url, delete_url = "planning:routing_edit", "planning:routing_delete"
    history_children = ((RoutingStep, "routing"),)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["steps"] = list(self.object.steps.select_related("work_center").order_by("seq"))
        return context


class ItemCodesMixin:
    """The datalist of item codes the component field offers."""

    def item_codes(self):
        return selectors.code_names(Item.objects.filter(active=True).order_by("code"))


class BOMLineCreate(ItemCodesMixin, _Create):
    model, form_class, parent_model, parent_field = BOMLine, forms.BOMLineForm, BOMVersion, "bom"

    def get_initial(self):
        # Next free position, in steps of 10 like the paper BOMs.
        last = self.get_parent().lines.order_by("-position").values_list("position",
                                                                        flat=True).first()
        return {"position": (last or 0) + 10}


class BOMLineUpdate(ItemCodesMixin, _Update):
    model, form_class, parent_model, parent_field = BOMLine, forms.BOMLineForm, BOMVersion, "bom"
    queryset = BOMLine.objects.select_related("bom__item", "child")


class RoutingStepCreate(_Create):
    model, form_class, parent_model, parent_field = (RoutingStep, forms.RoutingStepForm, Routing,
                                                     "routing")

    def get_initial(self):
        last = self.get_parent().steps.order_by("-seq").values_list("seq", flat=True).first()
        return {"seq": (last or 0) + 10}


item_add, item_edit, item_delete = crud(Item, forms.ItemForm, list_url="planning:item_list")
bom_add, bom_edit, bom_delete = crud(BOMVersion, forms.BOMVersionForm, parent=Item,
                                     parent_field="item")
_unused_add, _unused_edit, bom_line_delete = crud(BOMLine, forms.BOMLineForm, parent=BOMVersion,
                                                  parent_field="bom")
bom_line_add, bom_line_edit = BOMLineCreate.as_view(), BOMLineUpdate.as_view()
routing_add, routing_edit, routing_delete = crud(Routing, forms.RoutingForm, parent=Item,
                                                 parent_field="item")
_unused_step, routing_step_edit, routing_step_delete = crud(
    RoutingStep, forms.RoutingStepForm, parent=Routing, parent_field="routing")
routing_step_add = RoutingStepCreate.as_view()


# --- BOM tree and where used ----------------------------------------------------------------
def _tree_params(request, item):
    """Top quantity, date and version from the query string; bad input falls back, with a note."""
    errors = []
    try:
        qty = Decimal(request.GET.get("qty") or "1")
        if qty <= 0:
            raise InvalidOperation
    except InvalidOperation:
        errors.append(_("The top quantity must be a number above zero; showing 1."))
        qty = Decimal(1)
    try:
        on = datetime.date.fromisoformat(request.GET["on"]) if request.GET.get("on") else None
    except ValueError:
        errors.append(_("The date is not a date; showing today."))
        on = None
    version = None
    version_pk = valid_pk(BOMVersion, request.GET.get("version"))
    if version_pk is not None:
        version = BOMVersion.objects.filter(item=item, pk=version_pk).first()
    return qty, on or timezone.localdate(), version, errors


def _url_maker(name):
    """reverse() once: per row only the id changes (a reverse() per row would cost as much
    as the rest of the row)."""
    head, tail = reverse(name, args=[987654321]).split("987654321")
    return lambda pk: f"{head}{pk}{tail}"


def tree_rows(rows) -> list[dict]:
    """The tree's rows as flat dicts: the template then does one cheap lookup per cell, which
    keeps a 200-line BOM page well inside its time budget."""
    item_url, bom_url = _url_maker("planning:item_detail"), _url_maker("planning:bom_detail")
    kinds = dict(Item.Kind.choices)
    out = []
    for row in rows:
        item, line, bom = row.item, row.line, row.bom
        out.append({
            "depth": row.depth, "branch": bool(row.children), "closes": row.closes,
            "code": item.code, "url": item_url(item.pk), "name": item.display_name,
            "kind": item.kind, "kind_label": kinds[item.kind], "made": item.is_made,
            "routing": row.has_routing, "cycle": row.cycle, "uom": item.uom,
            "qty": row.quantity_display, "qty_per": row.quantity_per_display,
            "scrap": selectors.plain_quantity(line.scrap_pct) if line and line.scrap_pct else "",
            "step": "" if line is None or line.operation_seq is None else line.operation_seq,
            "optional": bool(line and line.optional),
            "bom": bom.version if bom else "", "bom_url": bom_url(bom.pk) if bom else "",
        })
    return out


def bom_tree(request, pk):
    """The multi-level BOM of an item; htmx swaps only the tree (#bom-tree) on a new choice."""
    _require(request, "view_planning")
    item = get_object_or_404(Item, pk=pk)
    qty, on, version, errors = _tree_params(request, item)
    tree = selectors.bom_tree(item, on=on, version=version, top_quantity=qty)
    context = {
        "item": item, "tree": tree, "rows": tree_rows(tree.rows), "errors": errors,
        "version": version,
        "versions": list(item.bom_versions.order_by("-effective_from", "-version")),
        "expand_all": request.GET.get("expand") == "all",
        "title": _("BOM tree of %(item)s") % {"item": item},
    }
    if request.htmx and request.htmx.target == "bom-tree":
        return render(request, "planning/_bom_tree.html", context)
    return render(request, "planning/bom_tree.html", context)


def where_used(request, pk):
    """Every item that uses this one, level by level up to the top items."""
    _require(request, "view_planning")
    item = get_object_or_404(Item, pk=pk)
    root, rows, tops = selectors.where_used(item)
    return render(request, "planning/where_used.html", {
        "item": item, "rows": rows, "tops": tops,
        "title": _("Where %(item)s is used") % {"item": item.code},
        "expand_all": request.GET.get("expand") != "top",
    })


def _require(request, capability):
    if not request.user.has_perm(perm(capability)):
        raise PermissionDenied
