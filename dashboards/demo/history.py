"""Weeks of consistent past production, made by running the simulator at past times.

The clock is moved with time-machine, so every record (reports, inspections, alerts, audit
entries, events) carries the simulated time, exactly as if the plant had been running.

Two things keep it quick without leaving the real services:

- Alerts come from the sweep (`alerts_sweep`, every half hour of simulated time, as Celery beat
  does in the live system). The per-event focused evaluation that the live system adds for
  latency (the same rules, over the touched subjects only) is not run here: it would evaluate
  the same rules a few simulated minutes earlier at about half the total cost.
- Each simulated midnight adds the day just closed to the KPI daily rollup, so the KPI pages
  read a current rollup while the history is still being made (`make run` makes it in the
  background while the web server already serves).

With `catch_up` the run does not stop at the time it started but follows the wall clock until
it is less than one step behind, so a live simulator can take over where it ends.
"""

import datetime
import time

import time_machine
from django.utils import timezone

from alerts.services.focus_queue import focus_suspended
from dashboards.demo.simulator import Simulator
from mes.celery import app as celery_app


def _wall_now() -> datetime.datetime:
    """The real time, also while time-machine has moved the clock."""
    return datetime.datetime.fromtimestamp(time_machine.escape_hatch.time.time(),
                                           tz=datetime.UTC).replace(second=0, microsecond=0)


def demo_history(*, days: float = 14, seed: int = 1, step_minutes: int = 20,
                 progress=None, catch_up: bool = False, wall_clock=_wall_now) -> Simulator:
    """Run the plant for `days` up to now. Background work runs in-process (eager) so that it
    happens at the simulated time too. `wall_clock` (for `catch_up`) tells the real time."""
    from dashboards.services import report_days_roll_up

    end = timezone.now().replace(second=0, microsecond=0)
    start = end - datetime.timedelta(days=days)
    sim = Simulator(seed=seed, history=True, scheduler_every_hours=12)
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    step = datetime.timedelta(minutes=step_minutes)
    started = time.monotonic()
    try:
        with focus_suspended(), time_machine.travel(start, tick=False) as traveller:
            now = start
            last_note = 0.0
            day = timezone.localdate()
            while now < end:
                traveller.move_to(now)
                if timezone.localdate() != day:
                    report_days_roll_up()  # the day just closed, as beat does every hour
                    day = timezone.localdate()
                sim.step(now, step_minutes)
                now += step
                if catch_up and now >= end:
                    end = wall_clock()  # the wall clock moved on while we worked: follow it
                if progress and time.monotonic() - last_note > 5:
                    last_note = time.monotonic()
                    progress(f"{timezone.localtime(now - step):%Y-%m-%d %H:%M} simulated, "
                             f"{(now - start) / (end - start):.0%} "
                             f"({time.monotonic() - started:.0f} s): {sim.counters}")
    finally:
        celery_app.conf.task_always_eager = eager
    report_days_roll_up()  # back at the real time: every closed day
    return sim
