"""The ERP change feed: what was made, scrapped and consumed per work order, since a cursor.

An ERP polls GET /api/erp/feed/?cursor=<next_cursor of the last answer> and books every entry
once: nothing is missed and nothing comes twice. The cursor is two positions, "<event>-<lot>":
the outbox (reports, scrap decisions, completions, acceptances — each one an Event written in
the transaction of the change) and the material consumption table (lot issues).

Ids are taken at insert, not at commit: a lower id may still be in an open transaction when a
higher one is visible. Like the live stream (mes.stream.safe_prefix), the feed stops before a
gap until the row after it is MES_ERP_FEED_GRACE_SECONDS old (then the gap is a rollback), so
a slow transaction is waited for instead of skipped. Unlike the stream it also waits at cursor
0: an ERP starting from scratch must not skip the first rows either.
"""

import re
from collections import defaultdict
from decimal import Decimal

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from execution.models import MaterialConsumption, WorkReport
from mes.events import TOPIC_PLANT
from mes.models import Event
from planning.models import Task, WorkOrder
from quality.models import Nonconformance

CURSOR_RE = re.compile(r"^(\d{1,18})-(\d{1,18})$")
KINDS = ("task.reported", "nonconformance.decided", "work_order.completed",
         "work_order.accepted")
DEFAULT_LIMIT, MAX_LIMIT = 500, 2000


def grace_seconds() -> float:
    return float(getattr(settings, "MES_ERP_FEED_GRACE_SECONDS", 30.0))


def parse_cursor(raw: str | None) -> tuple[int, int]:
    """(event id, consumption id); ValueError when malformed."""
    if raw in (None, ""):
        return 0, 0
    match = CURSOR_RE.match(raw.strip())
    if match is None:
        raise ValueError(raw)
    return int(match.group(1)), int(match.group(2))


def commit_safe(rows, cursor: int, stamp: str, now, grace: float) -> list:
    """The rows up to the first gap that may still be an open transaction."""
    out, expected = [], cursor + 1
    for row in rows:
        if row.id != expected and (now - getattr(row, stamp)).total_seconds() < grace:
            break
        out.append(row)
        expected = row.id + 1
    return out


def erp_feed(*, cursor: str | None, limit: int = DEFAULT_LIMIT) -> dict:
    """One page of the feed. A fixed number of queries whatever the page holds."""
    event_pos, lot_pos = parse_cursor(cursor)
    limit = max(1, min(limit, MAX_LIMIT))
    now, grace = timezone.now(), grace_seconds()
    events = list(Event.objects.filter(id__gt=event_pos).order_by("id")
                  .only("id", "topic", "kind", "payload", "created_at")[:limit])
    safe_events = commit_safe(events, event_pos, "created_at", now, grace)
    lots = list(MaterialConsumption.objects.filter(id__gt=lot_pos).order_by("id")
                .select_related("work_order", "work_order__production_order",
                                "work_order__item", "item", "task")[:limit])
    safe_lots = commit_safe(lots, lot_pos, "at", now, grace)
    entries = _event_entries([e for e in safe_events
                              if e.topic == TOPIC_PLANT and e.kind in KINDS])
    entries += [_lot_entry(c) for c in safe_lots]
    next_events = safe_events[-1].id if safe_events else event_pos
    next_lots = safe_lots[-1].id if safe_lots else lot_pos
    return {
        "cursor": f"{event_pos}-{lot_pos}",
        "next_cursor": f"{next_events}-{next_lots}",
        "more": len(events) == limit or len(lots) == limit,
        "waiting": len(safe_events) < len(events) or len(safe_lots) < len(lots),
        "entries": entries,
        "work_orders": _summary(entries),
    }


def _wo_fields(wo: WorkOrder) -> dict:
    return {"work_order": wo.number, "production_order": wo.production_order.number,
            "erp_ref": wo.production_order.erp_ref, "item": wo.item.code}


def _event_entries(events) -> list[dict]:
    report_ids = [e.payload.get("report") for e in events if e.kind == "task.reported"]
    reports = WorkReport.objects.select_related(
        "task", "task__work_order", "task__work_order__production_order",
        "task__work_order__item", "scrap_reason", "operator").in_bulk(
        [r for r in report_ids if isinstance(r, int)])
    nc_numbers = [e.payload.get("nonconformance") for e in events
                  if e.kind == "nonconformance.decided" and e.payload.get("disposition") == "scrap"]
    ncs = Nonconformance.objects.select_related(
        "work_order", "work_order__production_order", "work_order__item", "responsible_task",
        "defect_code").in_bulk([n for n in nc_numbers if isinstance(n, str)],
                               field_name="number")
    wo_numbers = [e.payload.get("work_order") for e in events if e.kind.startswith("work_order")]
    wos = WorkOrder.objects.select_related("production_order", "item").in_bulk(
        [n for n in wo_numbers if isinstance(n, str)], field_name="number")
    totals = _totals([wo.pk for wo in wos.values()])
    last_seq = _last_steps({r.task.work_order_id for r in reports.values()})
    out = []
    for event in events:
        base = {"cursor": f"e{event.id}", "at": event.created_at}
        if event.kind == "task.reported" and event.payload.get("report") in reports:
            r = reports[event.payload["report"]]
            last = r.task.kind == Task.Kind.NORMAL and last_seq.get(r.task.work_order_id) == \
                r.task.seq
            out.append({**base, "type": "report", **_wo_fields(r.task.work_order),
                        "operation": r.task.seq, "last_operation": last, "good": r.good,
                        "scrap": r.scrap, "completed": r.good if last else Decimal(0),
                        "scrap_reason": r.scrap_reason.code if r.scrap_reason else None,
                        "report": r.pk, "operator": r.operator.username, "at": r.work_end})
        elif event.kind == "nonconformance.decided" and \
                event.payload.get("nonconformance") in ncs:
            nc = ncs[event.payload["nonconformance"]]
            out.append({**base, "type": "scrap", **_wo_fields(nc.work_order),
                        "operation": nc.responsible_task.seq, "scrap": nc.quantity,
                        "defect_code": nc.defect_code.code, "nonconformance": nc.number})
        elif event.kind in ("work_order.completed", "work_order.accepted") and \
                event.payload.get("work_order") in wos:
            wo = wos[event.payload["work_order"]]
            good, scrap = totals.get(wo.pk, (Decimal(0), Decimal(0)))
            out.append({**base, "type": event.kind.split(".")[1], **_wo_fields(wo),
                        "quantity": wo.quantity, "good": good, "scrap": scrap})
    return out


def _last_steps(wo_ids) -> dict:
    rows = (Task.objects.filter(work_order_id__in=wo_ids, kind=Task.Kind.NORMAL)
            .exclude(status=Task.Status.CANCELLED).values_list("work_order_id", "seq"))
    last = {}
    for wo_id, seq in rows:
        last[wo_id] = max(seq, last.get(wo_id, seq))
    return last


def _totals(wo_ids) -> dict:
    """Work order -> (good of its last operation, scrap of all its operations)."""
    last = _last_steps(wo_ids)
    good = defaultdict(Decimal)
    for wo_id, seq, qty in (Task.objects.filter(work_order_id__in=wo_ids,
                                                kind=Task.Kind.NORMAL)
                            .values_list("work_order_id", "seq", "qty_good")):
        if last.get(wo_id) == seq:
            good[wo_id] += qty
    scrap = dict(Task.objects.filter(work_order_id__in=wo_ids, kind=Task.Kind.NORMAL)
                 .values("work_order_id").annotate(s=Sum("qty_scrap"))
                 .values_list("work_order_id", "s"))
    return {wo_id: (good[wo_id], scrap.get(wo_id) or Decimal(0)) for wo_id in wo_ids}


def _lot_entry(c: MaterialConsumption) -> dict:
    return {"cursor": f"c{c.id}", "at": c.at, "type": "consumption", **_wo_fields(c.work_order),
            "operation": c.task.seq if c.task else None, "component": c.item.code,
            "lot": c.lot_code, "quantity": c.quantity, "consumption": c.pk}


def _summary(entries) -> list[dict]:
    """Per work order: completed (good at the last operation), scrap and lots, in this page."""
    rows: dict[str, dict] = {}
    for e in entries:
        row = rows.setdefault(e["work_order"], {
            "work_order": e["work_order"], "production_order": e["production_order"],
            "erp_ref": e["erp_ref"], "item": e["item"], "completed": Decimal(0),
            "scrap": Decimal(0), "consumption": defaultdict(Decimal)})
        if e["type"] == "report":
            row["completed"] += e["completed"]
            row["scrap"] += e["scrap"]
        elif e["type"] == "scrap":
            row["scrap"] += e["scrap"]
        elif e["type"] == "consumption":
            row["consumption"][e["component"]] += e["quantity"]
    for row in rows.values():
        row["consumption"] = [{"component": k, "quantity": v}
                              for k, v in sorted(row["consumption"].items())]
    return list(rows.values())
