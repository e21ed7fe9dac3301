"""Scheduling forms: run, apply/discard, rush order, order change, pins, Gantt filters.

They parse and name the field that is wrong; the services decide and write.
"""

from decimal import Decimal

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from mes.forms import PlausibleDateTimeField
from planning import gantt
from planning.forms import DATETIME, ProductionOrderForm
from planning.models import Line, Priority, ProductionOrder, WorkCenter, Workshop

REASON = _("reason")


def reason_field(required=True, label=REASON, **kwargs):
    return forms.CharField(label=label, required=required, max_length=200,
                           widget=forms.TextInput(attrs={"autocomplete": "off"}), **kwargs)


def time_limit_field():
    return forms.FloatField(label=_("time limit (s)"), min_value=0.5, max_value=300,
                            initial=10, help_text=_("How long the solver may search: "
                                                    "0.5–300 seconds."))


class ScheduleRunForm(forms.Form):
    reason = reason_field(help_text=_("Why now: new orders, a machine down, …"))
    time_limit = time_limit_field()
    frozen_minutes = forms.IntegerField(
        label=_("frozen horizon (min)"), min_value=0, max_value=7 * 24 * 60,
        initial=settings.MES_FROZEN_MINUTES,
        help_text=_("Released tasks starting this soon keep their planned start."))


class ApplyForm(forms.Form):
    reason = reason_field(required=False, help_text=_("Optional: the run's reason is used."))


class DiscardForm(forms.Form):
    reason = reason_field()


class RushOrderForm(ProductionOrderForm):
    """插单: a new urgent order, previewed in a what-if schedule before it is released."""

    reason = reason_field(help_text=_("Kept in the order's and the schedule's history."))
    time_limit = time_limit_field()
    field_order = ["item", "quantity", "due", "priority", "customer", "sales_order_ref",
                   "notes", "reason", "time_limit"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["release_date"]  # a rush order starts as soon as it can
        self.fields["priority"].initial = Priority.URGENT

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {"item": data["item"], "quantity": Decimal(data["quantity"]), "due": data["due"],
                "priority": data["priority"], "customer": data.get("customer", ""),
                "sales_order_ref": data.get("sales_order_ref", ""),
                "notes": data.get("notes", ""), "reason": data["reason"],
                "time_limit": data["time_limit"]}


class OrderChangeForm(forms.Form):
    """换单: change a released order; only the fields that differ are sent to the preview."""

    quantity = forms.DecimalField(label=_("quantity"), max_digits=14, decimal_places=4,
                                  required=False)
    due = PlausibleDateTimeField(label=_("due"), widget=DATETIME, required=False)
    priority = forms.TypedChoiceField(label=_("priority"), choices=Priority.choices,
                                      coerce=int, required=False, empty_value=None)
    reason = reason_field()
    time_limit = time_limit_field()

    def __init__(self, *args, order: ProductionOrder, **kwargs):
        self.order = order
        kwargs.setdefault("initial", {"quantity": order.quantity, "due": order.due,
                                      "priority": order.priority})
        super().__init__(*args, **kwargs)

    def clean_quantity(self):
        qty = self.cleaned_data["quantity"]
        if qty is not None and qty <= 0:
            raise forms.ValidationError(_("The quantity must be more than zero."))
        return qty

    def changes(self) -> dict:
        """quantity / due / priority where they differ from the order (None: unchanged)."""
        data, order = self.cleaned_data, self.order
        return {
            "quantity": data["quantity"] if data.get("quantity") not in (None, order.quantity)
            else None,
            # The field shows whole minutes: an untouched due date must not count as a change.
            "due": data["due"] if data.get("due") is not None
            and abs((data["due"] - order.due).total_seconds()) >= 60 else None,
            "priority": data["priority"] if data.get("priority") not in (None, order.priority)
            else None,
        }


class WorkCenterChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return str(obj) if obj.active else _("%(wc)s (inactive)") % {"wc": obj}


class PinForm(forms.Form):
    start = PlausibleDateTimeField(label=_("pinned start"), widget=DATETIME, required=False)
    work_center = WorkCenterChoiceField(label=_("pinned work center"), required=False,
                                        queryset=WorkCenter.objects.none())
    reason = reason_field()

    def __init__(self, *args, work_centers=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["work_center"].queryset = work_centers if work_centers is not None \
            else WorkCenter.objects.order_by("code")

    def clean(self):
        data = super().clean()
        if not self.errors and data.get("start") is None and data.get("work_center") is None:
            raise forms.ValidationError(_("Give a start, a work center or both."))
        return data


class UnpinForm(forms.Form):
    reason = reason_field()


class OrderNumberField(forms.ModelChoiceField):
    def __init__(self, **kwargs):
        super().__init__(ProductionOrder.objects.all(), to_field_name="number",
                         widget=forms.TextInput(attrs={"list": "gantt-orders",
                                                       "autocomplete": "off",
                                                       "placeholder": _("order number")}),
                         error_messages={"invalid_choice": _("No production order has this "
                                                             "number.")}, **kwargs)


class GanttFilterForm(forms.Form):
    view = forms.ChoiceField(label=_("view"), required=False, choices=[
        ("wc", _("by work center")), ("order", _("by production order"))])
    scale = forms.ChoiceField(label=_("zoom"), required=False,
                              choices=[(code, s.label) for code, s in gantt.SCALES.items()])
    start = PlausibleDateTimeField(label=_("from"), required=False, widget=DATETIME)
    workshop = forms.ModelChoiceField(label=_("workshop"), required=False,
                                      queryset=Workshop.objects.filter(active=True))
    line = forms.ModelChoiceField(label=_("line"), required=False,
                                  queryset=Line.objects.filter(active=True))
    work_center = forms.ModelChoiceField(label=_("work center"), required=False,
                                         queryset=WorkCenter.objects.order_by("code"))
    order = OrderNumberField(label=_("production order"), required=False)

    def filters(self) -> dict:
        """Cleaned values; scale None: the caller picks one that fits the plan."""
        data = self.cleaned_data if self.is_bound else {}
        view = data.get("view") or ("order" if data.get("order") else "wc")
        return {"view": view, "scale": gantt.SCALES.get(data.get("scale") or ""),
                "start": data.get("start"), "workshop": data.get("workshop"),
                "line": data.get("line"), "work_center": data.get("work_center"),
                "order": data.get("order")}
