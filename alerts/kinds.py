"""What an alert rule can watch, and which thresholds each kind needs.

One table (THRESHOLDS) says which typed threshold fields a kind uses; `threshold_errors` refuses
impossible values with the reason. Models, forms and services all validate through it.
"""

from decimal import Decimal, InvalidOperation

from django.db import models
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    SCHEDULE_LAG = "schedule_lag", _("schedule lag (not started)")
    PROGRESS_LAG = "progress_lag", _("progress lag")
    DUE_DATE_RISK = "due_date_risk", _("due-date risk")
    OVERDUE_REPORT = "overdue_report", _("overdue report")
    INSPECTION_FAILED = "inspection_failed", _("inspection failed")
    DEFECT_RATE = "defect_rate", _("defect rate")
    REWORK_LOOPS = "rework_loops", _("rework loops exceeded")
    DOWNTIME = "downtime", _("unplanned downtime")
    PLAN_CHANGE = "plan_change", _("plan change")


class Severity(models.TextChoices):
    INFO = "info", _("info")
    WARNING = "warning", _("warning")
    CRITICAL = "critical", _("critical")


class Scope(models.TextChoices):
    PLANT = "plant", _("whole plant")
    WORKSHOP = "workshop", _("workshop")
    LINE = "line", _("line")
    WORK_CENTER = "work_center", _("work center")


class Channel(models.TextChoices):
    IN_APP = "in_app", _("in the app")
    EMAIL = "email", _("e-mail")
    WEBHOOK = "webhook", _("webhook (robot)")


# kind -> {threshold field: (required, what it means for this kind)}
THRESHOLDS: dict[str, dict[str, tuple[bool, str]]] = {
    Kind.SCHEDULE_LAG: {"minutes": (True, _("minutes after the planned start"))},
    Kind.PROGRESS_LAG: {"percent": (True, _("percentage points behind the time-proportional "
                                            "plan"))},
    Kind.DUE_DATE_RISK: {"minutes": (False, _("safety margin before the due time, in "
                                              "minutes (default 0)"))},
    Kind.OVERDUE_REPORT: {"minutes": (True, _("grace after the planned end without any "
                                              "report, in minutes"))},
    Kind.INSPECTION_FAILED: {"window_hours": (False, _("look back this many hours for failed "
                                                       "inspections (default 24)"))},
    Kind.DEFECT_RATE: {
        "percent": (True, _("failed ÷ inspected quantity above this percentage")),
        "window_hours": (True, _("rolling window, in hours")),
        "min_quantity": (False, _("minimum inspected quantity in the window (default 1)")),
    },
    Kind.REWORK_LOOPS: {},
    Kind.DOWNTIME: {"minutes": (True, _("minutes an unplanned stop has lasted"))},
    Kind.PLAN_CHANGE: {},
}
THRESHOLD_FIELDS = ("minutes", "percent", "window_hours", "min_quantity")

# Kinds whose condition can clear (the alert can auto-resolve); the others are events.
STATEFUL_KINDS = frozenset({Kind.SCHEDULE_LAG, Kind.PROGRESS_LAG, Kind.DUE_DATE_RISK,
                            Kind.OVERDUE_REPORT, Kind.DEFECT_RATE, Kind.REWORK_LOOPS,
                            Kind.DOWNTIME})
# Kinds the periodic sweep evaluates (plan changes are raised from the domain event only).
SWEPT_KINDS = frozenset(k for k in Kind.values if k != Kind.PLAN_CHANGE)

DEFAULT_INSPECTION_WINDOW_HOURS = Decimal(24)
DEFAULT_MIN_QUANTITY = Decimal(1)


def _number(value):
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return "nan"


def threshold_errors(kind: str, *, minutes=None, percent=None, window_hours=None,
                     min_quantity=None) -> dict[str, str]:
    """Field -> reason for every threshold that is missing or impossible for `kind`."""
    errors: dict[str, str] = {}
    spec = THRESHOLDS.get(kind)
    if spec is None:
        return {"kind": str(_("Choose what the rule watches."))}
    values = {"minutes": _number(minutes), "percent": _number(percent),
              "window_hours": _number(window_hours), "min_quantity": _number(min_quantity)}
    for name, (required, meaning) in spec.items():
        value = values[name]
        if value == "nan" or (value is not None and not value.is_finite()):
            errors[name] = str(_("Enter a number (%(meaning)s).") % {"meaning": meaning})
        elif value is None and required:
            errors[name] = str(_("This kind of rule needs %(meaning)s.") % {"meaning": meaning})
    if "minutes" in spec and "minutes" not in errors and values["minutes"] is not None:
        if values["minutes"] < 0:
            errors["minutes"] = str(_("Minutes cannot be negative (got %(v)s).")
                                    % {"v": minutes})
        elif values["minutes"] != values["minutes"].to_integral_value():
            errors["minutes"] = str(_("Enter whole minutes."))
        elif values["minutes"] > 60 * 24 * 30:
            errors["minutes"] = str(_("At most 30 days (43200 minutes)."))
    if "percent" in spec and "percent" not in errors and values["percent"] is not None \
            and not (0 <= values["percent"] <= 100):
        errors["percent"] = str(_("A percentage must be between 0 and 100 (got %(v)s).")
                                % {"v": percent})
    if "window_hours" in spec and "window_hours" not in errors \
            and values["window_hours"] is not None:
        if values["window_hours"] <= 0:
            errors["window_hours"] = str(_("The window must be longer than 0 hours."))
        elif values["window_hours"] > 24 * 90:
            errors["window_hours"] = str(_("The window can be at most 90 days (2160 hours)."))
    if "min_quantity" in spec and "min_quantity" not in errors \
            and values["min_quantity"] is not None and values["min_quantity"] < 0:
        errors["min_quantity"] = str(_("The minimum quantity cannot be negative."))
    return errors
