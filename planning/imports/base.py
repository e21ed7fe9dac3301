"""One import = one uploaded file = one batch: every sheet validated together, then written
in one transaction, or nothing written at all.

Kinds run in dependency order (items, routings, BOM lines, production orders), sharing what
the batch knows: an item created by the items sheet may be used by the BOM sheet of the same
workbook, and a routing in the routings sheet counts for the BOM and order checks.
"""

from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from mes.labels import join_list
from planning.imports.fields import Column, Row, RowError, match_header
from planning.imports.parsing import Sheet

CHUNK = 2000  # codes per IN (...) lookup: stays under every database's parameter limit


def chunked(values, size: int = CHUNK):
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start:start + size]


def fetch_in(queryset: QuerySet, lookup: str, values) -> list:
    """Rows whose `lookup` is in `values`, in a few queries whatever the number of values."""
    out = []
    for chunk in chunked(sorted(set(values))):
        out.extend(queryset.filter(**{f"{lookup}__in": chunk}))
    return out


@dataclass
class KindResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return self.created + self.updated


class WriteRefused(Exception):  # noqa: N818 - row errors found only while writing
    def __init__(self, errors: list[RowError]):
        super().__init__(errors)
        self.errors = errors


class Kind:
    """One kind of import: its columns, validation into a plan, the write and the export."""

    key = ""
    label = ""
    sheet_names: tuple[str, ...] = ()
    columns: list[Column] = []
    rules = ""  # shown on the import page: what an import of this kind does

    @classmethod
    def importable_columns(cls) -> list[Column]:
        return [c for c in cls.columns if not c.export_only]

    item_code_keys: tuple[str, ...] = ()  # columns holding item codes (loaded up front)

    def validate(self, batch: "Batch", rows: list[Row]) -> None:
        """Check every row and put the plan in batch.plans[key]; errors go to the batch."""
        raise NotImplementedError

    def write(self, batch: "Batch", audit) -> KindResult:
        """Carry out the validated plan with bulk statements; audit entries to `audit`."""
        raise NotImplementedError

    def export_rows(self):
        raise NotImplementedError


class Batch:
    """What the kinds share while one file is validated and written."""

    def __init__(self, *, actor=None, filename: str = "", lock: bool = False):
        self.actor = actor
        self.filename = filename
        self.lock = lock                        # select_for_update what may be changed
        self.errors: list[RowError] = []
        self.warnings: list[str] = []
        self.items: dict[str, Any] = {}         # code -> Item (final state, maybe unsaved)
        self.item_first_row: dict[str, Row] = {}
        self.routed: set[str] = set()           # item codes with an active routing after it
        self.steps: dict[str, set[int]] = {}    # item code -> routing step numbers after it
        self.plans: dict[str, Any] = {}         # kind key -> that kind's plan
        self.work_centers: dict[str, Any] = {}  # code -> WorkCenter
        self.routings: dict[tuple, Any] = {}    # (item code, version) -> Routing in the DB
        self.routing_steps: dict[tuple, Any] = {}   # (item code, version, seq) -> step
        self.boms: dict[tuple, Any] = {}        # (item code, version) -> BOMVersion in the DB
        self.bom_lines: dict[tuple, Any] = {}   # (parent code, version, child code) -> line
        self.missing_routings: list[str] = []

    def load(self, rows_by_kind: dict[str, list[Row]], kinds: dict[str, type["Kind"]]) -> None:
        """Everything the rows refer to, in a fixed number of queries (chunks of 2,000)."""
        from planning.models import BOMLine, BOMVersion, Item, Routing, RoutingStep, WorkCenter

        codes = {row.values[key] for kind, rows in rows_by_kind.items()
                 for row in rows for key in kinds[kind].item_code_keys if row.values.get(key)}
        for item in fetch_in(self.lock_qs(Item.objects.all()), "code", codes):
            self.items[item.code] = item
        if "routings" in rows_by_kind:
            wc_codes = {r.values["work_center_code"] for r in rows_by_kind["routings"]
                        if r.values.get("work_center_code")}
            self.work_centers = {wc.code: wc for wc in fetch_in(WorkCenter.objects.all(),
                                                                 "code", wc_codes)}
        routings = self.lock_qs(Routing.objects.select_related("item"))
        for routing in fetch_in(routings, "item__code", codes):
            self.routings[(routing.item.code, routing.version)] = routing
            if routing.active:
                self.routed.add(routing.item.code)
        if "routings" in rows_by_kind or "bom" in rows_by_kind:
            steps = self.lock_qs(RoutingStep.objects.select_related("routing__item",
                                                                     "work_center"))
            for step in fetch_in(steps, "routing__item__code", codes):
                code = step.routing.item.code
                self.routing_steps[(code, step.routing.version, step.seq)] = step
                self.steps.setdefault(code, set()).add(step.seq)
        if "bom" in rows_by_kind:
            parents = {r.values["parent_item_code"] for r in rows_by_kind["bom"]
                       if r.values.get("parent_item_code")}
            boms = self.lock_qs(BOMVersion.objects.select_related("item"))
            for bom in fetch_in(boms, "item__code", parents):
                self.boms[(bom.item.code, bom.version)] = bom
            lines = self.lock_qs(BOMLine.objects.select_related("bom__item", "child"))
            for line in fetch_in(lines, "bom__item__code", parents):
                self.bom_lines[(line.bom.item.code, line.bom.version, line.child.code)] = line

    def bom_edges(self):
        """Every parent → component link of every BOM in the database (one query)."""
        from planning.models import BOMLine

        return BOMLine.objects.values_list("bom__item__code", "child__code").distinct()

    def unknown_item_reason(self, code: str) -> str:
        return _("Unknown item code %(code)s: not in the database and not in this file's "
                 "items.") % {"code": code}

    def require_routings(self, uses: dict[str, tuple[Row, str]]) -> None:
        """A made item that is used or ordered must have an active routing after the import."""
        from planning.models import Item

        for code, (row, column) in uses.items():
            item = self.items.get(code)
            if item is None or item.kind != Item.Kind.MAKE or code in self.routed:
                continue
            if code not in self.missing_routings:
                self.missing_routings.append(code)
            self.add(row.error(column, _(
                "Made item %(code)s has no active routing, neither in the database nor in this "
                "import.") % {"code": code}))

    def add(self, error: RowError) -> None:
        self.errors.append(error)

    def lock_qs(self, queryset: QuerySet) -> QuerySet:
        return queryset.select_for_update(of=("self",)) if self.lock else queryset

    @property
    def reason(self) -> str:
        return f"import {self.filename}"


def read_rows(sheet: Sheet, kind: type[Kind], batch: Batch) -> list[Row] | None:
    """Parse every cell of the sheet into typed values, collecting all cell errors.

    None when a required column is missing (each missing one is reported by name).
    """
    columns = kind.importable_columns()
    # Export-only columns (an order's status) are recognised, so not reported, and skipped.
    found, duplicates, unknown = match_header(sheet.header, kind.columns)
    found = {k: i for k, i in found.items() if k in {c.key for c in columns}}
    for text in duplicates:
        batch.add(RowError(sheet.name, sheet.header_row, text, "",
                           _("This column appears twice.")))
    missing = [c for c in columns if c.required and c.key not in found]
    for column in missing:
        batch.add(RowError(sheet.name, sheet.header_row, column.header, "",
                           _("Required column missing (header %(en)s or %(zh)s).")
                           % {"en": column.key, "zh": column.zh}))
    if unknown:
        batch.warnings.append(_("Sheet %(sheet)s: columns ignored: %(columns)s.")
                              % {"sheet": sheet.name, "columns": join_list(unknown)})
    if missing or duplicates:
        return None
    headers = {key: sheet.header[index] for key, index in found.items()}
    by_key = {c.key: c for c in columns}
    rows = []
    for number, cells in sheet.rows:
        raw = {key: (cells[index] if index < len(cells) else None)
               for key, index in found.items()}
        row = Row(sheet=sheet.name, number=number, raw=raw, headers=headers)
        for key, value in raw.items():
            column = by_key[key]
            if value is None:
                if column.required:
                    batch.add(row.error(key, _("Required: this cell is empty.")))
                    row.failed.add(key)
                else:
                    row.values[key] = None
                continue
            try:
                row.values[key] = column.parse(value)
            except ValueError as exc:
                batch.add(row.error(key, str(exc)))
                row.failed.add(key)
        rows.append(row)
    return rows


def detect_kind(sheet: Sheet, kinds: dict[str, type[Kind]]) -> type[Kind] | None:
    """By sheet name first (our templates and exports name them), then by the header."""
    name = sheet.name.strip().lower()
    for kind in kinds.values():
        if name in {n.lower() for n in (kind.key, *kind.sheet_names)}:
            return kind
    best, best_score = None, (0, 0)
    for kind in kinds.values():
        columns = kind.importable_columns()
        found = match_header(sheet.header, columns)[0]
        required = [c.key for c in columns if c.required]
        complete = all(k in found for k in required)
        score = (1 if complete else 0, len(found) if complete
                 else sum(1 for k in required if k in found))
        if score > best_score:
            best, best_score = kind, score
    # A sheet matching no required column of any kind is not ours to guess.
    return best if best_score[1] else None
