from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlanningConfig(AppConfig):
    name = "planning"
    verbose_name = _("Planning")
    nav_items = (
        ("planning:order_list", _("Production orders"), "view_planning"),
        ("planning:schedule", _("Schedule"), "view_planning"),
        ("planning:item_list", _("Items & BOMs"), "view_planning"),
        ("planning:work_center_list", _("Plant"), "view_planning"),
        ("planning:io", _("Import / export"), "view_planning"),
    )
