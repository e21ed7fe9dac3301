"""Station terminal forms: they parse what a station sends; the services decide.

Quantities stay text here (bounded in length) and are parsed by the services, which name the
field and the reason; a form only refuses what is malformed before any service sees it.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from execution.models import DowntimeReason, EquipmentState
from execution.services.reporting import TOKEN_MAX

QTY_MAX_LENGTH = 20  # "10000000.0000" fits; longer is a stuck key or a wrong scan


class _SharedFields(dict):
    """A form class's fields, shared by its instances. Django deep-copies them into every
    form (so that one form may change its own fields without touching the others); the station
    forms never change theirs, and copying them was a tenth of what validating a report cost."""

    def __deepcopy__(self, memo):
        return dict(self)


def shared_fields(form_class):
    """Class decorator: the form's instances share its field objects (see _SharedFields).
    Only for forms whose fields hold no per-form state (no querysets, no changes in
    __init__)."""
    form_class.base_fields = _SharedFields(form_class.base_fields)
    return form_class


class _StationForm(forms.Form):
    # Generated in the browser per submission; the services refuse a missing one.
    client_token = forms.CharField(max_length=TOKEN_MAX, required=False)

    def first_error(self) -> "FormRefusal":
        """The first problem, to be said as one sentence naming the field."""
        return FormRefusal(self)


class FormRefusal(ValidationError):
    """A station form's first error, named by the form's own label for its field
    (`labels`: for execution.services.refusals.refusal_reason)."""

    def __init__(self, form: forms.Form):
        name, errors = next(iter(form.errors.as_data().items()))
        super().__init__({name: errors[:1]})
        field = form.fields.get(name)
        self.labels = {name: field.label if field is not None and field.label else ""}


class ScanForm(forms.Form):
    code = forms.CharField(label=_("Scanned code"), max_length=200, required=False,
                           strip=True)


@shared_fields
class TaskActionForm(_StationForm):
    task = forms.IntegerField(label=_("Task"), min_value=1,
                              error_messages={"required": _("Scan a task first.")})


@shared_fields
class CompleteForm(TaskActionForm):
    # Only when units given to the task were not reported: why it completes short.
    short_reason = forms.CharField(label=_("Reason for completing short"), max_length=200,
                                   required=False, strip=True)


def _quantity(label):
    return forms.CharField(label=label, max_length=QTY_MAX_LENGTH, required=False, strip=True)


@shared_fields
class ReportForm(TaskActionForm):
    good = _quantity(_("Good"))
    scrap = _quantity(_("Scrap"))
    # The reason's id, from the station's list; the view looks it up (selectors.scrap_reason)
    # only when one was sent. (A ModelChoiceField copies its queryset into every form: about
    # as much as the rest of this form's validation, on every report.)
    scrap_reason = forms.IntegerField(label=_("Scrap reason"), required=False, min_value=1)


class EquipmentStateForm(_StationForm):
    equipment = forms.IntegerField(label=_("Equipment"), min_value=1)
    state = forms.ChoiceField(label=_("State"), choices=EquipmentState.State.choices)
    reason = forms.ModelChoiceField(label=_("Reason"), required=False,
                                    queryset=DowntimeReason.objects.all())


@shared_fields
class MaterialIssueForm(TaskActionForm):
    item_code = forms.CharField(label=_("Component"), max_length=40, strip=True,
                                error_messages={"required": _("Scan the component code.")})
    lot_code = forms.CharField(label=_("Lot"), max_length=80, strip=True,
                               error_messages={"required": _("Scan the component lot.")})
    quantity = _quantity(_("Quantity"))


def _local_datetime():
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class DowntimeEditForm(forms.Form):
    """A lead's correction of a recorded stop. The end of a stop still going on is not
    offered: it ends when the equipment's state is set at its station."""

    start = forms.DateTimeField(label=_("start"), widget=_local_datetime())
    end = forms.DateTimeField(label=_("end"), widget=_local_datetime())
    reason = forms.ModelChoiceField(label=_("reason"), required=False,
                                    queryset=DowntimeReason.objects.none())
    planned = forms.BooleanField(label=_("planned"), required=False,
                                 help_text=_("Planned stops (maintenance) are taken out of the "
                                             "planned time; unplanned ones count against "
                                             "availability (OEE)."))
    note = forms.CharField(label=_("note"), max_length=200, required=False)
    why = forms.CharField(label=_("Why is it corrected"), max_length=200,
                          widget=forms.TextInput(attrs={"autocomplete": "off"}))

    def __init__(self, *args, stop, **kwargs):
        kwargs.setdefault("initial", {"start": stop.start, "end": stop.end,
                                      "reason": stop.reason_id, "planned": stop.planned,
                                      "note": stop.note})
        super().__init__(*args, **kwargs)
        # Reasons in use, and the stop's own even when it is no longer in use.
        self.fields["reason"].queryset = DowntimeReason.objects.filter(
            models.Q(active=True) | models.Q(pk=stop.reason_id)).order_by("code")
        if stop.end is None:
            del self.fields["end"]
        self.stop = stop

    def clean(self):
        data = super().clean()
        # The page shows times to the minute: a time sent back as shown is no change (the
        # recorded seconds stay).
        for name in ("start", "end"):
            recorded = getattr(self.stop, name)
            if (data.get(name) is not None and recorded is not None
                    and data[name] == recorded.replace(second=0, microsecond=0)):
                data[name] = None
        return data
