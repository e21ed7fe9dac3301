"""Master-data pages: the plant and its calendars. Thin views over services and selectors.

Every record kind gets the same four pages (list, detail, create/edit form, delete) from the
generic classes below (also used by planning.views.products for items, BOMs and routings);
saving goes through planning.services.masterdata, which validates and audit-logs.
"""


from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError, RestrictedError
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _
from django.views.generic import CreateView, DetailView, UpdateView

from mes.audit import audit_record, snapshot
from mes.forms import add_service_errors
from mes.generic import CapabilityRequiredMixin, ObjectListView
from mes.labels import join_clauses, join_list, labelled, noted
from mes.models import AuditEntry
from mes.roles import perm
from planning import filtersets, forms, selectors, tables
from planning.history import history_for
from planning.models import (
    Equipment,
    Holiday,
    Line,
    Shift,
    ShiftCalendar,
    Site,
    WorkCenter,
    Workshop,
)
from planning.services.masterdata import master_record_delete, master_record_save

PLANT_TABS = (
    ("planning:site_list", _("Sites")),
    ("planning:workshop_list", _("Workshops")),
    ("planning:line_list", _("Lines")),
    ("planning:work_center_list", _("Work centers")),
    ("planning:equipment_list", _("Equipment")),
    ("planning:calendar_list", _("Shift calendars")),
)
RELATED_ROWS = 200  # a detail page lists at most this many related records


class PlanningPage:
    """Sub-navigation (the plant's tabs) and the manage capability for every template."""

    tabs = ()
    tab = None

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["tabs"] = [(name, label, name == self.tab) for name, label in self.tabs]
        context["can_manage"] = self.request.user.has_perm(perm("manage_planning"))
        return context


class PlanningListView(PlanningPage, ObjectListView):
    capability = "view_planning"
    template_name = "planning/object_list.html"
    add_url = None

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["add_url"] = self.add_url
        return context


def attributes(obj, names) -> list[dict]:
    """(label, value, link, kind) of the named fields, for the detail page's definition list."""
    out = []
    for name in names:
        f = obj._meta.get_field(name)
        link = None
        if f.many_to_many:
            value = join_list(getattr(obj, name).all())  # prefetched
        elif f.choices:
            value = getattr(obj, f"get_{name}_display")()
        else:
            value = getattr(obj, name)
            link = tables.detail_url(value) if f.is_relation and value is not None else None
        kind = "bool" if isinstance(value, bool) else "text"
        out.append({"label": f.verbose_name, "value": value, "link": link, "kind": kind})
    return out


class RecordDetailView(PlanningPage, CapabilityRequiredMixin, DetailView):
    capability = "view_planning"
    template_name = "planning/record_detail.html"
    fields: tuple = ()
    history_children: tuple = ()   # [(child model, fk)] whose changes show in the history
    edit_url = delete_url = None

    def related(self) -> list[dict]:
        """Sections under the attributes: {"title", "table", "add_url"}."""
        return []

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        obj = self.object
        context.update(
            title=str(obj), kind_label=obj._meta.verbose_name, attrs=attributes(obj, self.fields),
            related=self.related(),
            history=history_for(obj, children=self.history_children),
            edit_url=self.edit_url and _url(self.edit_url, obj.pk),
            delete_url=self.delete_url and _url(self.delete_url, obj.pk),
        )
        return context


def _url(name, *args):
    return reverse(name, args=args)


def related_table(title, table_class, queryset, add_url=None):
    # The queryset itself (read once: an unpaginated table takes its len()), so the headers
    # come from the model's translated field names, not from the column names in English.
    table = table_class(queryset[:RELATED_ROWS], orderable=False)
    return {"title": title, "table": table, "add_url": add_url}




class RecordSaveMixin(PlanningPage, CapabilityRequiredMixin):
    """Create or edit one record through master_record_save, with an audit reason."""

    capability = "manage_planning"
    template_name = "planning/record_form.html"
    parent_model = None            # child records (a BOM line of a BOM version, ...)
    parent_field = None
    list_url = None
    before = None

    def get_parent(self):
        return get_object_or_404(self.parent_model, pk=self.kwargs["parent_pk"])

    def form_valid(self, form):
        instance = form.save(commit=False)
        try:
            with transaction.atomic():
                master_record_save(actor=self.request.user, instance=instance,
                                   before=self.before, reason=form.cleaned_data.get("reason", ""))
                self.save_related(form, instance)
        except ValidationError as exc:
            add_service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, _g("Saved %(record)s.") % {"record": instance})
        return redirect(self.success_url_for(instance))

    def save_related(self, form, instance):
        form.save_m2m()

    def success_url_for(self, instance):
        target = getattr(instance, self.parent_field) if self.parent_field else instance
        return tables.detail_url(target)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        obj = getattr(self, "object", None)
        parent = getattr(obj, self.parent_field) if self.parent_field and obj else None
        if self.parent_model and parent is None:
            parent = self.get_parent()
        context["parent"] = parent
        # Back to where the record is shown: its parent's page for child rows, else its own.
        shown_on = parent if self.parent_model else (obj if obj and obj.pk else None)
        context["cancel_url"] = tables.detail_url(shown_on) if shown_on else \
            _url(self.list_url) if self.list_url else None
        context["item_codes"] = self.item_codes()
        return context

    def item_codes(self):
        return None


class RecordCreateView(RecordSaveMixin, CreateView):
    def get_initial(self):
        # "New workshop" on a site's page arrives with ?site=<id>: start from that.
        return {k: v for k, v in self.request.GET.items() if k in self.form_class.base_fields}

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        if self.parent_model:
            kwargs["instance"] = self.model(**{self.parent_field: self.get_parent()})
        return kwargs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["title"] = _g("New %(kind)s") % {"kind": self.model._meta.verbose_name}
        return context


class RecordUpdateView(RecordSaveMixin, UpdateView):
    def get_object(self, queryset=None):
        obj = super().get_object(queryset)
        self.before = snapshot(obj)  # before the form writes its values into it
        return obj

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["title"] = _g("Edit %(record)s") % {"record": self.object}
        return context


class RecordDeleteView(PlanningPage, CapabilityRequiredMixin, DetailView):
    capability = "manage_planning"
    template_name = "planning/record_confirm_delete.html"
    parent_field = None
    list_url = None

    def post(self, request, *args, **kwargs):
        obj = self.object = self.get_object()
        back = getattr(obj, self.parent_field) if self.parent_field else None
        try:
            master_record_delete(actor=request.user, instance=obj,
                                 reason=request.POST.get("reason", "").strip())
        except (ProtectedError, RestrictedError) as exc:
            messages.error(request, protected_message(obj, exc))
            return redirect(tables.detail_url(back or obj) or request.path)
        messages.success(request, _g("Deleted %(record)s.") % {"record": obj})
        return redirect(tables.detail_url(back) if back else _url(self.list_url))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        parent = getattr(self.object, self.parent_field) if self.parent_field else None
        context.update(title=_g("Delete %(record)s") % {"record": self.object},
                       cancel_url=tables.detail_url(parent or self.object))
        return context


def protected_message(obj, exc) -> str:
    """“Cannot delete X: it is still used by work centers (3): WC001, WC002, WC003.”"""
    used = getattr(exc, "protected_objects", None) or getattr(exc, "restricted_objects", ())
    by_kind: dict = {}
    for other in used:
        by_kind.setdefault(other._meta.verbose_name_plural, []).append(str(other))
    parts = []
    for kind, names in sorted(by_kind.items(), key=lambda kv: str(kv[0])):
        parts.append(labelled(noted(kind, len(names)),
                              join_list(names[:5] + (["…"] if len(names) > 5 else []))))
    return _g("Cannot delete %(record)s: it is still used by %(users)s. Remove or reassign "
              "those first, or mark it inactive.") % {"record": obj, "users": join_clauses(parts)}


# --- Plant ----------------------------------------------------------------------------------
class PlantPage:
    tabs = PLANT_TABS


def crud(model, form_class, *, tab=None, list_url=None, parent=None, parent_field=None):
    """The create, edit and delete views of one record kind (each a plain as_view())."""
    common = {"model": model, "form_class": form_class, "tab": tab,
              "tabs": PLANT_TABS if tab else (), "parent_model": parent,
              "parent_field": parent_field, "list_url": list_url}
    create = type(f"{model.__name__}Create", (RecordCreateView,), common)
    update = type(f"{model.__name__}Update", (RecordUpdateView,), common)
    delete = type(f"{model.__name__}Delete", (RecordDeleteView,),
                  {"model": model, "tab": tab, "tabs": common["tabs"],
                   "parent_field": parent_field, "list_url": list_url})
    return create.as_view(), update.as_view(), delete.as_view()


class SiteListView(PlantPage, PlanningListView):
    queryset = selectors.sites()
    table_class, filterset_class = tables.SiteTable, filtersets.SiteFilterSet
    title, export_basename, tab, add_url = _("Sites"), "sites", "planning:site_list", \
        "planning:site_add"


class SiteDetailView(PlantPage, RecordDetailView):
    model, tab = Site, "planning:site_list"
    fields = ("code", "name", "name_en", "active")
    edit_url, delete_url = "planning:site_edit", "planning:site_delete"

    def related(self):
        return [related_table(_("Workshops"), tables.WorkshopTable,
                              selectors.workshops().filter(site=self.object),
                              _url("planning:workshop_add") + f"?site={self.object.pk}")]


class WorkshopListView(PlantPage, PlanningListView):
    queryset = selectors.workshops()
    table_class, filterset_class = tables.WorkshopTable, filtersets.WorkshopFilterSet
    title, export_basename, tab, add_url = _("Workshops"), "workshops", \
        "planning:workshop_list", "planning:workshop_add"


class WorkshopDetailView(PlantPage, RecordDetailView):
    model, tab = Workshop, "planning:workshop_list"
    queryset = Workshop.objects.select_related("site")
    fields = ("site", "code", "name", "name_en", "active")
    edit_url, delete_url = "planning:workshop_edit", "planning:workshop_delete"

    def related(self):
        return [related_table(_("Lines"), tables.LineTable,
                              selectors.lines().filter(workshop=self.object),
                              _url("planning:line_add") + f"?workshop={self.object.pk}")]


class LineListView(PlantPage, PlanningListView):
    queryset = selectors.lines()
    table_class, filterset_class = tables.LineTable, filtersets.LineFilterSet
    title, export_basename, tab, add_url = _("Lines"), "lines", "planning:line_list", \
        "planning:line_add"


class LineDetailView(PlantPage, RecordDetailView):
    model, tab = Line, "planning:line_list"
    queryset = Line.objects.select_related("workshop")
    fields = ("workshop", "code", "name", "name_en", "active")
    edit_url, delete_url = "planning:line_edit", "planning:line_delete"

    def related(self):
        return [related_table(_("Work centers"), tables.WorkCenterTable,
                              selectors.work_centers().filter(line=self.object),
                              _url("planning:work_center_add") + f"?line={self.object.pk}")]


class WorkCenterListView(PlantPage, PlanningListView):
    queryset = selectors.work_centers()
    table_class, filterset_class = tables.WorkCenterTable, filtersets.WorkCenterFilterSet
    title, export_basename, tab, add_url = _("Work centers"), "work-centers", \
        "planning:work_center_list", "planning:work_center_add"


class WorkCenterDetailView(PlantPage, RecordDetailView):
    model, tab = WorkCenter, "planning:work_center_list"
    queryset = WorkCenter.objects.select_related("line", "lead", "calendar").prefetch_related(
        "operators")
    fields = ("line", "code", "name", "name_en", "machines", "cost_center", "lead", "calendar",
              "in_service_from", "operators", "active")
    edit_url, delete_url = "planning:work_center_edit", "planning:work_center_delete"

    def related(self):
        return [related_table(_("Equipment"), tables.EquipmentTable,
                              selectors.equipment().filter(work_center=self.object),
                              _url("planning:equipment_add")
                              + f"?work_center={self.object.pk}")]


class WorkCenterUpdate(RecordUpdateView):
    model, form_class, tabs, tab = WorkCenter, forms.WorkCenterForm, PLANT_TABS, \
        "planning:work_center_list"

    def get_object(self, queryset=None):
        obj = super().get_object(queryset)
        self.operators_before = sorted(obj.operators.values_list("pk", flat=True))
        return obj

    def save_related(self, form, instance):
        # snapshot() holds concrete fields only: log a change of the operators on its own.
        form.save_m2m()
        after = sorted(instance.operators.values_list("pk", flat=True))
        if after != self.operators_before:
            audit_record(actor=self.request.user, instance=instance,
                         action=AuditEntry.Action.UPDATE,
                         before={"operators": self.operators_before},
                         after={"operators": after}, reason=form.cleaned_data.get("reason", ""))


class EquipmentListView(PlantPage, PlanningListView):
    queryset = selectors.equipment()
    table_class, filterset_class = tables.EquipmentTable, filtersets.EquipmentFilterSet
    title, export_basename, tab, add_url = _("Equipment"), "equipment", \
        "planning:equipment_list", "planning:equipment_add"


class EquipmentDetailView(PlantPage, RecordDetailView):
    model, tab = Equipment, "planning:equipment_list"
    queryset = Equipment.objects.select_related("work_center")
    fields = ("work_center", "code", "name", "name_en", "model_no", "active")
    edit_url, delete_url = "planning:equipment_edit", "planning:equipment_delete"


class ShiftCalendarListView(PlantPage, PlanningListView):
    queryset = selectors.shift_calendars()
    table_class, filterset_class = tables.ShiftCalendarTable, filtersets.ShiftCalendarFilterSet
    title, export_basename, tab, add_url = _("Shift calendars"), "shift-calendars", \
        "planning:calendar_list", "planning:calendar_add"


class ShiftCalendarDetailView(PlantPage, RecordDetailView):
    model, tab = ShiftCalendar, "planning:calendar_list"
    template_name = "planning/calendar_detail.html"
    fields = ("code", "name", "name_en", "active")
    edit_url, delete_url = "planning:calendar_edit", "planning:calendar_delete"
    history_children = ((Shift, "calendar"), (Holiday, "calendar"))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        shifts = list(self.object.shifts.order_by("weekday", "start"))
        context["weekdays"] = [(label, [s for s in shifts if s.weekday == day])
                               for day, label in Shift.Weekday.choices]
        context["holidays"] = list(self.object.holidays.order_by("date"))
        context["work_centers"] = list(self.object.work_centers.order_by("code")[:RELATED_ROWS])
        return context


site_add, site_edit, site_delete = crud(Site, forms.SiteForm, tab="planning:site_list",
                                        list_url="planning:site_list")
workshop_add, workshop_edit, workshop_delete = crud(
    Workshop, forms.WorkshopForm, tab="planning:workshop_list", list_url="planning:workshop_list")
line_add, line_edit, line_delete = crud(Line, forms.LineForm, tab="planning:line_list",
                                        list_url="planning:line_list")
work_center_add, _unused, work_center_delete = crud(
    WorkCenter, forms.WorkCenterForm, tab="planning:work_center_list",
    list_url="planning:work_center_list")
work_center_edit = WorkCenterUpdate.as_view()
equipment_add, equipment_edit, equipment_delete = crud(
    Equipment, forms.EquipmentForm, tab="planning:equipment_list",
    list_url="planning:equipment_list")
calendar_add, calendar_edit, calendar_delete = crud(
    ShiftCalendar, forms.ShiftCalendarForm, tab="planning:calendar_list",
    list_url="planning:calendar_list")
shift_add, shift_edit, shift_delete = crud(Shift, forms.ShiftForm, tab="planning:calendar_list",
                                           parent=ShiftCalendar, parent_field="calendar")
holiday_add, holiday_edit, holiday_delete = crud(
    Holiday, forms.HolidayForm, tab="planning:calendar_list", parent=ShiftCalendar,
    parent_field="calendar")
