"""What every dashboards view shares: the capability, export parsing, drill-down links."""

import functools

from django.core.exceptions import PermissionDenied
from django.http import HttpResponseBadRequest
from django.urls import reverse
from django.views import View

from dashboards.periods import Period, Scope, query
from mes.export import EXPORT_FORMATS
from mes.generic import CapabilityRequiredMixin
from mes.roles import ADMIN, MANAGER

CAPABILITY = "view_dashboards"


class DashboardView(CapabilityRequiredMixin, View):
    capability = CAPABILITY


def can_edit_targets(user) -> bool:
    """Targets are the managers' (and administrators') to set."""
    return user.is_superuser or bool({MANAGER, ADMIN} & set(user.role_names))


def require_target_editor(user) -> None:
    if not can_edit_targets(user):
        raise PermissionDenied


def export_format(request):
    """(format or None, error response or None) from ?export=."""
    fmt = request.GET.get("export")
    if fmt is None:
        return None, None
    if fmt not in EXPORT_FORMATS:
        return None, HttpResponseBadRequest(f"Unknown export format {fmt!r}; use csv or xlsx.")
    return fmt, None


@functools.lru_cache(maxsize=256)
def _path(name: str, args: tuple) -> str:
    # Pages link every figure: hundreds of reverse() calls per page are worth a cache.
    return reverse(name, args=args)


def kpi_url(key: str, period: Period, scope: Scope, **extra) -> str:
    return f"{_path('dashboards:kpi_detail', (key,))}?{query(period, scope, **extra)}"


def records_url(key: str, part: str, period: Period, scope: Scope, **extra) -> str:
    return f"{_path('dashboards:kpi_records', (key, part))}?{query(period, scope, **extra)}"


def plain(value, digits: int = 2):
    """Numbers as people read them: no trailing zeros, None as empty."""
    if value is None:
        return None
    if isinstance(value, float):
        return round(value, digits)
    try:
        return int(value) if value == value.to_integral() else round(value, digits)
    except AttributeError:
        return value
