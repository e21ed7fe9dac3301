"""Inspection plans with their characteristics (edited inline with htmx), and defect codes.

Every save and delete goes through planning.services.masterdata (validated, audit-logged)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, ProtectedError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.decorators.http import require_http_methods, require_POST

from mes.audit import snapshot
from mes.forms import add_service_errors
from mes.roles import perm
from planning.models import Item
from planning.selectors import code_names
from planning.services.masterdata import master_record_delete, master_record_save
from quality import filtersets, selectors, tables
from quality.forms import (
    CharacteristicForm,
    DefectCodeForm,
    InspectionPlanForm,
    limits_text,
    plain,
)
from quality.models import Characteristic, DefectCode, InspectionPlan
from quality.views.common import QUALITY_READERS, QualityListView, quality_context, require_any

EDITORS = ("inspect_quality",)


class PlanListView(QualityListView):
    capabilities = QUALITY_READERS
    tab = "quality:plan_list"
    queryset = selectors.plan_list()
    filterset_class = filtersets.InspectionPlanFilterSet
    table_class = tables.InspectionPlanTable
    title, export_basename, add_url = _("Inspection plans"), "inspection-plans", "quality:plan_add"


class DefectCodeListView(QualityListView):
    capabilities = QUALITY_READERS
    tab = "quality:defect_list"
    queryset = DefectCode.objects.annotate(n_nonconformances=Count("nonconformances"))
    filterset_class = filtersets.DefectCodeFilterSet
    table_class = tables.DefectCodeTable
    title, export_basename, add_url = _("Defect codes"), "defect-codes", "quality:defect_add"


def _page(request, template, context, status=200):
    context.update(quality_context(request, context.pop("tab", "quality:plan_list")))
    return render(request, template, context, status=status)


def _posted(request):
    """The POST data of a form submission (even an empty one), None for a GET."""
    return request.POST if request.method == "POST" else None


def _save(request, form, before, success_url):
    """Save a valid form through the master-data service; errors go back onto the form."""
    instance = form.save(commit=False)
    try:
        master_record_save(actor=request.user, instance=instance, before=before,
                           reason=form.cleaned_data.get("reason", ""))
    except ValidationError as exc:
        add_service_errors(form, exc)
        return None
    messages.success(request, _g("Saved %(record)s.") % {"record": instance})
    return redirect(success_url(instance))


# --- Plans ------------------------------------------------------------------------------------
def plan_detail(request, pk):
    require_any(request.user, QUALITY_READERS)
    plan = get_object_or_404(InspectionPlan.objects.select_related("item"), pk=pk)
    chars = list(plan.characteristics.all())
    return _page(request, "quality/plan_detail.html", {
        "plan": plan, "title": str(plan), "rows": [_row(c) for c in chars],
        "new_form": CharacteristicForm(initial={"seq": _next_seq(chars)}, prefix="new"),
        "history": selectors.record_history(plan, children=((Characteristic, "plan"),)),
        "can_edit": request.user.has_perm(perm("inspect_quality")),
    })


def plan_form(request, pk=None):
    require_any(request.user, EDITORS)
    plan = get_object_or_404(InspectionPlan, pk=pk) if pk else InspectionPlan()
    before = snapshot(plan) if pk else None
    form = InspectionPlanForm(_posted(request), instance=plan)
    if request.method == "POST" and form.is_valid():
        done = _save(request, form, before, lambda p: reverse("quality:plan_detail",
                                                               args=[p.pk]))
        if done:
            return done
    title = (_g("Edit %(record)s") % {"record": plan}) if pk else _g("New inspection plan")
    return _page(request, "quality/record_form.html", {
        "form": form, "title": title,
        "cancel_url": reverse("quality:plan_detail", args=[pk]) if pk
        else reverse("quality:plan_list"),
        "item_codes": code_names(Item.objects.filter(active=True).order_by("code")[:500]),
    }, status=422 if form.errors else 200)


# --- Characteristics, inline on the plan page (htmx rows) -------------------------------------
def _row(ch):
    return {"ch": ch, "limits": limits_text(ch), "nominal": plain(ch.nominal),
            "lower": plain(ch.lower), "upper": plain(ch.upper)}


def _next_seq(chars) -> int:
    return (max((c.seq for c in chars), default=0) // 10 + 1) * 10


def _section(request, plan, new_form=None):
    chars = list(plan.characteristics.all())
    return render(request, "quality/_characteristics.html", {
        "plan": plan, "rows": [_row(c) for c in chars],
        "new_form": new_form or CharacteristicForm(initial={"seq": _next_seq(chars)},
                                                   prefix="new"),
        "can_edit": request.user.has_perm(perm("inspect_quality")),
    })


@require_POST
def characteristic_add(request, plan_pk):
    """POST the add row (htmx): answers the characteristics section, with the new row or with
    the add row's errors."""
    require_any(request.user, EDITORS)
    plan = get_object_or_404(InspectionPlan, pk=plan_pk)
    form = CharacteristicForm(request.POST, prefix="new", instance=Characteristic(plan=plan))
    if form.is_valid():
        try:
            master_record_save(actor=request.user, instance=form.save(commit=False))
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _section(request, plan)
    return _section(request, plan, new_form=form)


@require_http_methods(["GET", "POST"])
def characteristic_edit(request, pk):
    """GET: the row as a form; POST: save and answer the row (or the form with errors)."""
    require_any(request.user, EDITORS)
    ch = get_object_or_404(Characteristic.objects.select_related("plan"), pk=pk)
    before = snapshot(ch)
    form = CharacteristicForm(_posted(request), instance=ch, prefix=f"c{ch.pk}")
    if request.method == "POST" and form.is_valid():
        try:
            master_record_save(actor=request.user, instance=form.save(commit=False),
                               before=before)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return render(request, "quality/_characteristic_row.html",
                          {"row": _row(ch), "can_edit": True, "plan": ch.plan})
    return render(request, "quality/_characteristic_form_row.html",
                  {"form": form, "ch": ch, "plan": ch.plan})


def characteristic_row(request, pk):
    """The row as shown (cancel of an inline edit)."""
    require_any(request.user, QUALITY_READERS)
    ch = get_object_or_404(Characteristic.objects.select_related("plan"), pk=pk)
    return render(request, "quality/_characteristic_row.html",
                  {"row": _row(ch), "can_edit": request.user.has_perm(perm("inspect_quality")),
                   "plan": ch.plan})


class CharacteristicDeleteView(View):
    """POST (htmx): remove the row; refused while recorded results use it."""

    def post(self, request, pk):
        require_any(request.user, EDITORS)
        ch = get_object_or_404(Characteristic.objects.select_related("plan"), pk=pk)
        try:
            master_record_delete(actor=request.user, instance=ch,
                                 reason=request.POST.get("reason", ""))
        except ProtectedError:
            msg = _g("%(name)s cannot be removed: inspections have recorded results for it. "
                     "Make a new plan (or mark this one inactive) instead.") % {"name": ch.name}
            return render(request, "quality/_characteristic_row.html",
                          {"row": _row(ch), "can_edit": True, "plan": ch.plan, "error": msg})
        return HttpResponse("")


# --- Defect codes -----------------------------------------------------------------------------
def defect_form(request, pk=None):
    require_any(request.user, EDITORS)
    code = get_object_or_404(DefectCode, pk=pk) if pk else DefectCode()
    before = snapshot(code) if pk else None
    form = DefectCodeForm(_posted(request), instance=code)
    if request.method == "POST" and form.is_valid():
        done = _save(request, form, before, lambda c: reverse("quality:defect_list"))
        if done:
            return done
    title = (_g("Edit %(record)s") % {"record": code}) if pk else _g("New defect code")
    return _page(request, "quality/record_form.html", {
        "form": form, "title": title, "cancel_url": reverse("quality:defect_list"),
        "history": selectors.record_history(code) if pk else None,
        "tab": "quality:defect_list",
    }, status=422 if form.errors else 200)
