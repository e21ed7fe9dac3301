from django.core.management.base import BaseCommand

from dashboards.demo.history import demo_history
from dashboards.demo.plant import demo_plant_load


class Command(BaseCommand):
    help = ("Load the demo plant (once) and generate past production through the real services "
            "so every board and KPI page has history.")

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=14, help="days of history (0: none)")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--step-minutes", type=int, default=20)

    def handle(self, *args, days, seed, step_minutes, **options):
        if not demo_plant_load():
            self.stdout.write("demo plant already loaded")
            return
        self.stdout.write("demo plant loaded")
        if days > 0:
            self.stdout.write(f"generating {days} days of history (once; this takes a while)")
            sim = demo_history(days=days, seed=seed, step_minutes=step_minutes,
                               progress=lambda msg: self.stdout.write(f"  {msg}"))
            self.stdout.write(f"history done: {sim.counters}")
            from dashboards.services import report_days_roll_up

            report_days_roll_up()  # the KPI pages' daily rollup, current from the start
