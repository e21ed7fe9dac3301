from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class ExecutionConfig(AppConfig):
    name = "execution"
    verbose_name = _("Execution")
    nav_items = (
        ("execution:station_list", _("Stations"), "view_execution"),
        ("execution:refusal_list", _("Refused scans"), "handle_alerts"),
        ("execution:downtime_list", _("Downtime"), "view_execution"),
    )

    def ready(self):
        from execution.services.report_read import install_function

        # The scan report's lock-and-read function, made from the models as they are now.
        post_migrate.connect(install_function, sender=self,
                             dispatch_uid="execution.report_read.install_function")
