"""Planning forms: parse and check input, naming the field and the reason. Writes are services'."""

import re
from decimal import Decimal

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from mes.forms import PlausibleDateTimeField
from mes.labels import join_list
from planning import selectors
from planning.models import (
    BOMLine,
    BOMVersion,
    Equipment,
    Holiday,
    Item,
    Line,
    Priority,
    Routing,
    RoutingStep,
    Shift,
    ShiftCalendar,
    Site,
    WorkCenter,
    Workshop,
)

CODED_NAMED = ["code", "name", "name_en"]
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


class ReasonForm(forms.Form):
    """Every change may say why; the reason goes into the audit log."""

    reason = forms.CharField(label=_("Reason for the change"), required=False, max_length=500,
                             help_text=_("Optional; kept in the change history."))

    def clean(self):
        data = super().clean()
        # "3" and "3.0000" are the same quantity: store what the database will hold, so the
        # audit log does not see a change where there is none.
        for name, value in list(data.items()):
            places = getattr(self.fields.get(name), "decimal_places", None)
            if isinstance(value, Decimal) and places is not None:
                data[name] = value.quantize(Decimal(1).scaleb(-places))
        return data


class ItemCodeField(forms.ModelChoiceField):
    """An item typed by its code (a datalist offers the codes): works for any number of items."""

    def __init__(self, queryset=None, **kwargs):
        kwargs.setdefault("widget", forms.TextInput(attrs={"list": "item-codes",
                                                           "autocomplete": "off"}))
        kwargs.setdefault("error_messages", {
            "invalid_choice": _("No item has this code."),
        })
        super().__init__(queryset if queryset is not None else Item.objects.all(),
                         to_field_name="code", **kwargs)

    def to_python(self, value):
        # The datalist shows "CODE name": keep the code part.
        if isinstance(value, str) and " " in value.strip():
            value = value.strip().split(" ", 1)[0]
        return super().to_python(value)


def users():
    return get_user_model().objects.filter(is_active=True).order_by("username")


# --- Plant ----------------------------------------------------------------------------------
class SiteForm(ReasonForm, forms.ModelForm):
    class Meta:
        model = Site
        fields = [*CODED_NAMED, "active"]


class WorkshopForm(ReasonForm, forms.ModelForm):
    class Meta:
        model = Workshop
        fields = ["site", *CODED_NAMED, "active"]


class LineForm(ReasonForm, forms.ModelForm):
    class Meta:
        model = Line
        fields = ["workshop", *CODED_NAMED, "active"]


class WorkCenterForm(ReasonForm, forms.ModelForm):
    class Meta:
        model = WorkCenter
        fields = ["line", *CODED_NAMED, "machines", "cost_center", "lead", "calendar",
                  "in_service_from", "operators", "active"]
        widgets = {"operators": forms.SelectMultiple(attrs={"size": 8}),
                   "in_service_from": DATE}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lead"].queryset = users()
        self.fields["operators"].queryset = users()


class EquipmentForm(ReasonForm, forms.ModelForm):
    class Meta:
        model = Equipment
        fields = ["work_center", *CODED_NAMED, "model_no", "active"]


class ShiftCalendarForm(ReasonForm, forms.ModelForm):
    class Meta:
        model = ShiftCalendar
        fields = [*CODED_NAMED, "active"]


BREAK_RE = re.compile(r"^\s*(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*$")


class BreaksField(forms.CharField):
    """Breaks typed as "12:00-12:30, 17:30-18:00", stored as [["12:00", "12:30"], ...]."""

    def prepare_value(self, value):
        if isinstance(value, list):
            return ", ".join(f"{a}-{b}" for a, b in value)
        return value

    def to_python(self, value):
        value = super().to_python(value)
        pairs = []
        for part in filter(None, (p.strip() for p in (value or "").split(","))):
            match = BREAK_RE.match(part)
            if not match:
                raise forms.ValidationError(
                    _("“%(part)s” is not a break: write it as 12:00-12:30."), params={"part": part})
            start, end = (f"{int(t.split(':')[0]):02d}:{t.split(':')[1]}" for t in match.groups())
            if not ("00:00" <= start <= "23:59" and "00:00" <= end <= "23:59") or start == end:
                raise forms.ValidationError(_("“%(part)s” is not a valid break."),
                                            params={"part": part})
            pairs.append([start, end])
        return pairs


class ShiftForm(ReasonForm, forms.ModelForm):
    breaks = BreaksField(label=_("breaks"), required=False,
                         help_text=_("For example 12:00-12:30, 17:30-18:00"))

    class Meta:
        model = Shift
        fields = ["name", "weekday", "start", "end", "breaks"]
        widgets = {"start": TIME, "end": TIME}


class HolidayForm(ReasonForm, forms.ModelForm):
    class Meta:
        model = Holiday
        fields = ["date", "name"]
        widgets = {"date": DATE}

    def validate_unique(self):
        # The calendar is not a form field: check the one-holiday-per-date rule ourselves.
        super().validate_unique()
        date = self.cleaned_data.get("date")
        clash = Holiday.objects.filter(calendar_id=self.instance.calendar_id, date=date)
        if date and clash.exclude(pk=self.instance.pk).exists():
            self.add_error("date", _("This calendar already has a holiday on this date."))


# --- Items, BOMs, routings ------------------------------------------------------------------
class ItemForm(ReasonForm, forms.ModelForm):
    class Meta:
        model = Item
        fields = [*CODED_NAMED, "kind", "uom", "discrete", "description", "active"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def clean_kind(self):
        kind = self.cleaned_data["kind"]
        if kind == Item.Kind.BUY and self.instance.pk:
            has_bom = self.instance.bom_versions.filter(active=True).exists()
            has_routing = self.instance.routings.filter(active=True).exists()
            if has_bom or has_routing:
                raise forms.ValidationError(_(
                    "A bought item has no BOM or routing: deactivate this item's BOM versions "
                    "and routings first."))
        return kind


def refuse_bought(item: Item, what):
    if item is not None and item.kind == Item.Kind.BUY:
        raise forms.ValidationError(
            _("%(item)s is bought, not made: it cannot have a %(what)s.")
            % {"item": item.code, "what": what})


class BOMVersionForm(ReasonForm, forms.ModelForm):
    class Meta:
        model = BOMVersion
        fields = ["version", "effective_from", "effective_to", "active", "note"]
        widgets = {"effective_from": DATE, "effective_to": DATE}

    def clean(self):
        data = super().clean()
        refuse_bought(self.instance.item, _("BOM"))
        start, end = data.get("effective_from"), data.get("effective_to")
        if start and end and end <= start:
            self.add_error("effective_to", _("The end must be after the start."))
        return data


class BOMLineForm(ReasonForm, forms.ModelForm):
    child = ItemCodeField(label=_("component (item code)"))

    class Meta:
        model = BOMLine
        fields = ["position", "child", "quantity_per", "scrap_pct", "optional", "operation_seq"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.child_id:  # the field shows codes, model_to_dict gave the id
            self.initial["child"] = self.instance.child.code

    def clean_quantity_per(self):
        qty = self.cleaned_data["quantity_per"]
        if qty is not None and qty <= 0:
            raise forms.ValidationError(_("The quantity per must be more than zero."))
        return qty

    def clean(self):
        data = super().clean()
        parent_id = self.instance.bom.item_id
        child = data.get("child")
        if child is not None:
            cycle = selectors.bom_cycle_path(parent_id, child.pk)
            if cycle:
                self.add_error("child", _("This line would make a BOM cycle: %(path)s.")
                               % {"path": " → ".join(cycle)})
        seq = data.get("operation_seq")
        if seq is not None:
            steps = set(RoutingStep.objects.filter(routing__item_id=parent_id,
                                                   routing__active=True)
                        .values_list("seq", flat=True))
            if steps and seq not in steps:
                self.add_error("operation_seq", _(
                    "The active routing has no step %(seq)s (steps: %(steps)s).")
                    % {"seq": seq, "steps": join_list(sorted(steps))})
        return data


class RoutingForm(ReasonForm, forms.ModelForm):
    class Meta:
        model = Routing
        fields = ["version", "active", "note"]

    def clean(self):
        data = super().clean()
        refuse_bought(self.instance.item, _("routing"))
        return data


class RoutingStepForm(ReasonForm, forms.ModelForm):
    class Meta:
        model = RoutingStep
        fields = ["seq", "name", "work_center", "setup_minutes", "run_minutes_per_unit",
                  "is_qc_checkpoint", "inspection_plan_code", "wait_for_qc"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["work_center"].queryset = WorkCenter.objects.filter(active=True)

    def clean(self):
        data = super().clean()
        if data.get("wait_for_qc") and not data.get("is_qc_checkpoint"):
            self.add_error("wait_for_qc", _("Only a QC checkpoint can make the next step wait "
                                            "for its inspection."))
        if data.get("inspection_plan_code") and not data.get("is_qc_checkpoint"):
            self.add_error("inspection_plan_code",
                           _("An inspection plan needs the step to be a QC checkpoint."))
        return data


# --- Production orders ----------------------------------------------------------------------
class ProductionOrderForm(ReasonForm):
    item = ItemCodeField(label=_("item (code)"))
    quantity = forms.DecimalField(label=_("quantity"), max_digits=14, decimal_places=4)
    due = PlausibleDateTimeField(label=_("due"), widget=DATETIME)
    release_date = PlausibleDateTimeField(label=_("earliest start"), required=False,
                                          widget=DATETIME)
    priority = forms.TypedChoiceField(label=_("priority"), choices=Priority.choices, coerce=int,
                                      initial=Priority.NORMAL)
    customer = forms.CharField(label=_("customer"), max_length=120, required=False)
    sales_order_ref = forms.CharField(label=_("sales order"), max_length=60, required=False)
    notes = forms.CharField(label=_("notes"), required=False,
                            widget=forms.Textarea(attrs={"rows": 3}))

    field_order = ["item", "quantity", "due", "release_date", "priority", "customer",
                   "sales_order_ref", "notes", "reason"]

    def __init__(self, *args, item_locked: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if item_locked:  # exploded: the item is what the work orders were made for
            self.fields["item"].disabled = True

    def clean_item(self):
        item = self.cleaned_data["item"]
        if item.kind != Item.Kind.MAKE:
            raise forms.ValidationError(_("%(item)s is bought, not made: choose a made item.")
                                        % {"item": item.code})
        if not item.active:
            raise forms.ValidationError(_("%(item)s is not active.") % {"item": item.code})
        if not item.routings.filter(active=True).exists():
            raise forms.ValidationError(_("%(item)s has no active routing: add one first.")
                                        % {"item": item.code})
        return item

    def clean_quantity(self):
        qty = self.cleaned_data["quantity"]
        if qty is None or qty <= 0:
            raise forms.ValidationError(_("The quantity must be more than zero."))
        return qty

    def clean(self):
        data = super().clean()
        item, qty = data.get("item"), data.get("quantity")
        if item is not None and qty is not None and item.discrete and qty != qty.to_integral():
            self.add_error("quantity", _("%(item)s is counted in whole units: enter a whole "
                                         "number.") % {"item": item.code})
        due, start = data.get("due"), data.get("release_date")
        if due and start and start > due:
            self.add_error("release_date", _("The earliest start must not be after the due "
                                             "date."))
        return data

    def service_kwargs(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("reason", None)
        data["quantity"] = Decimal(data["quantity"])
        return data
