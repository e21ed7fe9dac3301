"""Weeks of consistent past production, made by running the simulator at past times.

The clock is moved with time-machine, so every record (reports, inspections, alerts, audit
entries, events) carries the simulated time, exactly as if the plant had been running.
"""

import datetime
import time

import time_machine
from django.utils import timezone

from dashboards.demo.simulator import Simulator
from mes.celery import app as celery_app


def demo_history(*, days: int = 21, seed: int = 1, step_minutes: int = 15,
                 progress=None) -> Simulator:
    """Run the plant for `days` up to now. Background work runs in-process (eager) so that it
    happens at the simulated time too."""
    end = timezone.now().replace(second=0, microsecond=0)
    start = end - datetime.timedelta(days=days)
    sim = Simulator(seed=seed, history=True, scheduler_every_hours=12)
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    started = time.monotonic()
    try:
        with time_machine.travel(start, tick=False) as traveller:
            now = start
            last_note = 0.0
            while now < end:
                traveller.move_to(now)
                sim.step(now, step_minutes)
                now += datetime.timedelta(minutes=step_minutes)
                if progress and time.monotonic() - last_note > 5:
                    last_note = time.monotonic()
                    progress(f"{(now - start) / (end - start):.0%} of {days} days "
                             f"({time.monotonic() - started:.0f} s): {sim.counters}")
    finally:
        celery_app.conf.task_always_eager = eager
    return sim
