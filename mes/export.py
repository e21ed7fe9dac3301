"""CSV and XLSX downloads of any table: one function for every list and KPI page."""

import csv
import decimal
import io
from collections.abc import Iterable, Sequence

from django.http import HttpResponse
from django.utils import timezone

EXPORT_FORMATS = ("csv", "xlsx")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _cell(value):
    if value is None:
        return ""
    if hasattr(value, "tzinfo") and getattr(value, "tzinfo", None) is not None:
        # Excel has no time zones: write plant-local time without the offset.
        return timezone.localtime(value).replace(tzinfo=None)
    return value


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe_text(value: str) -> str:
    """Text a spreadsheet will not run as a formula (CSV/formula injection)."""
    return "'" + value if value.startswith(FORMULA_START) else value


def _xlsx_cell(value):
    value = _cell(value)
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, str):
        return _safe_text(value)
    if isinstance(value, int | float) or hasattr(value, "year"):
        return value
    return _safe_text(str(value))


def _csv_cell(value) -> str:
    value = _cell(value)
    if isinstance(value, int | float | decimal.Decimal):
        return str(value)  # a negative number is a number, not a formula
    return _safe_text(str(value))


def export_response(*, basename: str, fmt: str, header: Sequence[str],
                    rows: Iterable[Sequence]) -> HttpResponse:
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"Unknown export format {fmt!r}")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    filename = f"{basename}-{stamp}.{fmt}"
    if fmt == "csv":
        buf = io.StringIO()
        buf.write("\ufeff")  # BOM: Excel then reads the UTF-8 (Chinese) text correctly
        writer = csv.writer(buf)
        writer.writerow([str(h) for h in header])
        for row in rows:
            writer.writerow(["" if v is None else _csv_cell(v) for v in row])
        response = HttpResponse(buf.getvalue(), content_type="text/csv; charset=utf-8")
    else:
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet(basename[:31])
        ws.append([str(h) for h in header])
        for row in rows:
            ws.append([_xlsx_cell(v) for v in row])
        out = io.BytesIO()
        wb.save(out)
        response = HttpResponse(out.getvalue(), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def table_export_response(table, *, basename: str, fmt: str) -> HttpResponse:
    """Export every row of a django-tables2 table (all pages), as the table shows them."""
    values = table.as_values()
    header = next(values)
    return export_response(basename=basename, fmt=fmt, header=header, rows=values)
