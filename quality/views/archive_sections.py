"""How an archived record's plain data is shown: sections, their columns and cell formats.

Shared by the archive page and its XLSX export so both show the same thing."""

import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import FieldDoesNotExist
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from execution.models import TaskActivity
from mes.labels import join_clauses, join_list, labelled
from mes.models import AuditEntry, field_label
from mes.system_text import render as render_system_text
from planning.models import ProductionOrder, Task, WorkOrder
from quality.models import Acceptance, Inspection, Nonconformance
from quality.services.acceptance import delivery_shortfall

# Keys whose values are times (ISO strings in the JSON) or quantities (decimal strings).
TIMES = {"at", "start", "end", "work_start", "work_end", "reported_at", "inspected_at",
         "planned_start", "planned_end", "actual_start", "actual_end", "due"}
QUANTITIES = {"quantity", "qty_good", "qty_scrap", "qty_rework", "qty_qc_accepted", "qty_short",
              "short_qty", "good", "scrap", "sample_size", "qty_passed", "qty_failed", "value",
              "characteristic__lower", "characteristic__upper"}

WORK_ORDER_FIELDS = (
    ("number", _("work order")), ("production_order", _("production order")),
    ("customer", _("customer")), ("item", _("item")), ("item_name", _("Name")),
    ("quantity", _("quantity")), ("level", _("BOM level")), ("parent", _("parent work order")),
    ("children", _("child work orders")), ("line", _("line")),
    ("responsible", _("responsible")), ("due", _("due")), ("actual_start", _("actual start")),
    ("actual_end", _("actual finish")),
)

# section key -> (title, [(data key, column label)])
SECTIONS = (
    ("tasks", _("Tasks and quantities"), (
        ("seq", _("step")), ("name", _("operation")), ("kind", _("kind")),
        ("work_center__code", _("work center")), ("quantity", _("planned")),
        ("qty_good", _("good")), ("qty_scrap", _("scrap")), ("qty_rework", _("in rework")),
        ("qty_qc_accepted", _("accepted by QC")), ("qty_short", _("completed short by")),
        ("status", _("status")), ("actual_start", _("actual start")),
        ("actual_end", _("actual finish")))),
    ("reports", _("Work reports"), (
        ("task_id", _("step")), ("operator__display_name", _("operator")),
        ("operator__username", _("account")), ("work_center__code", _("work center")),
        ("equipment__code", _("equipment")), ("good", _("good")), ("scrap", _("scrap")),
        ("scrap_reason__code", _("scrap reason")), ("work_start", _("work start")),
        ("work_end", _("work end")), ("reported_at", _("reported at")),
        ("late", _("late entry")))),
    ("operators", _("Operators"), (
        ("name", _("operator")), ("username", _("account")), ("reports", _("reports")),
        ("good", _("good")), ("scrap", _("scrap")))),
    ("equipment", _("Equipment"), (
        ("code", _("equipment")), ("reports", _("reports")), ("good", _("good")))),
    ("activities", _("Start, pause, finish"), (
        ("task_id", _("step")), ("kind", _("what")), ("at", _("when")),
        ("operator", _("operator")), ("short_qty", _("completed short by")),
        ("reason", _("reason")))),
    ("downtime", _("Downtime of the equipment used"), (
        ("equipment__code", _("equipment")), ("reason__code", _("reason")),
        ("start", _("start")), ("end", _("end")), ("planned", _("planned")))),
    ("inspections", _("Inspections"), (
        ("id", _("inspection")), ("origin_task__seq", _("step")), ("loop", _("loop")),
        ("plan__code", _("plan")), ("quantity", _("lot quantity")),
        ("sample_size", _("sample size")), ("qty_passed", _("passed")),
        ("qty_failed", _("failed")), ("status", _("status")),
        ("inspector", _("inspector")), ("inspected_at", _("inspected")),
        ("notes", _("notes")))),
    ("results", _("Measurements"), (
        ("inspection_id", _("inspection")), ("characteristic__name", _("characteristic")),
        ("value", _("measured value")), ("characteristic__lower", _("lower limit")),
        ("characteristic__upper", _("upper limit")), ("passed", _("passed")),
        ("photo", _("photo")))),
    ("nonconformances", _("Nonconformance and rework"), (
        ("number", _("number")), ("inspection_id", _("inspection")),
        ("responsible_task__seq", _("responsible step")),
        ("defect_code__code", _("defect code")), ("quantity", _("quantity")),
        ("loop", _("loop")), ("disposition", _("disposition")), ("status", _("status")),
        ("rework_task_id", _("rework task")), ("operator", _("operator")),
        ("equipment__code", _("equipment")), ("dispositioned_by", _("decided by")),
        ("approved_by", _("approved by")))),
    ("materials", _("Materials required"), (
        ("item__code", _("component")), ("quantity", _("required")),
        ("operation_seq", _("consumed at step")))),
    ("consumptions", _("Materials and lots used"), (
        ("item__code", _("component")), ("lot_code", _("lot")), ("quantity", _("quantity")),
        ("task_id", _("step")), ("operator", _("operator")), ("at", _("when")))),
    ("acceptances", _("Acceptance"), (
        ("verdict", _("verdict")), ("by", _("signed by")), ("at", _("when")),
        ("reason", _("reason")))),
    ("audit", _("Audit trail"), (
        ("at", _("when")), ("actor_repr", _("who")), ("action", _("action")),
        ("object_repr", _("record")), ("changes", _("changes")), ("reason", _("why")))),
)


# (section, key) -> the choices whose labels show instead of the stored codes.
LABELS = {
    ("tasks", "kind"): Task.Kind, ("tasks", "status"): Task.Status,
    ("activities", "kind"): TaskActivity.Kind, ("inspections", "status"): Inspection.Status,
    ("nonconformances", "disposition"): Nonconformance.Disposition,
    ("nonconformances", "status"): Nonconformance.Status,
    ("acceptances", "verdict"): Acceptance.Verdict, ("audit", "action"): AuditEntry.Action,
}


def _label(section: str, key: str, value):
    choices = LABELS.get((section, key))
    if choices is None or value in (None, ""):
        return None
    return str(dict(choices.choices).get(value, value))


def cell(key: str, value, steps: dict | None = None):
    """One value as people read it (local time, quantities without trailing zeros)."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return str(_("yes")) if value else str(_("no"))
    if key == "task_id" and steps is not None:
        return steps.get(value, value)
    if key in TIMES and isinstance(value, str):
        moment = parse_datetime(value)
        if moment is not None:
            if timezone.is_aware(moment):
                moment = timezone.localtime(moment)
            return moment.strftime("%Y-%m-%d %H:%M")
        return value
    if key in QUANTITIES:
        try:
            return f"{Decimal(str(value)).normalize():f}"
        except InvalidOperation:
            return value
    if isinstance(value, list):
        return join_list(value)
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    return value


def work_order_rows(wo: dict) -> list[tuple]:
    return [(label, cell(key, wo.get(key))) for key, label in WORK_ORDER_FIELDS]


def shortfall(data: dict) -> str:
    """“3 of 4 good (1 scrapped)” when the archived work order was accepted short, else ""."""
    tasks = [t for t in data.get("tasks", []) if t.get("status") != Task.Status.CANCELLED]
    return delivery_shortfall(data.get("work_order", {}).get("quantity") or 0, tasks)


def _people(reports: list[dict]) -> tuple[list[dict], list[dict]]:
    """Who worked on it and on which equipment, from the reports (no queries)."""
    people, machines = {}, {}
    for r in reports:
        p = people.setdefault(r.get("operator__username"), {
            "name": r.get("operator__display_name") or r.get("operator__username"),
            "username": r.get("operator__username"), "reports": 0, "good": Decimal(0),
            "scrap": Decimal(0)})
        p["reports"] += 1
        p["good"] += Decimal(str(r.get("good") or 0))
        p["scrap"] += Decimal(str(r.get("scrap") or 0))
        if r.get("equipment__code"):
            m = machines.setdefault(r["equipment__code"], {"code": r["equipment__code"],
                                                           "reports": 0, "good": Decimal(0)})
            m["reports"] += 1
            m["good"] += Decimal(str(r.get("good") or 0))
    return list(people.values()), list(machines.values())


def _short(value, model=None, name="") -> str:
    """An audit value in a line: local times to the minute, a stored code by its label,
    nothing for empty."""
    if value in (None, ""):
        return "—"
    if model is not None and isinstance(value, str):
        try:
            choices = dict(model._meta.get_field(name).flatchoices)
        except FieldDoesNotExist:  # a key kept beside the fields (an explosion's counts)
            choices = {}
        if value in choices:
            return str(choices[value])
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and "T" in value:
        return cell("at", value)
    return str(value)


def _audit_changes(entry: dict) -> str:
    """“field: before → after” for what a change touched (a create lists nothing: its values
    are the record itself). Fields missing from the before-snapshot were not part of it."""
    before, after = entry.get("before"), entry.get("after") or {}
    if entry.get("action") == "create" or before is None:
        return ""
    record_model = AUDITED_BY_NAME.get(entry.get("content_type__model"))
    parts = []
    for name in entry.get("changed_fields") or []:
        if name in before:
            model = record_model or _model_with(name, before.get(name), after.get(name))
            parts.append(labelled(field_label(model, name),
                                  f"{_short(before.get(name), model, name)}"
                                  f" → {_short(after.get(name), model, name)}"))
    return join_clauses(parts)


# The records an archive's audit trail is about. Records archived before their entries kept
# the record type: a field name is looked up in this order.
AUDITED = (WorkOrder, Task, Inspection, Nonconformance, Acceptance, ProductionOrder)
AUDITED_BY_NAME = {m._meta.model_name: m for m in AUDITED}


def _model_with(name: str, *values):
    """The first audited model with that field whose choices (if any) hold every value given:
    a "status" going from paused to done is a task's, from pending to passed an inspection's."""
    found = None
    for model in AUDITED:
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        found = found or model
        choices = dict(field.flatchoices)
        if not choices or all(v in choices for v in values if isinstance(v, str) and v):
            return model
    return found


def _named(rows: list[dict], *people: str) -> list[dict]:
    """Rows with each person (`operator`, `by`, …) by name, as the reports show them; records
    archived before names were kept show the account."""
    return [dict(r, **{p: r.get(f"{p}__display_name") or r.get(f"{p}__username")
                       for p in people}) for r in rows]


# section -> the people its rows name (kept as `<person>__username` and `__display_name`)
PEOPLE = {"activities": ("operator",), "inspections": ("inspector",),
          "nonconformances": ("operator", "dispositioned_by", "approved_by"),
          "consumptions": ("operator",), "acceptances": ("by",)}


def sections(data: dict) -> list[dict]:
    """[{key, title, headers, rows}] for every section, rows as display strings."""
    steps = {t.get("id"): t.get("seq") for t in data.get("tasks", [])}
    operators, equipment = _people(data.get("reports", []))
    derived = {"operators": operators, "equipment": equipment,
               **{key: _named(data.get(key, []), *people) for key, people in PEOPLE.items()},
               "audit": [dict(e, changes=_audit_changes(e),
                               reason=render_system_text(e.get("reason_key"), e.get("reason", "")))
                         for e in data.get("audit", [])]}
    out = []
    for key, title, columns in SECTIONS:
        rows = derived.get(key, data.get(key, []))
        out.append({
            "key": key, "title": title, "headers": [label for _key, label in columns],
            "rows": [[_label(key, k, row.get(k)) or cell(k, row.get(k), steps)
                      for k, _title in columns] for row in rows],
        })
    return out
