"""Quality through the API: inspections, nonconformance decisions, acceptance."""

import pytest

from planning.models import Task, WorkOrder
from quality.models import Inspection, Nonconformance
from tests.factories import UserFactory
from tests.factories_api import api_as, error_of
from tests.factories_quality import (
    DefectCodeFactory,
    measured_plan,
    pending_inspection,
    qc_order,
    report,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator():
    return UserFactory(roles=["operator"])


def test_inspection_pass_then_accept(client, operator):
    insp, wo, tasks, wc = pending_inspection(measured_plan(), operator, qty="4")
    qc = api_as(client, "qc_inspector")
    listed = qc.get("/api/inspections/", {"status": "pending"}).json()["results"]
    assert [i["id"] for i in listed] == [insp.pk]
    char = listed[0]["characteristics"][0]
    response = qc.post(f"/api/inspections/{insp.pk}/record/",
                       {"results": [{"characteristic": char["id"], "value": "10.01"}]})
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "passed" and response.json()["results"][0]["passed"]
    early = qc.post(f"/api/work-orders/{wo.number}/accept/", {})
    assert early.status_code == 409 and error_of(early)["code"] == "blocked"
    report(tasks[2], operator, wc, good="4")
    response = qc.post(f"/api/work-orders/{wo.number}/accept/", {"reason": "ok"})
    assert response.status_code == 200 and response.json()["status"] == "accepted"
    assert WorkOrder.objects.get(pk=wo.pk).archives.count() == 1


def test_failed_inspection_needs_defect_and_opens_nonconformance(client, operator):
    insp, wo, tasks, wc = pending_inspection(measured_plan(), operator, qty="4")
    char = insp.plan.characteristics.get()
    qc = api_as(client, "qc_inspector")
    url = f"/api/inspections/{insp.pk}/record/"
    response = qc.post(url, {"results": [{"characteristic": char.pk, "value": "11"}]})
    assert response.status_code == 422 and error_of(response, "defect_code")
    response = qc.post(url, {"results": [{"characteristic": char.pk}]})
    assert response.status_code == 422
    assert error_of(response, f"results.{char.pk}")["message"]
    assert Inspection.objects.get(pk=insp.pk).status == "pending"
    defect = DefectCodeFactory()
    response = qc.post(url, {"results": [{"characteristic": char.pk, "value": "11"}],
                             "qty_failed": "1", "defect_code": defect.code})
    assert response.status_code == 200 and response.json()["status"] == "failed"
    nc = Nonconformance.objects.get(inspection=insp)
    listed = qc.get("/api/nonconformances/", {"work_order": wo.number}).json()["results"]
    assert listed[0]["number"] == nc.number and listed[0]["disposition"] == "pending"
    response = qc.post(f"/api/nonconformances/{nc.pk}/disposition/",
                       {"disposition": "rework"})
    assert response.status_code == 200 and response.json()["status"] == "in_rework"
    assert response.json()["rework_task"]
    again = qc.post(f"/api/nonconformances/{nc.pk}/disposition/", {"disposition": "scrap"})
    assert again.status_code == 409 and error_of(again, "disposition")["code"] == "decided"


def test_use_as_is_needs_an_approver(client, operator):
    insp, wo, tasks, wc = pending_inspection(measured_plan(), operator, qty="2")
    char = insp.plan.characteristics.get()
    qc = api_as(client, "qc_inspector")
    qc.post(f"/api/inspections/{insp.pk}/record/", {
        "results": [{"characteristic": char.pk, "value": "11"}],
        "defect_code": DefectCodeFactory().code})
    nc = Nonconformance.objects.get(inspection=insp)
    response = qc.post(f"/api/nonconformances/{nc.pk}/disposition/",
                       {"disposition": "use_as_is", "reason": "cosmetic"})
    assert response.status_code == 403
    assert Nonconformance.objects.get(pk=nc.pk).disposition == "pending"


def test_scrap_of_units_gone_on_is_refused_on_the_disposition(client, operator):
    """The next step does not wait for QC and took the units before 1 failed: scrapping it at
    the QC step is refused (422 on the disposition), nothing changes."""
    wo, tasks, wc = qc_order(measured_plan(), qty="2")
    Task.objects.filter(pk=tasks[1].pk).update(wait_for_qc=False)
    for task in tasks:
        report(task, operator, wc, good="2")
    insp = Inspection.objects.get(task=tasks[1])
    char = insp.plan.characteristics.get()
    qc = api_as(client, "qc_inspector")
    qc.post(f"/api/inspections/{insp.pk}/record/", {
        "results": [{"characteristic": char.pk, "value": "11"}], "qty_failed": "1",
        "defect_code": DefectCodeFactory().code})
    nc = Nonconformance.objects.get(inspection=insp)
    response = qc.post(f"/api/nonconformances/{nc.pk}/disposition/", {"disposition": "scrap"})
    assert response.status_code == 422
    error = error_of(response, "disposition")
    assert error["code"] == "units_went_on"
    assert "has already taken 2 of the 2 units" in error["message"]
    assert Nonconformance.objects.get(pk=nc.pk).disposition == "pending"
    assert Task.objects.get(pk=tasks[1].pk).qty_scrap == 0


def test_a_failed_count_with_every_characteristic_passing_is_refused(client, operator):
    insp, wo, tasks, wc = pending_inspection(measured_plan(), operator, qty="4")
    char = insp.plan.characteristics.get()
    defect = DefectCodeFactory()
    qc = api_as(client, "qc_inspector")
    url = f"/api/inspections/{insp.pk}/record/"
    response = qc.post(url, {"results": [{"characteristic": char.pk, "value": "10.01"}],
                             "qty_failed": "3", "defect_code": defect.code})
    assert response.status_code == 422
    assert "no units can fail" in error_of(response, "qty_failed")["message"]
    response = qc.post(url, {"results": [{"characteristic": char.pk, "value": "10.01"}],
                             "qty_failed": "9", "defect_code": defect.code})
    assert response.status_code == 422
    assert "At most 4 units" in error_of(response, "qty_failed")["message"]
    insp.refresh_from_db()
    assert insp.status == "pending" and not Nonconformance.objects.exists()


def test_a_defect_code_with_a_pass_is_refused(client, operator):
    insp, wo, tasks, wc = pending_inspection(measured_plan(), operator, qty="4")
    char = insp.plan.characteristics.get()
    qc = api_as(client, "qc_inspector")
    response = qc.post(f"/api/inspections/{insp.pk}/record/", {
        "results": [{"characteristic": char.pk, "value": "10.01"}],
        "defect_code": DefectCodeFactory().code})
    assert response.status_code == 422
    assert "so there is no defect" in error_of(response, "defect_code")["message"]
    insp.refresh_from_db()
    assert insp.status == "pending" and not Nonconformance.objects.exists()
    assert not insp.results.exists()


def test_unknown_characteristic_is_400(client, operator):
    insp, wo, tasks, wc = pending_inspection(measured_plan(), operator, qty="2")
    qc = api_as(client, "qc_inspector")
    response = qc.post(f"/api/inspections/{insp.pk}/record/",
                       {"results": [{"characteristic": 999999, "value": "1"}]})
    assert response.status_code == 400 and error_of(response, "results")


def test_reading_quality_needs_its_scope(client, operator):
    pending_inspection(measured_plan(), operator, qty="2")
    api = api_as(client, "qc_inspector", scopes=["planning:read"])
    response = api.get("/api/inspections/")
    assert response.status_code == 403 and error_of(response)["code"] == "missing_scope"


def test_quantities_in_refusals_read_as_people_write_them(client, operator):
    """"At most 4.0000 units were in the lot" showed the database's four decimal places."""
    insp, wo, tasks, wc = pending_inspection(measured_plan(), operator, qty="4")
    char = insp.plan.characteristics.get()
    qc = api_as(client, "qc_inspector")
    response = qc.post(f"/api/inspections/{insp.pk}/record/",
                       {"results": [{"characteristic": char.pk, "value": "11"}],
                        "qty_failed": "5", "defect_code": DefectCodeFactory().code})
    assert response.status_code == 422
    assert error_of(response, "qty_failed")["message"] == "At most 4 units were in the lot."
