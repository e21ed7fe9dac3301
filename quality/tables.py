"""The quality list tables (django-tables2); every list exports to CSV and XLSX as shown."""

import django_tables2 as tables
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from mes.tables import BaseTable, LocalDateTimeColumn, LocalizedNameColumn, YesNoColumn
from planning.models import WorkOrder
from quality.forms import plain
from quality.models import (
    ArchivedRecord,
    DefectCode,
    Inspection,
    InspectionPlan,
    Nonconformance,
)

BADGES = {"pending": "badge-warn", "passed": "badge-ok", "failed": "badge-bad",
          "open": "badge-bad", "in_rework": "badge-warn", "closed": "badge-ok",
          "rework": "badge-warn", "scrap": "badge-bad", "use_as_is": "badge-ok"}


# Table links open the record's page: not boosted, or htmx would swap that page into the list
# container (mes/object_list.html boosts #object-list for sorting and paging).
NOT_BOOSTED = {"hx-boost": "false"}


def url_to(name, attr="pk"):
    def link(record):
        return reverse(name, args=[getattr(record, attr)])
    return link


class QtyColumn(tables.Column):
    """A quantity without its trailing zeros (10.0000 -> 10)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("attrs", {"td": {"class": "num"}, "th": {"class": "num"}})
        super().__init__(*args, **kwargs)

    def render(self, value):
        return plain(value)

    def value(self, value):
        return plain(value)


class BadgeColumn(tables.Column):
    """A status as a coloured badge; exports its label."""

    def render(self, value, record, bound_column):
        raw = getattr(record, bound_column.accessor.split("__")[-1], "")
        return format_html('<span class="badge {}" data-status="{}">{}</span>',
                           BADGES.get(raw, ""), raw, value)

    def value(self, value):
        return value


def waited(since, now=None) -> str:
    minutes = int(((now or timezone.now()) - since).total_seconds() // 60)
    if minutes < 60:
        return _("%(m)d min") % {"m": max(minutes, 0)}
    if minutes < 48 * 60:
        return _("%(h)d h %(m)d min") % {"h": minutes // 60, "m": minutes % 60}
    return _("%(d)d days") % {"d": minutes // (24 * 60)}


class StepColumn(tables.Column):
    def render(self, value):
        return f"{value.seq} {value.name}"

    def value(self, value):
        return f"{value.seq} {value.name}"


class QCQueueTable(BaseTable):
    work_order = tables.Column(verbose_name=_("work order"), linkify=url_to("quality:record"),
                               attrs={"a": NOT_BOOSTED | {"data-testid": "queue-record"}})
    item = tables.Column(verbose_name=_("item"), accessor="work_order__item__code")
    step = StepColumn(verbose_name=_("step"), accessor="origin_task", orderable=False)
    work_center = tables.Column(verbose_name=_("work center"),
                                accessor="origin_task__work_center__code")
    line = tables.Column(verbose_name=_("line"),
                         accessor="origin_task__work_center__line__code")
    loop = tables.Column(verbose_name=_("loop"), attrs={"td": {"class": "num"}})
    quantity = QtyColumn(verbose_name=_("lot quantity"))
    sample_size = QtyColumn(verbose_name=_("sample size"))
    plan = tables.Column(verbose_name=_("plan"), accessor="plan__code")
    created_at = LocalDateTimeColumn(verbose_name=_("waiting since"))
    waiting = tables.Column(verbose_name=_("waiting"), accessor="created_at", orderable=False,
                            empty_values=())
    record = tables.Column(verbose_name="", accessor="pk", orderable=False,
                           exclude_from_export=True)

    class Meta(BaseTable.Meta):
        model = Inspection
        fields = ()
        sequence = ("work_order", "item", "step", "work_center", "line", "loop", "quantity",
                    "sample_size", "plan", "created_at", "waiting", "record")
        row_attrs = {"data-testid": "queue-row", "data-inspection": lambda record: record.pk}

    def render_waiting(self, value):
        return waited(value)

    def value_waiting(self, value):
        return int((timezone.now() - value).total_seconds() // 60)

    def render_record(self, value):
        return format_html('<a class="btn btn-primary btn-sm" href="{}" hx-boost="false">{}</a>',
                           reverse("quality:record", args=[value]), _("Record"))


class InspectionTable(BaseTable):
    created_at = LocalDateTimeColumn(verbose_name=_("created"))
    work_order = tables.Column(verbose_name=_("work order"),
                               linkify=url_to("quality:inspection_detail"),
                               attrs={"a": NOT_BOOSTED})
    item = tables.Column(verbose_name=_("item"), accessor="work_order__item__code")
    step = StepColumn(verbose_name=_("step"), accessor="origin_task", orderable=False)
    loop = tables.Column(verbose_name=_("loop"), attrs={"td": {"class": "num"}})
    quantity = QtyColumn(verbose_name=_("lot quantity"))
    sample_size = QtyColumn(verbose_name=_("sample size"))
    qty_passed = QtyColumn(verbose_name=_("passed"))
    qty_failed = QtyColumn(verbose_name=_("failed"))
    status = BadgeColumn(verbose_name=_("status"))
    inspector = tables.Column(verbose_name=_("inspector"))
    inspected_at = LocalDateTimeColumn(verbose_name=_("inspected"))

    class Meta(BaseTable.Meta):
        model = Inspection
        fields = ()
        sequence = ("created_at", "work_order", "item", "step", "loop", "quantity",
                    "sample_size", "qty_passed", "qty_failed", "status", "inspector",
                    "inspected_at")


class NonconformanceTable(BaseTable):
    number = tables.Column(verbose_name=_("number"), linkify=url_to("quality:nc_detail"),
                           attrs={"a": NOT_BOOSTED | {"data-testid": "nc-link"}})
    created_at = LocalDateTimeColumn(verbose_name=_("created"))
    work_order = tables.Column(verbose_name=_("work order"))
    item = tables.Column(verbose_name=_("item"), accessor="work_order__item__code")
    step = StepColumn(verbose_name=_("responsible step"), accessor="responsible_task",
                      orderable=False)
    work_center = tables.Column(verbose_name=_("work center"),
                                accessor="responsible_task__work_center__code")
    defect_code = tables.Column(verbose_name=_("defect code"), accessor="defect_code__code")
    quantity = QtyColumn(verbose_name=_("quantity"))
    loop = tables.Column(verbose_name=_("loop"), attrs={"td": {"class": "num"}})
    disposition = BadgeColumn(verbose_name=_("disposition"))
    status = BadgeColumn(verbose_name=_("status"))
    operator = tables.Column(verbose_name=_("operator"))

    class Meta(BaseTable.Meta):
        model = Nonconformance
        fields = ()
        sequence = ("number", "created_at", "work_order", "item", "step", "work_center",
                    "defect_code", "quantity", "loop", "disposition", "status", "operator")
        row_attrs = {"data-testid": "nc-row"}


class AcceptanceQueueTable(BaseTable):
    number = tables.Column(verbose_name=_("work order"),
                           linkify=url_to("quality:acceptance"),
                           attrs={"a": NOT_BOOSTED | {"data-testid": "acceptance-link"}})
    production_order = tables.Column(verbose_name=_("production order"))
    item = tables.Column(verbose_name=_("item"), accessor="item__code")
    item_name = LocalizedNameColumn("item", verbose_name=_("Name"))
    quantity = QtyColumn(verbose_name=_("quantity"))
    due = LocalDateTimeColumn(verbose_name=_("due"))
    actual_end = LocalDateTimeColumn(verbose_name=_("finished"))
    line = tables.Column(verbose_name=_("line"), accessor="line__code")
    open_ncs = tables.Column(verbose_name=_("open nonconformances"),
                             attrs={"td": {"class": "num"}})
    pending_inspections = tables.Column(verbose_name=_("inspections pending"),
                                        attrs={"td": {"class": "num"}})

    class Meta(BaseTable.Meta):
        model = WorkOrder
        fields = ()
        sequence = ("number", "production_order", "item", "item_name", "quantity", "due",
                    "actual_end", "line", "open_ncs", "pending_inspections")
        row_attrs = {"data-testid": "acceptance-row"}


class ArchiveTable(BaseTable):
    work_order = tables.Column(verbose_name=_("work order"),
                               linkify=url_to("quality:archive_detail"),
                               attrs={"a": NOT_BOOSTED})
    item = tables.Column(verbose_name=_("item"), accessor="work_order__item__code")
    archived_at = LocalDateTimeColumn(verbose_name=_("archived"))
    archived_by = tables.Column(verbose_name=_("archived by"))
    superseded_at = LocalDateTimeColumn(verbose_name=_("re-opened"))
    sha256 = tables.Column(verbose_name=_("checksum"), orderable=False)

    class Meta(BaseTable.Meta):
        model = ArchivedRecord
        fields = ()
        sequence = ("work_order", "item", "archived_at", "archived_by", "superseded_at",
                    "sha256")

    def render_sha256(self, value):
        return format_html('<code title="{}">{}…</code>', value, value[:12])


class InspectionPlanTable(BaseTable):
    code = tables.Column(verbose_name=_("code"), linkify=url_to("quality:plan_detail"),
                               attrs={"a": NOT_BOOSTED})
    name = tables.Column(verbose_name=_("name (Chinese)"))
    name_en = tables.Column(verbose_name=_("name (English)"))
    item = tables.Column(verbose_name=_("item"), accessor="item__code")
    sampling = tables.Column(verbose_name=_("sampling"))
    sample = tables.Column(verbose_name=_("sample"), accessor="pk", orderable=False)
    max_rework_loops = tables.Column(verbose_name=_("maximum rework loops"),
                                     attrs={"td": {"class": "num"}})
    n_characteristics = tables.Column(verbose_name=_("characteristics"),
                                      attrs={"td": {"class": "num"}})
    active = YesNoColumn(verbose_name=_("active"))

    class Meta(BaseTable.Meta):
        model = InspectionPlan
        fields = ()
        sequence = ("code", "name", "name_en", "item", "sampling", "sample",
                    "max_rework_loops", "n_characteristics", "active")

    def render_sample(self, record):
        return sample_text(record)

    def value_sample(self, record):
        return sample_text(record)


def sample_text(plan: InspectionPlan) -> str:
    S = InspectionPlan.Sampling
    if plan.sampling == S.N_PER_LOT:
        return _("%(n)s per lot") % {"n": plan.sample_n}
    if plan.sampling == S.PERCENT:
        return f"{plain(plan.sample_percent)} %"
    if plan.sampling == S.FIRST_ARTICLE:
        return _("1, first lot only")
    return _("all")


class DefectCodeTable(BaseTable):
    code = tables.Column(verbose_name=_("code"), linkify=url_to("quality:defect_edit"),
                               attrs={"a": NOT_BOOSTED})
    name = tables.Column(verbose_name=_("name (Chinese)"))
    name_en = tables.Column(verbose_name=_("name (English)"))
    n_nonconformances = tables.Column(verbose_name=_("nonconformances"),
                                      attrs={"td": {"class": "num"}})
    active = YesNoColumn(verbose_name=_("active"))

    class Meta(BaseTable.Meta):
        model = DefectCode
        fields = ()
        sequence = ("code", "name", "name_en", "n_nonconformances", "active")
