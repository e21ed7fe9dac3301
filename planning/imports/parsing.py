"""Reading an uploaded .xlsx or .csv into sheets of rows, before anything is interpreted.

Row numbers are the ones the user sees in Excel (the header is usually row 1), so every error
message can point at a cell. Limits are checked early, with a message that says what to do.
"""

import csv
import io
import zipfile
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_ROWS = 50_000
MAX_COLUMNS = 60  # far more than any kind has; bounds the work on a hostile sheet

XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # old binary .xls (and other Office 97 files)


class FileRejected(Exception):  # noqa: N818 - a user-facing outcome, not a programming error
    """The file as a whole cannot be read; the message says why and what to do."""


@dataclass
class Sheet:
    name: str
    header_row: int = 0                                  # as numbered in Excel; 0: no header
    header: list[str] = field(default_factory=list)      # cell texts, column order
    rows: list[tuple[int, list]] = field(default_factory=list)  # (row number, cell values)


def _clean(value):
    """Strip text; treat blank text as empty. Other types (numbers, dates, bools) stay."""
    if isinstance(value, str):
        value = value.replace("\ufeff", "").strip()
        return value or None
    return value


def _is_blank(values) -> bool:
    return all(v is None for v in values)


def _sheet_from_rows(name: str, numbered_rows) -> Sheet:
    """The first non-blank row is the header; blank rows after it are skipped."""
    sheet = Sheet(name=name)
    for number, raw in numbered_rows:
        raw = list(raw[:MAX_COLUMNS])
        while raw and raw[-1] is None:  # read-only xlsx pads every row to max_col
            raw.pop()
        values = [_clean(v) for v in raw]
        if _is_blank(values):
            continue
        if not sheet.header_row:
            sheet.header_row = number
            sheet.header = ["" if v is None else str(v) for v in values]
            continue
        if len(sheet.rows) >= MAX_ROWS:
            raise FileRejected(
                _("The file has more than %(max)s data rows. Split it into smaller files.")
                % {"max": f"{MAX_ROWS:,}"})
        sheet.rows.append((number, values))
    return sheet


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, or GBK/GB18030 as Chinese Excel saves."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")  # a superset of GBK and GB2312
    except UnicodeDecodeError:
        raise FileRejected(_("The CSV file's text encoding is not UTF-8 or GBK. Save it again "
                             "as \"CSV UTF-8\".")) from None


def _delimiter(text: str) -> str:
    first_line = text.split("\n", 1)[0]
    # Some Excel locales save with ";" and "Unicode text" uses tabs; the header line tells.
    return max((",", ";", "\t"), key=first_line.count) if first_line else ","


def read_csv(data: bytes, name: str) -> list[Sheet]:
    text = decode_text(data)
    if "\x00" in text:
        raise FileRejected(_("This does not look like a CSV text file."))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    read = 0  # records read so far: the one that fails is the next

    def numbered():
        nonlocal read
        # Excel shows each CSV record as one row, even a record with a line break in a cell.
        for values in reader:
            read += 1
            yield read, values

    try:
        return [_sheet_from_rows(name, numbered())]
    except csv.Error as exc:
        # csv's own messages are English and technical ("field larger than field limit")
        if "field limit" in str(exc):
            raise FileRejected(
                _("Row %(row)s has a cell longer than %(max)s characters. Shorten it; if it "
                  "should not be that long, look for a quote (\") that is never closed.")
                % {"row": read + 1, "max": f"{csv.field_size_limit():,}"}) from None
        raise FileRejected(_("Row %(row)s of the CSV file cannot be read. Open the file in "
                             "Excel and save it again as CSV.") % {"row": read + 1}) from None


def read_xlsx(data: bytes) -> list[Sheet]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError):
        raise FileRejected(_("The file is not a readable .xlsx workbook. Open it in Excel "
                             "and save it again as .xlsx.")) from None
    try:
        sheets = []
        for ws in workbook.worksheets:
            rows = ws.iter_rows(max_col=MAX_COLUMNS, values_only=True)
            sheets.append(_sheet_from_rows(ws.title, enumerate(rows, start=1)))
        return sheets
    finally:
        workbook.close()


def read_upload(upload) -> list[Sheet]:
    """All sheets of an uploaded file (a CSV is one sheet), or FileRejected saying why."""
    name = getattr(upload, "name", "") or ""
    size = getattr(upload, "size", None)
    if size is not None and size > MAX_UPLOAD_BYTES:
        raise FileRejected(
            _("The file is %(size).1f MB; at most %(max)d MB can be imported at once. Split it "
              "into smaller files.") % {"size": size / 1024 / 1024,
                                         "max": MAX_UPLOAD_BYTES // 1024 // 1024})
    data = upload.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise FileRejected(_("The file is larger than %(max)d MB. Split it into smaller files.")
                           % {"max": MAX_UPLOAD_BYTES // 1024 // 1024})
    if not data.strip():
        raise FileRejected(_("The file is empty."))
    lower = name.lower()
    if data.startswith(OLE_MAGIC) or lower.endswith(".xls"):
        raise FileRejected(_("Old Excel .xls files and password-protected workbooks cannot "
                             "be read. Save the file as .xlsx (without a password) or as CSV "
                             "and upload it again."))
    if data.startswith(XLSX_MAGIC):
        if not lower.endswith((".xlsx", ".xlsm")) and lower.endswith(".csv"):
            raise FileRejected(_("The file is named .csv but holds a workbook: rename it "
                                 ".xlsx."))
        sheets = read_xlsx(data)
    elif lower.endswith((".csv", ".txt")):
        sheets = read_csv(data, name.rsplit("/", 1)[-1])
    elif lower.endswith((".xlsx", ".xlsm")):
        raise FileRejected(_("The file is named .xlsx but is not an Excel workbook."))
    else:
        raise FileRejected(_("Only Excel workbooks (.xlsx) and CSV files (.csv) can be "
                             "imported."))
    if all(not s.rows for s in sheets):
        raise FileRejected(_("The file has no data rows (only a header, or nothing at all)."))
    return sheets
