"""Start the whole system: web server (ASGI), Celery worker and Celery beat, together.

Ctrl-C (or SIGTERM) stops all of them. A background process that dies (worker, beat, the live
simulator) is started again, at most RESTARTS times in RESTART_WINDOW seconds; past that, or
when the web server or the demo loader dies, the others are stopped too, so a half-running
system never pretends to be whole.

The demo (unless MES_DEMO=0) is loaded by a child process that runs alongside the web server:
the first start serves pages within seconds and the plant fills up while you watch (the demo
plant in a few seconds, then the days of history, each day rolled up into the KPI pages as it
closes). Celery beat and the live simulator start when that child is done: both work at the
wall-clock time, which the history reaches only at its end. Later starts find the demo there
and the child exits at once.
"""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from mes.demo import demo_users_ensure

RESTARTABLE = ("worker", "beat", "simulator")
RESTARTS, RESTART_WINDOW = 3, 600.0


def restart_allowed(name: str, restarts: dict[str, list[float]], now: float) -> bool:
    """Whether the background process `name`, found dead at `now`, is started again (and
    then counted in `restarts`: its restart times)."""
    if name not in RESTARTABLE:
        return False
    recent = [t for t in restarts.get(name, []) if now - t < RESTART_WINDOW]
    if len(recent) >= RESTARTS:
        return False
    restarts[name] = [*recent, now]
    return True


class Command(BaseCommand):
    help = "Migrate, create demo accounts, then run web server + worker + beat until Ctrl-C."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--no-worker", action="store_true", help="web server only")
        parser.add_argument("--no-demo", action="store_true",
                            default=os.environ.get("MES_DEMO", "1") == "0",
                            help="do not create demo accounts and data (MES_DEMO=0)")
        parser.add_argument("--web-workers", type=int,
                            default=int(os.environ.get("WEB_CONCURRENCY", "1")))

    def handle(self, *args, host, port, no_worker, no_demo, web_workers, **options):
        call_command("migrate", interactive=False, verbosity=0)
        logins = [] if no_demo else demo_users_ensure()
        py = sys.executable
        commands = {
            "web": [py, "-m", "uvicorn", "mes.asgi:application", "--host", host, "--port",
                    str(port), "--workers", str(web_workers), "--lifespan", "off",
                    "--no-access-log", "--timeout-graceful-shutdown", "3"],
        }
        # Started once the demo loader is done (at once without the demo).
        later: dict[str, list[str]] = {}
        if not no_worker:
            commands["worker"] = [py, "-m", "celery", "-A", "mes", "worker", "-l", "warning",
                                  "--concurrency", os.environ.get("CELERY_CONCURRENCY", "2"),
                                  "-n", f"worker-{os.getpid()}@%h"]
            later["beat"] = [py, "-m", "celery", "-A", "mes", "beat", "-l", "warning",
                             "-s", settings.CELERY_BEAT_SCHEDULE_FILENAME]
        if not no_demo:
            commands["demo"] = [py, "manage.py", "demo_load", "--catch-up", "--days",
                                os.environ.get("MES_DEMO_DAYS", "14")]
            if os.environ.get("MES_SIMULATE", "1") != "0":
                later["simulator"] = [py, "manage.py", "simulate", "--speed",
                                      os.environ.get("MES_SIM_SPEED", "10")]
        else:
            commands.update(later)
            later = {}
        procs: dict[str, subprocess.Popen] = {}
        stopping = False

        def stop(signum=None, frame=None):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        for name, cmd in commands.items():
            procs[name] = subprocess.Popen(cmd, start_new_session=True)  # noqa: S603
        self._banner(host, port, logins, sorted(procs), later=sorted(later))
        exit_code = 0
        restarts: dict[str, list[float]] = {}
        try:
            while not stopping:
                for name, proc in list(procs.items()):
                    if proc.poll() is None:
                        continue
                    if name == "demo" and proc.returncode == 0:
                        del procs[name]  # done: now the plant runs at the wall-clock time
                        for later_name, cmd in later.items():
                            procs[later_name] = subprocess.Popen(  # noqa: S603
                                cmd, start_new_session=True)
                        if later:
                            self.stdout.write(f"  demo ready; started {', '.join(sorted(later))}")
                            self.stdout.flush()
                        continue
                    if restart_allowed(name, restarts, time.monotonic()):
                        self.stderr.write(f"{name} exited with {proc.returncode}; starting it "
                                          f"again ({len(restarts[name])} of {RESTARTS} in "
                                          f"{RESTART_WINDOW / 60:.0f} min).")
                        procs[name] = subprocess.Popen(  # noqa: S603
                            proc.args, start_new_session=True)
                        continue
                    self.stderr.write(f"{name} exited with {proc.returncode}; stopping.")
                    exit_code = 1
                    stopping = True
                time.sleep(0.3)
        finally:
            self.stdout.write("Stopping ...")
            for proc in procs.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 15
            for proc in procs.values():
                try:
                    proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            self.stdout.write("Stopped.")
        sys.exit(exit_code)

    def _banner(self, host, port, logins, running, later=()):
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
        db = settings.DATABASES["default"]
        lines = [
            "",
            f"  MES is running: http://{shown}:{port}/   (Ctrl-C stops it)",
            f"  database: {db['ENGINE'].rsplit('.', 1)[-1]} {db['NAME']}",
            f"  broker:   {'redis' if settings.REDIS_URL else 'embedded (files in var/broker)'}",
            f"  running:  {', '.join(running)}",
        ]
        if later:
            lines.append(f"  then:     {', '.join(later)} (once the demo is loaded; the first "
                         "start makes its history now, the KPI pages fill up day by day)")
        if logins:
            lines.append("  demo logins (role, username, password):")
            lines += [f"    {role:<14} {username:<10} {password}" for username, role, password
                      in logins]
        lines.append("")
        self.stdout.write("\n".join(lines))
        self.stdout.flush()
