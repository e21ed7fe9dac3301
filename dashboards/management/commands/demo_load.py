import datetime
import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from dashboards.demo.history import demo_history
from dashboards.demo.plant import demo_plant_load


class Command(BaseCommand):
    help = ("Load the demo plant (once) and generate past production through the real services "
            "so every board and KPI page has history. --scale writes the large benchmark data "
            "set instead (bulk-generated).")

    def add_arguments(self, parser):
        parser.add_argument("--days", type=float, default=14, help="days of history (0: none)")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--step-minutes", type=int, default=20)
        parser.add_argument("--catch-up", action="store_true",
                            help="follow the wall clock until the history reaches it (what "
                                 "`make run` does before the live simulator takes over)")
        parser.add_argument(
            "--scale", type=float, nargs="?", const=1.0, default=None, metavar="FACTOR",
            help="write the benchmark data set: 10,000 open work orders and a year of history "
                 "on a plant of 500 work centers, bulk-generated (FACTOR multiplies every "
                 "count; default 1)")

    def handle(self, *args, days, seed, step_minutes, catch_up, scale, **options):
        if scale is not None:
            return self._scale(scale)
        first_day = timezone.localtime(timezone.now() - datetime.timedelta(days=days)).date()
        if not demo_plant_load(in_service_from=first_day):
            self.stdout.write("demo plant already loaded")
            return
        self.stdout.write("demo plant loaded")
        if days > 0:
            self.stdout.write(f"generating {days:g} days of history (once)")
            sim = demo_history(days=days, seed=seed, step_minutes=step_minutes,
                               catch_up=catch_up,
                               progress=lambda msg: self.stdout.write(f"  {msg}"))
            self.stdout.write(f"history done: {sim.counters}")

    def _scale(self, factor: float) -> None:
        from dashboards.demo.scale import ScaleSize, scale_build

        if factor <= 0:
            raise CommandError("--scale needs a factor above 0")
        size = ScaleSize().scaled(factor)
        started = time.monotonic()
        self.stdout.write(f"writing the scale data set ({size})")
        try:
            counts = scale_build(size, progress=lambda msg: self.stdout.write(
                f"  {msg} ({time.monotonic() - started:.0f} s)"))
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(f"scale data set done in {time.monotonic() - started:.0f} s: {counts}")
