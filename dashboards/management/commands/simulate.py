import signal
import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections
from django.utils import timezone

from dashboards.demo.simulator import Rates, Simulator


class Command(BaseCommand):
    help = "Run the demo factory live through the same services the UI uses (Ctrl-C stops it)."

    def add_arguments(self, parser):
        parser.add_argument("--speed", type=float, default=10.0,
                            help="how many times faster than real time the plant works")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--tick", type=float, default=2.0, help="seconds between steps")
        parser.add_argument("--steps", type=int, default=0, help="stop after N steps (0: never)")
        parser.add_argument("--open-orders", type=int, default=Rates.open_orders)
        parser.add_argument("--qc-fail", type=float, default=Rates.qc_fail)
        parser.add_argument("--breakdowns-per-hour", type=float,
                            default=Rates.breakdown_per_hour)

    def handle(self, *args, speed, seed, tick, steps, open_orders, qc_fail,
               breakdowns_per_hour, **options):
        rates = Rates(open_orders=open_orders, qc_fail=qc_fail,
                      breakdown_per_hour=breakdowns_per_hour)
        sim = Simulator(seed=seed, speed=speed, rates=rates,
                        scheduler_every_hours=max(0.25, 4 / speed))
        stop = False

        def halt(*_args):
            nonlocal stop
            stop = True

        signal.signal(signal.SIGINT, halt)
        signal.signal(signal.SIGTERM, halt)
        self.stdout.write(f"simulating at {speed}× (seed {seed}); Ctrl-C stops")
        done = 0
        while not stop and (steps == 0 or done < steps):
            started = time.monotonic()
            close_old_connections()
            try:
                sim.step(timezone.now(), tick / 60)
            except Exception as exc:  # a refused action must not stop the factory
                self.stderr.write(f"step failed: {exc!r}")
            done += 1
            time.sleep(max(0.0, tick - (time.monotonic() - started)))
        self.stdout.write(f"simulator stopped: {sim.counters}")
