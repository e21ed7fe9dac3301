from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExecutionConfig(AppConfig):
    name = "execution"
    verbose_name = _("Execution")
    nav_items = (
        ("execution:station_list", _("Stations"), "view_execution"),
        ("execution:refusal_list", _("Refused scans"), "handle_alerts"),
        ("execution:downtime_list", _("Downtime"), "view_execution"),
    )
