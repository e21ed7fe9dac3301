"""What every app's forms share: dates and times limited to the years the system can compute
with (1970–2200, as the API's), so a typed 9999-12-31 or 0001-01-01 is a message on the field
instead of an overflow in the window or period built from it; and a service's refusal shown
on the form (add_service_errors)."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from mes.api.fields import MAX_YEAR, MIN_YEAR
from mes.sql import valid_pk

YEARS_OUT_OF_RANGE = _("Give a date between %(min)s and %(max)s.")


def check_years(value) -> None:
    if value is not None and not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValidationError(YEARS_OUT_OF_RANGE, code="range",
                              params={"min": MIN_YEAR, "max": MAX_YEAR})


class PlausibleDateField(forms.DateField):
    default_validators = [check_years]


class PlausibleDateTimeField(forms.DateTimeField):
    default_validators = [check_years]


class ModelMultipleIdField(forms.ModelMultipleChoiceField):
    """Records ticked by id. An id no column can hold is refused like an unknown one: in
    the IN (...) list that checks the ids it overflows the database driver."""

    def _check_values(self, value):
        if self.to_field_name is None:
            for pk in value:
                if valid_pk(self.queryset.model, pk) is None:
                    raise ValidationError(self.error_messages["invalid_pk_value"],
                                          code="invalid_pk_value", params={"pk": pk})
        return super()._check_values(value)


def add_service_errors(form, exc: ValidationError) -> None:
    """A service's ValidationError on the form: on the field it names when the form has it,
    else above the form."""
    pairs = exc.error_dict.items() if hasattr(exc, "error_dict") else [(None, exc.error_list)]
    for field, errors in pairs:
        form.add_error(field if field in form.fields else None, errors)
