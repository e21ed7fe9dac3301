"""Table base class and the core app's tables (django-tables2)."""

import django_tables2 as tables
from django.db.models import F, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone
from django.utils.safestring import SafeData
from django.utils.text import capfirst
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from django_tables2.columns import library

from mes.labels import join_list
from mes.models import AuditEntry, User
from mes.roles import ROLE_LABELS


def table_signatures_cached() -> None:
    """Make django-tables2 read each cell method's signature once, not once per cell.

    Every cell it renders or exports goes through django_tables2.utils.call_with_appropriate,
    which calls inspect.signature on the column's render/value method to pick its arguments:
    about 70 µs a cell here, 40 % of an audit-log export (12,900 entries, 11 s) and about a
    tenth of a 50-row list page. A function's signature does not change: it is kept, per
    function and whether it is bound (a bound method's drops `self`). The functions are the
    tables' and columns' own, made once per process; the cache is bounded all the same."""
    from django_tables2 import utils

    if getattr(utils.signature, "cached", False):
        return
    compute, cache = utils.signature, {}

    def signature(fn):
        key = (getattr(fn, "__func__", fn), hasattr(fn, "__self__"))
        try:
            return cache[key]
        except KeyError:
            pass
        except TypeError:  # an unhashable callable
            return compute(fn)
        result = compute(fn)
        if len(cache) < 4096:
            cache[key] = result
        return result

    signature.cached = True
    utils.signature = signature


class LocalDateTimeColumn(tables.DateTimeColumn):
    """Shows and exports plant-local time (exports carry no offset: Excel has none)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("format", "Y-m-d H:i")
        super().__init__(*args, **kwargs)

    def value(self, value, **kwargs):
        if value is None:
            return ""
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")


@library.register  # model BooleanFields get it too (user-registered columns win)
class YesNoColumn(tables.BooleanColumn):
    """A yes/no column: ✔/✘ in the list (as django-tables2's), and in exports "yes"/"no" in
    the reader's language, as the change histories show it, not Python's True/False."""

    def value(self, record, value, bound_column):
        yes = self._get_bool_value(record, value, bound_column)
        return gettext("yes") if yes else gettext("no")


class LocalizedNameColumn(tables.Column):
    """The name of a master-data record (planning's CodedNamed: `name`, `name_en`) in the
    active language, sorted by the name shown. `relation`: the related record's path ("" for
    the row itself), select_related by the list."""

    def __init__(self, relation: str = "", *args, **kwargs):
        self.prefix = f"{relation}__" if relation else ""
        kwargs.setdefault("accessor", f"{self.prefix}display_name")
        super().__init__(*args, **kwargs)

    def order(self, queryset, is_descending):
        name = F(f"{self.prefix}name")
        if (get_language() or "").startswith("en"):
            name = Coalesce(NullIf(f"{self.prefix}name_en", Value("")), name)
        return queryset.order_by(name.desc() if is_descending else name.asc()), True


class BaseTable(tables.Table):
    """Every list page's table: htmx sorting and paging come from the shared template."""

    class Meta:
        template_name = "django_tables2/table.html"
        # Sort headers and pagers swap the table (hx-boost on #object-list); links to records
        # in the rows are ordinary page loads.
        attrs = {"class": "table", "tbody": {"hx-boost": "false"}}
        per_page = 50

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # verbose_name is lower case by Django's convention: headers (and export headers)
        # start with a capital, like the ones django-tables2 takes from the model.
        for bound in self.columns.columns.values():
            name = bound.column.verbose_name
            if name is not None and not isinstance(name, SafeData):
                bound.column.verbose_name = capfirst(name)


class AuditEntryTable(BaseTable):
    at = LocalDateTimeColumn(format="Y-m-d H:i:s")
    object_repr = tables.Column(verbose_name=_("record"))
    content_type = tables.Column(verbose_name=_("record type"), accessor="content_type__model")
    changed_fields = tables.Column(verbose_name=_("changed fields"), orderable=False)
    reason = tables.Column()

    class Meta(BaseTable.Meta):
        model = AuditEntry
        fields = ("at", "actor_repr", "action", "content_type", "object_id", "object_repr",
                  "changed_fields", "reason", "request_id")

    def render_actor_repr(self, record):
        return record.actor_shown

    def render_reason(self, record):
        return record.reason_shown

    def render_content_type(self, record):
        return record.record_type

    def render_changed_fields(self, record):
        return join_list(record.changed_labels)

    def value_changed_fields(self, value):
        return ", ".join(value)


class UserTable(BaseTable):
    username = tables.Column(linkify=False)
    roles = tables.Column(verbose_name=_("roles"), empty_values=(), orderable=False)

    class Meta(BaseTable.Meta):
        model = User
        fields = ("username", "display_name", "badge_code", "roles", "is_active", "last_login")

    last_login = LocalDateTimeColumn()

    def render_roles(self, record):
        # groups are prefetched by the view: no query per row
        return join_list(ROLE_LABELS.get(g.name, g.name) for g in record.groups.all())

    def value_roles(self, record):
        return self.render_roles(record)
