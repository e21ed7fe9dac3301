"""What every quality page shares: capability checks, the sub-navigation, error plumbing."""

from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from mes.generic import ObjectListView
from mes.roles import QUALITY_READERS, has_any, perm  # noqa: F401 (quality's views use them)

# The quality sub-navigation: (url name, label, capabilities — any of them shows the tab).
TABS = (
    ("quality:qc_queue", _("QC queue"), ("inspect_quality",)),
    ("quality:inspection_list", _("Inspections"), QUALITY_READERS),
    ("quality:nc_list", _("Nonconformance"), QUALITY_READERS),
    ("quality:acceptance_queue", _("Acceptance"), ("accept_work",)),
    ("quality:archive_list", _("Archive"), QUALITY_READERS),
    ("quality:trace", _("Traceability"), QUALITY_READERS),
    ("quality:stats", _("Statistics"), ("view_dashboards",)),
    ("quality:plan_list", _("Inspection plans"), QUALITY_READERS),
    ("quality:defect_list", _("Defect codes"), QUALITY_READERS),
)


def require_any(user, capabilities) -> None:
    if not has_any(user, capabilities):
        raise PermissionDenied


class AnyCapabilityMixin(PermissionRequiredMixin):
    """403 unless the user has at least one of `capabilities` (a role's capability)."""

    capabilities: tuple = ()
    raise_exception = True
    tab: str | None = None

    def has_permission(self):
        return has_any(self.request.user, self.capabilities)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(quality_context(self.request, self.tab))
        return context


def quality_context(request, tab=None) -> dict:
    user = request.user
    return {
        "quality_tabs": [(name, label, name == tab) for name, label, caps in TABS
                         if has_any(user, caps)],
        "can_inspect": user.has_perm(perm("inspect_quality")),
        "can_approve": user.has_perm(perm("approve_quality")),
        "can_accept": user.has_perm(perm("accept_work")),
    }


class QualityListView(AnyCapabilityMixin, ObjectListView):
    """A quality list page (filters, table, CSV/XLSX export) under the quality tabs."""

    template_name = "quality/object_list.html"
    add_url = None
    add_capability = "inspect_quality"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if self.add_url and self.request.user.has_perm(perm(self.add_capability)):
            context["add_url"] = self.add_url
        return context


def error_messages(exc) -> list[str]:
    """Every message of a ValidationError or PermissionDenied, as plain strings."""
    if hasattr(exc, "messages"):
        return [str(m) for m in exc.messages]
    return [str(exc) or str(_("You may not do this."))]
