"""Input fields that refuse what the database or Python cannot hold (found by the fuzzer):
dates before 1970 or after 2200, and UTC offsets beyond ±14 h (PostgreSQL refuses those, and
converting year-1 times to UTC overflows); and reference fields whose refusal says what kind
of record was not found ("No item has the code “NOPE”.", not "Object with code=NOPE does not
exist.")."""

import datetime

import django_filters
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from rest_framework import serializers

MIN_YEAR, MAX_YEAR = 1970, 2200
MAX_OFFSET = datetime.timedelta(hours=14)


def out_of_range() -> str:
    """The refusal, in the reader's language (formatted per use: a constant built at import
    would stay in the language active then)."""
    return gettext("Give a date between %(min)s and %(max)s, with a UTC offset of at most "
                   "14 hours.") % {"min": MIN_YEAR, "max": MAX_YEAR}


def dates_out_of_range() -> str:
    """The same refusal for a date typed in a form or a sheet cell (no offset is typed)."""
    return gettext("Give a date between %(min)s and %(max)s.") % {"min": MIN_YEAR,
                                                                  "max": MAX_YEAR}


def plausible(value) -> bool:
    if value is None:
        return True
    offset = value.utcoffset() if isinstance(value, datetime.datetime) else None
    return MIN_YEAR <= value.year <= MAX_YEAR and (offset is None or abs(offset) <= MAX_OFFSET)


class DateTimeField(serializers.DateTimeField):
    def to_internal_value(self, value):
        if isinstance(value, str):
            try:  # check the offset before DRF converts it into the plant's time zone
                parsed = datetime.datetime.fromisoformat(value.strip())
            except ValueError:
                parsed = None
            if parsed is not None and not plausible(parsed):
                raise serializers.ValidationError(out_of_range(), code="range")
        result = super().to_internal_value(value)
        if not plausible(result):
            raise serializers.ValidationError(out_of_range(), code="range")
        return result


class _IsoDateTimeFormField(django_filters.fields.IsoDateTimeField):
    def to_python(self, value):
        if isinstance(value, str):
            try:
                parsed = datetime.datetime.fromisoformat(value.strip())
            except ValueError:
                parsed = None
            if parsed is not None and not plausible(parsed):
                raise ValidationError(out_of_range(), code="range")
        result = super().to_python(value)
        if not plausible(result):
            raise ValidationError(out_of_range(), code="range")
        return result


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = _IsoDateTimeFormField


def check_date(value: datetime.date, name: str) -> datetime.date:
    if not plausible(value):
        raise serializers.ValidationError({name: [out_of_range()]}, code="range")
    return value



def _kind(field) -> str:
    return field.get_queryset().model._meta.verbose_name


class CodeRelatedField(serializers.SlugRelatedField):
    """A record named by its code (or number, user name: `slug_field`)."""

    def fail(self, key, **kwargs):
        if key == "does_not_exist":
            value = str(kwargs.get("value", ""))[:40]
            if self.slug_field == "code":
                message = gettext("No %(kind)s has the code “%(value)s”.")
            elif self.slug_field == "number":
                message = gettext("No %(kind)s has the number “%(value)s”.")
            else:
                message = gettext("No %(kind)s “%(value)s” was found.")
            raise serializers.ValidationError(message % {"kind": _kind(self), "value": value},
                                              code="does_not_exist")
        super().fail(key, **kwargs)


class IdRelatedField(serializers.PrimaryKeyRelatedField):
    """A record named by its id."""

    def fail(self, key, **kwargs):
        if key == "does_not_exist":
            raise serializers.ValidationError(
                gettext("No %(kind)s has the id %(value)s.") % {
                    "kind": _kind(self), "value": str(kwargs.get("pk_value", ""))[:40]},
                code="does_not_exist")
        super().fail(key, **kwargs)
