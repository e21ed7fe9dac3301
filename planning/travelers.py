"""Travelers (工单流转卡): the printed sheet that follows a work order, and its QR codes.

QR payload format (what the printed codes hold and what stations accept)::

    MES:W:<token>   a work order   (WorkOrder.qr_token)
    MES:T:<token>   a task         (Task.qr_token)

`<token>` is the record's random `qr_token` (secrets.token_urlsafe(16): 22 characters of
A-Z a-z 0-9 - _, 128 random bits), so a code never carries a database id and nobody can edit a
printed code into another record's. The short `MES:` scheme lets a station tell our codes from
badges and supplier labels; the letter tells the kinds apart before any database lookup.

`scan_resolve()` is the single way back from a scan to a record, for the scan page here and
for the execution app's station pages. It is forgiving about how a scan arrives (surrounding
whitespace and the Enter a keyboard-wedge scanner adds, full-width ``：`` and letters typed
through a Chinese input method, an AIM symbology prefix such as ``]Q1``) and strict about
what it means: anything else, bare ids included, is refused with a ValidationError whose
`code` is one of "empty", "malformed", "unknown", "wrong_kind".

The traveler selectors below read a sheet in a fixed number of queries (3 for one work
order, 4 for every work order of a production order), whatever the number of tasks.
"""

import base64
import functools
import io
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

import qrcode
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from PIL import Image

from mes.quantities import quantity_text
from planning.models import MaterialRequirement, ProductionOrder, Task, WorkOrder

SCHEME = "MES"
TASK = "task"
WORK_ORDER = "work_order"
KIND_LETTERS = {"T": TASK, "W": WORK_ORDER}
LETTER_OF = {kind: letter for letter, kind in KIND_LETTERS.items()}
KIND_LABELS = {TASK: _("task"), WORK_ORDER: _("work order")}

# qr_token is at most 32 characters; today's tokens are 22. Short tokens (ids) never match.
_PAYLOAD_RE = re.compile(r"^MES:([TW]):([A-Za-z0-9_-]{16,32})$", re.IGNORECASE)
_TRAVELER_PREFIX_RE = re.compile(r"^MES:[TW]:", re.IGNORECASE)
_AIM_PREFIX_RE = re.compile(r"^\][A-Za-z][0-9A-Za-z]")  # "]Q1" etc., added by some scanners
_MAX_SCAN_LENGTH = 200

# Pixels per QR module. A version-3 code (37 modules with its quiet zone) becomes 296 px:
# printed 18 mm wide that is ~420 dpi, crisp in black and white on any office printer.
QR_SCALE = 8


# --- Payloads and QR images -------------------------------------------------------------------
def payload_for_task(task: Task) -> str:
    return f"{SCHEME}:{LETTER_OF[TASK]}:{task.qr_token}"


def payload_for_work_order(work_order: WorkOrder) -> str:
    return f"{SCHEME}:{LETTER_OF[WORK_ORDER]}:{work_order.qr_token}"


@functools.lru_cache(maxsize=4096)
def qr_png_data_uri(payload: str) -> str:
    """A PNG data URI of the payload's QR code (error correction Q: 25 % may be dirty).

    Drawn from the module matrix at an integer scale, so every module is a whole number of
    pixels. Cached: choosing the best mask dominates the cost (~5 ms), and tokens never change.
    """
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_Q, border=4)
    code.add_data(payload.encode("ascii"))
    code.make(fit=True)
    matrix = code.get_matrix()
    size = len(matrix)
    image = Image.new("1", (size, size), 1)
    image.putdata([0 if dark else 1 for row in matrix for dark in row])
    image = image.resize((size * QR_SCALE, size * QR_SCALE), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


# --- Scan resolution --------------------------------------------------------------------------
@dataclass(frozen=True)
class ScanTarget:
    """What a scanned code points at. For a task, `work_order` is the task's work order."""

    kind: str  # TASK or WORK_ORDER
    work_order: WorkOrder
    task: Task | None = None

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS[self.kind])


def normalize_scan(raw: str) -> str:
    """The scan as the printer wrote it: trimmed, ASCII, without a symbology prefix."""
    text = unicodedata.normalize("NFKC", raw or "").strip()  # NFKC: full-width → ASCII
    text = _AIM_PREFIX_RE.sub("", text, count=1) if text.startswith("]") else text
    return text.strip()


def damaged_traveler_code(text: str) -> bool:
    """A normalized scan that begins as one of our codes (MES:T: or MES:W:) but does not go on
    as one: a label read only in part (torn, smudged), or a code cut short when typed."""
    return bool(_TRAVELER_PREFIX_RE.match(text)) and _PAYLOAD_RE.match(text) is None


def traveler_code_parts(text: str) -> tuple[str, str] | None:
    """(kind, token) of a normalized scan that is one of our traveler codes, else None (no
    database read: scan_resolve finds what it names)."""
    match = _PAYLOAD_RE.match(text) if len(text) <= _MAX_SCAN_LENGTH else None
    return None if match is None else (KIND_LETTERS[match.group(1).upper()], match.group(2))


def scan_resolve(payload: str, *, kinds: Iterable[str] | None = None) -> ScanTarget:
    """Resolve a scanned traveler code to its task or work order.

    `kinds` limits what is acceptable here (e.g. {TASK} on a station's report form).
    Raises ValidationError (code "empty", "malformed", "unknown" or "wrong_kind").
    """
    text = normalize_scan(payload)
    if not text:
        raise ValidationError(_("Scanned code: nothing was scanned."), code="empty")
    match = _PAYLOAD_RE.match(text) if len(text) <= _MAX_SCAN_LENGTH else None
    if match is None:
        shown = text if len(text) <= 40 else text[:40] + "…"
        if damaged_traveler_code(text):
            raise ValidationError(
                _("Scanned code “%(code)s” is a traveler code, but incomplete or damaged: scan "
                  "it again."), code="malformed", params={"code": shown})
        raise ValidationError(
            _("Scanned code “%(code)s” is not a traveler code (expected MES:T:… for a task "
              "or MES:W:… for a work order)."), code="malformed", params={"code": shown})
    kind = KIND_LETTERS[match.group(1).upper()]
    token = match.group(2)
    allowed = set(kinds) if kinds is not None else {TASK, WORK_ORDER}
    if not allowed <= set(KIND_LABELS):
        raise ValueError(f"unknown scan kinds {allowed - set(KIND_LABELS)}")
    if kind not in allowed:
        raise ValidationError(
            _("Scanned code is a %(got)s code; scan a %(expected)s code here."),
            code="wrong_kind",
            params={"got": KIND_LABELS[kind],
                    "expected": " / ".join(str(KIND_LABELS[k]) for k in sorted(allowed))})
    if kind == TASK:
        task = (Task.objects.select_related("work_order", "work_order__production_order",
                                            "work_order__item", "work_center")
                .filter(qr_token=token).first())
        if task is not None:
            return ScanTarget(kind=TASK, work_order=task.work_order, task=task)
    else:
        work_order = (WorkOrder.objects.select_related("production_order", "item")
                      .filter(qr_token=token).first())
        if work_order is not None:
            return ScanTarget(kind=WORK_ORDER, work_order=work_order)
    raise ValidationError(
        _("Scanned code: no %(kind)s has this code. Is the traveler from another system, "
          "or was it altered?"), code="unknown", params={"kind": KIND_LABELS[kind]})


# --- Traveler sheets (reads) ------------------------------------------------------------------
# Bilingual on purpose: a sheet lying on the floor must be understood by everyone.
WATERMARK_DRAFT = pgettext_lazy("traveler watermark, bilingual on purpose", "DRAFT / 草稿")
WATERMARK_CANCELLED = pgettext_lazy("traveler watermark, bilingual on purpose",
                                    "CANCELLED / 已取消")


def traveler_watermark(work_order: WorkOrder) -> str:
    """Why this sheet must not be worked from yet (empty: it may)."""
    if work_order.status == WorkOrder.Status.CANCELLED:
        return str(WATERMARK_CANCELLED)
    # Not released yet: draft, or put on hold before its release.
    held_as_draft = (work_order.status == WorkOrder.Status.ON_HOLD
                     and work_order.held_from == WorkOrder.Status.DRAFT)
    if work_order.status == WorkOrder.Status.DRAFT or held_as_draft:
        return str(WATERMARK_DRAFT)
    return ""


@dataclass
class TravelerTask:
    task: Task
    payload: str
    qr: str
    quantity: str
    setup: str
    run: str


@dataclass
class TravelerMaterial:
    requirement: MaterialRequirement
    quantity: str
    step: int | None  # the step that consumes it (no step on the BOM line: the first one)


@dataclass
class Traveler:
    work_order: WorkOrder
    payload: str
    qr: str
    quantity: str
    watermark: str
    tasks: list[TravelerTask] = field(default_factory=list)
    materials: list[TravelerMaterial] = field(default_factory=list)
    work_centers: list = field(default_factory=list)  # in the order the steps use them


def traveler_work_orders():
    """Work orders with everything a sheet shows, in 3 queries whatever their size."""
    tasks = (Task.objects.exclude(status=Task.Status.CANCELLED).select_related("work_center")
             .order_by("seq", "id"))
    materials = MaterialRequirement.objects.select_related("item").order_by("item__code", "id")
    return (WorkOrder.objects
            .select_related("production_order", "item", "line", "responsible", "parent",
                            "parent__item")
            .prefetch_related(Prefetch("tasks", queryset=tasks, to_attr="traveler_tasks"),
                              Prefetch("materials", queryset=materials,
                                       to_attr="traveler_materials")))


def traveler_build(work_order: WorkOrder) -> Traveler:
    """The sheet of a work order fetched through traveler_work_orders() (no more queries)."""
    tasks = work_order.traveler_tasks
    first_step = tasks[0].seq if tasks else None
    work_centers = []
    for task in tasks:
        if task.work_center not in work_centers:
            work_centers.append(task.work_center)
    payload = payload_for_work_order(work_order)
    return Traveler(
        work_order=work_order, payload=payload, qr=qr_png_data_uri(payload),
        quantity=quantity_text(work_order.quantity),
        watermark=traveler_watermark(work_order),
        tasks=[TravelerTask(task=t, payload=payload_for_task(t),
                            qr=qr_png_data_uri(payload_for_task(t)),
                            quantity=quantity_text(t.quantity),
                            setup=quantity_text(t.setup_minutes),
                            run=quantity_text(t.run_minutes_per_unit)) for t in tasks],
        materials=[TravelerMaterial(requirement=m, quantity=quantity_text(m.quantity),
                                    step=m.operation_seq or first_step)
                   for m in work_order.traveler_materials],
        work_centers=work_centers,
    )


def traveler_for_work_order(pk: int) -> Traveler:
    """One work order's sheet. Raises WorkOrder.DoesNotExist."""
    return traveler_build(traveler_work_orders().get(pk=pk))


def travelers_for_production_order(pk: int) -> tuple[ProductionOrder, list[Traveler]]:
    """The sheets of every work order of a production order worth printing (not cancelled),
    top level first. Raises ProductionOrder.DoesNotExist."""
    order = ProductionOrder.objects.select_related("item").get(pk=pk)
    work_orders = (traveler_work_orders().filter(production_order=order)
                   .exclude(status=WorkOrder.Status.CANCELLED).order_by("level", "number"))
    return order, [traveler_build(wo) for wo in work_orders]
