from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QualityConfig(AppConfig):
    name = "quality"
    verbose_name = _("Quality")
    nav_items: tuple = (
        ("quality:qc_queue", _("QC queue"), "inspect_quality"),
        ("quality:acceptance_queue", _("Acceptance"), "accept_work"),
        ("quality:stats", _("Quality"), "view_dashboards"),
    )

    def ready(self):
        from mes.events import domain_event_subscribe
        from quality.services.inspections import on_task_reported

        domain_event_subscribe("task.reported")(on_task_reported)
