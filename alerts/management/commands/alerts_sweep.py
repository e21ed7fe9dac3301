from django.core.management.base import BaseCommand

from alerts.services.sweep import alerts_sweep


class Command(BaseCommand):
    help = "Run one alert sweep now, in this process (what Celery beat runs periodically)."

    def handle(self, *args, **options):
        result = alerts_sweep()
        self.stdout.write(f"rules {result.rules}, raised {result.outcome.raised}, "
                          f"resolved {result.outcome.resolved}, cleared "
                          f"{result.outcome.cleared}, escalated {result.escalated}, "
                          f"requeued {result.requeued}")
