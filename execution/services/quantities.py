"""Parsing and checking quantities typed or scanned at a station."""

import re
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError

from mes.quantities import quantity_text
from mes.system_text import system_text

MAX_QUANTITY = Decimal("10000000")
# Typed text reads as digits with at most one decimal point (any script's digits: a Chinese
# keyboard's full-width １２ are 12). Python's Decimal also reads "1_000" and "1e3"; a person
# at a station does not mean 1000 by those.
PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")


def parse_quantity(raw, *, field: str, discrete: bool, allow_zero: bool = True) -> Decimal:
    """A quantity from user input, or ValidationError naming the field and the problem."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if allow_zero:
            return Decimal(0)
        raise ValidationError({field: system_text("Enter a quantity.")})
    try:
        if isinstance(raw, str) and not PLAIN_NUMBER.fullmatch(raw.strip()):
            raise InvalidOperation
        value = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError({field: system_text("“%(value)s” is not a number.",
                                                  value=str(raw)[:20])}) from None
    if not value.is_finite():
        raise ValidationError({field: system_text("“%(value)s” is not a number.",
                                                  value=str(raw)[:20])})
    if value < 0:
        raise ValidationError({field: system_text("The quantity cannot be negative.")})
    if value == 0 and not allow_zero:
        raise ValidationError({field: system_text("The quantity must be greater than zero.")})
    # what was typed, as typed; a number from the API (99999999.0000) as people write it
    shown = str(raw).strip()[:20] if isinstance(raw, str) else quantity_text(value)
    if value > MAX_QUANTITY:
        raise ValidationError({field: system_text("%(value)s is too large.", value=shown)})
    if discrete and value != value.to_integral_value():
        raise ValidationError({field: system_text("Whole units only: %(value)s is a fraction.",
                                                  value=shown)})
    if value.as_tuple().exponent < -4:
        raise ValidationError({field: system_text("At most four decimal places.")})
    return value
