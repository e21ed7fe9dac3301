"""The import service: check a file (nothing written) or apply it (all or nothing).

Views call these two functions and the export/template helpers; nothing else.
"""

from dataclasses import dataclass, field

from django.db import DatabaseError, transaction
from django.utils.translation import gettext as _

from mes.events import TOPIC_PLANT, event_emit
from mes.export import export_response
from planning.imports.audit import AuditBatch
from planning.imports.base import Batch, Kind, KindResult, WriteRefused, detect_kind, read_rows
from planning.imports.boms import BOMKind
from planning.imports.fields import RowError
from planning.imports.items import ItemKind
from planning.imports.orders import OrderKind
from planning.imports.parsing import FileRejected, read_upload
from planning.imports.routings import RoutingKind

# Dependency order: what a later kind refers to is validated and written first.
KINDS: dict[str, type[Kind]] = {k.key: k for k in (ItemKind, RoutingKind, BOMKind, OrderKind)}


@dataclass
class ImportReport:
    filename: str
    sheets: list[tuple[str, str, int]] = field(default_factory=list)  # name, kind, rows
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    results: dict[str, KindResult] = field(default_factory=dict)      # kind label -> counts
    missing_routings: list[str] = field(default_factory=list)
    written: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def created(self) -> int:
        return sum(r.created for r in self.results.values())

    @property
    def updated(self) -> int:
        return sum(r.updated for r in self.results.values())

    @property
    def unchanged(self) -> int:
        return sum(r.unchanged for r in self.results.values())

    @property
    def changed(self) -> int:
        return self.created + self.updated

    @property
    def multi_sheet(self) -> bool:
        return len(self.sheets) > 1


def _file_error(report: ImportReport, message: str) -> None:
    report.errors.append(RowError(report.filename, None, "", "", message))


def _read(upload, kind_key: str | None, report: ImportReport) -> dict[str, list]:
    """Sheets -> kinds -> typed rows. Every problem found so far is in report.errors."""
    try:
        sheets = read_upload(upload)
    except FileRejected as exc:
        _file_error(report, str(exc))
        return {}
    sheets = [s for s in sheets if s.rows]
    pairs = []
    if kind_key:
        kind = KINDS[kind_key]
        names = {n.lower() for n in (kind.key, *kind.sheet_names)}
        pairs.append((next((s for s in sheets if s.name.lower() in names), sheets[0]), kind))
    else:
        for sheet in sheets:
            kind = detect_kind(sheet, KINDS)
            if kind is None:
                report.errors.append(RowError(sheet.name, sheet.header_row, "", "", _(
                    "Cannot tell what this sheet holds: its header row has none of the "
                    "required columns of items, BOM lines, routings or production orders. "
                    "Start from a template, or choose the kind of data.")))
            elif any(k is kind for _s, k in pairs):
                report.errors.append(RowError(sheet.name, sheet.header_row, "", "", _(
                    "Another sheet already holds %(kind)s: put them in one sheet.")
                    % {"kind": kind.label}))
            else:
                pairs.append((sheet, kind))
    batch_warnings = Batch()
    rows_by_kind = {}
    for sheet, kind in sorted(pairs, key=lambda p: list(KINDS).index(p[1].key)):
        report.sheets.append((sheet.name, str(kind.label), len(sheet.rows)))
        rows = read_rows(sheet, kind, batch_warnings)
        if rows is not None:
            rows_by_kind[kind.key] = rows
    report.errors.extend(batch_warnings.errors)
    report.warnings.extend(batch_warnings.warnings)
    return rows_by_kind


def _validate(batch: Batch, rows_by_kind: dict, report: ImportReport) -> None:
    batch.load(rows_by_kind, KINDS)
    for key, kind in KINDS.items():
        if key in rows_by_kind:
            kind().validate(batch, rows_by_kind[key])
    report.errors.extend(batch.errors)
    report.missing_routings = batch.missing_routings
    report.results = {str(KINDS[key].label): batch.plans[key].result()
                      for key in KINDS if key in batch.plans}


def _filename(upload) -> str:
    return (getattr(upload, "name", "") or "upload").replace("\\", "/").rsplit("/", 1)[-1]


def import_file_check(*, upload, kind: str | None = None) -> ImportReport:
    """Read and validate the file as an import would, and say what it would do. No writes."""
    report = ImportReport(filename=_filename(upload))
    rows_by_kind = _read(upload, kind, report)
    if rows_by_kind:
        _validate(Batch(filename=report.filename), rows_by_kind, report)
    return report


def import_file_apply(*, actor, upload, kind: str | None = None) -> ImportReport:
    """Validate the whole file, then write all of it in one transaction, or nothing.

    Before: the user may manage planning. After: report.written and every created or changed
    record has one audit entry (reason "import <filename>"); or report.errors lists every
    problem (sheet, Excel row, column, value, reason) and the database is untouched.
    """
    report = ImportReport(filename=_filename(upload))
    rows_by_kind = _read(upload, kind, report)
    if not rows_by_kind:
        if not report.errors:
            _file_error(report, _("The file has no rows to import."))
        return report
    try:
        with transaction.atomic():
            batch = Batch(actor=actor, filename=report.filename, lock=True)
            _validate(batch, rows_by_kind, report)
            if report.errors:
                return report
            audit = AuditBatch(actor=actor, reason=batch.reason)
            results = {key: KINDS[key]().write(batch, audit)
                       for key in KINDS if key in batch.plans}
            audit.flush()
            report.results = {str(KINDS[key].label): r for key, r in results.items()}
            if report.changed:
                event_emit(topic=TOPIC_PLANT, kind="planning.imported", actor=actor, payload={
                    "file": report.filename,
                    "created": {k: r.created for k, r in results.items()},
                    "updated": {k: r.updated for k, r in results.items()}})
    except WriteRefused as exc:
        report.errors.extend(exc.errors)
    except DatabaseError as exc:
        # A concurrent change slipped between check and write (e.g. the same new code).
        _file_error(report, _("The database refused the import; nothing was written. "
                              "Check again and retry. (%(error)s)") % {"error": exc})
    else:
        report.written = True
    if not report.written:
        report.results = {}
    return report


def kind_headers(kind: type[Kind], *, importable_only: bool = False) -> list[str]:
    columns = kind.importable_columns() if importable_only else kind.columns
    return [c.header for c in columns]


def template_response(kind_key: str, fmt: str):
    kind = KINDS[kind_key]
    columns = kind.importable_columns()
    return export_response(basename=f"template-{kind.key}", fmt=fmt,
                           header=[c.header for c in columns],
                           rows=[[c.example for c in columns]])


def _number(value):
    """Decimals as numbers (not text) in Excel, exact enough to import back unchanged."""
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def export_kind_response(kind_key: str, fmt: str):
    kind = KINDS[kind_key]
    rows = ([_number(v) for v in row] for row in kind().export_rows())
    return export_response(basename=kind.key, fmt=fmt, header=kind_headers(kind), rows=rows)
