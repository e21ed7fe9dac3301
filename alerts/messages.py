"""An alert's message, from its kind and data, in the reader's language.

The alert stores the message rendered once (in the plant's default language, for e-mails,
webhooks and exports); pages render it again from `data` in the viewer's language. Master-data
names in `data` are stored with their English twin (`<key>_en`) and shown in the viewer's
language too; alerts raised before a twin was stored show the stored name.
"""

from django.utils.translation import gettext as _

from alerts.kinds import Kind
from planning.models.common import localized_name

TEMPLATES = {
    Kind.SCHEDULE_LAG: lambda: _("Not started %(late_minutes)s min after the planned start "
                                 "(%(planned_start)s)."),
    Kind.PROGRESS_LAG: lambda: _("%(actual_pct)s%% reported against %(expected_pct)s%% planned "
                                 "by now: %(behind_pct)s points behind (planned end "
                                 "%(planned_end)s)."),
    Kind.DUE_DATE_RISK: lambda: _("Projected finish %(projected)s is after the due time "
                                  "%(due)s (%(remaining_minutes)s min of work left)."),
    Kind.OVERDUE_REPORT: lambda: _("Planned end %(planned_end)s passed %(over_minutes)s min ago "
                                   "and nothing was reported in the last %(grace)s min."),
    Kind.INSPECTION_FAILED: lambda: _("Inspection failed: %(failed)s of %(quantity)s failed "
                                      "(rework loop %(loop)s)."),
    Kind.DEFECT_RATE: lambda: _("Defect rate %(rate)s%% over the last %(hours)s h "
                                "(%(failed)s of %(inspected)s failed), above %(limit)s%%."),
    Kind.REWORK_LOOPS: lambda: _("%(nc)s is at rework loop %(loop)s; its plan allows "
                                 "%(limit)s."),
    Kind.DOWNTIME: lambda: _("%(equipment)s has been down for %(minutes)s min since %(since)s "
                             "(%(reason)s)."),
    Kind.PLAN_CHANGE: lambda: _("The plan of %(order)s changed: %(reason)s"),
}


# The keys of `data` that hold a master-data name (Chinese), with its English name at `<key>_en`.
LOCALIZED = {
    Kind.DOWNTIME: ("reason",),
}


def render_message(kind: str, data: dict, fallback: str = "") -> str:
    template = TEMPLATES.get(kind)
    if template is None:
        return fallback
    names = [key for key in LOCALIZED.get(kind, ()) if isinstance(data, dict) and key in data]
    if names:
        data = dict(data) | {key: localized_name(data[key], data.get(f"{key}_en"))
                             for key in names}
    try:
        return template() % data
    except (KeyError, TypeError, ValueError):
        return fallback or str(data)
