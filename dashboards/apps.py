from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

BEAT_ENTRY = "dashboards-report-days"


class DashboardsConfig(AppConfig):
    name = "dashboards"
    verbose_name = _("Dashboards")
    nav_items: tuple = (
        ("dashboards:board", _("Board"), "view_dashboards"),
        ("dashboards:order_progress", _("Order progress"), "view_dashboards"),
        ("dashboards:kpi_index", _("KPIs"), "view_dashboards"),
    )

    def ready(self):
        install_beat_schedule()


def install_beat_schedule() -> None:
    """Add the hourly rollup to the Celery app's beat schedule unless settings define it."""
    from dashboards.tasks import ROLL_UP_SECONDS
    from mes.celery import app

    schedule = app.conf.beat_schedule
    if BEAT_ENTRY not in schedule:
        schedule[BEAT_ENTRY] = {"task": "dashboards.tasks.report_days_roll_up_task",
                                "schedule": ROLL_UP_SECONDS,
                                "options": {"expires": ROLL_UP_SECONDS}}
