"""The station terminal through the Django test client: scan, report, refusals, tokens,
the dispatch list's order and query count, permissions."""

import datetime
import io
import time
import uuid
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape
from openpyxl import load_workbook

from execution import selectors
from execution.models import (
    DowntimeEvent,
    DowntimeReason,
    EquipmentState,
    MaterialConsumption,
    ScanRefusal,
    TaskActivity,
    WorkReport,
)
from execution.views import terminal
from planning.models import Equipment, MaterialRequirement, Task, WorkCenter, WorkOrder
from planning.services.orders import work_order_hold
from planning.travelers import payload_for_task, payload_for_work_order
from tests.factories import WorkCenterFactory
from tests.factories_execution import released_order, scrap_reason

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true", "HTTP_ACCEPT_LANGUAGE": "en"}


def tok():
    return str(uuid.uuid4())


class Terminal:
    """One tablet at one station, driven like the page does (htmx POSTs)."""

    def __init__(self, client, wc, lang="en"):
        self.client, self.wc, self.lang = client, wc, lang

    def url(self, name, *args):
        return reverse(f"execution:{name}", args=[self.wc.code, *args])

    def post(self, name, data, *args, htmx=True):
        headers = {**HX, "HTTP_ACCEPT_LANGUAGE": self.lang} if htmx else {
            "HTTP_ACCEPT_LANGUAGE": self.lang}
        return self.client.post(self.url(name, *args), data, **headers)

    def scan(self, code):
        return self.post("station_scan", {"code": code})

    def act(self, action, task, token=None, **data):
        return self.post("station_task_action", {"task": task.pk, "client_token": token or tok(),
                                                 **data}, action)

    def report(self, task, token=None, **data):
        return self.post("station_report", {"task": task.pk, "client_token": token or tok(),
                                            **data})

    def page(self, name="station"):
        return self.client.get(self.url(name), HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def tablet(client, make_user):
    """The tablet's account: an operator login without a badge of its own."""
    user = make_user("operator", badge_code=None)
    client.force_login(user)
    return user


@pytest.fixture
def worker(make_user):
    return make_user("operator", badge_code="B-WORK-1", display_name="王师傅")


@pytest.fixture
def line():
    wo, tasks, wc = released_order(steps=2, qty="10")
    return wo, tasks, wc


def html(response) -> str:
    return response.content.decode()


def test_badge_then_task_then_report_then_complete(client, tablet, worker):
    wo, (t1,), wc = released_order(steps=1, qty="10")
    term = Terminal(client, wc)
    assert term.page().status_code == 200
    r = term.scan("B-WORK-1")
    assert r.status_code == 200 and "王师傅" in html(r) and "signed in" in html(r)
    r = term.scan(payload_for_task(t1))
    assert r.status_code == 200 and f"Task {t1} selected" in html(r)
    assert r["HX-Trigger"] == "station-changed"
    assert 'data-testid="task-start"' in html(r)
    r = term.act("start", t1)
    assert r.status_code == 200 and "Started" in html(r)
    reason = scrap_reason()
    r = term.report(t1, good="7", scrap="1", scrap_reason=reason.pk)
    assert r.status_code == 200 and "good 7, scrap 1" in html(r) and "remaining 2 of 10" in html(r)
    r = term.act("complete", t1)  # 2 of 10 not reported: the console asks why
    assert r.status_code == 422 and "2 of 10 are not reported" in html(r)
    assert 'data-testid="short-reason"' in html(r)
    assert not ScanRefusal.objects.exists()  # a question, not a refusal for the lead
    r = term.act("complete", t1, short_reason="刀具损坏 tool broke")
    assert r.status_code == 200 and "awaits acceptance" in html(r)
    assert "2 completed short: 刀具损坏 tool broke." in html(r)
    # none selected now: the whole console, not out-of-band parts
    assert "HX-Reswap" not in r and 'data-testid="no-task"' in html(r)
    t1.refresh_from_db()
    wo.refresh_from_db()
    assert (t1.status, t1.qty_good, t1.qty_scrap) == ("done", 7, 1)
    assert wo.status == WorkOrder.Status.AWAITING_ACCEPTANCE
    report = WorkReport.objects.get()
    # attributed to the badge, not to the tablet's login
    assert report.operator == worker and report.scrap_reason == reason
    assert set(TaskActivity.objects.values_list("operator", flat=True)) == {worker.pk}
    assert not ScanRefusal.objects.exists()


def test_signed_in_account_with_badge_is_the_operator_until_a_badge_is_scanned(
        client_as, worker):
    client = client_as("workshop_lead", badge_code="B-LEAD")
    _wo, (t1, _t2), wc = released_order(steps=2)
    term = Terminal(client, wc)
    r = term.page()
    assert "signed-in account" in html(r)
    term.report(t1, good="1")
    assert WorkReport.objects.get().operator == client.user
    term.scan("B-WORK-1")
    r = term.post("station_operator_clear", {})
    assert "Operator signed off" in html(r) and "signed-in account" in html(r)


def test_badge_expires_after_the_shift(client, tablet, worker, monkeypatch):
    _wo, (t1, _t2), wc = released_order(steps=2)
    term = Terminal(client, wc)
    term.scan("B-WORK-1")
    later = time.time() + (terminal.OPERATOR_HOURS + 1) * 3600
    monkeypatch.setattr(terminal, "_clock", lambda: later)
    r = term.report(t1, good="1")
    assert r.status_code == 422 and "Scan your badge first" in html(r)


def test_switching_operator_by_scanning_another_badge(client, tablet, worker, make_user):
    make_user("operator", badge_code="B-WORK-2", display_name="李师傅")
    _wo, _tasks, wc = released_order(steps=1)
    term = Terminal(client, wc)
    term.scan("B-WORK-1")
    r = term.scan("B-WORK-2")
    assert "switched from 王师傅 to 李师傅" in html(r)


def test_work_order_code_and_typed_number_select_the_step_here(client, tablet, worker):
    wo, (t1, t2), wc = released_order(steps=2)
    term = Terminal(client, wc)
    term.scan("B-WORK-1")
    r = term.scan(payload_for_work_order(wo))
    assert f"Task {t1} selected" in html(r)
    # Says which step is worked here; it does not claim the step is finished.
    assert f"its step {t1.seq} is worked at this station" in html(r)
    term.report(t1, good="10")  # done: the next open step here is step 2
    r = term.scan(wo.number.lower())
    assert f"Task {t2} selected" in html(r)
    r = term.scan(f"{wo.number}/{t2.seq}")
    assert f"Task {t2} selected" in html(r)


def _snapshot():
    return (WorkReport.objects.count(), TaskActivity.objects.count(),
            MaterialConsumption.objects.count(),
            list(Task.objects.order_by("pk").values_list("status", "qty_good", "qty_scrap")))


REFUSALS = {
    "unknown badge": (lambda ctx: ctx.term.scan("B-NOBODY"), "Unknown badge or code"),
    "overlong scan": (lambda ctx: ctx.term.scan("X" * 250), "The scanned code is too long"),
    "scan with a NUL character": (lambda ctx: ctx.term.scan("B-\x00-1"),
                                  "Null characters are not allowed"),
    "malformed traveler code": (lambda ctx: ctx.term.scan("MES:Q:123"),
                                "is not a traveler code"),
    "damaged task traveler code": (lambda ctx: ctx.term.scan("MES:T:123"),
                                   "is a traveler code, but incomplete or damaged"),
    "damaged work-order traveler code": (lambda ctx: ctx.term.scan("mes:w:" + "A" * 40),
                                         "is a traveler code, but incomplete or damaged: "
                                         "scan it again, or type the work order number"),
    "forged traveler code": (lambda ctx: ctx.term.scan("MES:T:" + "A" * 22),
                             "no task has this code"),
    "task of another station": (lambda ctx: ctx.term.scan(payload_for_task(ctx.foreign)),
                                "not to this station"),
    "not released": (lambda ctx: ctx.term.scan(payload_for_task(ctx.planned)),
                     "has not been released"),
    "on hold": (lambda ctx: ctx.term.scan(payload_for_task(ctx.held)), "is on hold"),
    "done": (lambda ctx: ctx.term.scan(payload_for_task(ctx.done)), "is already done"),
    "too much quantity": (lambda ctx: ctx.term.report(ctx.t1, good="11"), "is too many"),
    "malformed quantity": (lambda ctx: ctx.term.report(ctx.t1, good="abc"),
                           "Good: “abc” is not a number"),
    "oversized quantity": (lambda ctx: ctx.term.report(ctx.t1, good="99999999999"),
                           "Good: 99999999999 is too large"),
    "overlong quantity": (lambda ctx: ctx.term.report(ctx.t1, good="1" * 30),
                          "Good: Ensure this value has at most 20 characters"),
    "fraction of whole units": (lambda ctx: ctx.term.report(ctx.t1, good="1.5"),
                                "Whole units only"),
    "scrap without reason": (lambda ctx: ctx.term.report(ctx.t1, scrap="1"),
                             "Scrap reason: Pick the scrap reason"),
    "report on a task of another station": (lambda ctx: ctx.term.report(ctx.foreign, good="1"),
                                            "not to this station"),
    "pause a task not started": (lambda ctx: ctx.term.act("pause", ctx.t1),
                                 "cannot pause it"),
    "complete with nothing reported": (lambda ctx: ctx.term.act("complete", ctx.t1),
                                       "Report the quantity before completing"),
    "unknown task id": (lambda ctx: ctx.term.post("station_report", {
        "task": 10**9, "client_token": tok(), "good": "1"}), "Unknown task"),
    "missing token": (lambda ctx: ctx.term.post("station_report", {"task": ctx.t1.pk,
                                                                   "good": "1"}),
                      "no valid token"),
}


class Ctx:
    pass


@pytest.fixture
def refusal_ctx(client, tablet, worker, make_user):
    ctx = Ctx()
    planner = make_user("planner")
    _wo, (t1, _t2), wc = released_order(steps=2, qty="10", planner=planner)
    ctx.t1, ctx.wc, ctx.term = t1, wc, Terminal(client, wc)
    _o, (ctx.foreign,), _owc = released_order(steps=1, planner=planner)
    held_wo, (ctx.held,), _ = released_order(steps=1, planner=planner, work_center=wc)
    work_order_hold(actor=planner, work_order=held_wo, reason="no material")
    _d, (ctx.done,), _ = released_order(steps=1, planner=planner, work_center=wc)
    Task.objects.filter(pk=ctx.done.pk).update(status=Task.Status.DONE)
    _p, (ctx.planned,), _ = released_order(steps=1, planner=planner, work_center=wc)
    Task.objects.filter(pk=ctx.planned.pk).update(status=Task.Status.PLANNED)
    ctx.term.scan("B-WORK-1")
    ctx.worker = worker
    return ctx


@pytest.mark.parametrize("case", list(REFUSALS))
def test_each_refusal_is_shown_logged_and_records_nothing(refusal_ctx, case):
    do, message = REFUSALS[case]
    before = _snapshot()
    response = do(refusal_ctx)
    assert response.status_code == 422
    assert message in html(response)
    assert 'st-status-bad' in html(response) and 'role="alert"' in html(response)
    assert _snapshot() == before
    refusal = ScanRefusal.objects.get()
    assert refusal.work_center == refusal_ctx.wc and refusal.operator == refusal_ctx.worker
    assert message.split(":")[-1].strip()[:15] in refusal.reason
    assert "HX-Trigger" not in response


@pytest.mark.parametrize("case", list(REFUSALS))
def test_each_refusal_reads_in_the_readers_language(refusal_ctx, case):
    """The same refusal made at a Chinese and at an English station: each row shows its
    reason to a reader in the other language as that reader's station showed it, and the
    operator saw it in their own language."""
    do, message = REFUSALS[case]
    made = {}
    for lang in ("zh-hans", "en"):
        refusal_ctx.term.lang = lang
        page = html(do(refusal_ctx))
        made[lang] = ScanRefusal.objects.order_by("-pk").first()
        assert escape(made[lang].reason) in page  # what the operator saw, in their language
    zh, en = made["zh-hans"], made["en"]
    assert zh.pk != en.pk and zh.reason != en.reason and message in en.reason
    with translation.override("en"):
        assert zh.reason_shown == en.reason == en.reason_shown
    with translation.override("zh-hans"):
        assert en.reason_shown == zh.reason == zh.reason_shown


def test_a_refusal_written_before_keys_were_kept_shows_its_text(worker):
    old = ScanRefusal.objects.create(action="scan", payload="X", reason="未知的工牌")
    with translation.override("en"):
        assert old.reason_key is None and old.reason_shown == "未知的工牌"


def test_no_operator_identified_is_refused(client, tablet):
    _wo, (t1, _t2), wc = released_order(steps=2)
    term = Terminal(client, wc)
    r = term.scan(payload_for_task(t1))  # selecting a task needs no badge...
    assert r.status_code == 200 and "Now scan your badge" in html(r)
    r = term.act("start", t1)  # ...doing something does
    assert r.status_code == 422 and "Scan your badge first" in html(r)
    assert not TaskActivity.objects.exists()
    assert ScanRefusal.objects.get().operator is None


def test_empty_scan_is_not_logged(client, tablet):
    _wo, _tasks, wc = released_order(steps=1)
    r = Terminal(client, wc).scan("   ")
    assert r.status_code == 422 and "Nothing was scanned" in html(r)
    assert not ScanRefusal.objects.exists()


def test_plain_post_without_htmx_renders_the_whole_page(client, tablet, worker):
    _wo, (t1,), wc = released_order(steps=1)
    term = Terminal(client, wc)
    r = term.post("station_scan", {"code": "B-NOBODY"}, htmx=False)
    assert r.status_code == 422 and "<html" in html(r) and "Unknown badge" in html(r)


def test_same_token_counts_once(client, tablet, worker):
    _wo, (t1, _t2), wc = released_order(steps=2, qty="10")
    term = Terminal(client, wc)
    term.scan("B-WORK-1")
    token = tok()
    first = term.report(t1, token=token, good="3")
    again = term.report(t1, token=token, good="3")
    assert first.status_code == again.status_code == 200
    assert "Already recorded" in html(again)
    t1.refresh_from_db()
    assert t1.qty_good == 3 and WorkReport.objects.count() == 1
    start = tok()
    term.act("pause", t1, token=start)
    r = term.act("pause", t1, token=start)
    assert "Already recorded" in html(r)
    assert TaskActivity.objects.filter(kind="pause").count() == 1


def test_equipment_state_and_material_issue(client, tablet, worker):
    wo, (t1, _t2), wc = released_order(steps=2)
    eq = Equipment.objects.create(code="LATHE-1", name="车床1", work_center=wc)
    other = Equipment.objects.create(code="MILL-9", name="铣床", work_center=WorkCenterFactory())
    reason = DowntimeReason.objects.create(code="BRK", name="故障", name_en="Breakdown")
    term = Terminal(client, wc)
    term.scan("B-WORK-1")
    r = term.post("station_equipment_state", {"equipment": eq.pk, "state": "down",
                                              "client_token": tok()})
    assert r.status_code == 422 and "Reason: Say why the equipment is down" in html(r)
    assert 'id="equipment-panel"' in html(r) and "hx-swap-oob" in html(r)
    r = term.post("station_equipment_state", {"equipment": other.pk, "state": "running",
                                              "client_token": tok()})
    assert r.status_code == 422 and "not at this station" in html(r)
    r = term.post("station_equipment_state", {"equipment": eq.pk, "state": "down",
                                              "reason": reason.pk, "client_token": tok()})
    assert r.status_code == 200 and "LATHE-1: down" in html(r)
    stop = DowntimeEvent.objects.get()
    assert stop.end is None and stop.reported_by == worker
    assert ScanRefusal.objects.filter(action="equipment").count() == 2

    component = MaterialRequirement.objects.filter(work_order=wo).first().item
    data = {"task": t1.pk, "item_code": component.code, "lot_code": "LOT-77", "quantity": "5",
            "client_token": tok()}
    r = term.post("station_material", data)
    assert r.status_code == 200 and "Issued lot LOT-77" in html(r)
    assert term.post("station_material", data).status_code == 200  # same token: once
    assert MaterialConsumption.objects.get().operator == worker
    component.uom = "kg"
    component.save(update_fields=["uom"])
    panel = html(term.page("station_task_panel"))  # required and issued, in the unit
    assert '5 <span class="muted">kg</span></td>' in panel, panel
    r = term.post("station_material", {**data, "item_code": "NOPE", "client_token": tok()})
    assert r.status_code == 422 and "Component: Unknown component" in html(r)
    assert 'value="NOPE"' in html(r)  # what was typed stays, to be corrected


def test_a_stopped_machine_changes_its_reason_at_the_station(client, tablet, worker):
    """Down for a breakdown, then Down again with "Tool change": answered with the new reason
    (it was a 500 on the one-open-stop constraint)."""
    _wo, (_t1,), wc = released_order(steps=1)
    eq = Equipment.objects.create(code="LATHE-2", name="车床2", work_center=wc)
    breakdown = DowntimeReason.objects.create(code="BRK", name="故障", name_en="Breakdown")
    tool = DowntimeReason.objects.create(code="TOOL", name="换刀", name_en="Tool change")
    term = Terminal(client, wc)
    term.scan("B-WORK-1")
    for reason in (breakdown, tool):
        r = term.post("station_equipment_state", {"equipment": eq.pk, "state": "down",
                                                  "reason": reason.pk, "client_token": tok()})
        assert r.status_code == 200 and "LATHE-2: down" in html(r)
    shown = html(r).split('data-testid="station-status"')[1].split("</div>")[0]
    assert "Reason: " in shown and "Tool change" in shown, shown
    assert DowntimeEvent.objects.get(end=None).reason == tool
    assert DowntimeEvent.objects.filter(end__isnull=False).get().reason == breakdown


@pytest.mark.parametrize("typed", ["1_0", "1e1"])
def test_a_quantity_python_reads_but_a_person_does_not_is_refused(client, tablet, worker,
                                                                   typed):
    """Decimal("1_0") and Decimal("1e1") are 10: typed at a station, they are slips."""
    wo, (t1,), wc = released_order(steps=1, qty="10")
    term = Terminal(client, wc)
    term.scan("B-WORK-1")
    term.scan(payload_for_task(t1))
    r = term.report(t1, good=typed)
    assert r.status_code == 422 and f"Good: “{typed}” is not a number" in html(r)
    component = MaterialRequirement.objects.filter(work_order=wo).first().item
    r = term.post("station_material", {"task": t1.pk, "item_code": component.code,
                                       "lot_code": "LOT-1", "quantity": typed,
                                       "client_token": tok()})
    assert r.status_code == 422 and f"Quantity: “{typed}” is not a number" in html(r)
    assert not WorkReport.objects.exists() and not MaterialConsumption.objects.exists()


def test_a_refused_action_is_named_in_the_readers_language(client, tablet, worker):
    _wo, (t1,), wc = released_order(steps=1)
    term = Terminal(client, wc)
    term.scan("B-WORK-1")
    term.scan(payload_for_task(t1))
    r = term.act("pause", t1)  # released, not started: nothing to pause
    assert r.status_code == 422 and "cannot pause it" in html(r)
    r = client.post(term.url("station_task_action", "pause"),
                    {"task": t1.pk, "client_token": tok()}, HTTP_HX_REQUEST="true",
                    HTTP_ACCEPT_LANGUAGE="zh-hans")
    shown = html(r).split('data-testid="station-status"')[1].split("</div>")[0]
    assert r.status_code == 422 and "不能执行 暂停" in shown and "pause" not in shown


@pytest.mark.parametrize("lang, field", [("en", "Reason: "), ("zh-hans", "原因：")])
def test_a_reason_left_picked_is_not_recorded_on_a_running_machine(client, tablet, worker,
                                                                    lang, field):
    """The reason list sits beside every state button: Running with a reason is refused."""
    _wo, _tasks, wc = released_order(steps=1)
    eq = Equipment.objects.create(code="LATHE-2", name="车床2", work_center=wc)
    reason = DowntimeReason.objects.create(code="BRK", name="故障", name_en="Breakdown")
    term = Terminal(client, wc)
    term.scan("B-WORK-1")
    for state in ("running", "idle", "setup"):
        r = client.post(term.url("station_equipment_state"), {
            "equipment": eq.pk, "state": state, "reason": reason.pk, "client_token": tok()},
            HTTP_HX_REQUEST="true", HTTP_ACCEPT_LANGUAGE=lang)
        assert r.status_code == 422 and field in html(r)
    assert not EquipmentState.objects.filter(reason__isnull=False).exists()
    assert not DowntimeEvent.objects.exists()
    r = term.post("station_equipment_state", {"equipment": eq.pk, "state": "maintenance",
                                              "reason": reason.pk, "client_token": tok()})
    assert r.status_code == 200 and DowntimeEvent.objects.get().reason == reason


def test_equipment_panel_dates_a_state_that_began_on_another_day(client, tablet):
    wo, _tasks, wc = released_order(steps=1)
    today = Equipment.objects.create(code="LATHE-2", name="车床2", work_center=wc)
    earlier = Equipment.objects.create(code="SAW-3", name="锯床", work_center=wc)
    now = timezone.localtime()
    EquipmentState.objects.create(equipment=today, state="running", since=now)
    before = now - datetime.timedelta(days=2)
    EquipmentState.objects.create(equipment=earlier, state="idle", since=before)
    panel = html(Terminal(client, wc).page("station_equipment"))
    assert f"since {now:%H:%M}" in panel and f"since {now:%Y-%m-%d}" not in panel
    assert f"since {before:%Y-%m-%d %H:%M}" in panel


# --- The dispatch list ------------------------------------------------------------------------
def _plan(task, start=None, hours=1, priority=None, due=None):
    end = start + datetime.timedelta(hours=hours) if start else None
    Task.objects.filter(pk=task.pk).update(planned_start=start, planned_end=end)
    changes = {k: v for k, v in (("priority", priority), ("due", due)) if v is not None}
    if changes:
        WorkOrder.objects.filter(pk=task.work_order_id).update(**changes)


def test_dispatch_list_order_groups_and_lateness(client, tablet, worker, make_user):
    planner = make_user("planner")
    now = timezone.now()
    wc = WorkCenterFactory()
    (_a, (a,), _), (_b, (b,), _), (_c, (c,), _), (_d, (d,), _), (_e, (e,), _) = [
        released_order(steps=1, planner=planner, work_center=wc) for _ in range(5)]
    _plan(a, now + datetime.timedelta(hours=5))
    _plan(b, now - datetime.timedelta(minutes=30))  # start passed, not started: late start
    _plan(c, None, priority=3)                       # unscheduled: last, by priority
    _plan(d, None, priority=1)
    _plan(e, now + datetime.timedelta(hours=5), priority=3)  # same start as a: urgent first
    running_wo, (running,), _ = released_order(steps=1, planner=planner, work_center=wc)
    _plan(running, now - datetime.timedelta(hours=3), hours=1)  # planned end passed
    held_wo, (held,), _ = released_order(steps=1, planner=planner, work_center=wc)
    _plan(held, now - datetime.timedelta(hours=1))
    term = Terminal(client, wc)
    term.scan("B-WORK-1")
    term.act("start", running)
    work_order_hold(actor=planner, work_order=held_wo, reason="quality stop")

    dispatch = selectors.dispatch_list(wc)
    assert [r.task.pk for r in dispatch.current] == [running.pk]
    assert [r.task.pk for r in dispatch.next] == [b.pk]
    assert [r.task.pk for r in dispatch.later] == [held.pk, e.pk, a.pk, c.pk, d.pk]
    late = {r.task.pk: r.late for r in dispatch.current + dispatch.next + dispatch.later}
    assert late[running.pk] == "end" and late[b.pk] == "start" and late[a.pk] == ""
    assert next(r for r in dispatch.later if r.task.pk == held.pk).on_hold

    r = client.get(term.url("station_dispatch"), HTTP_ACCEPT_LANGUAGE="en")
    page = html(r)
    order = [int(x.split('"')[0]) for x in page.split('data-task="')[1:]]
    assert order == [running.pk, b.pk, held.pk, e.pk, a.pk, c.pk, d.pk]
    assert "late: planned end passed" in page and "late start" in page and "on hold" in page


def _rows(page: str, group: str) -> list[str]:
    """The dispatch rows (as HTML) of one group of a rendered dispatch list."""
    if f'data-group="{group}"' not in page:
        return []
    part = page.split(f'data-group="{group}"')[1].split("</ol>")[0]
    return part.split('data-task="')[1:]


def test_dispatch_list_next_is_work_that_can_be_done_now(client, tablet, worker, make_user):
    """A step nothing has reached yet ("waiting for the previous step") took a Next slot
    ahead of work the station could do, which sat under Later, off-screen on a tablet. Next
    is now the first tasks, in schedule order, that can be worked; waiting ones follow under
    Later, still in schedule order and marked, and move up once units reach them."""
    planner = make_user("planner")
    now = timezone.now()
    wc, elsewhere = WorkCenterFactory(machines=2), WorkCenterFactory()
    waiting = []
    for hours in (1, 2):  # step 2 is here, first in the schedule; step 1 is elsewhere
        _wo, (first, second), _ = released_order(steps=2, planner=planner, work_center=wc)
        Task.objects.filter(pk=first.pk).update(work_center=elsewhere)
        _plan(second, now + datetime.timedelta(hours=hours))
        waiting.append((first, second))
    (w1_first, w1), (_w2_first, w2) = waiting
    _r, (ready,), _ = released_order(steps=1, planner=planner, work_center=wc)
    _plan(ready, now + datetime.timedelta(hours=3))
    _u, (unplanned,), _ = released_order(steps=1, planner=planner, work_center=wc)
    _plan(unplanned, None)  # unscheduled (as a new rework task): last in schedule order

    dispatch = selectors.dispatch_list(wc)
    assert [r.task.pk for r in dispatch.next] == [ready.pk, unplanned.pk]
    assert [r.task.pk for r in dispatch.later] == [w1.pk, w2.pk]
    assert all(r.waiting and not r.ready for r in dispatch.later)
    assert all(r.ready and not r.waiting for r in dispatch.next)

    term = Terminal(client, wc)
    for page in (html(term.page()), html(term.page("station_dispatch"))):
        nxt, later = _rows(page, "next"), _rows(page, "later")
        assert [int(r.split('"')[0]) for r in nxt] == [ready.pk, unplanned.pk]
        assert [int(r.split('"')[0]) for r in later] == [w1.pk, w2.pk]
        assert not any("waiting for the previous step" in r for r in nxt)
        assert all("waiting for the previous step" in r for r in later)

    # Step 1 passes 4 on: w1 can be worked and takes its place in schedule order.
    Terminal(client, elsewhere).scan("B-WORK-1")
    Terminal(client, elsewhere).report(w1_first, good="4")
    dispatch = selectors.dispatch_list(wc)
    assert [r.task.pk for r in dispatch.next] == [w1.pk, ready.pk]
    assert [r.task.pk for r in dispatch.later] == [w2.pk, unplanned.pk]


def test_dispatch_list_a_station_with_only_waiting_work_shows_it_under_later(client, tablet,
                                                                            make_user):
    wc = WorkCenterFactory()
    _wo, (first, second), _ = released_order(steps=2, work_center=wc)
    Task.objects.filter(pk=first.pk).update(work_center=WorkCenterFactory())
    dispatch = selectors.dispatch_list(wc)
    assert (dispatch.current, dispatch.next) == ([], [])
    assert [r.task.pk for r in dispatch.later] == [second.pk] and dispatch.later[0].waiting
    page = html(Terminal(client, wc).page())
    assert _rows(page, "next") == [] and len(_rows(page, "later")) == 1


def _count(fn) -> int:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def test_dispatch_list_costs_a_fixed_number_of_queries(client, tablet, worker, make_user,
                                                      django_assert_num_queries):
    planner = make_user("planner")
    wc = WorkCenterFactory()
    _wo, (first, _t2), _ = released_order(steps=2, planner=planner, work_center=wc)
    term = Terminal(client, wc)
    term.scan("B-WORK-1")
    term.scan(payload_for_task(first))  # the page then also shows the selected task
    small = {
        "selector": _count(lambda: selectors.dispatch_list(wc)),
        "partial": _count(lambda: client.get(term.url("station_dispatch"))),
        "page": _count(lambda: client.get(term.url("station"))),
    }
    for _ in range(6):
        released_order(steps=3, planner=planner, work_center=wc)
    assert selectors.dispatch_list(wc).count == 20
    with django_assert_num_queries(2):
        selectors.dispatch_list(wc)
    big = {
        "selector": _count(lambda: selectors.dispatch_list(wc)),
        "partial": _count(lambda: client.get(term.url("station_dispatch"))),
        "page": _count(lambda: client.get(term.url("station"))),
    }
    assert big == small


def test_alert_badge_hook(client, tablet):
    _wo, (t1,), wc = released_order(steps=1)
    provider = lambda ids: {t1.pk: [{"label": "Lagging 2h", "severity": "critical"}]}  # noqa: E731
    selectors.register_alert_badges(provider)
    try:
        page = html(client.get(reverse("execution:station_dispatch", args=[wc.code])))
    finally:
        selectors._alert_badge_providers.remove(provider)
    assert "Lagging 2h" in page and "pill-alert-critical" in page


# --- Pages and permissions --------------------------------------------------------------------
def test_station_list_groups_by_workshop_and_line(client_as):
    _wo, _tasks, wc = released_order(steps=2)
    client = client_as("operator")
    page = html(client.get(reverse("execution:station_list")))
    assert wc.code in page and wc.line.workshop.code in page and wc.line.code in page
    assert reverse("execution:station", args=[wc.code]) in page
    # Its two released steps are counted as work to start, not as "waiting": on the station,
    # waiting means waiting for the previous step, which only the second one is.
    assert "2 to start" in page and "waiting" not in page


@pytest.mark.parametrize(("role", "url_name", "status"), [
    ("planner", "execution:station", 403),
    ("qc_inspector", "execution:station", 403),
    ("operator", "execution:station", 200),
    ("workshop_lead", "execution:station", 200),
    ("admin", "execution:station", 200),
    ("planner", "execution:station_list", 200),
    ("operator", "execution:refusal_list", 403),
    ("workshop_lead", "execution:refusal_list", 200),
    ("manager", "execution:refusal_list", 200),
])
def test_permissions(client_as, role, url_name, status):
    _wo, _tasks, wc = released_order(steps=1)
    args = [wc.code] if url_name == "execution:station" else []
    assert client_as(role).get(reverse(url_name, args=args)).status_code == status


def test_actions_need_report_work(client_as):
    _wo, (t1,), wc = released_order(steps=1)
    client = client_as("planner")
    r = client.post(reverse("execution:station_report", args=[wc.code]),
                    {"task": t1.pk, "good": "1", "client_token": tok()})
    assert r.status_code == 403 and not WorkReport.objects.exists()


# Every htmx request the station page sends: (URL name, extra URL args, method).
STATION_HTMX = [("station_scan", (), "post"), ("station_operator_clear", (), "post"),
                ("station_task_action", ("start",), "post"), ("station_report", (), "post"),
                ("station_material", (), "post"), ("station_equipment_state", (), "post"),
                ("station_dispatch", (), "get"), ("station_task_panel", (), "get"),
                ("station_equipment", (), "get")]


@pytest.mark.parametrize(("name", "args", "method"), STATION_HTMX)
def test_signed_out_htmx_gets_401_and_where_to_sign_in_not_the_login_page(
        client, tablet, worker, name, args, method):
    """A session that ended (expired, signed out elsewhere): a tap, a scan or a live refresh is
    not redirected to the login page (htmx would draw it in the console or a panel). It gets
    401, nothing to swap, and the sign-in address back to the station's page; nothing is
    recorded. A plain request still gets the login page's redirect."""
    wo, (task,), wc = released_order(steps=1, qty="10")
    eq = Equipment.objects.create(code="PRESS-9", name="压力机", work_center=wc)
    station = reverse("execution:station", args=[wc.code])
    client.logout()
    url = reverse(f"execution:{name}", args=[wc.code, *args])
    data = {"code": worker.badge_code, "task": task.pk, "good": "1", "client_token": tok(),
            "equipment": eq.pk, "state": "running", "item_code": "X", "lot_code": "L",
            "quantity": "1"}
    send = client.post if method == "post" else client.get
    r = send(url, data if method == "post" else {}, **HX,
             HTTP_HX_CURRENT_URL=f"http://testserver{station}")
    assert r.status_code == 401
    assert r["MES-Sign-In"] == f"/accounts/login/?next={station}"
    assert r["HX-Reswap"] == "none"
    assert "password" not in html(r)
    assert not WorkReport.objects.exists() and not TaskActivity.objects.exists()
    assert not EquipmentState.objects.exists() and not ScanRefusal.objects.exists()
    # Another site's page as HX-Current-URL is not where a sign-in sends anyone.
    r = send(url, data if method == "post" else {}, **HX,
             HTTP_HX_CURRENT_URL="https://evil.example/phish")
    assert r.status_code == 401 and "evil" not in r["MES-Sign-In"]
    r = send(url, data if method == "post" else {}, HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/?next=")


def test_unknown_station_is_404(client_as):
    assert client_as("operator").get(
        reverse("execution:station", args=["NOPE"])).status_code == 404


def test_a_report_finds_its_station_with_the_task(client, tablet, worker):
    """A report does not look its station up first: it is the task's own work center, read
    with the task, when that one has the URL's code and is active. An unknown or deactivated
    station is still a 404, and a task of another station still refused, recording nothing."""
    _wo, (t1,), wc = released_order(steps=1, qty="10")
    _o, (foreign,), other = released_order(steps=1)
    term, there = Terminal(client, wc), Terminal(client, other)
    term.scan("B-WORK-1")
    assert term.report(t1, good="1").status_code == 200
    report = WorkReport.objects.get()
    assert (report.work_center_id, report.operator.badge_code) == (wc.pk, "B-WORK-1")
    # The badge scanned at one station is not the operator at another (the station session
    # is kept per station code).
    r = there.report(foreign, good="1")
    assert r.status_code == 422 and "Scan your badge first" in html(r)
    # Under another station's code, and under no station's: nothing is recorded.
    there.scan("B-WORK-1")
    r = there.report(t1, good="1")
    assert r.status_code == 422 and "not to this station" in html(r)
    r = term.report(foreign, good="1")
    assert r.status_code == 422 and "not to this station" in html(r)
    nowhere = Terminal(client, WorkCenter(code="NOPE"))
    assert nowhere.report(t1, good="1").status_code == 404
    WorkCenter.objects.filter(pk=wc.pk).update(active=False)
    assert term.report(t1, good="1").status_code == 404
    assert WorkReport.objects.count() == 1
    WorkCenter.objects.filter(pk=wc.pk).update(active=True)
    assert term.report(t1, good="1").status_code == 200


def test_refused_scans_page_lists_and_exports(client, tablet, worker, client_as):
    _wo, _tasks, wc = released_order(steps=1)
    Terminal(client, wc).scan("B-NOBODY-42")
    lead = client_as("workshop_lead")
    page = html(lead.get(reverse("execution:refusal_list"), HTTP_ACCEPT_LANGUAGE="en"))
    assert "B-NOBODY-42" in page and wc.code in page
    csv = lead.get(reverse("execution:refusal_list") + "?export=csv")
    assert csv.status_code == 200 and "B-NOBODY-42" in csv.content.decode("utf-8-sig")


def test_refused_scans_page_says_what_each_attempt_sent(client, tablet, worker, client_as):
    """The lead reads what a refused attempt sent field by field, with what its ids and codes
    name: the task (linked to its work order), the traveler scanned, the badge's holder, the
    scrap reason; an id that names nothing says so. Not the raw "task=12 good=abc"; the
    export says the same; and the page costs the same queries for 6 refusals as for 12."""
    wo, (t1,), wc = released_order(steps=1, qty="10")
    other_wo, (foreign,), other = released_order(steps=1)
    reason = scrap_reason()
    press = Equipment.objects.create(code="EQ-PRESS-9", name="Press 9", work_center=other)
    term = Terminal(client, wc)
    lead = client_as("workshop_lead")
    url = reverse("execution:refusal_list")

    def refuse_six():
        term.scan("B-NOBODY-42")
        term.scan(payload_for_task(foreign))  # another station's task
        term.scan("B-WORK-1")
        term.report(t1, good="abc")
        term.report(t1, good="99", scrap="1", scrap_reason=reason.pk)
        term.post("station_report", {"task": "987654", "good": "1", "client_token": tok()})
        term.post("station_equipment_state", {"equipment": press.pk, "state": "down",
                                              "client_token": tok()})  # another station's

    refuse_six()
    assert ScanRefusal.objects.count() == 6
    with CaptureQueriesContext(connection) as four:
        page = html(lead.get(url, HTTP_ACCEPT_LANGUAGE="en"))
    wo_link = reverse("planning:work_order_detail", args=[wo.pk])
    assert f'<a href="{wo_link}">{escape(str(t1))}</a>' in page
    assert "Good:</span> abc" in page
    assert f"Scrap reason:</span> {escape(str(reason))}<" in page
    foreign_link = reverse("planning:work_order_detail", args=[other_wo.pk])
    assert (f'{payload_for_task(foreign)} → </a>' not in page
            and f'<a href="{foreign_link}">{escape(payload_for_task(foreign))} → '
                f'{escape(str(foreign))}</a>' in page)
    assert "Scanned:</span> B-NOBODY-42" in page
    assert "Task:</span> 987654 (not found)" in page
    assert f"Equipment:</span> {escape(str(press))} · " in page and "State:</span> down" in page
    assert f"task={t1.pk}" not in page and "good=abc" not in page
    csv = lead.get(url + "?export=csv", HTTP_ACCEPT_LANGUAGE="en").content.decode("utf-8-sig")
    assert f"Task: {t1} · Good: abc" in csv and "Task: 987654 (not found)" in csv
    refuse_six()
    with CaptureQueriesContext(connection) as eight:
        lead.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert len(eight) == len(four)


def test_refused_scans_page_and_export_in_the_readers_language(client, tablet, worker,
                                                                client_as):
    """A refusal made at a Chinese station reads in English to an English lead (page, CSV
    and XLSX), and one made at an English station in Chinese to a Chinese lead."""
    _wo, _tasks, wc = released_order(steps=1)
    Terminal(client, wc, lang="zh-hans").scan("B-NOBODY-42")
    english = Terminal(client, wc, lang="en")
    english.scan("B-WORK-1")
    english.report(_tasks[0], good="abc")
    zh, en = ScanRefusal.objects.order_by("pk")
    lead = client_as("workshop_lead")
    url = reverse("execution:refusal_list")
    with translation.override("en"):
        zh_in_en, en_in_en = zh.reason_shown, en.reason_shown
    with translation.override("zh-hans"):
        zh_in_zh, en_in_zh = zh.reason_shown, en.reason_shown
    assert zh_in_zh == zh.reason and "Unknown badge or code" in zh_in_en
    assert en_in_en == en.reason and en_in_zh != en.reason
    for lang, shown, not_shown in (("en", [zh_in_en, en_in_en], [zh.reason]),
                                   ("zh-hans", [zh_in_zh, en_in_zh], [en.reason])):
        lead.cookies.load({settings.LANGUAGE_COOKIE_NAME: lang})
        page = html(lead.get(url, HTTP_ACCEPT_LANGUAGE=lang))
        csv = lead.get(url + "?export=csv", HTTP_ACCEPT_LANGUAGE=lang).content.decode(
            "utf-8-sig")
        xlsx = load_workbook(io.BytesIO(lead.get(
            url + "?export=xlsx", HTTP_ACCEPT_LANGUAGE=lang).content)).active
        cells = " ".join(str(c.value) for row in xlsx.iter_rows() for c in row)
        for text in shown:
            assert escape(text) in page and text in csv and text in cells
        for text in not_shown:
            assert escape(text) not in page and text not in csv and text not in cells


def test_quantity_rows_show_input_from_previous_step(client, tablet, worker):
    _wo, (t1, t2), wc = released_order(steps=2, qty="10")
    term = Terminal(client, wc)
    term.scan("B-WORK-1")
    term.report(t1, good="6", scrap="1", scrap_reason=scrap_reason().pk)
    rows = {r.task.pk: r for r in selectors.dispatch_list(wc).current
            + selectors.dispatch_list(wc).next + selectors.dispatch_list(wc).later}
    assert rows[t1.pk].remaining == Decimal(3)
    assert rows[t2.pk].input_qty == Decimal(6) and rows[t2.pk].remaining == Decimal(6)


def test_a_report_is_answered_with_what_it_changed_only(client, tablet, worker):
    """A report on the selected task answers with the status line, the task panel and the
    form's "all remaining" button, swapped out of band (HX-Reswap none): not the operator, the
    forms or their lists. A refusal, a report that finishes the task, or one on a task that
    was not the selected one gets the whole console."""
    _wo, (t1, t2), wc = released_order(steps=2, qty="10")
    assert t2.work_center_id == wc.pk
    term = Terminal(client, wc)
    term.scan("B-WORK-1")
    term.scan(payload_for_task(t1))
    started = term.act("start", t1)  # start, pause, resume: the status line and the panel
    assert started["HX-Reswap"] == "none" and "Started" in html(started)
    assert 'id="task-panel" hx-swap-oob="true"' in html(started)
    assert 'data-testid="task-pause"' in html(started) and "report-form" not in html(started)
    # The first report: the panel changes beyond its figures (Complete appears).
    r = term.report(t1, good="3")
    body = html(r)
    assert r.status_code == 200 and r["HX-Reswap"] == "none"
    assert r["HX-Trigger"] == "station-changed"
    assert body.count('hx-swap-oob="true"') == 3
    assert 'id="station-status" hx-swap-oob="true"' in body and "good 3, scrap 0" in body
    assert 'id="task-panel" hx-swap-oob="true"' in body and 'data-testid="task-complete"' in body
    assert 'data-testid="task-good">3<' in body and 'data-testid="task-remaining">7<' in body
    assert 'id="report-fill" hx-swap-oob="true"' in body and 'data-fill-good="7"' in body
    assert 'data-testid="report-form"' not in body and "station-operator" not in body
    # The next one changes the figures only: only they are sent.
    r = term.report(t1, good="1")
    body = html(r)
    assert r.status_code == 200 and r["HX-Reswap"] == "none"
    assert body.count('hx-swap-oob="true"') == 3 and "task-panel" not in body
    assert 'id="task-qty" hx-swap-oob="true"' in body and "good 1, scrap 0" in body
    assert 'data-testid="task-good">4<' in body and 'data-testid="task-remaining">6<' in body
    assert 'data-fill-good="6"' in body
    # It names the report it shows the task after (the page then skips its task panel's
    # refresh when that report comes back on the stream); a refusal names none.
    assert r["MES-Answered-Report"] == str(WorkReport.objects.latest("pk").pk)
    term.act("pause", t1)  # a report on a paused task resumes it: the whole panel again
    r = term.report(t1, good="1")
    assert 'id="task-panel" hx-swap-oob="true"' in html(r) and "task-qty" in html(r)
    assert 'data-testid="task-pause"' in html(r)

    refused = term.report(t1, good="99")
    assert refused.status_code == 422 and "HX-Reswap" not in refused
    assert "MES-Answered-Report" not in refused
    assert 'data-testid="report-form"' in html(refused) and 'value="99"' in html(refused)

    other = term.report(t2, good="1")  # not the selected task: it is now, whole console
    assert other.status_code == 200 and "HX-Reswap" not in other
    assert 'data-testid="report-form"' in html(other) and f'value="{t2.pk}"' in html(other)

    term.scan(payload_for_task(t1))
    last = term.report(t1, good="5")  # nothing remains: the task completes, none selected
    assert last.status_code == 200 and "HX-Reswap" not in last
    assert 'data-testid="no-task"' in html(last)


def test_a_report_that_starts_or_resumes_the_task_says_so(client, tablet, worker):
    """A report on a task not yet started starts it, on a paused one resumes it (the service
    records a START / RESUME): the answer tells the operator, a paused task counting run time
    again unnoticed being the defect (walk #10). A report on a running task says neither."""
    _wo, (t1,), wc = released_order(steps=1, qty="10")
    term = Terminal(client, wc)
    term.scan("B-WORK-1")
    term.scan(payload_for_task(t1))

    first = html(term.report(t1, good="1"))
    assert "Started and reported on" in first and "good 1, scrap 0" in first
    running = html(term.report(t1, good="1"))
    assert "Reported on" in running
    assert "Started and" not in running and "Resumed and" not in running
    term.act("pause", t1)
    resumed = html(term.report(t1, good="1"))
    assert "Resumed and reported on" in resumed and "good 1, scrap 0" in resumed
    assert 'data-testid="task-pause"' in resumed  # running again, as the answer says

    term.lang = "zh-hans"
    term.act("pause", t1)
    zh = html(term.report(t1, good="1"))
    assert "已恢复并报工" in zh and "良品 1，报废 0" in zh
    task = Task.objects.get(pk=t1.pk)
    assert task.status == Task.Status.IN_PROGRESS and task.qty_good == 4


def test_a_report_costs_a_fixed_number_of_queries(client, tablet, worker):
    """The report POST: session, user with permissions, then (in one transaction) the task
    locked and read with what the report needs (the station and the badge's operator with the
    task: on PostgreSQL one call of the lock-and-read function), and one statement writing the
    report, the task, its audit entry and both outbox rows: 6, however many reports the task
    already has (it was 29). The first report also sends the task panel (its materials): 7.
    SQLite has no row lock (the first write locks the database) and writes through the ORM, one
    statement per table: 9 (10)."""
    _wo, (t1,), wc = released_order(steps=1, qty="1000")
    term = Terminal(client, wc)
    term.scan("B-WORK-1")
    term.scan(payload_for_task(t1))
    term.act("start", t1)
    first = _count(lambda: term.report(t1, good="1"))
    counts = []
    for _ in range(3):
        counts.append(_count(lambda: term.report(t1, good="1")))
    for _ in range(20):
        term.report(t1, good="1")
    counts.append(_count(lambda: term.report(t1, good="1")))
    assert WorkReport.objects.filter(task=t1).count() == 25
    expected = 6 if connection.vendor == "postgresql" else 9
    assert (first, counts) == (expected + 1, [expected] * 4), (first, counts)


def _statements(fn) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        response = fn()
    assert response.status_code == 200, response.content.decode()[:300]
    return [q["sql"].split()[0].upper() for q in ctx.captured_queries]


def test_a_report_costs_a_fixed_set_of_statements(client, tablet, worker, make_user):
    """The scan report, the station's hot path: the session and the signed-in user, then the
    task locked and read with its station and the badge operator (one statement on
    PostgreSQL; neither is looked up before), and one statement writing the report, the task,
    the audit entry and the outbox rows: the same whether the badge is the signed-in
    account's or another operator's. A badge operator no longer active is refused."""
    _wo, (t1,), wc = released_order(steps=1, qty="100")
    term = Terminal(client, wc)
    term.scan("B-WORK-1")
    term.scan(payload_for_task(t1))
    term.report(t1, good="1")
    through_badge = _statements(lambda: term.report(t1, good="1"))
    own_client = Client()
    own_client.force_login(make_user("operator", badge_code="B-OWN"))
    own = Terminal(own_client, wc)
    own.scan("B-OWN")
    own.scan(payload_for_task(t1))
    own.report(t1, good="1")
    own_badge = _statements(lambda: own.report(t1, good="1"))
    # (the test's transaction makes the report's own a savepoint; in production, BEGIN/COMMIT)
    if connection.vendor == "postgresql":
        work = ["SELECT", "WITH"]  # lock and read (a function); one statement writes the rest
    else:
        work = ["SELECT", "INSERT", "UPDATE", "INSERT", "INSERT"]  # no row lock; the ORM writes
    session_user = ["SELECT"] * 2
    assert own_badge == [*session_user, "SAVEPOINT", *work, "RELEASE"]
    assert through_badge == own_badge
    t1.refresh_from_db()
    assert t1.qty_good == 4
    assert list(WorkReport.objects.values_list("operator__badge_code", flat=True)
                .order_by("pk")) == ["B-WORK-1", "B-WORK-1", "B-OWN", "B-OWN"]

    worker.is_active = False
    worker.save(update_fields=["is_active"])
    r = term.report(t1, good="1")
    assert r.status_code == 422 and "Scan your badge first" in html(r)
    t1.refresh_from_db()
    assert t1.qty_good == 4


def test_a_badge_operator_deactivated_since_the_scan_falls_back_as_for_other_actions(
        client, make_user):
    """The report reads the badge operator with its task: one deactivated since the badge scan
    records nothing in their name; the report goes to the signed-in account when it has a
    badge of its own, as every other station action does."""
    _wo, (t1,), wc = released_order(steps=1, qty="100")
    lead = make_user("operator", badge_code="B-SIGNED-IN", display_name="Signed In")
    client.force_login(lead)
    badge = make_user("operator", badge_code="B-GONE", display_name="Gone Soon")
    term = Terminal(client, wc)
    term.scan("B-GONE")
    term.scan(payload_for_task(t1))
    r = term.report(t1, good="2")
    assert r.status_code == 200, html(r)
    badge.is_active = False
    badge.save(update_fields=["is_active"])
    r = term.report(t1, good="3")
    assert r.status_code == 200, html(r)
    assert list(WorkReport.objects.filter(task=t1).order_by("pk")
                .values_list("operator__badge_code", "good")) == [
        ("B-GONE", Decimal("2")), ("B-SIGNED-IN", Decimal("3"))]
    assert not ScanRefusal.objects.exists()


def _squeezed(markup: str) -> str:
    """HTML with the template's layout whitespace taken out (between tags, and runs)."""
    import re

    return re.sub(r"\s+", " ", re.sub(r">\s+<", "><", markup)).replace(" >", ">").strip()


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_figures_answer_written_out_is_the_templates_answer(language):
    """terminal.figures_answer_html (the answer to most reports, written in Python for speed)
    gives the HTML the templates give: status line (ok and refused, lines with markup-like
    text escaped, empty lines left out), the figures, and the fill button only when something
    remains."""
    from django.template.loader import render_to_string
    from django.utils import translation

    _wo, (t1, t2), _wc = released_order(steps=2, qty="10")
    t1.qty_good, t1.qty_scrap = Decimal("3.5"), Decimal("1")
    t1.save(update_fields=["qty_good", "qty_scrap"])
    rows = [selectors.station_task(t1.pk), selectors.station_task(t2.pk)]
    t2.qty_good = Decimal("10")
    t2.save(update_fields=["qty_good"])
    rows.append(selectors.station_task(t2.pk))  # nothing remains: no button
    statuses = [terminal.Status(True, "Reported <b>3.5</b> & 1", ["Now: x < y", "", "last"]),
                terminal.Status(False, "Refused: “too many”"),
                terminal.Status(True, "Plain")]
    with translation.override(language):
        for row in rows:
            for status in statuses:
                templated = render_to_string("execution/_task_answer.html", {
                    "status": status, "oob": True, "qty_oob": True, "selected": row})
                written = terminal.figures_answer_html(status, row)
                assert _squeezed(written) == _squeezed(templated)
    assert rows[2].remaining == 0 and "report-fill" in written and "<button" not in written
    assert "&lt;b&gt;3.5&lt;/b&gt; &amp; 1" in terminal.figures_answer_html(statuses[0], rows[0])


@pytest.mark.parametrize("lang, field", [("en", "Scrap reason: "), ("zh-hans", "报废原因：")])
def test_a_scrap_reason_without_scrap_is_refused_naming_the_field(client, tablet, worker,
                                                                   lang, field):
    """A reason left picked (or the scrap quantity forgotten) recorded no cause for nothing."""
    _wo, (t1,), wc = released_order(steps=1, qty="10")
    term = Terminal(client, wc)
    term.scan("B-WORK-1")
    term.scan(payload_for_task(t1))
    for scrap in ("", "0"):
        r = client.post(term.url("station_report"), {
            "task": t1.pk, "client_token": tok(), "good": "3", "scrap": scrap,
            "scrap_reason": scrap_reason().pk}, HTTP_HX_REQUEST="true",
            HTTP_ACCEPT_LANGUAGE=lang)
        assert r.status_code == 422 and field in html(r)
    assert not WorkReport.objects.exists()
    t1.refresh_from_db()
    assert t1.qty_good == 0


@pytest.mark.parametrize("sent", ["999999", "99999999999999999999999", "0", "abc"])
def test_an_unknown_scrap_reason_is_refused_naming_the_field(client, tablet, worker, sent):
    _wo, (t1,), wc = released_order(steps=1, qty="10")
    term = Terminal(client, wc)
    term.scan("B-WORK-1")
    term.scan(payload_for_task(t1))
    r = term.report(t1, good="1", scrap="1", scrap_reason=sent)
    page = html(r)
    assert r.status_code == 422 and "st-status-bad" in page
    assert "Scrap reason" in page or "报废原因" in page
    assert not WorkReport.objects.exists()
    assert ScanRefusal.objects.get().action == "report"
    r = term.report(t1, good="1", scrap="1", scrap_reason=scrap_reason().pk)
    assert r.status_code == 200 and WorkReport.objects.get().scrap == 1


def test_a_badge_not_assigned_here_is_refused_at_the_scan(client, tablet, worker, make_user,
                                                          settings):
    """Assignment enforced: a badge of someone not assigned to the station is refused when it
    is scanned (not greeted, then refused at the first action), logged for the lead; the
    station keeps whoever was signed in. A station nobody is assigned to takes anyone."""
    settings.MES_ENFORCE_OPERATOR_ASSIGNMENT = True
    _wo, (t1,), wc = released_order(steps=1)
    assigned = make_user("operator", badge_code="B-HERE-1", display_name="李师傅")
    wc.operators.add(assigned)
    term = Terminal(client, wc)
    assert term.scan("B-HERE-1").status_code == 200
    refused = term.scan("B-WORK-1")
    assert refused.status_code == 422
    page = html(refused)
    assert "is not assigned to work center" in page and "signed in" not in page
    refusal = ScanRefusal.objects.get()
    assert "not assigned" in refusal.reason and refusal.payload == "B-WORK-1"
    assert client.session[f"station:{wc.code}"]["operator"] == assigned.pk
    settings.MES_ENFORCE_OPERATOR_ASSIGNMENT = False
    assert term.scan("B-WORK-1").status_code == 200
    open_wc = WorkCenterFactory()
    settings.MES_ENFORCE_OPERATOR_ASSIGNMENT = True
    assert Terminal(client, open_wc).scan("B-WORK-1").status_code == 200


def test_a_badge_scanned_in_lower_case_or_full_width_signs_in(client, tablet, worker):
    _wo, (t1,), wc = released_order(steps=1)
    term = Terminal(client, wc)
    for code in ("b-work-1", "Ｂ－ＷＯＲＫ－１", "b-WoRk-1"):
        answer = term.scan(code)
        assert answer.status_code == 200, html(answer)
        assert client.session[f"station:{wc.code}"]["operator"] == worker.pk
    assert not ScanRefusal.objects.exists()


def test_a_refusal_marks_the_field_to_correct_and_is_shown_beside_it(client, tablet, worker):
    _wo, (t1,), wc = released_order(steps=1, qty="10")
    term = Terminal(client, wc)
    term.scan("B-WORK-1")
    term.scan(payload_for_task(t1))
    r = term.report(t1, good="25")  # too many: a refusal naming no field, about the good qty
    assert r.status_code == 422
    assert 'aria-invalid="true" data-testid="report-good"' in html(r)
    assert html(r).count('aria-invalid="true"') == 1
    assert 'data-testid="report-error"' in html(r) and "Only 10 left" in html(r)
    r = term.report(t1, good="1", scrap="1")  # the field the service names
    assert 'aria-invalid="true" data-testid="report-scrap-reason"' in html(r)
    r = term.post("station_material", {"task": t1.pk, "client_token": tok(),
                                       "item_code": "NOPE", "lot_code": "L1", "quantity": "1"})
    assert r.status_code == 422 and 'data-testid="material-error"' in html(r)
    assert 'name="item_code"' in html(r) and html(r).count('aria-invalid="true"') == 1
    r = term.post("station_report", {"task": t1.pk, "client_token": tok(), "good": "x" * 30})
    assert r.status_code == 422  # the form's own refusal (too long): its field
    assert 'aria-invalid="true" data-testid="report-good"' in html(r)
    r = term.report(Task(pk=999999), good="1")  # about no field: nothing marked
    assert r.status_code == 422 and 'aria-invalid' not in html(r)
    assert 'st-form-error' not in html(r)


def test_the_task_panel_offers_only_what_the_status_allows(client, tablet, worker, make_user):
    wo, (t1,), wc = released_order(steps=1, qty="10")
    term = Terminal(client, wc)
    term.scan("B-WORK-1")
    term.scan(payload_for_task(t1))
    term.report(t1, good="3")
    panel = html(term.page("station_task_panel"))
    assert 'data-workable="1"' in panel and 'data-testid="task-complete"' in panel
    work_order_hold(actor=make_user("planner"), work_order=wo, reason="shortage")
    panel = html(term.page("station_task_panel"))
    assert 'data-workable="0"' in panel and 'data-testid="task-closed"' in panel
    assert 'data-testid="task-complete"' not in panel and "task-pause" not in panel
    assert "sse:work_order.rejected" in panel  # a rejection re-opens a done task: listened to
