"""How a quantity reads in a message or on a page: 100.0000 → "100", 2.5000 → "2.5".

The database keeps four decimal places; people never write them. Every message that names a
quantity formats it here (a Decimal interpolated as is reads "At most 4.0000 units")."""

from decimal import Decimal


def quantity_text(value) -> str:
    """A Decimal (or int) as a person writes it: no trailing zeros, never "1E+2"."""
    if value is None:
        return ""
    if not isinstance(value, Decimal):
        value = Decimal(str(value))
    if not value.is_finite():
        return str(value)
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
