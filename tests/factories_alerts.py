"""Alert rules, realistic shop-floor situations and Celery/HTTP fixtures for the alerts tests.

Situations are built with the planning, execution and quality services. The one direct write
is the schedule (planned start/end): the scheduler's apply service does not exist yet, so
`schedule()` stands in for it.
"""

import datetime
import json
import threading
import uuid
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone, translation

from alerts.kinds import Channel, Scope, Severity
from alerts.models import AlertRule
from alerts.services.config import alert_rule_save, webhook_endpoint_save
from execution.services.equipment import equipment_set_state
from execution.services.reporting import task_report_quantity, task_start
from planning.models import Equipment, Task
from quality.models import Characteristic, DefectCode, InspectionPlan
from quality.services.inspections import inspection_record

RESPONSIBLE_IN_APP = [{"after_minutes": 0, "notify_responsible": True,
                       "channels": [Channel.IN_APP]}]


def make_rule(kind, *, code=None, chain=None, severity=Severity.WARNING, scope=Scope.PLANT,
              auto_resolve=True, actor=None, **fields) -> AlertRule:
    """A rule through the configuration service (so it is validated like the page does)."""
    return alert_rule_save(
        actor=actor, rule=None, levels=[dict(lv) for lv in (chain or RESPONSIBLE_IN_APP)],
        fields={"code": code or f"R-{kind}-{uuid.uuid4().hex[:6]}", "name": f"规则 {kind}",
                "name_en": f"Rule {kind}", "kind": kind, "severity": severity,
                "scope": scope, "auto_resolve": auto_resolve, **fields})


def make_endpoint(url, *, kind="generic", secret="s3cret", timeout=2,  # noqa: S107
                  name=None):
    return webhook_endpoint_save(actor=None, endpoint=None, fields={
        "name": name or f"hook-{uuid.uuid4().hex[:6]}", "kind": kind, "url": url,
        "secret": secret, "timeout_seconds": timeout, "active": True})


def schedule(task: Task, start, end) -> Task:
    """Stand-in for the scheduler's apply: put the task in time."""
    Task.objects.filter(pk=task.pk).update(planned_start=start, planned_end=end)
    task.refresh_from_db()
    return task


def report(task, operator, wc, good=0, scrap=0, **kw):
    return task_report_quantity(operator=operator, task=task, work_center=wc,
                                client_token=uuid.uuid4().hex, good=good, scrap=scrap, **kw)


def start(task, operator, wc):
    return task_start(operator=operator, task=task, work_center=wc,
                      client_token=uuid.uuid4().hex)


def qc_plan(code="IP-ALERT", max_loops=1) -> InspectionPlan:
    plan = InspectionPlan.objects.create(code=code, name="外径检验", max_rework_loops=max_loops)
    Characteristic.objects.create(plan=plan, name="外径", kind="measured",
                                  nominal=Decimal("10"), lower=Decimal("9.95"),
                                  upper=Decimal("10.05"), unit="mm")
    return plan


def defect_code():
    return DefectCode.objects.get_or_create(code="D01", defaults={"name": "尺寸超差"})[0]


def make_checkpoint(task: Task, plan: InspectionPlan) -> Task:
    Task.objects.filter(pk=task.pk).update(is_qc_checkpoint=True, wait_for_qc=True,
                                           inspection_plan_code=plan.code)
    task.refresh_from_db()
    return task


def measure(inspection, inspector, value, **kw):
    ch = inspection.plan.characteristics.get()
    return inspection_record(inspector=inspector, inspection=inspection,
                             results={ch.pk: {"value": value}}, **kw)


def equipment_for(wc, code=None) -> Equipment:
    return Equipment.objects.create(code=code or f"EQ-{uuid.uuid4().hex[:5]}", name="数控车床",
                                    work_center=wc)


def stop(equipment, actor, at=None):
    from execution.models import DowntimeReason

    reason = DowntimeReason.objects.get_or_create(code="BRK", defaults={"name": "故障"})[0]
    return equipment_set_state(actor=actor, equipment=equipment, state="down", reason=reason,
                               at=at)


def minutes(n) -> datetime.timedelta:
    return datetime.timedelta(minutes=n)


def now():
    return timezone.now()


# --- Fixtures (import them into a test module to use them) ----------------------------------
@pytest.fixture(name="english")
def english_fixture(settings):
    """The tests read messages in English (the plant's default language is Chinese)."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture(name="eager")
def eager_fixture():
    """Run Celery tasks in-process (on_commit callbacks still have to fire)."""
    from mes.celery import app

    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


class Receiver:
    """A webhook receiver on 127.0.0.1 that records every request and answers as told."""

    def __init__(self):
        self.requests: list[dict] = []
        self.status = 200
        self.body = b'{"errcode": 0, "errmsg": "ok"}'
        self.delay = 0.0
        self.gate: threading.Event | None = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                receiver.requests.append({"path": self.path, "headers": self.headers,
                                          "raw": raw, "json": json.loads(raw or b"{}")})
                if receiver.gate is not None:
                    receiver.gate.wait(5)
                if receiver.delay:
                    threading.Event().wait(receiver.delay)
                try:
                    self.send_response(receiver.status)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(receiver.body)
                except OSError:
                    pass  # the client gave up (timeout test)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def keys(self) -> set[str]:
        return {r["headers"].get("Idempotency-Key") for r in self.requests}

    def close(self):
        if self.gate is not None:
            self.gate.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(name="receiver")
def receiver_fixture():
    r = Receiver()
    yield r
    r.close()

