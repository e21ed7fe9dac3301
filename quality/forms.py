"""Forms of the quality pages. They parse input; the services judge it (limits, verdicts,
photos, quantities) and their ValidationErrors land on the field they name."""

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from planning.models import Item, Task, WorkCenter
from quality.models import Characteristic, DefectCode, InspectionPlan, Nonconformance
from quality.services.inspections import NOTES_MAX

REASON_HELP = _("Kept in the change history.")
DECIMAL_INPUT = {"inputmode": "decimal", "autocomplete": "off"}


def plain(value) -> str:
    """10.05000 -> "10.05" (how people write limits)."""
    if value is None:
        return ""
    return f"{Decimal(value).normalize():f}"




# --- Master data ------------------------------------------------------------------------------
class InspectionPlanForm(forms.ModelForm):
    item_code = forms.CharField(
        label=_("item"), required=False, max_length=40,
        help_text=_("Empty: the plan applies to any item whose routing step names it."))
    reason = forms.CharField(label=_("reason for the change"), required=False,
                             help_text=REASON_HELP, widget=forms.TextInput)

    class Meta:
        model = InspectionPlan
        fields = ("code", "name", "name_en", "sampling", "sample_n", "sample_percent",
                  "max_rework_loops", "active")
        widgets = {"sample_percent": forms.TextInput(attrs=DECIMAL_INPUT),
                   "sample_n": forms.NumberInput(attrs={"min": 1})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # Routing steps name the plan by its code: renaming it would cut them loose.
            self.fields["code"].disabled = True
            self.fields["code"].help_text = _("Routing steps refer to the plan by this code.")
        if self.instance.item_id and not self.is_bound:
            self.initial["item_code"] = self.instance.item.code
        self.fields["item_code"].widget.attrs["list"] = "item-codes"

    def clean_item_code(self):
        code = self.cleaned_data["item_code"].strip()
        if not code:
            return None
        item = Item.objects.filter(code__iexact=code).first()
        if item is None:
            raise ValidationError(_("There is no item with the code “%(code)s”."),
                                  params={"code": code})
        return item

    def clean(self):
        data = super().clean()
        sampling = data.get("sampling")
        if sampling == InspectionPlan.Sampling.N_PER_LOT and not data.get("sample_n"):
            self.add_error("sample_n", _("Say how many units of each lot are inspected."))
        return data

    def save(self, commit=True):
        self.instance.item = self.cleaned_data.get("item_code")
        return super().save(commit)


class CharacteristicForm(forms.ModelForm):
    class Meta:
        model = Characteristic
        fields = ("seq", "name", "kind", "nominal", "lower", "upper", "unit", "photo_required")
        widgets = {name: forms.TextInput(attrs=DECIMAL_INPUT | {"size": 8})
                   for name in ("nominal", "lower", "upper")}
        widgets["seq"] = forms.NumberInput(attrs={"min": 0, "class": "seq-input"})
        widgets["unit"] = forms.TextInput(attrs={"size": 5})

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind == Characteristic.Kind.MEASURED:
            if data.get("lower") is None and data.get("upper") is None \
                    and "lower" not in self.errors and "upper" not in self.errors:
                self.add_error("lower", _("A measured characteristic needs a lower or an "
                                          "upper limit (or both)."))
            if data.get("lower") is not None and data.get("upper") is not None \
                    and data["lower"] > data["upper"]:
                self.add_error("upper", _("The upper limit is below the lower limit."))
        elif kind:
            # Limits mean nothing for a pass/fail or visual check: do not keep stale ones.
            data["nominal"] = data["lower"] = data["upper"] = None
            self.instance.nominal = self.instance.lower = self.instance.upper = None
        return data


class DefectCodeForm(forms.ModelForm):
    reason = forms.CharField(label=_("reason for the change"), required=False,
                             help_text=REASON_HELP)

    class Meta:
        model = DefectCode
        fields = ("code", "name", "name_en", "active")


# --- Recording an inspection ------------------------------------------------------------------
class InspectionRecordForm(forms.Form):
    """One row per characteristic of the plan (fields c<id>, photo_c<id>, note_c<id>), or a
    plain verdict when the inspection has no plan; then the failure details."""

    verdict = forms.ChoiceField(label=_("verdict"), required=False, widget=forms.RadioSelect,
                                choices=[("passed", _("pass")), ("failed", _("fail"))])
    qty_failed = forms.CharField(
        label=_("quantity failed"), required=False, max_length=20,
        widget=forms.TextInput(attrs=DECIMAL_INPUT),
        help_text=_("Only when it fails. Empty: the whole lot."))
    defect_code = forms.ModelChoiceField(label=_("defect code"), required=False,
                                         queryset=DefectCode.objects.none())
    notes = forms.CharField(label=_("notes"), required=False, max_length=NOTES_MAX,
                            widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, characteristics=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.characteristics = list(characteristics)
        self.fields["defect_code"].queryset = DefectCode.objects.filter(active=True)
        if self.characteristics:
            del self.fields["verdict"]
        for ch in self.characteristics:
            key = f"c{ch.pk}"
            if ch.kind == Characteristic.Kind.MEASURED:
                attrs = DECIMAL_INPUT | {"class": "measure", "data-testid": f"value-{ch.pk}",
                                         "data-lower": plain(ch.lower),
                                         "data-upper": plain(ch.upper)}
                self.fields[key] = forms.CharField(label=ch.name, required=False,
                                                   max_length=30,
                                                   widget=forms.TextInput(attrs=attrs))
            else:
                self.fields[key] = forms.ChoiceField(
                    label=ch.name, required=False, widget=forms.RadioSelect,
                    choices=[("pass", _("pass")), ("fail", _("fail"))])
            self.fields[f"photo_{key}"] = forms.FileField(
                label=_("photo"), required=False,
                widget=forms.ClearableFileInput(attrs={"accept": "image/*",
                                                       "capture": "environment"}))
            self.fields[f"note_{key}"] = forms.CharField(label=_("note"), required=False,
                                                         max_length=200)

    @property
    def rows(self) -> list[dict]:
        """What the template shows for each characteristic, with its bound fields."""
        out = []
        for ch in self.characteristics:
            key = f"c{ch.pk}"
            out.append({
                "ch": ch, "key": key, "field": self[key], "photo": self[f"photo_{key}"],
                "note": self[f"note_{key}"], "limits": limits_text(ch),
                "measured": ch.kind == Characteristic.Kind.MEASURED,
            })
        return out

    def results(self) -> dict:
        """The service's `results` argument: characteristic id -> value / passed, photo, note."""
        out = {}
        for ch in self.characteristics:
            key = f"c{ch.pk}"
            raw = self.cleaned_data.get(key) or ""
            given = {"photo": self.cleaned_data.get(f"photo_{key}") or None,
                     "note": self.cleaned_data.get(f"note_{key}", "")}
            if ch.kind == Characteristic.Kind.MEASURED:
                given["value"] = raw.strip()
            else:
                given["passed"] = {"pass": True, "fail": False}.get(raw)
            out[ch.pk] = given
        return out


def limits_text(ch: Characteristic) -> str:
    if ch.kind != Characteristic.Kind.MEASURED:
        return ""
    low = plain(ch.lower) if ch.lower is not None else "−∞"
    high = plain(ch.upper) if ch.upper is not None else "+∞"
    text = f"{low} … {high}"
    if ch.unit:
        text += f" {ch.unit}"
    if ch.nominal is not None:
        text += " · " + str(_("nominal %(n)s") % {"n": plain(ch.nominal)})
    return text


# --- Decisions --------------------------------------------------------------------------------
class DispositionForm(forms.Form):
    disposition = forms.ChoiceField(
        label=_("disposition"), widget=forms.RadioSelect,
        choices=[c for c in Nonconformance.Disposition.choices
                 if c[0] != Nonconformance.Disposition.PENDING])
    work_center = forms.ModelChoiceField(
        label=_("rework at"), required=False, queryset=WorkCenter.objects.none(),
        empty_label=_("the responsible step's work center"),
        help_text=_("Only for rework: where the rework task goes."))
    reason = forms.CharField(label=_("reason"), required=False,
                             widget=forms.Textarea(attrs={"rows": 2}),
                             help_text=_("Required for use as is."))

    def __init__(self, *args, nc=None, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["work_center"]
        field.queryset = WorkCenter.objects.filter(active=True).order_by("code")
        if nc is not None:
            field.choices = rework_station_choices(nc, field)


def rework_station_choices(nc, field) -> list:
    """The stations a rework can go to: first the work order's steps up to the one
    responsible, by step ("30 Finish turning · WC-CNC2"), so that a defect found at an
    inspection step is sent back to the step that made it in one pick; then every other
    station. Two queries."""
    stations = list(field.queryset)
    by_pk = {wc.pk: wc for wc in stations}
    steps = (Task.objects.filter(work_order_id=nc.work_order_id, kind=Task.Kind.NORMAL,
                                 seq__lte=nc.responsible_task.seq)
             .exclude(status=Task.Status.CANCELLED).order_by("-seq")
             .values_list("seq", "name", "work_center_id"))
    mine, seen = [], set()
    for seq, name, wc_id in steps:
        if wc_id in by_pk and wc_id not in seen:
            seen.add(wc_id)
            mine.append((wc_id, f"{seq} {name} · {by_pk[wc_id]}"))
    others = [(wc.pk, str(wc)) for wc in stations if wc.pk not in seen]
    return [("", field.empty_label), (_("This work order's steps"), mine),
            (_("Other stations"), others)]


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("reason"), required=False,
                             widget=forms.Textarea(attrs={"rows": 2}))
