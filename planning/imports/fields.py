"""Columns of an import: bilingual headers, cell parsers and the error rows users see.

A header is accepted in English ("item_code"), Chinese ("物料编码") or both ("item_code
物料编码", as our templates write it). Each parser turns one cell into a Python value or raises
CellError with the reason; the importer attaches row, column and value.
"""

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from mes.api.fields import MAX_YEAR, MIN_YEAR
from planning.models.common import validate_code


class CellError(ValueError):
    pass


@dataclass(frozen=True)
class RowError:
    """One problem, where the user sees it: sheet, Excel row number, column header, value."""

    sheet: str
    row: int | None
    column: str
    value: str
    reason: str

    def as_list(self) -> list:
        return [self.sheet, self.row or "", self.column, self.value, self.reason]


@dataclass(frozen=True)
class Column:
    key: str                      # the English header, also the key rows are read into
    zh: str                       # the Chinese header
    parse: Callable[[Any], Any]   # cell -> value; None cells never reach it
    required: bool = False        # the column must be present and every cell filled
    example: Any = ""
    aliases: tuple[str, ...] = ()
    export_only: bool = False     # written by exports for information, ignored on import

    @property
    def header(self) -> str:
        return f"{self.key} {self.zh}"


_SPLIT = re.compile(r"[\s/|()（）:：,，*＊\[\]【】]+")


def _tokens(text: str) -> set[str]:
    text = str(text).replace("\ufeff", "").strip().lower()
    return {t for t in _SPLIT.split(text) if t} | {text}


def match_header(header: list[str], columns: list[Column]):
    """Map each known column to its index in `header`. Returns (found, duplicates, unknown)."""
    found: dict[str, int] = {}
    duplicates: list[str] = []
    unknown: list[str] = []
    for index, text in enumerate(header):
        if not text:
            continue
        tokens = _tokens(text)
        column = next((c for c in columns
                       if {c.key.lower(), c.zh.lower(), *(a.lower() for a in c.aliases)}
                       & tokens), None)
        if column is None:
            unknown.append(text)
        elif column.key in found:
            duplicates.append(text)
        else:
            found[column.key] = index
    return found, duplicates, unknown


def show(value) -> str:
    """A cell as the error list shows it."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S").removesuffix(":00")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)[:200]


# --- Parsers --------------------------------------------------------------------------------
def text(max_length: int) -> Callable[[Any], str]:
    def parse(value) -> str:
        if isinstance(value, bool):
            raise CellError(_("Expected text, not a true/false value."))
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # Excel keeps numeric codes (10001) as numbers
        if isinstance(value, datetime.datetime):
            value = value.strftime("%Y-%m-%d %H:%M:%S")
        value = str(value).strip()
        if len(value) > max_length:
            raise CellError(_("At most %(max)d characters (this has %(n)d).")
                            % {"max": max_length, "n": len(value)})
        return value
    return parse


def code(max_length: int = 40) -> Callable[[Any], str]:
    plain = text(max_length)

    def parse(value) -> str:
        value = plain(value)
        try:
            validate_code(value)  # the same rule as the forms and the API
        except ValidationError as exc:
            raise CellError(exc.messages[0]) from None
        return value
    return parse


def _to_decimal(value) -> Decimal:
    if isinstance(value, bool):
        raise CellError(_("Not a number."))
    if isinstance(value, int | float):
        return Decimal(str(value))
    try:
        result = Decimal(str(value).strip().replace("，", "").replace("％", "%").rstrip("%"))
    except InvalidOperation:
        raise CellError(_("Not a number.")) from None
    if not result.is_finite():
        raise CellError(_("Not a number."))
    return result


def decimal(places: int, digits: int, *, minimum=None, maximum=None, positive=False,
            percent=False) -> Callable[[Any], Decimal]:
    step = Decimal(1).scaleb(-places)
    limit = Decimal(10) ** (digits - places)

    def parse(value) -> Decimal:
        number = _to_decimal(value)
        # A number past the column's size (1e30) cannot be quantized; the checks below say
        # what is wrong with it.
        rounded = number.quantize(step) if abs(number) < limit else number
        # Tolerate the float noise of computed Excel cells (0.30000000000000004), not typos.
        if abs(rounded - number) > Decimal("1e-9"):
            raise CellError(_("At most %(n)d decimal places.") % {"n": places})
        if positive and rounded <= 0:
            raise CellError(_("Must be greater than zero."))
        if minimum is not None and rounded < minimum:
            raise CellError(_("Must not be less than %(min)s.") % {"min": minimum})
        if maximum is not None and rounded > maximum:
            raise CellError(_("Must be between %(min)s and %(max)s%(unit)s.")
                            % {"min": minimum or 0, "max": maximum, "unit": "%" if percent
                               else ""})
        if abs(rounded) >= limit:
            raise CellError(_("The number is too large."))
        return rounded
    return parse


def positive_int(value) -> int:
    number = _to_decimal(value)
    if number != number.to_integral_value():
        raise CellError(_("Must be a whole number."))
    if number <= 0:
        raise CellError(_("Must be greater than zero."))
    if number > 2_000_000_000:
        raise CellError(_("The number is too large."))
    return int(number)


_TRUE = {"1", "y", "yes", "true", "t", "x", "✓", "√", "是", "对", "有", "启用", "需要"}
_FALSE = {"0", "n", "no", "false", "f", "-", "×", "否", "不", "无", "停用", "不需要"}


def boolean(value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    word = str(value).strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise CellError(_("Expected yes or no."))


def choice(mapping: dict[str, Any], allowed: str) -> Callable[[Any], Any]:
    """`mapping` from accepted words (lower case, any language) to values."""
    def parse(value):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        word = str(value).strip().lower()
        if word not in mapping:
            raise CellError(_("Unknown value; use one of: %(allowed)s.") % {"allowed": allowed})
        return mapping[word]
    return parse


_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")
_TIME_FORMATS = ("%H:%M", "%H:%M:%S")


def _parse_datetime_text(word: str) -> datetime.datetime | datetime.date:
    word = " ".join(word.replace("T", " ").split())
    for date_format in _DATE_FORMATS:
        try:
            return datetime.datetime.strptime(word, date_format).date()
        except ValueError:
            pass
        for time_format in _TIME_FORMATS:
            try:
                return datetime.datetime.strptime(word, f"{date_format} {time_format}")
            except ValueError:
                pass
    raise CellError(_("Not a date; write it as 2026-03-31 or 2026-03-31 17:00."))


def local_datetime(*, date_only_time: datetime.time) -> Callable[[Any], datetime.datetime]:
    """A plant-local date and time; a date alone means `date_only_time` on that day."""
    def parse(value) -> datetime.datetime:
        if isinstance(value, int) and not isinstance(value, bool) and 19000101 < value < 99991231:
            value = str(value)
        if isinstance(value, datetime.date):  # datetime too: a subclass
            moment = value
        elif isinstance(value, str):
            moment = _parse_datetime_text(value)
        else:
            raise CellError(_("Not a date; write it as 2026-03-31 or 2026-03-31 17:00."))
        if not MIN_YEAR <= moment.year <= MAX_YEAR:  # as the API and the order form
            raise CellError(_("Give a date between %(min)s and %(max)s.")
                            % {"min": MIN_YEAR, "max": MAX_YEAR})
        if not isinstance(moment, datetime.datetime):
            moment = datetime.datetime.combine(moment, date_only_time)
        if timezone.is_aware(moment):
            return moment
        # Excel has no time zones: the sheet shows plant-local time.
        return timezone.make_aware(moment.replace(microsecond=0))
    return parse


@dataclass
class Row:
    """One data row read into column keys; cell errors are collected, not raised."""

    sheet: str
    number: int
    raw: dict[str, Any]          # key -> cell as read
    headers: dict[str, str]      # key -> the header text in this file
    values: dict[str, Any] = field(default_factory=dict)   # key -> parsed (None: empty)
    failed: set[str] = field(default_factory=set)          # keys whose cell is wrong

    def has(self, key: str) -> bool:
        return key in self.headers

    def error(self, key: str, reason: str, value=None) -> RowError:
        column = self.headers.get(key, key)
        shown = show(self.raw.get(key) if value is None else value)
        return RowError(self.sheet, self.number, column, shown, str(reason))
