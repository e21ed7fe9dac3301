"""Filter forms of the boards and KPI pages, and the targets form."""

import datetime

from django import forms
from django.forms.utils import flatatt
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from dashboards.charts import unit_text
from dashboards.kpis import KPIS
from dashboards.periods import BUCKETS, Period, Scope, default_bucket
from dashboards.selectors.orders import RISKS
from mes.forms import PlausibleDateField, check_years
from mes.labels import noted
from planning.models import Line, Priority, WorkCenter, Workshop

MAX_DAYS = 3 * 366


class QuickSelect(forms.Select):
    """A select rendered in Python: the filter of every KPI page lists hundreds of work
    centers, and the template-per-option widget would cost more than the KPI itself."""

    def render(self, name, value, attrs=None, renderer=None):
        final = self.build_attrs(self.attrs, attrs)
        final["name"] = name
        chosen = {str(v) for v in self.format_value(value)}
        options = format_html_join("", '<option value="{}"{}>{}</option>', (
            (str(v), " selected" if str(v) in chosen else "", label) for v, label in self.choices))
        return format_html("<select{}>{}</select>", flatatt(final), options)


def _choice(queryset, label):
    return forms.ModelChoiceField(queryset, required=False, label=label, empty_label=_("all"),
                                  widget=QuickSelect)
BUCKET_LABELS = {"day": _("day"), "week": _("week"), "month": _("month")}


class _ScopeFields(forms.Form):
    workshop = _choice(Workshop.objects.filter(active=True), _("Workshop"))
    line = _choice(Line.objects.filter(active=True).select_related("workshop"), _("Line"))

    def clean(self):
        data = super().clean()
        workshop, line = data.get("workshop"), data.get("line")
        if workshop and line and line.workshop_id != workshop.pk:
            self.add_error("line", _("Line %(line)s is not in workshop %(ws)s.") % {
                "line": line.code, "ws": workshop.code})
        wc = data.get("work_center")
        if wc and line and wc.line_id != line.pk:
            self.add_error("work_center", _("Work center %(wc)s is not on line %(line)s.") % {
                "wc": wc.code, "line": line.code})
        elif wc and workshop and not line and wc.line.workshop_id != workshop.pk:
            self.add_error("work_center", _("Work center %(wc)s is not in workshop %(ws)s.")
                           % {"wc": wc.code, "ws": workshop.code})
        return data

    def scope(self) -> Scope:
        data = getattr(self, "cleaned_data", {}) if not self.errors else {}
        return Scope.of(data.get("workshop"), data.get("line"), data.get("work_center"))


class BoardFilterForm(_ScopeFields):
    pass


class KpiFilterForm(_ScopeFields):
    start = PlausibleDateField(label=_("From"), required=False,
                               widget=forms.DateInput(attrs={"type": "date"}))
    end = PlausibleDateField(label=_("To (inclusive)"), required=False,
                             widget=forms.DateInput(attrs={"type": "date"}))
    bucket = forms.ChoiceField(label=_("Trend by"), required=False,
                               choices=[("", _("automatic"))] + list(BUCKET_LABELS.items()))
    work_center = _choice(WorkCenter.objects.filter(active=True).select_related("line"),
                          _("Work center"))

    field_order = ["start", "end", "bucket", "workshop", "line", "work_center"]

    @classmethod
    def from_query(cls, query) -> "KpiFilterForm":
        """The form of a page's query string, showing the default period (this month) in
        its fields when the query names none."""
        data = query.copy()
        if not data.get("start") and not data.get("end"):
            today = timezone.localdate()
            data["start"], data["end"] = (today.replace(day=1).isoformat(),
                                          _month_end(today).isoformat())
        form = cls(data)
        form.is_valid()
        return form

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", _("The end date is before the start date."))
        elif start and end and (end - start).days > MAX_DAYS:
            self.add_error("end", _("Choose at most three years."))
        return data

    def period(self) -> Period:
        today = timezone.localdate()
        data = getattr(self, "cleaned_data", {}) if not self.errors else {}
        start = data.get("start") or today.replace(day=1)
        end = data.get("end") or max(start, _month_end(today))
        return Period.of_dates(start, end)

    def trend_bucket(self, period: Period) -> str:
        data = getattr(self, "cleaned_data", {}) if not self.errors else {}
        value = data.get("bucket")
        return value if value in BUCKETS else default_bucket(period)


def _month_end(day: datetime.date) -> datetime.date:
    nxt = datetime.date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return nxt - datetime.timedelta(days=1)


def presets(today: datetime.date) -> list[tuple[str, datetime.date, datetime.date]]:
    """Quick periods: (label, first day, last day)."""
    week = today - datetime.timedelta(days=today.weekday())
    month = today.replace(day=1)
    last_month_end = month - datetime.timedelta(days=1)
    return [
        (_("Today"), today, today),
        (_("This week"), week, week + datetime.timedelta(days=6)),
        (_("Last week"), week - datetime.timedelta(days=7), week - datetime.timedelta(days=1)),
        (_("This month"), month, _month_end(today)),
        (_("Last month"), last_month_end.replace(day=1), last_month_end),
        (_("Last 12 months"), (month - datetime.timedelta(days=335)).replace(day=1),
         _month_end(today)),
        (_("This year"), today.replace(month=1, day=1), today.replace(month=12, day=31)),
    ]


class OrderFilterForm(forms.Form):
    customer = forms.CharField(label=_("Customer"), required=False, max_length=120,
                               widget=forms.TextInput(attrs={"type": "search"}))
    priority = forms.TypedChoiceField(label=_("Priority"), required=False, coerce=int,
                                      empty_value=None,
                                      choices=[("", _("all"))] + list(Priority.choices))
    workshop = _choice(Workshop.objects.filter(active=True), _("Workshop"))
    risk = forms.ChoiceField(label=_("Risk"), required=False,
                             choices=[("", _("all"))] + list(RISKS.items()))

    def filters(self) -> dict:
        data = self.cleaned_data if self.is_valid() else {}
        return {"customer": data.get("customer") or "", "priority": data.get("priority"),
                "workshop": data.get("workshop"), "risk": data.get("risk") or ""}


class MonthForm(_ScopeFields):
    month = forms.CharField(label=_("Month"), required=False,
                            widget=forms.TextInput(attrs={"type": "month"}))
    work_center = _choice(WorkCenter.objects.filter(active=True).select_related("line"),
                          _("Work center"))

    field_order = ["month", "workshop", "line", "work_center"]

    @classmethod
    def from_query(cls, query) -> "MonthForm":
        data = query.copy()
        if not data.get("month"):  # default: the last full month
            last = timezone.localdate().replace(day=1) - datetime.timedelta(days=1)
            data["month"] = last.strftime("%Y-%m")
        form = cls(data)
        form.is_valid()
        return form

    def clean_month(self):
        raw = (self.cleaned_data.get("month") or "").strip()
        if not raw:
            return None
        try:
            year, month = (int(p) for p in raw.split("-"))
            first = datetime.date(year, month, 1)
        except (ValueError, TypeError):
            raise forms.ValidationError(_("Write the month as YYYY-MM, e.g. 2026-03.")) from None
        check_years(first)
        return first

    def period(self) -> Period:
        data = getattr(self, "cleaned_data", {}) if not self.errors else {}
        month = data.get("month")
        if month is None:  # default: the last full month
            month = (timezone.localdate().replace(day=1) - datetime.timedelta(days=1))
        return Period.month(month.year, month.month)


class TargetsForm(forms.Form):
    """One field per KPI that has a target; empty means no target line."""

    def __init__(self, *args, targets: dict, **kwargs):
        super().__init__(*args, **kwargs)
        for key, kdef in KPIS.items():
            if not kdef.better:
                continue
            unit = _("h per line per year") if key == "downtime" else unit_text(kdef.unit)
            self.fields[key] = forms.DecimalField(
                label=noted(kdef.label, unit), required=False, min_value=0,
                max_value=100 if kdef.unit == "%" else 100000, max_digits=10,
                decimal_places=3, initial=targets.get(key),
                help_text=_("at least") if kdef.better == "higher" else _("at most"))
