"""Writes of the dashboards app: the KPI targets (the only thing people change here) and the
work-report rollup the KPI pages read for closed days."""

import datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, ExpressionWrapper, F, FloatField, Max, Min, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from dashboards.kpis import KPIS
from dashboards.models import KpiTarget, ReportDay, RollupState
from dashboards.periods import Period, Scope, local_midnight
from dashboards.selectors.sources import WORK_REPORTS
from execution.models import WorkReport
from mes.audit import audit_record, snapshot
from mes.models import AuditEntry
from mes.system_text import system_text


@transaction.atomic
def kpi_targets_save(*, actor, values: dict) -> list[KpiTarget]:
    """Set the targets given ({key: Decimal or None}). Before: known KPIs that have a target,
    values ≥ 0 (percentages ≤ 100). After: one row per changed target, each audit-logged."""
    errors = {}
    for key, value in values.items():
        kdef = KPIS.get(key)
        if kdef is None or not kdef.better:
            errors[key] = _("%(key)s has no target.") % {"key": key}
        elif value is not None and (value < 0 or (kdef.unit == "%" and value > 100)):
            errors[key] = _("%(kpi)s: the target must be between 0 and %(max)s.") % {
                "kpi": kdef.label, "max": 100 if kdef.unit == "%" else "∞"}
    if errors:
        raise ValidationError(errors)
    existing = {t.key: t for t in KpiTarget.objects.select_for_update().filter(
        key__in=list(values))}
    changed = []
    for key, value in values.items():
        value = None if value is None else Decimal(value)
        row = existing.get(key)
        current = row.value if row is not None else KPIS[key].default_target
        if row is not None and row.value == value or row is None and current == value:
            continue
        if row is None:
            row = KpiTarget.objects.create(key=key, value=value, updated_by=actor)
            audit_record(actor=actor, instance=row, action=AuditEntry.Action.CREATE,
                         reason=system_text("KPI target set"))
        else:
            before = snapshot(row, ["value"])
            row.value, row.updated_by = value, actor
            row.save(update_fields=["value", "updated_by", "updated_at"])
            audit_record(actor=actor, instance=row, action=AuditEntry.Action.UPDATE,
                         before=before, after=snapshot(row, ["value"]),
                         reason=system_text("KPI target changed"))
        changed.append(row)
    return changed


def report_day_aggregates() -> dict:
    """ReportDay field -> the aggregate over WorkReport it holds: the KPI definitions' own."""
    from dashboards.kpis import timely_q

    qty = F("good") + F("scrap")
    # Named sum_<field>: an annotation called "good" would shadow the column in `qty`.
    return {"sum_reports": Count("pk"), "sum_timely": Count("pk", filter=timely_q()),
            "sum_good": Sum("good"), "sum_total": Sum(qty),
            "sum_ideal_minutes": Sum(ExpressionWrapper(qty * F("task__run_minutes_per_unit"),
                                                       output_field=FloatField()))}


@transaction.atomic
def report_days_roll_up(*, through: datetime.date | None = None, rebuild: bool = False) -> int:
    """Add the closed plant days' work reports to the ReportDay rollup.

    Before: nothing (idempotent). After: every day up to `through` (default and at most:
    yesterday) is in ReportDay, counted with the current report grace. A rollup made with
    another grace, or `rebuild`, is made again from the first report; days that gained a
    report after they were rolled up (a backdated import) are made again from the earliest
    such day. Returns how many days were (re)made."""
    from dashboards.selectors.rollup import ROLLUP_KEY

    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    through = min(through or yesterday, yesterday)  # today is not closed yet
    grace = settings.MES_REPORT_GRACE_MINUTES
    state, _created = RollupState.objects.select_for_update().get_or_create(
        key=ROLLUP_KEY, defaults={"grace_minutes": grace})
    high_water = WorkReport.objects.aggregate(m=Max("pk"))["m"] or 0
    if rebuild or state.grace_minutes != grace:
        state.through_day, state.grace_minutes = None, grace
    if state.through_day is not None:
        through = max(through, state.through_day)  # never shrinks: its days stay valid
        first = state.through_day + datetime.timedelta(days=1)
        late = (WorkReport.objects.filter(pk__gt=state.high_water, reported_at__lt=local_midnight(
            first)).aggregate(m=Min("reported_at"))["m"])
        if late is not None:
            first = timezone.localtime(late).date()
    else:
        earliest = WorkReport.objects.aggregate(m=Min("reported_at"))["m"]
        first = timezone.localtime(earliest).date() if earliest else through
    ReportDay.objects.filter(day__gte=first).delete()
    if first <= through:
        aggregates = report_day_aggregates()
        rows = (WORK_REPORTS.queryset(Period.of_dates(first, through), Scope()).order_by()
                .annotate(d=TruncDate("reported_at", tzinfo=timezone.get_current_timezone()))
                .values("d", "work_center_id").annotate(**aggregates))
        ReportDay.objects.bulk_create(
            [ReportDay(day=r["d"], work_center_id=r["work_center_id"],
                       **{name[4:]: r[name] or 0 for name in aggregates})
             for r in rows], batch_size=5000)
    state.through_day = max(through, state.through_day or through)
    state.high_water = high_water
    state.save()
    return max(0, (through - first).days + 1)
