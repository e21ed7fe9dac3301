"""The whole loop as an outside system sees it: only HTTP calls with API keys.

An ERP key creates the master data and the order, the planner's key explodes and releases it,
a station device reports every task by badge, QC records the inspection, the workshop lead
accepts, and the ERP reads the change feed, the B2MML performance and the KPIs. Only the plant
(work center) and the inspection plan come from factories: the API does not edit them.
"""

import uuid

import pytest
from django.utils import timezone

from tests.factories import UserFactory, WorkCenterFactory
from tests.factories_api import api_as
from tests.factories_quality import measured_plan

pytestmark = pytest.mark.django_db


def ok(response, status=200):
    assert response.status_code == status, (response.status_code, response.content[:2000])
    return response.json() if "json" in response["Content-Type"] else response.content


def test_order_to_acceptance_over_http(client, settings):
    settings.MES_ERP_FEED_GRACE_SECONDS = 0
    wc = WorkCenterFactory(code="WC-LOOP")
    plan = measured_plan()
    UserFactory(roles=["operator"], badge_code="OP-LOOP")
    erp = api_as(client, "planner", scopes=["erp", "planning:write", "planning:read"])
    device = api_as(client, "operator", scopes=["devices"])
    qc = api_as(client, "qc_inspector", scopes=["quality:read", "quality:write"])
    lead = api_as(client, "workshop_lead", scopes=["quality:write", "planning:read"])
    manager = api_as(client, "manager", scopes=["kpi:read", "alerts:read"])

    # Master data, as an ERP would send it.
    ok(erp.post("/api/items/", {"code": "FG-LOOP", "name": "泵体", "kind": "make"}), 201)
    ok(erp.post("/api/items/", {"code": "RM-LOOP", "name": "铸件", "kind": "buy"}), 201)
    routing = ok(erp.post("/api/routings/", {"item": "FG-LOOP", "version": "1"}), 201)
    for seq, name, qc_step in ((10, "粗加工", False), (20, "精加工", True), (30, "装配", False)):
        ok(erp.post("/api/routing-steps/", {
            "routing": routing["id"], "seq": seq, "name": name, "work_center": wc.code,
            "setup_minutes": "5", "run_minutes_per_unit": "2", "is_qc_checkpoint": qc_step,
            "wait_for_qc": qc_step, "inspection_plan_code": plan.code if qc_step else ""}), 201)
    bom = ok(erp.post("/api/bom-versions/", {"item": "FG-LOOP", "version": "1"}), 201)
    ok(erp.post("/api/bom-lines/", {"bom": bom["id"], "child": "RM-LOOP",
                                    "quantity_per": "2", "operation_seq": 10}), 201)

    # The order: created by the ERP, exploded and released.
    due = (timezone.now() + timezone.timedelta(days=2)).isoformat()
    order = ok(erp.put("/api/erp/orders/SO-LOOP-1/", {"item": "FG-LOOP", "quantity": "6",
                                                      "due": due}), 201)
    assert order["status"] == "draft"
    url = f"/api/production-orders/{order['id']}/"
    assert ok(erp.post(url + "explode/"))["tasks"] == 3
    assert ok(erp.post(url + "release/", {"reason": "ERP release"}))["refused"] == []
    assert ok(erp.get(url))["status"] == "released"
    (wo,) = ok(erp.get("/api/work-orders/", {"production_order": order["number"]}))["results"]
    assert wo["status"] == "released"

    # The station device works every task, by the operator's badge.
    tasks = ok(device.get("/api/tasks/", {"work_order": wo["number"]}))["results"]
    assert [t["status"] for t in tasks] == ["released"] * 3
    for task in tasks:
        started = ok(device.post(f"/api/tasks/{task['id']}/start/", {
            "client_token": uuid.uuid4().hex, "operator_badge": "OP-LOOP"}), 201)
        assert started["task"]["status"] == "in_progress"
        if task["seq"] == 10:
            ok(device.post("/api/material-issues/", {
                "task": task["id"], "client_token": uuid.uuid4().hex, "item_code": "RM-LOOP",
                "lot_code": "LOT-LOOP-1", "quantity": "12", "operator_badge": "OP-LOOP"}), 201)
        body = {"task": task["id"], "client_token": uuid.uuid4().hex, "good": "6",
                "operator_badge": "OP-LOOP"}
        reported = ok(device.post("/api/work-reports/", body), 201)
        assert ok(device.post("/api/work-reports/", body))["created"] is False  # a retry
        if not reported["task_completed"]:
            ok(device.post(f"/api/tasks/{task['id']}/complete/", {
                "client_token": uuid.uuid4().hex, "operator_badge": "OP-LOOP"}), 201)
        assert ok(device.get(f"/api/tasks/{task['id']}/"))["status"] == "done"
        if task["seq"] == 20:  # the QC checkpoint: the next step waits for its inspection
            (insp,) = ok(qc.get("/api/inspections/", {"work_order": wo["number"],
                                                       "status": "pending"}))["results"]
            results = [{"characteristic": c["id"], "value": str(c["nominal"])}
                       for c in insp["characteristics"]]
            done = ok(qc.post(f"/api/inspections/{insp['id']}/record/", {"results": results}))
            assert done["status"] == "passed" and done["qty_passed"] == "6.0000"

    wo_url = f"/api/work-orders/{wo['number']}/"
    assert ok(lead.get(wo_url))["status"] == "awaiting_acceptance"
    assert ok(lead.post(wo_url + "accept/", {"reason": "checked"}))["status"] == "accepted"
    assert ok(erp.get("/api/erp/orders/SO-LOOP-1/"))["status"] == "completed"

    # The ERP books what happened; B2MML says the same; the KPIs see it.
    feed = ok(erp.get("/api/erp/feed/"))
    (summary,) = [w for w in feed["work_orders"] if w["work_order"] == wo["number"]]
    assert summary["completed"] == "6.0000" and summary["erp_ref"] == "SO-LOOP-1"
    assert summary["consumption"] == [{"component": "RM-LOOP", "quantity": "12.0000"}]
    assert {e["type"] for e in feed["entries"]} >= {"report", "consumption", "completed",
                                                    "accepted"}
    xml = ok(erp.get("/api/b2mml/operations-performance/", {"production_order":
                                                            order["number"]}))
    assert wo["number"].encode() in xml and b"LOT-LOOP-1" in xml
    kpis = {k["key"]: k for k in ok(manager.get("/api/kpis/"))["kpis"]}
    assert kpis["on_time"]["value"] == 100.0 and kpis["on_time"]["denominator"] == 1
    assert kpis["fpy"]["value"] == 100.0
    assert ok(manager.get("/api/alerts/"))["count"] >= 0
