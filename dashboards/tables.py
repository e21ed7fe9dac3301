"""Drill-down tables: the exact records behind a KPI figure, one table per kind of record.

Computed columns (how late, how long, how much of a stop falls in the period) are worked out
from the row itself, so a page of 50 rows costs one query plus the count.
"""

import django_tables2 as tables
from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mes.roles import QUALITY_READERS, has_any
from mes.tables import BaseTable, LocalizedNameColumn, YesNoColumn


class LocalDateTimeColumn(tables.Column):
    """Plant-local time, formatted in Python (the template-based date column of
    django-tables2 compiles a template per cell, which a drill-down of 50 rows notices)."""

    def render(self, value):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")

    def value(self, value, **kwargs):
        return "" if value is None else self.render(value)


class QuantityColumn(tables.Column):
    """A decimal without its trailing zeros (11, not 11.0000)."""

    def render(self, value):
        return f"{value.normalize():f}" if hasattr(value, "normalize") else value

    def value(self, value, **kwargs):
        return value


def _url(name: str, pk) -> str | None:
    try:
        return reverse(name, args=[pk])
    except NoReverseMatch:  # that app has no page for it (yet)
        return None


def _quality_url(name: str, record, table) -> str | None:
    """A quality record's page, linked only for a reader who may open it (others see the
    number, not a link to a refusal)."""
    request = getattr(table, "request", None)
    if request is None or not has_any(request.user, QUALITY_READERS):
        return None
    return _url(name, record.pk)


def _hours(a, b) -> float | None:
    if a is None or b is None:
        return None
    return round((b - a).total_seconds() / 3600, 2)


class WorkOrderRecordsTable(BaseTable):
    number = tables.Column(verbose_name=_("work order"),
                           linkify=lambda record: _url("planning:work_order_detail", record.pk))
    production_order = tables.Column(accessor="production_order__number",
                                     verbose_name=_("production order"))
    item = tables.Column(accessor="item__code", verbose_name=_("item"))
    line = tables.Column(accessor="line__code", verbose_name=_("line"))
    due = LocalDateTimeColumn(verbose_name=_("due"))
    actual_end = LocalDateTimeColumn(verbose_name=_("completed"))
    late_h = tables.Column(verbose_name=_("late (h)"), empty_values=(), orderable=False)
    rework_tasks = tables.Column(verbose_name=_("rework tasks"), orderable=False)
    status = tables.Column(verbose_name=_("status"))

    class Meta(BaseTable.Meta):
        order_by = ("actual_end",)

    def render_late_h(self, record):
        late = _hours(record.due, record.actual_end)
        return late if late and late > 0 else 0

    def value_late_h(self, record):
        return self.render_late_h(record)


class WorkReportRecordsTable(BaseTable):
    reported_at = LocalDateTimeColumn(verbose_name=_("reported at"))
    work_end = LocalDateTimeColumn(verbose_name=_("work end"))
    delay_min = tables.Column(verbose_name=_("delay (min)"), empty_values=(), orderable=False)
    timely = tables.Column(verbose_name=_("in time"), empty_values=(), orderable=False)
    work_order = tables.Column(accessor="task__work_order__number",
                               verbose_name=_("work order"))
    step = tables.Column(accessor="task__seq", verbose_name=_("step"))
    operation = tables.Column(accessor="task__name", verbose_name=_("operation"))
    work_center = tables.Column(accessor="work_center__code", verbose_name=_("work center"))
    operator = tables.Column(accessor="operator__display_name", verbose_name=_("operator"))
    good = QuantityColumn(verbose_name=_("good"))
    scrap = QuantityColumn(verbose_name=_("scrap"))
    ideal_min = QuantityColumn(accessor="task__run_minutes_per_unit",
                              verbose_name=_("run time per unit (min)"))

    class Meta(BaseTable.Meta):
        order_by = ("reported_at",)

    def render_delay_min(self, record):
        return round((record.reported_at - record.work_end).total_seconds() / 60, 1)

    def value_delay_min(self, record):
        return self.render_delay_min(record)

    def value_timely(self, record):
        return self.render_delay_min(record) <= settings.MES_REPORT_GRACE_MINUTES

    def render_timely(self, record):
        return "✓" if self.value_timely(record) else "✗"


class InspectionRecordsTable(BaseTable):
    id = tables.Column(verbose_name=_("inspection"),
                       linkify=lambda record, table: _quality_url("quality:inspection_detail",
                                                                 record, table))
    inspected_at = LocalDateTimeColumn(verbose_name=_("inspected"))
    work_order = tables.Column(accessor="work_order__number", verbose_name=_("work order"))
    step = tables.Column(accessor="origin_task__name", verbose_name=_("inspected step"))
    work_center = tables.Column(accessor="origin_task__work_center__code",
                                verbose_name=_("work center"))
    loop = tables.Column(verbose_name=_("rework loop"))
    quantity = QuantityColumn(verbose_name=_("quantity inspected"))
    qty_passed = QuantityColumn(verbose_name=_("passed"))
    qty_failed = QuantityColumn(verbose_name=_("failed"))
    status = tables.Column(verbose_name=_("status"))

    class Meta(BaseTable.Meta):
        order_by = ("inspected_at",)


class NonconformanceRecordsTable(BaseTable):
    number = tables.Column(verbose_name=_("number"),
                           linkify=lambda record, table: _quality_url("quality:nc_detail", record,
                                                                     table))
    created_at = LocalDateTimeColumn(verbose_name=_("opened"))
    work_order = tables.Column(accessor="work_order__number", verbose_name=_("work order"))
    defect = tables.Column(accessor="defect_code__code", verbose_name=_("defect code"))
    defect_name = LocalizedNameColumn("defect_code", verbose_name=_("defect"))
    quantity = QuantityColumn(verbose_name=_("quantity"))
    disposition = tables.Column(verbose_name=_("disposition"))
    step = tables.Column(accessor="responsible_task__name", verbose_name=_("responsible step"))
    work_center = tables.Column(accessor="responsible_task__work_center__code",
                                verbose_name=_("work center"))

    class Meta(BaseTable.Meta):
        order_by = ("created_at",)


class AlertRecordsTable(BaseTable):
    id = tables.Column(verbose_name=_("alert"),
                       linkify=lambda record: _url("alerts:alert_detail", record.pk))
    raised_at = LocalDateTimeColumn(verbose_name=_("raised"))
    acknowledged_at = LocalDateTimeColumn(verbose_name=_("acknowledged"))
    ack_h = tables.Column(verbose_name=_("to acknowledge (h)"), empty_values=(),
                          orderable=False)
    resolved_at = LocalDateTimeColumn(verbose_name=_("resolved"))
    resolve_h = tables.Column(verbose_name=_("to resolve (h)"), empty_values=(),
                              orderable=False)
    severity = tables.Column(verbose_name=_("severity"))
    kind = tables.Column(verbose_name=_("kind"))
    subject_repr = tables.Column(verbose_name=_("subject"))
    work_center = tables.Column(accessor="work_center__code", verbose_name=_("work center"))

    class Meta(BaseTable.Meta):
        order_by = ("raised_at",)

    def render_ack_h(self, record):
        return _hours(record.raised_at, record.acknowledged_at)

    def value_ack_h(self, record):
        return self.render_ack_h(record)

    def render_resolve_h(self, record):
        return _hours(record.raised_at, record.resolved_at)

    def value_resolve_h(self, record):
        return self.render_resolve_h(record)


class DowntimeRecordsTable(BaseTable):
    equipment = tables.Column(accessor="equipment__code", verbose_name=_("equipment"))
    equipment_name = LocalizedNameColumn("equipment", verbose_name=_("Name"))
    work_center = tables.Column(accessor="equipment__work_center__code",
                                verbose_name=_("work center"))
    # Each stop opens its record (where a lead corrects it).
    start = LocalDateTimeColumn(verbose_name=_("start"),
                                linkify=("execution:downtime_detail", {"pk": tables.A("pk")}))
    end = LocalDateTimeColumn(verbose_name=_("end"))
    hours_in_period = tables.Column(verbose_name=_("hours in the period"), empty_values=(),
                                    orderable=False)
    planned = YesNoColumn(verbose_name=_("planned"))
    reason = LocalizedNameColumn("reason", verbose_name=_("reason"))

    class Meta(BaseTable.Meta):
        order_by = ("start",)

    def __init__(self, *args, period=None, **kwargs):
        self.period = period
        super().__init__(*args, **kwargs)

    def render_hours_in_period(self, record):
        end = record.end or timezone.now()
        if self.period is None:
            return _hours(record.start, end)
        s, e = max(record.start, self.period.start), min(end, self.period.end)
        return round(max(0.0, (e - s).total_seconds() / 3600), 2)

    def value_hours_in_period(self, record):
        return self.render_hours_in_period(record)


def records_table(queryset, *, period=None):
    """The table class and the list queryset (with what its columns read) for any drill-down
    queryset, by its model."""
    from django.db.models import Count, Q

    model = queryset.model._meta.label_lower
    if model == "planning.workorder":
        qs = queryset.select_related("production_order", "item", "line").annotate(
            rework_tasks=Count("tasks", filter=Q(tasks__kind="rework")))
        return WorkOrderRecordsTable(qs)
    if model == "execution.workreport":
        return WorkReportRecordsTable(queryset.select_related(
            "task", "task__work_order", "work_center", "operator"))
    if model == "quality.inspection":
        return InspectionRecordsTable(queryset.select_related(
            "work_order", "origin_task", "origin_task__work_center"))
    if model == "quality.nonconformance":
        return NonconformanceRecordsTable(queryset.select_related(
            "work_order", "defect_code", "responsible_task", "responsible_task__work_center"))
    if model == "alerts.alert":
        return AlertRecordsTable(queryset.select_related("work_center"))
    if model == "execution.downtimeevent":
        return DowntimeRecordsTable(queryset.select_related(
            "equipment", "equipment__work_center", "reason"), period=period)
    raise ValueError(f"No drill-down table for {model}")
