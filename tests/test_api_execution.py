"""Devices through the API: the stations' exactly-once tokens, refusals that name the field."""

import datetime
import uuid

import pytest
from django.utils import timezone, translation

from execution.models import (
    DowntimeEvent,
    DowntimeReason,
    EquipmentStateChange,
    MaterialConsumption,
    ScanRefusal,
    TaskActivity,
    WorkReport,
)
from planning.models import Equipment, MaterialRequirement, Task
from planning.services.orders import work_order_hold
from planning.travelers import payload_for_task
from tests.factories import UserFactory
from tests.factories_api import api_as, error_of
from tests.factories_execution import released_order, scrap_reason

pytestmark = pytest.mark.django_db


def token() -> str:
    return uuid.uuid4().hex


def test_report_is_exactly_once(client):
    wo, tasks, wc = released_order(steps=2, qty="10")
    api = api_as(client, "operator", scopes=["devices"])
    body = {"task": tasks[0].pk, "client_token": token(), "good": "4", "scrap": "1",
            "scrap_reason": scrap_reason().code}
    first = api.post("/api/work-reports/", body)
    assert first.status_code == 201, first.json()
    again = api.post("/api/work-reports/", body)
    assert again.status_code == 200
    assert again.json()["report"] == first.json()["report"]
    assert again.json()["created"] is False
    tasks[0].refresh_from_db()
    assert (tasks[0].qty_good, tasks[0].qty_scrap) == (4, 1)
    assert WorkReport.objects.count() == 1
    assert first.json()["task"]["status"] == "in_progress"


def test_work_before_the_work_order_was_released_is_refused(client):
    """A device with a wrong date (or a year typed wrong) cannot report work, or start or
    complete a task, at a time before the work order was released: the task's and the work
    order's actual start and the KPIs would take it as true. A clock a few minutes off is
    still taken."""
    wo, (task,), wc = released_order(steps=1, qty="5")
    wo.refresh_from_db()
    api = api_as(client, "operator", scopes=["devices"])
    long_ago = datetime.datetime(2020, 1, 1, 8, 0, tzinfo=datetime.UTC)
    response = api.post("/api/work-reports/", {
        "task": task.pk, "client_token": token(), "good": "1",
        "work_start": long_ago.isoformat(),
        "work_end": (long_ago + datetime.timedelta(hours=1)).isoformat()})
    assert response.status_code == 422, response.json()
    message = error_of(response, "work_start")["message"]
    assert "before its work order" in message and wo.number in message
    started = api.post(f"/api/tasks/{task.pk}/start/", {"client_token": token(),
                                                         "at": long_ago.isoformat()})
    assert started.status_code == 422 and error_of(started, "at")
    ahead = api.post(f"/api/tasks/{task.pk}/start/", {
        "client_token": token(),
        "at": (timezone.now() + datetime.timedelta(days=1)).isoformat()})
    assert ahead.status_code == 422 and "future" in error_of(ahead, "at")["message"]
    assert not WorkReport.objects.exists() and not TaskActivity.objects.exists()
    task.refresh_from_db()
    wo.refresh_from_db()
    assert task.actual_start is None and wo.actual_start is None
    skewed = (wo.released_at - datetime.timedelta(minutes=2)).isoformat()
    assert api.post(f"/api/tasks/{task.pk}/start/", {"client_token": token(),
                                                     "at": skewed}).status_code == 201
    assert api.post("/api/work-reports/", {"task": task.pk, "client_token": token(),
                                           "good": "1"}).status_code == 201


def test_quantities_are_read_as_the_station_reads_them(client):
    """The API refuses what a station refuses, with the same words and status (422, naming
    the field): "1e3" is no number there (it was taken as 1000), "abc" is no number (it was a
    400 of the framework's, while "2.5" of a discrete item was a 422 of ours). Decimal text
    and JSON numbers are quantities."""
    wo, (task,), wc = released_order(steps=1, qty="5")
    api = api_as(client, "operator", scopes=["devices"])
    for sent, words in (("1e3", "is not a number"), ("abc", "is not a number"),
                        ("1,5", "is not a number"), ("2.5", "Whole units only"),
                        ("-1", "cannot be negative"), (True, "decimal text or a number")):
        response = api.post("/api/work-reports/", {"task": task.pk, "client_token": token(),
                                                   "good": sent})
        assert response.status_code in (400, 422), (sent, response.json())
        assert words in error_of(response, "good")["message"], (sent, response.json())
        if sent is not True:
            assert response.status_code == 422, sent
    req = MaterialRequirement.objects.filter(work_order=wo).select_related("item").first()
    issue = api.post("/api/material-issues/", {"task": task.pk, "client_token": token(),
                                               "item_code": req.item.code, "lot_code": "L-1",
                                               "quantity": "1e3"})
    assert issue.status_code == 422 and "not a number" in error_of(issue, "quantity")["message"]
    assert not WorkReport.objects.exists() and not MaterialConsumption.objects.exists()
    assert api.post("/api/work-reports/", {"task": task.pk, "client_token": token(),
                                           "good": 2}).status_code == 201
    assert api.post("/api/work-reports/", {"task": task.pk, "client_token": token(),
                                           "good": "1.0"}).status_code == 201
    task.refresh_from_db()
    assert task.qty_good == 3


def test_over_report_names_good_and_is_kept_for_the_lead(client):
    wo, tasks, wc = released_order(steps=2, qty="5")
    api = api_as(client, "operator", scopes=["execution:report"])
    response = api.post("/api/work-reports/", {"task": tasks[0].pk, "client_token": token(),
                                               "good": "6"})
    assert response.status_code == 422
    error = error_of(response, "good")
    assert error["code"] == "too_many" and "5" in error["message"]
    assert not WorkReport.objects.exists()
    refusal = ScanRefusal.objects.get()
    assert refusal.action == "api:report" and refusal.work_center == wc


@pytest.mark.parametrize("body", [{"good": "6"}, {"good": "0"}, {"scrap": "1"}])
def test_a_refusal_through_the_api_reads_in_the_readers_language(client, body):
    """An integration speaking Chinese is refused: the lead reads the reason in English
    (and the one refused in English, in Chinese), as each would have been answered."""
    wo, tasks, wc = released_order(steps=2, qty="5")
    answers = {}
    for language in ("zh-hans", "en"):
        api = api_as(client, "operator", scopes=["execution:report"])
        api.headers["Accept-Language"] = language
        response = api.post("/api/work-reports/", {"task": tasks[0].pk,
                                                   "client_token": token(), **body})
        assert response.status_code == 422
        answers[language] = ScanRefusal.objects.order_by("-pk").first()
        assert answers[language].reason == " ".join(
            e["message"] for e in response.json()["errors"])
    zh, en = answers["zh-hans"], answers["en"]
    assert zh.reason != en.reason
    with translation.override("en"):
        assert zh.reason_shown == en.reason
    with translation.override("zh-hans"):
        assert en.reason_shown == zh.reason


def test_scrap_needs_its_reason(client):
    wo, tasks, wc = released_order(steps=1, qty="5")
    api = api_as(client, "operator")
    response = api.post("/api/work-reports/", {"task": tasks[0].pk, "client_token": token(),
                                               "scrap": "1"})
    assert response.status_code == 422 and error_of(response, "scrap_reason")
    response = api.post("/api/work-reports/", {"task": tasks[0].pk, "client_token": token(),
                                               "scrap": "1", "scrap_reason": "NOPE"})
    assert response.status_code == 400 and error_of(response, "scrap_reason")


def test_a_scrap_reason_without_scrap_is_refused(client):
    wo, tasks, wc = released_order(steps=1, qty="5")
    api = api_as(client, "operator")
    response = api.post("/api/work-reports/", {"task": tasks[0].pk, "client_token": token(),
                                               "good": "2", "scrap_reason": scrap_reason().code})
    assert response.status_code == 422
    assert "no scrap entered" in error_of(response, "scrap_reason")["message"]
    assert not WorkReport.objects.exists()


def test_state_conflicts_are_409(client):
    wo, tasks, wc = released_order(steps=1, qty="5")
    work_order_hold(actor=UserFactory(roles=["planner"]), work_order=wo, reason="stop")
    api = api_as(client, "operator")
    response = api.post(f"/api/tasks/{tasks[0].pk}/start/", {"client_token": token()})
    assert response.status_code == 409
    assert error_of(response)["code"] == "on_hold"


def test_start_pause_resume_complete_by_badge(client):
    wo, tasks, wc = released_order(steps=1, qty="3")
    operator = UserFactory(roles=["operator"], badge_code="BADGE-77")
    api = api_as(client, "operator", scopes=["devices"])
    url = f"/api/tasks/{tasks[0].pk}/"
    start = {"client_token": token(), "operator_badge": "BADGE-77"}
    response = api.post(url + "start/", start)
    assert response.status_code == 201 and response.json()["task"]["status"] == "in_progress"
    assert api.post(url + "start/", start).status_code == 200  # the retry
    assert api.post(url + "pause/", {"client_token": token()}).json()["task"]["status"] == \
        "paused"
    assert api.post(url + "resume/", {"client_token": token()}).status_code == 201
    response = api.post(url + "complete/", {"client_token": token()})
    assert response.status_code == 422 and error_of(response)["code"] == "nothing_reported"
    api.post("/api/work-reports/", {"task": tasks[0].pk, "client_token": token(), "good": "2"})
    response = api.post(url + "complete/", {"client_token": token()})
    assert response.status_code == 422  # 1 of 3 unreported: completing short needs the reason
    short = error_of(response, "short_reason")
    assert short["code"] == "short_reason_missing" and "1 of 3" in short["message"]
    response = api.post(url + "complete/", {"client_token": token(),
                                            "short_reason": "sample kept by QC"})
    assert response.status_code == 201 and response.json()["task"]["status"] == "done"
    assert tasks[0].activities.get(kind="complete").reason == "sample kept by QC"
    assert tasks[0].activities.filter(operator=operator, kind="start").exists()
    unknown = api.post(url + "start/", {"client_token": token(), "operator_badge": "NOBODY"})
    assert unknown.status_code in (409, 422)
    assert error_of(unknown, "operator_badge")["code"] == "unknown_badge"


def test_report_by_scanned_traveler_code(client):
    wo, tasks, wc = released_order(steps=1, qty="3")
    api = api_as(client, "operator")
    response = api.post("/api/work-reports/", {"scan": payload_for_task(tasks[0]),
                                               "client_token": token(), "good": "3"})
    assert response.status_code == 201
    assert response.json()["task_completed"] is True
    response = api.post("/api/work-reports/", {"scan": "MES:T:notarealtokenatall123",
                                               "client_token": token(), "good": "1"})
    assert response.status_code == 422 and error_of(response, "scan")["code"] == "unknown"


def test_equipment_state_is_exactly_once(client):
    wo, tasks, wc = released_order(steps=1)
    eq = Equipment.objects.create(code="CNC-01", name="数控", work_center=wc)
    reason = DowntimeReason.objects.create(code="BRK", name="故障")
    api = api_as(client, "operator", scopes=["devices"])
    body = {"client_token": token(), "state": "down", "reason": "BRK"}
    first = api.post("/api/equipment/CNC-01/state/", body)
    assert first.status_code == 201, first.json()
    assert first.json()["equipment"]["state"] == "down"
    again = api.post("/api/equipment/CNC-01/state/", body)
    assert again.status_code == 200 and again.json()["change"] == first.json()["change"]
    assert EquipmentStateChange.objects.filter(equipment=eq).count() == 1
    assert DowntimeEvent.objects.get(equipment=eq, end=None).reason == reason
    no_reason = api.post("/api/equipment/CNC-01/state/", {"client_token": token(),
                                                         "state": "down"})
    assert no_reason.status_code == 422 and error_of(no_reason, "reason")
    up = api.post("/api/equipment/CNC-01/state/", {"client_token": token(), "state": "running"})
    assert up.status_code == 201
    assert api.get("/api/downtime/", {"equipment": "CNC-01", "open": "false"}).json()[
        "count"] == 1
    missing = api.post("/api/equipment/CNC-01/state/", {"client_token": token(),
                                                       "state": "idle", "reason": "NOPE"})
    assert missing.status_code == 400 and error_of(missing, "reason")


def test_down_without_reason_names_reason(client):
    wo, tasks, wc = released_order(steps=1)
    Equipment.objects.create(code="P-2", name="压机", work_center=wc)
    api = api_as(client, "operator")
    response = api.post("/api/equipment/P-2/state/", {"client_token": token(), "state": "down"})
    assert response.status_code == 422 and error_of(response, "reason")
    assert not EquipmentStateChange.objects.exists()


def test_a_reason_with_running_is_refused_naming_reason(client):
    wo, tasks, wc = released_order(steps=1)
    Equipment.objects.create(code="P-3", name="压机", work_center=wc)
    DowntimeReason.objects.create(code="BRK", name="故障", name_en="Breakdown")
    api = api_as(client, "operator")
    response = api.post("/api/equipment/P-3/state/", {"client_token": token(),
                                                      "state": "running", "reason": "BRK"})
    assert response.status_code == 422
    assert "Only a stop" in error_of(response, "reason")["message"]
    assert not EquipmentStateChange.objects.exists()


def test_equipment_state_in_the_future_is_refused_and_the_machine_stays_usable(client):
    wo, tasks, wc = released_order(steps=1)
    eq = Equipment.objects.create(code="EQ-SAW-01", name="锯床", work_center=wc)
    DowntimeReason.objects.create(code="DT-BRK", name="故障")
    api = api_as(client, "operator", scopes=["devices"])
    ahead = (timezone.now() + datetime.timedelta(days=3)).isoformat()
    response = api.post("/api/equipment/EQ-SAW-01/state/", {
        "client_token": token(), "state": "down", "reason": "DT-BRK", "at": ahead})
    assert response.status_code == 422
    assert "cannot be in the future" in error_of(response, "at")["message"]
    assert not DowntimeEvent.objects.exists() and not EquipmentStateChange.objects.exists()
    # A device clock a minute fast is still "now"; later changes without a time go through.
    skewed = (timezone.now() + datetime.timedelta(minutes=1)).isoformat()
    response = api.post("/api/equipment/EQ-SAW-01/state/", {
        "client_token": token(), "state": "down", "reason": "DT-BRK", "at": skewed})
    assert response.status_code == 201, response.json()
    response = api.post("/api/equipment/EQ-SAW-01/state/", {
        "client_token": token(), "state": "running",
        "at": (timezone.now() + datetime.timedelta(minutes=2)).isoformat()})
    assert response.status_code == 201, response.json()
    assert DowntimeEvent.objects.get(equipment=eq).end is not None


def test_material_issue_is_exactly_once(client):
    wo, tasks, wc = released_order(steps=1)
    req = MaterialRequirement.objects.filter(work_order=wo).select_related("item").first()
    api = api_as(client, "operator")
    body = {"task": tasks[0].pk, "client_token": token(), "item_code": req.item.code,
            "lot_code": "LOT-9", "quantity": "2"}
    assert api.post("/api/material-issues/", body).status_code == 201
    assert api.post("/api/material-issues/", body).status_code == 200
    assert MaterialConsumption.objects.count() == 1
    response = api.post("/api/material-issues/", {**body, "client_token": token(),
                                                  "item_code": "NOT-ON-LIST"})
    assert response.status_code == 422 and error_of(response, "item_code")


def test_read_only_key_cannot_report(client):
    wo, tasks, wc = released_order(steps=1)
    api = api_as(client, "operator", scopes=["execution:read"])
    assert api.get("/api/work-reports/").status_code == 200
    response = api.post("/api/work-reports/", {"task": tasks[0].pk, "client_token": token(),
                                               "good": "1"})
    assert response.status_code == 403 and error_of(response)["code"] == "missing_scope"
    assert Task.objects.get(pk=tasks[0].pk).qty_good == 0


def test_too_large_quantity_reads_as_sent_not_with_four_decimal_places(client):
    wo, tasks, wc = released_order(steps=1, qty="5")
    api = api_as(client, "operator", scopes=["execution:report"])
    response = api.post("/api/work-reports/", {"task": tasks[0].pk, "client_token": token(),
                                               "good": "99999999"})
    assert error_of(response, "good")["message"] == "99999999 is too large."


def test_unknown_equipment_and_reason_codes_say_what_was_not_found(client):
    wo, tasks, wc = released_order(steps=1, qty="5")
    api = api_as(client, "operator", scopes=["devices"])
    response = api.post("/api/work-reports/", {"task": tasks[0].pk, "client_token": token(),
                                               "good": "1", "equipment": "NOPE"})
    assert error_of(response, "equipment")["message"] == "No equipment has the code “NOPE”."
    eq = Equipment.objects.create(code="EQ-X", name="x", work_center=wc)
    response = api.post(f"/api/equipment/{eq.code}/state/",
                        {"client_token": token(), "state": "down", "reason": "NOPE"})
    assert error_of(response, "reason")["message"] == (
        "No downtime reason has the code “NOPE”.")


def test_a_stopped_machine_changes_its_reason_through_the_api(client):
    wo, tasks, wc = released_order(steps=1)
    eq = Equipment.objects.create(code="CNC-09", name="数控", work_center=wc)
    DowntimeReason.objects.create(code="BRK", name="故障")
    tool = DowntimeReason.objects.create(code="TOOL", name="换刀")
    api = api_as(client, "operator", scopes=["devices"])
    down = api.post("/api/equipment/CNC-09/state/", {"client_token": token(), "state": "down",
                                                     "reason": "BRK"})
    assert down.status_code == 201, down.json()
    body = {"client_token": token(), "state": "down", "reason": "TOOL"}
    changed = api.post("/api/equipment/CNC-09/state/", body)
    assert changed.status_code == 201, changed.json()
    assert changed.json()["equipment"]["state"] == "down"
    assert api.post("/api/equipment/CNC-09/state/", body).status_code == 200  # a retry
    assert DowntimeEvent.objects.get(equipment=eq, end=None).reason == tool
    assert DowntimeEvent.objects.filter(equipment=eq, end__isnull=False).count() == 1
