"""The plant's roles and the capabilities each one has. The single source for groups."""

from django.utils.translation import gettext_lazy as _

PLANNER = "planner"
WORKSHOP_LEAD = "workshop_lead"
OPERATOR = "operator"
QC_INSPECTOR = "qc_inspector"
MANAGER = "manager"
ADMIN = "admin"

ROLE_LABELS = {
    PLANNER: _("Planner"),
    WORKSHOP_LEAD: _("Workshop lead"),
    OPERATOR: _("Operator"),
    QC_INSPECTOR: _("QC inspector"),
    MANAGER: _("Manager"),
    ADMIN: _("Administrator"),
}

ALL_CAPABILITIES = (
    "view_planning", "manage_planning", "report_work", "view_execution", "inspect_quality",
    "approve_quality", "accept_work", "handle_alerts", "configure_alerts", "view_dashboards",
    "view_audit", "manage_users", "correct_downtime",
)

# Capability codenames (permissions on mes.User, app label "mes") per role.
ROLE_CAPABILITIES: dict[str, tuple[str, ...]] = {
    PLANNER: ("view_planning", "manage_planning", "view_execution", "view_dashboards",
              "handle_alerts", "view_audit"),
    WORKSHOP_LEAD: ("view_planning", "view_execution", "report_work", "accept_work",
                    "handle_alerts", "view_dashboards", "view_audit", "correct_downtime"),
    OPERATOR: ("view_execution", "report_work"),
    QC_INSPECTOR: ("view_planning", "view_execution", "inspect_quality", "accept_work",
                   "handle_alerts", "view_dashboards"),
    MANAGER: ("view_planning", "view_execution", "approve_quality", "handle_alerts",
              "configure_alerts", "view_dashboards", "view_audit"),
    ADMIN: ALL_CAPABILITIES,
}


# Who may read inspections and nonconformances (the quality pages): any of these.
QUALITY_READERS = ("inspect_quality", "approve_quality", "accept_work")


def perm(codename: str) -> str:
    """The full permission name for a capability, as user.has_perm() wants it."""
    return f"mes.{codename}"


def has_any(user, capabilities) -> bool:
    """Whether `user` has at least one of `capabilities`."""
    return any(user.has_perm(perm(c)) for c in capabilities)


def sync_role_groups(apps=None) -> None:
    """Create the role groups and give each exactly its capabilities. Idempotent.

    Called from a data migration (with the historical `apps`) and by the demo seeding.
    """
    if apps is None:
        from django.apps import apps as global_apps

        apps = global_apps
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after migrate; make sure ours exist now. A migration's
    # app registry has stubs without a models module, which create_permissions would skip.
    app_config = apps.get_app_config("mes")
    if not getattr(app_config, "models_module", None):
        app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    by_codename = {
        p.codename: p for p in Permission.objects.filter(content_type__app_label="mes",
                                                         codename__in=ALL_CAPABILITIES)
    }
    for role, capabilities in ROLE_CAPABILITIES.items():
        group, _created = Group.objects.get_or_create(name=role)
        # (A capability added by a later migration is not there yet in an earlier one's
        # historical models: that migration gives it out.)
        group.permissions.set([by_codename[c] for c in capabilities if c in by_codename])
