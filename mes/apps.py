from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MesConfig(AppConfig):
    name = "mes"
    verbose_name = _("MES core")
    # Navigation entries this app contributes: (url name, label, capability or None).
    nav_items = (
        ("home", _("Home"), None),
        ("live", _("Live events"), None),
        ("user_list", _("Employees"), "manage_users"),
        ("audit_list", _("Audit log"), "view_audit"),
        ("api:tokens", _("API tokens"), "manage_users"),
        ("api:docs", _("API"), None),
    )

    def ready(self):
        from mes.webhooks import install_beat_schedule

        install_beat_schedule()
