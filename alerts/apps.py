from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

BEAT_ENTRY = "alerts-sweep"


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = _("Alerts")
    nav_items = (
        ("alerts:alert_list", _("Alerts"), "handle_alerts"),
        ("alerts:rule_list", _("Alert rules"), "configure_alerts"),
    )

    def ready(self):
        from alerts.services.handlers import SUBSCRIPTIONS
        from mes.events import domain_event_subscribe

        for kind, handler in SUBSCRIPTIONS.items():
            domain_event_subscribe(kind)(handler)
        install_beat_schedule()
        # Station dispatch lists show each task's open alerts (one more query per list).
        from alerts.selectors import alert_badges_for_tasks
        from execution.selectors import register_alert_badges

        register_alert_badges(alert_badges_for_tasks)


def beat_entry() -> dict:
    """The periodic sweep, as it would read in settings.CELERY_BEAT_SCHEDULE."""
    from alerts.tasks import sweep_seconds

    seconds = sweep_seconds()
    # A sweep that could not start before the next one is due is dropped, not queued up.
    return {"task": "alerts.tasks.alerts_sweep", "schedule": seconds,
            "options": {"expires": seconds}}


def install_beat_schedule() -> None:
    """Add the sweep to the Celery app's beat schedule unless settings already define it."""
    from mes.celery import app

    schedule = app.conf.beat_schedule
    if BEAT_ENTRY not in schedule:
        schedule[BEAT_ENTRY] = beat_entry()
