"""The quality app's browser pages through the Django test client: roles, recording,
disposition, acceptance, archive, traceability, plans, statistics and pinned query counts."""

import hashlib
import io
import json
import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.text import capfirst

from mes.models import AuditEntry
from planning.models import ProductionOrder, Task, WorkOrder
from quality.models import (
    ArchivedRecord,
    Characteristic,
    DefectCode,
    Inspection,
    InspectionPlan,
    InspectionResult,
    Nonconformance,
)
from quality.selectors import quality_stats
from quality.services.acceptance import archive_verify, work_order_accept
from quality.services.inspections import inspection_record
from quality.services.nonconformance import nonconformance_disposition
from tests.factories import WorkCenterFactory
from tests.factories_execution import scrap_reason
from tests.factories_quality import (
    CharacteristicFactory,
    DefectCodeFactory,
    InspectionPlanFactory,
    accepted_order,
    measured_plan,
    pass_inspection,
    pending_inspection,
    qc_order,
    report,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(make_user):
    return {"op": make_user("operator"), "qc": make_user("qc_inspector"),
            "lead": make_user("workshop_lead"), "mgr": make_user("manager"),
            "planner": make_user("planner")}


@pytest.fixture
def plan():
    return measured_plan(max_rework_loops=1)


@pytest.fixture
def defect():
    return DefectCodeFactory(code="D01")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def english(client):
    """Pages in English, so the assertions read the source strings (zh-hans is the default)."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


def as_user(client, user):
    client.force_login(user)
    return client


def png_bytes(size=(8, 8)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


def fail(client, insp, value="10.2", **extra):
    ch = insp.plan.characteristics.get()
    return client.post(reverse("quality:record", args=[insp.pk]),
                       {f"c{ch.pk}": value, **extra})


# --- Who may open what -------------------------------------------------------------------------
@pytest.fixture
def world(plan, defect, people):
    """An archived work order (lot LOT-W1), a pending inspection and an open nonconformance."""
    record = accepted_order(plan, people["op"], people["qc"], people["lead"], lot_code="LOT-W1")
    insp, wo, _tasks, _wc = pending_inspection(plan, people["op"], qty="4")
    failed, *_ = pending_inspection(plan, people["op"], qty="4")
    ch = plan.characteristics.get()
    inspection_record(inspector=people["qc"], inspection=failed,
                      results={ch.pk: {"value": "11"}}, qty_failed="1", defect_code=defect)
    nc = Nonconformance.objects.get()
    return {"record": record, "insp": insp, "wo": wo, "nc": nc, "plan": plan,
            "defect": defect}


READERS = {"qc", "lead", "mgr"}
PAGES = [
    # (url name, args from world, roles allowed; everyone else gets 403)
    ("quality:qc_queue", (), {"qc"}),
    ("quality:record", ("insp",), {"qc"}),
    ("quality:inspection_list", (), READERS),
    ("quality:inspection_detail", ("insp",), READERS),
    ("quality:nc_list", (), READERS),
    ("quality:nc_detail", ("nc",), READERS),
    ("quality:acceptance_queue", (), {"qc", "lead"}),
    ("quality:acceptance", ("wo",), {"qc", "lead"}),
    ("quality:archive_list", (), READERS),
    ("quality:archive_detail", ("record",), READERS),
    ("quality:archive_json", ("record",), READERS),
    ("quality:archive_xlsx", ("record",), READERS),
    ("quality:trace", (), READERS),
    ("quality:trace_work_order", ("wo",), READERS),
    ("quality:stats", (), READERS | {"planner"}),
    ("quality:plan_list", (), READERS),
    ("quality:plan_detail", ("plan",), READERS),
    ("quality:plan_add", (), {"qc"}),
    ("quality:plan_edit", ("plan",), {"qc"}),
    ("quality:defect_list", (), READERS),
    ("quality:defect_add", (), {"qc"}),
    ("quality:defect_edit", ("defect",), {"qc"}),
]


def test_each_page_renders_for_its_roles_and_403_for_others(client, world, people):
    wrong = []
    for role, user in people.items():
        client.force_login(user)
        for name, args, allowed in PAGES:
            status = client.get(reverse(name, args=[world[a].pk for a in args])).status_code
            if status != (200 if role in allowed else 403):
                wrong.append((name, role, status))
    assert wrong == []


def test_navigation_shows_the_quality_entries_by_role(client, people):
    def nav(user):
        client.force_login(user)
        return {item["url"] for item in client.get("/").context["nav_items"]}

    queue, accept, stats = (reverse(n) for n in ("quality:qc_queue",
                                                 "quality:acceptance_queue", "quality:stats"))
    assert {queue, accept, stats} <= nav(people["qc"])
    assert not nav(people["op"]) & {queue, accept, stats}
    assert nav(people["lead"]) & {queue, accept, stats} == {accept, stats}
    assert nav(people["mgr"]) & {queue, accept, stats} == {stats}


def test_lists_export_csv_and_xlsx(client, world, people):
    as_user(client, people["qc"])
    for name in ("quality:qc_queue", "quality:nc_list", "quality:inspection_list",
                 "quality:acceptance_queue", "quality:archive_list", "quality:plan_list",
                 "quality:defect_list"):
        csv = client.get(reverse(name) + "?export=csv")
        assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv"), name
        xlsx = client.get(reverse(name) + "?export=xlsx")
        assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK", name
    text = client.get(reverse("quality:qc_queue") + "?export=csv").content.decode("utf-8-sig")
    assert world["wo"].number in text


# --- QC queue ----------------------------------------------------------------------------------
def test_queue_lists_pending_oldest_first_and_filters(client, plan, people):
    from django.utils import timezone

    first, wo1, _t, wc1 = pending_inspection(plan, people["op"], qty="3")
    second, wo2, _t, wc2 = pending_inspection(plan, people["op"], qty="5")
    Inspection.objects.filter(pk=first.pk).update(
        created_at=timezone.now() - timezone.timedelta(hours=5))
    as_user(client, people["qc"])
    page = client.get(reverse("quality:qc_queue")).content.decode()
    assert page.index(wo1.number) < page.index(wo2.number)
    assert 'sse-connect="/events/stream?topics=qc"' in page
    assert "sse:inspection.created" in page
    old = client.get(reverse("quality:qc_queue") + "?age=4h").content.decode()
    assert wo1.number in old and wo2.number not in old
    by_line = client.get(reverse("quality:qc_queue") + f"?line={wc2.line_id}",
                         headers={"HX-Request": "true", "HX-Target": "object-list"})
    body = by_line.content.decode()
    assert wo2.number in body and wo1.number not in body and "<html" not in body
    by_workshop = client.get(reverse("quality:qc_queue") + f"?workshop={wc1.line.workshop_id}")
    assert wo1.number in by_workshop.content.decode()


# --- Recording ---------------------------------------------------------------------------------
def test_record_good_measurement(client, plan, people):
    insp, *_ = pending_inspection(plan, people["op"], qty="4")
    ch = plan.characteristics.get()
    as_user(client, people["qc"])
    page = client.get(reverse("quality:record", args=[insp.pk])).content.decode()
    assert 'inputmode="decimal"' in page and 'data-lower="9.95"' in page
    assert 'data-upper="10.05"' in page and "9.95 … 10.05 mm" in page
    response = client.post(reverse("quality:record", args=[insp.pk]), {f"c{ch.pk}": "10.01"})
    assert response.status_code == 302 and response["Location"] == reverse("quality:qc_queue")
    insp.refresh_from_db()
    assert insp.status == "passed" and insp.qty_passed == 4 and insp.inspector == people["qc"]
    again = client.get(reverse("quality:record", args=[insp.pk]))
    assert again.status_code == 302  # recorded once: the page now shows the result


def test_record_failing_with_defect_code_opens_nonconformance(client, plan, defect, people):
    insp, *_ = pending_inspection(plan, people["op"], qty="10")
    as_user(client, people["qc"])
    response = fail(client, insp, qty_failed="3", defect_code=defect.pk, notes="毛刺")
    nc = Nonconformance.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("quality:nc_detail", args=[nc.pk])
    assert nc.quantity == 3 and nc.defect_code == defect
    insp.refresh_from_db()
    assert (insp.status, insp.qty_passed, insp.qty_failed) == ("failed", 7, 3)


@pytest.mark.parametrize("post,field,message", [
    ({"value": "abc"}, "c", "is not a number"),
    ({"value": ""}, "c", "Enter the measured"),
    ({"value": "10.2", "qty_failed": "3"}, "defect_code", "Pick the defect code"),
    ({"value": "10.2", "qty_failed": "30", "defect": True}, "qty_failed", "At most"),
    ({"value": "10.01", "qty_failed": "3", "defect": True}, "qty_failed",
     "Every characteristic passed, so no units can fail"),
    ({"value": "10.01", "qty_failed": "30"}, "qty_failed", "At most"),
])
def test_record_errors_show_next_to_the_field_and_record_nothing(client, plan, defect, people,
                                                                 post, field, message):
    insp, *_ = pending_inspection(plan, people["op"], qty="10")
    ch = plan.characteristics.get()
    data = {f"c{ch.pk}": post["value"], "qty_failed": post.get("qty_failed", "")}
    if post.get("defect"):
        data["defect_code"] = defect.pk
    as_user(client, people["qc"])
    response = client.post(reverse("quality:record", args=[insp.pk]), data)
    assert response.status_code == 422
    name = f"c{ch.pk}" if field == "c" else field
    errors = response.context["form"].errors
    assert message in " ".join(errors[name])
    assert f'data-field="{name}"' in response.content.decode()
    insp.refresh_from_db()
    assert insp.status == "pending" and not InspectionResult.objects.exists()
    assert not Nonconformance.objects.exists()


def test_every_characteristic_left_empty_is_marked_at_once(client, plan, people):
    """An empty form names every characteristic it misses, measured and pass/fail alike, not
    only the first one (then the next one at the next submit)."""
    CharacteristicFactory(plan=plan, name="温升", nominal=None, lower=None, upper=Decimal("40"),
                          unit="K")
    CharacteristicFactory(plan=plan, name="外观", kind="visual", nominal=None, lower=None,
                          upper=None, unit="")
    insp, *_ = pending_inspection(plan, people["op"], qty="10")
    as_user(client, people["qc"])
    response = client.post(reverse("quality:record", args=[insp.pk]), {"qty_failed": ""})
    assert response.status_code == 422
    errors = response.context["form"].errors
    page = response.content.decode()
    for ch in plan.characteristics.all():
        name = f"c{ch.pk}"
        expected = "Mark" if ch.kind == "visual" else "Enter the measured"
        assert expected in " ".join(errors[name]), (ch.name, errors)
        assert f'data-field="{name}"' in page
    assert Inspection.objects.get(pk=insp.pk).status == "pending"
    assert not InspectionResult.objects.exists()


@pytest.fixture
def photo_plan():
    plan = InspectionPlanFactory()
    CharacteristicFactory(plan=plan, name="表面", kind="visual", nominal=None, lower=None,
                          upper=None, unit="", photo_required=True)
    return plan


def test_photo_that_is_not_an_image_is_refused(client, photo_plan, people):
    insp, *_ = pending_inspection(photo_plan, people["op"], qty="2")
    ch = photo_plan.characteristics.get()
    as_user(client, people["qc"])
    fake = SimpleUploadedFile("x.jpg", b"not an image at all", content_type="image/jpeg")
    response = client.post(reverse("quality:record", args=[insp.pk]),
                           {f"c{ch.pk}": "pass", f"photo_c{ch.pk}": fake})
    assert response.status_code == 422
    assert "This file is not an image." in response.content.decode()
    assert Inspection.objects.get(pk=insp.pk).status == "pending"
    missing = client.post(reverse("quality:record", args=[insp.pk]), {f"c{ch.pk}": "pass"})
    assert "needs a photo" in missing.content.decode()


def test_oversized_photo_is_refused(client, photo_plan, people, monkeypatch):
    monkeypatch.setattr("quality.services.inspections.PHOTO_MAX_BYTES", 100)
    insp, *_ = pending_inspection(photo_plan, people["op"], qty="2")
    ch = photo_plan.characteristics.get()
    as_user(client, people["qc"])
    big = SimpleUploadedFile("big.png", png_bytes((64, 64)), content_type="image/png")
    response = client.post(reverse("quality:record", args=[insp.pk]),
                           {f"c{ch.pk}": "pass", f"photo_c{ch.pk}": big})
    assert response.status_code == 422
    assert "larger than 8 MB" in response.content.decode()
    assert not InspectionResult.objects.exists()


def test_photo_is_stored_and_served_to_readers_only(client, photo_plan, people):
    insp, *_ = pending_inspection(photo_plan, people["op"], qty="2")
    ch = photo_plan.characteristics.get()
    as_user(client, people["qc"])
    photo = SimpleUploadedFile("ok.png", png_bytes(), content_type="image/png")
    response = client.post(reverse("quality:record", args=[insp.pk]),
                           {f"c{ch.pk}": "pass", f"photo_c{ch.pk}": photo,
                            f"note_c{ch.pk}": "clean"})
    assert response.status_code == 302
    result = InspectionResult.objects.get()
    assert result.passed and result.note == "clean" and result.photo
    served = client.get(reverse("quality:result_photo", args=[result.pk]))
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    detail = client.get(reverse("quality:inspection_detail", args=[insp.pk])).content.decode()
    assert reverse("quality:result_photo", args=[result.pk]) in detail
    client.force_login(people["op"])
    assert client.get(reverse("quality:result_photo", args=[result.pk])).status_code == 403


def test_inspection_without_plan_takes_a_plain_verdict(client, defect, people):
    insp, *_ = pending_inspection(None, people["op"], qty="2")
    as_user(client, people["qc"])
    page = client.get(reverse("quality:record", args=[insp.pk])).content.decode()
    assert 'name="verdict"' in page
    missing = client.post(reverse("quality:record", args=[insp.pk]), {})
    assert missing.status_code == 422 and "Choose pass or fail" in missing.content.decode()
    response = client.post(reverse("quality:record", args=[insp.pk]),
                           {"verdict": "failed", "defect_code": defect.pk})
    assert response.status_code == 302
    assert Nonconformance.objects.get().quantity == 2


def test_plain_pass_with_a_failed_count_is_refused(client, defect, people):
    insp, *_ = pending_inspection(None, people["op"], qty="5")
    as_user(client, people["qc"])
    response = client.post(reverse("quality:record", args=[insp.pk]),
                           {"verdict": "passed", "qty_failed": "2", "defect_code": defect.pk})
    assert response.status_code == 422
    assert "The verdict is pass, so no units can fail" in " ".join(
        response.context["form"].errors["qty_failed"])
    insp.refresh_from_db()
    assert insp.status == "pending" and not Nonconformance.objects.exists()
    zero = client.post(reverse("quality:record", args=[insp.pk]),
                       {"verdict": "passed", "qty_failed": "0"})
    assert zero.status_code == 302  # 0 failed with a pass is no contradiction
    insp.refresh_from_db()
    assert (insp.status, insp.qty_passed, insp.qty_failed) == ("passed", 5, 0)


def test_a_defect_code_with_a_pass_is_refused_on_its_field(client, plan, defect, people):
    # Planned characteristics passing, and a plain pass verdict: the defect code is not dropped.
    insp, *_ = pending_inspection(plan, people["op"], qty="5")
    ch = plan.characteristics.get()
    as_user(client, people["qc"])
    response = client.post(reverse("quality:record", args=[insp.pk]),
                           {f"c{ch.pk}": "10.01", "defect_code": defect.pk})
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert "Every characteristic passed, so there is no defect" in " ".join(
        errors["defect_code"])
    assert 'data-field="defect_code"' in response.content.decode()
    plain_insp, *_ = pending_inspection(None, people["op"], qty="5")
    with translation.override("zh-hans"):
        response = client.post(reverse("quality:record", args=[plain_insp.pk]),
                               {"verdict": "passed", "defect_code": defect.pk})
    assert response.status_code == 422
    assert response.context["form"].errors["defect_code"]
    for one in (insp, plain_insp):
        one.refresh_from_db()
        assert one.status == "pending" and not one.results.exists()
    assert not Nonconformance.objects.exists()
    assert not AuditEntry.objects.filter(content_type__model="inspection",
                                         action="transition").exists()


# --- Disposition -------------------------------------------------------------------------------
@pytest.fixture
def open_nc(client, plan, defect, people):
    insp, wo, tasks, wc = pending_inspection(plan, people["op"], qty="10")
    as_user(client, people["qc"])
    fail(client, insp, qty_failed="3", defect_code=defect.pk)
    return Nonconformance.objects.get(), tasks


def test_rework_disposition_creates_the_rework_task(client, open_nc, people):
    nc, tasks = open_nc
    page = client.get(reverse("quality:nc_detail", args=[nc.pk])).content.decode()
    assert 'data-testid="disp-rework"' in page and 'data-testid="disp-use-as-is"' not in page
    response = client.post(reverse("quality:nc_disposition", args=[nc.pk]),
                           {"disposition": "rework"})
    assert response.status_code == 302
    nc.refresh_from_db()
    task = nc.rework_task
    assert task.kind == "rework" and task.work_center_id == tasks[1].work_center_id
    page = client.get(reverse("quality:nc_detail", args=[nc.pk])).content.decode()
    assert task.name in page and "0 of at most 1" in page
    station = reverse("execution:station", args=[task.work_center.code])
    # A QC inspector does not report work: the work center is named, not linked (its station
    # page would answer 403); a workshop lead gets the link.
    assert station not in page and task.work_center.code in page
    assert "is on the list of" in page  # the success message
    as_user(client, people["lead"])
    page = client.get(reverse("quality:nc_detail", args=[nc.pk])).content.decode()
    assert station in page
    assert client.get(station).status_code == 200


def test_rework_can_go_to_another_work_center(client, open_nc):
    nc, _tasks = open_nc
    other = WorkCenterFactory()
    client.post(reverse("quality:nc_disposition", args=[nc.pk]),
                {"disposition": "rework", "work_center": other.pk})
    assert Nonconformance.objects.get().rework_task.work_center == other


def test_rework_station_is_picked_by_the_work_orders_steps(client, open_nc):
    """A defect found at an inspection step is reworked where the part was made: "rework at"
    lists the work order's steps up to the responsible one first, by step and station (the
    inspection station itself is rarely where a diameter is turned again), then every other
    station."""
    nc, tasks = open_nc
    lathe = WorkCenterFactory(code="WC-LATHE")
    Task.objects.filter(pk=tasks[0].pk).update(work_center=lathe)
    page = client.get(reverse("quality:nc_detail", args=[nc.pk]),
                      HTTP_ACCEPT_LANGUAGE="en").content.decode()
    steps = page.split('<optgroup label="This work order&#x27;s steps">')[1].split(
        "</optgroup>")[0]
    responsible = nc.responsible_task
    assert f"{responsible.seq} {escape(responsible.name)} · " in steps
    assert f'value="{lathe.pk}">{tasks[0].seq} {escape(tasks[0].name)} · WC-LATHE' in steps
    assert '<optgroup label="Other stations">' in page
    client.post(reverse("quality:nc_disposition", args=[nc.pk]),
                {"disposition": "rework", "work_center": lathe.pk})
    assert Nonconformance.objects.get().rework_task.work_center == lathe


def test_inspector_cannot_use_as_is_and_sees_why(client, open_nc):
    nc, _tasks = open_nc
    response = client.post(reverse("quality:nc_disposition", args=[nc.pk]),
                           {"disposition": "use_as_is", "reason": "cosmetic"})
    assert response.status_code == 403
    assert "Use as is needs an approver" in response.content.decode()
    assert Nonconformance.objects.get().disposition == "pending"


def test_manager_uses_as_is_with_a_reason(client, open_nc, people):
    nc, tasks = open_nc
    as_user(client, people["mgr"])
    assert 'data-testid="disp-use-as-is"' in client.get(
        reverse("quality:nc_detail", args=[nc.pk])).content.decode()
    no_reason = client.post(reverse("quality:nc_disposition", args=[nc.pk]),
                            {"disposition": "use_as_is"})
    assert no_reason.status_code == 422
    assert "Say why the units may be used as is." in no_reason.content.decode()
    ok = client.post(reverse("quality:nc_disposition", args=[nc.pk]),
                     {"disposition": "use_as_is", "reason": "customer deviation 12"})
    assert ok.status_code == 302
    nc.refresh_from_db()
    assert nc.status == "closed" and nc.approved_by == people["mgr"]


def test_scrap_and_refusals_of_a_decided_nonconformance(client, open_nc, people):
    nc, tasks = open_nc
    client.post(reverse("quality:nc_disposition", args=[nc.pk]), {"disposition": "scrap"})
    tasks[1].refresh_from_db()
    assert tasks[1].qty_scrap == 3
    again = client.post(reverse("quality:nc_disposition", args=[nc.pk]),
                        {"disposition": "rework"})
    assert again.status_code == 422 and "already been decided" in again.content.decode()
    client.force_login(people["lead"])
    assert client.post(reverse("quality:nc_disposition", args=[nc.pk]),
                       {"disposition": "scrap"}).status_code == 403


def test_rework_refused_after_the_plans_loops(client, open_nc, defect, people):
    nc, _tasks = open_nc
    client.post(reverse("quality:nc_disposition", args=[nc.pk]), {"disposition": "rework"})
    nc.refresh_from_db()
    wc = nc.rework_task.work_center
    report(nc.rework_task, people["op"], wc, good=3)
    reinspect = Inspection.objects.get(loop=1)
    fail(client, reinspect, value="11", defect_code=defect.pk)
    second = Nonconformance.objects.get(loop=1)
    response = client.post(reverse("quality:nc_disposition", args=[second.pk]),
                           {"disposition": "rework"})
    assert response.status_code == 422
    assert "the most the plan allows" in response.content.decode()


def test_scrap_of_units_gone_on_is_refused_on_the_disposition_field(client, plan, defect,
                                                                     people):
    """Step 3 does not wait for the QC step and took its 10 units before 3 failed there: the
    page refuses their scrap on the disposition field, saying where they went and what to do;
    use as is is still decided."""
    wo, tasks, wc = qc_order(plan, qty="10")
    Task.objects.filter(pk=tasks[1].pk).update(wait_for_qc=False)
    for task in tasks:
        report(task, people["op"], wc, good=10)
    as_user(client, people["qc"])
    fail(client, Inspection.objects.get(task=tasks[1]), qty_failed="3", defect_code=defect.pk)
    nc = Nonconformance.objects.get()
    url = reverse("quality:nc_disposition", args=[nc.pk])
    for choice in ("scrap", "rework"):
        response = client.post(url, {"disposition": choice})
        assert response.status_code == 422
        (error,) = re.findall(r'<p class="error" data-field="disposition">(.*?)</p>',
                              response.content.decode(), re.S)
        assert (f"Step {tasks[2].seq} {tasks[2].name} does not wait for QC and has already "
                f"taken 10 of the 10 units step {tasks[1].seq} reported good: only 0 are still "
                f"at step {tasks[1].seq}") in error
        assert "Have it approved for use as is" in error
    tasks[1].refresh_from_db()
    assert (tasks[1].qty_good, tasks[1].qty_scrap, tasks[1].qty_rework) == (10, 0, 0)
    assert Nonconformance.objects.get().disposition == "pending"
    as_user(client, people["mgr"])
    ok = client.post(url, {"disposition": "use_as_is", "reason": "caught at final check"})
    assert ok.status_code == 302
    assert Nonconformance.objects.get().status == "closed"


# --- Acceptance --------------------------------------------------------------------------------
def test_acceptance_warns_of_components_not_issued(client, people):
    """A work order whose component lots were not all scanned in can be accepted, but the
    acceptance page says so first, component by component (required against issued): its
    archived record would not name every lot its units contain."""
    import uuid

    from execution.models import MaterialConsumption
    from execution.services.materials import material_issue
    from planning.models import MaterialRequirement
    from quality.forms import plain
    from tests.factories_execution import released_order

    wo, (task,), wc = released_order(steps=1, qty="4")
    need = MaterialRequirement.objects.filter(work_order=wo).select_related("item").first()
    half = need.quantity / 2
    material_issue(operator=people["op"], task=task, work_center=wc, item_code=need.item.code,
                   lot_code="LOT-A1", quantity=half, client_token=uuid.uuid4().hex)
    report(task, people["op"], wc, good=4)
    as_user(client, people["lead"])
    url = reverse("quality:acceptance", args=[wo.pk])
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-testid="ready"' in page and 'data-testid="material-gaps"' in page
    assert (f"{need.item.code} {escape(need.item.display_name)}: {plain(need.quantity)} "
            f"{need.item.uom} required, {plain(half)} {need.item.uom} issued") in page
    MaterialConsumption.objects.create(work_order=wo, task=task, item=need.item,
                                       lot_code="LOT-A2", quantity=need.quantity - half,
                                       operator=people["op"], client_token=uuid.uuid4().hex)
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-testid="ready"' in page and 'data-testid="material-gap">' + need.item.code \
        not in page


def test_acceptance_blocked_then_allowed(client, plan, people):
    insp, wo, tasks, wc = pending_inspection(plan, people["op"], qty="2")
    as_user(client, people["lead"])
    page = client.get(reverse("quality:acceptance", args=[wo.pk])).content.decode()
    assert "not awaiting acceptance" in page and "1 inspection not yet recorded" in page
    assert 'data-testid="accept"' not in page
    refused = client.post(reverse("quality:accept", args=[wo.pk]))
    assert refused.status_code == 422 and "Cannot accept" in refused.content.decode()
    pass_inspection(insp, people["qc"])
    report(tasks[2], people["op"], wc, good=2)
    queue = client.get(reverse("quality:acceptance_queue")).content.decode()
    assert wo.number in queue
    # The item's name in the page's language.
    assert wo.item.name_en in queue and wo.item.name not in queue
    zh_queue = client.get(reverse("quality:acceptance_queue"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert wo.item.name in zh_queue.content.decode()
    page = client.get(reverse("quality:acceptance", args=[wo.pk])).content.decode()
    assert 'data-testid="ready"' in page and 'data-testid="blocker"' not in page
    client.force_login(people["op"])
    assert client.post(reverse("quality:accept", args=[wo.pk])).status_code == 403
    client.force_login(people["mgr"])  # approvers re-open, but do not accept
    assert client.post(reverse("quality:accept", args=[wo.pk])).status_code == 403
    client.force_login(people["lead"])
    response = client.post(reverse("quality:accept", args=[wo.pk]), {"reason": "ok"})
    record = ArchivedRecord.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("quality:archive_detail", args=[record.pk])
    wo.refresh_from_db()
    assert wo.status == WorkOrder.Status.ACCEPTED


def test_reject_needs_a_reason_and_reopens_the_last_step(client, plan, people):
    insp, wo, tasks, wc = pending_inspection(plan, people["op"], qty="2")
    pass_inspection(insp, people["qc"])
    report(tasks[2], people["op"], wc, good=2)
    as_user(client, people["qc"])
    empty = client.post(reverse("quality:reject", args=[wo.pk]), {"reason": " "})
    assert empty.status_code == 422 and "Say why it is rejected." in empty.content.decode()
    ok = client.post(reverse("quality:reject", args=[wo.pk]), {"reason": "label missing"})
    assert ok.status_code == 302
    wo.refresh_from_db()
    assert wo.status == "in_progress"
    assert Task.objects.get(pk=tasks[2].pk).status == "in_progress"


# --- Archive -----------------------------------------------------------------------------------
def test_archive_page_verifies_and_exports(client, plan, people):
    record = accepted_order(plan, people["op"], people["qc"], people["lead"], lot_code="LOT-9")
    as_user(client, people["qc"])
    page = client.get(reverse("quality:archive_detail", args=[record.pk])).content.decode()
    assert 'data-testid="checksum">OK<' in page.replace("\n", "")
    assert record.sha256 in page and "LOT-9" in page
    for key in ("tasks", "reports", "operators", "inspections", "results", "consumptions",
                "acceptances", "audit"):
        assert f'data-testid="section-{key}"' in page
    # the audit trail names fields and states as a zh-hans reader knows them
    zh = client.get(reverse("quality:archive_detail", args=[record.pk]),
                    HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert 'data-testid="checksum">校验通过<' in zh.replace("\n", "")
    trail = zh[zh.index('data-testid="section-audit"'):]
    assert "Status:" not in trail and "released →" not in trail, trail[:2000]
    with translation.override("zh-hans"):
        label = capfirst(WorkOrder._meta.get_field("status").verbose_name)
        released = WorkOrder.Status.RELEASED.label
        assert f"{label}：" in trail and f"→ {released}" in trail
        # Every record type's states by their labels: a task's and an inspection's too.
        assert re.findall(r"[a-z_]{3,} →|→ [a-z_]{3,}", trail) == [], trail[:3000]
        assert f"→ {Task.Status.DONE.label}" in trail
        assert f"→ {Inspection.Status.PASSED.label}" in trail
    # Records archived before the audit entries kept their record type: told by the values.
    old = dict(record.data, audit=[{k: v for k, v in e.items() if k != "content_type__model"}
                                   for e in record.data["audit"]])
    ArchivedRecord.objects.filter(pk=record.pk).update(data=old)
    zh_old = client.get(reverse("quality:archive_detail", args=[record.pk]),
                        HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    old_trail = zh_old[zh_old.index('data-testid="section-audit"'):]
    assert re.findall(r"[a-z_]{3,} →|→ [a-z_]{3,}", old_trail) == [], old_trail[:3000]
    ArchivedRecord.objects.filter(pk=record.pk).update(data=record.data)
    # A top-level work order's BOM level is 0, not empty; who signed it by name.
    assert re.search(r"<dt>BOM level</dt><dd>0</dd>", page)
    signed = page[page.index('data-testid="section-acceptances"'):]
    signed = signed[:signed.index("</section>")]
    assert people["lead"].display_name in signed and f">{people['lead'].username}<" not in signed

    def section(html, key):
        part = html[html.index(f'data-testid="section-{key}"'):]
        return part[:part.index("</section>")]

    # Everyone by name, as the reports name the operators: who started and finished, who
    # inspected, who issued the lots (the account is on the reports' and operators' tables).
    who = {"activities": people["op"], "inspections": people["qc"],
           "consumptions": people["op"]}
    for key, person in who.items():
        shown = section(page, key)
        assert f">{person.display_name}<" in shown, (key, shown[:1500])
        assert f">{person.username}<" not in shown, (key, shown[:1500])
    # Records archived before the names were kept show the accounts.
    old = {k: ([{f: v for f, v in r.items() if not f.endswith("__display_name")} for r in rows]
               if isinstance(rows, list) else rows) for k, rows in record.data.items()}
    ArchivedRecord.objects.filter(pk=record.pk).update(data=old)
    old_page = client.get(reverse("quality:archive_detail", args=[record.pk])).content.decode()
    for key, person in who.items():
        assert f">{person.username}<" in section(old_page, key), key
    ArchivedRecord.objects.filter(pk=record.pk).update(data=record.data)
    raw = client.get(reverse("quality:archive_json", args=[record.pk]))
    assert raw["Content-Disposition"].startswith("attachment;")
    body = json.loads(raw.content)
    canonical = json.dumps(body["record"], sort_keys=True, ensure_ascii=False)
    assert hashlib.sha256(canonical.encode()).hexdigest() == body["sha256"] == record.sha256
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(client.get(
        reverse("quality:archive_xlsx", args=[record.pk])).content))
    assert len(book.sheetnames) >= 12
    lots = [ws for ws in book.worksheets if any("LOT-9" in str(c.value or "") for row in
                                               ws.iter_rows() for c in row)]
    assert lots
    # someone edits the stored record behind the application's back
    data = record.data
    data["tasks"][0]["qty_good"] = "999"
    ArchivedRecord.objects.filter(pk=record.pk).update(data=data)
    page = client.get(reverse("quality:archive_detail", args=[record.pk])).content.decode()
    assert "TAMPERED" in page


def test_reopen_needs_an_approver_and_a_reason(client, plan, people):
    record = accepted_order(plan, people["op"], people["qc"], people["lead"])
    as_user(client, people["lead"])
    page = client.get(reverse("quality:archive_detail", args=[record.pk])).content.decode()
    assert 'data-testid="reopen"' not in page
    assert client.post(reverse("quality:archive_reopen", args=[record.pk]),
                       {"reason": "x"}).status_code == 403
    client.force_login(people["mgr"])
    assert 'data-testid="reopen"' in client.get(
        reverse("quality:archive_detail", args=[record.pk])).content.decode()
    empty = client.post(reverse("quality:archive_reopen", args=[record.pk]), {"reason": ""})
    assert empty.status_code == 422 and "Say why it is re-opened." in empty.content.decode()
    ok = client.post(reverse("quality:archive_reopen", args=[record.pk]),
                     {"reason": "customer complaint"})
    assert ok.status_code == 302
    record.refresh_from_db()
    assert record.superseded_at is not None and archive_verify(record)
    assert record.work_order.status == WorkOrder.Status.AWAITING_ACCEPTANCE


def test_reopening_the_last_accepted_work_order_reopens_its_production_order(client, plan,
                                                                            people):
    """The production order completed with the acceptance of its work orders: one re-opened,
    the order is in progress again (audited, with the reason), and completes again when the
    work order is accepted again."""
    record = accepted_order(plan, people["op"], people["qc"], people["lead"])
    order = record.work_order.production_order
    order.refresh_from_db()
    assert order.status == ProductionOrder.Status.COMPLETED
    client.force_login(people["mgr"])
    assert client.post(reverse("quality:archive_reopen", args=[record.pk]),
                       {"reason": "customer complaint"}).status_code == 302
    order.refresh_from_db()
    assert order.status == ProductionOrder.Status.IN_PROGRESS
    entry = AuditEntry.objects.filter(object_id=str(order.pk),
                                      content_type__model="productionorder").latest("pk")
    assert (entry.before, entry.after, entry.reason) == (
        {"status": "completed"}, {"status": "in_progress"}, "customer complaint")
    assert entry.actor == people["mgr"]
    work_order_accept(actor=people["lead"], work_order=record.work_order)
    order.refresh_from_db()
    assert order.status == ProductionOrder.Status.COMPLETED


# --- Traceability ------------------------------------------------------------------------------
def test_traceability_both_ways_and_search(client, plan, people):
    record = accepted_order(plan, people["op"], people["qc"], people["lead"], lot_code="LOT/7")
    wo = record.work_order
    as_user(client, people["qc"])
    by_number = client.get(reverse("quality:trace") + f"?q={wo.number.lower()}")
    assert by_number.status_code == 302
    assert by_number["Location"] == reverse("quality:trace_work_order", args=[wo.pk])
    back = client.get(by_number["Location"]).content.decode()
    assert "LOT/7" in back and str(people["op"]) in back and wo.number in back
    assert reverse("quality:archive_of_work_order", args=[wo.pk]) in back
    by_lot = client.get(reverse("quality:trace") + "?q=LOT/7")
    assert by_lot.status_code == 302 and "code=LOT%2F7" in by_lot["Location"]
    forward = client.get(by_lot["Location"]).content.decode()
    assert wo.number in forward and "finished product" in forward
    partial = client.get(reverse("quality:trace") + "?q=LOT").content.decode()
    assert "LOT/7" in partial
    nothing = client.get(reverse("quality:trace") + "?q=NOPE-123").content.decode()
    assert "No work order or lot" in nothing
    archive = client.get(reverse("quality:archive_of_work_order", args=[wo.pk]))
    assert archive["Location"] == reverse("quality:archive_detail", args=[record.pk])


# --- Plans and defect codes ----------------------------------------------------------------------
def test_plan_created_and_characteristics_edited_inline_all_audited(client, people):
    as_user(client, people["qc"])
    bad = client.post(reverse("quality:plan_add"), {
        "code": "IP-NEW", "name": "新计划", "sampling": "n_per_lot", "sample_n": "",
        "sample_percent": "10", "max_rework_loops": "2", "item_code": "NO-SUCH"})
    assert bad.status_code == 422
    assert "There is no item" in bad.content.decode()
    response = client.post(reverse("quality:plan_add"), {
        "code": "IP-NEW", "name": "新计划", "name_en": "New plan", "sampling": "percent",
        "sample_n": "1", "sample_percent": "12.5", "max_rework_loops": "3", "active": "on",
        "reason": "new product"})
    plan = InspectionPlan.objects.get(code="IP-NEW")
    assert response.status_code == 302 and plan.sample_percent == Decimal("12.5")
    add = reverse("quality:characteristic_add", args=[plan.pk])
    htmx = {"HX-Request": "true"}
    missing = client.post(add, {"new-seq": "10", "new-name": "长度", "new-kind": "measured"},
                          headers=htmx)
    assert "needs a lower or an upper limit" in missing.content.decode()
    crossed = client.post(add, {"new-seq": "10", "new-name": "长度", "new-kind": "measured",
                                "new-lower": "5", "new-upper": "4"}, headers=htmx)
    assert "upper limit is below" in crossed.content.decode()
    ok = client.post(add, {"new-seq": "10", "new-name": "长度", "new-kind": "measured",
                           "new-lower": "4.9", "new-upper": "5.1", "new-unit": "mm"},
                     headers=htmx)
    body = ok.content.decode()
    assert 'id="characteristics"' in body and "长度" in body and "<html" not in body
    client.post(add, {"new-seq": "20", "new-name": "外观", "new-kind": "visual",
                      "new-lower": "1", "new-photo_required": "on"}, headers=htmx)
    length, look = plan.characteristics.order_by("seq")
    assert look.photo_required and look.lower is None  # limits mean nothing for a photo check
    form_row = client.get(reverse("quality:characteristic_edit", args=[length.pk]),
                          headers=htmx).content.decode()
    assert f'name="c{length.pk}-upper"' in form_row
    saved = client.post(reverse("quality:characteristic_edit", args=[length.pk]), {
        f"c{length.pk}-seq": "10", f"c{length.pk}-name": "长度", f"c{length.pk}-kind":
        "measured", f"c{length.pk}-lower": "4.8", f"c{length.pk}-upper": "5.2",
        f"c{length.pk}-unit": "mm"}, headers=htmx)
    assert "5.2" in saved.content.decode()
    removed = client.post(reverse("quality:characteristic_delete", args=[look.pk]),
                          headers=htmx)
    assert removed.status_code == 200 and removed.content == b""
    assert list(plan.characteristics.values_list("name", flat=True)) == ["长度"]
    actions = list(AuditEntry.objects.filter(
        content_type__model="characteristic").values_list("action", flat=True))
    assert sorted(actions) == ["create", "create", "delete", "update"]
    assert AuditEntry.objects.filter(content_type__model="inspectionplan",
                                     reason="new product").exists()
    page = client.get(reverse("quality:plan_detail", args=[plan.pk])).content.decode()
    assert page.count("<li>") >= 5  # the plan's history includes its characteristics' changes
    client.force_login(people["lead"])
    assert client.post(add, {"new-name": "x"}, headers=htmx).status_code == 403


def test_characteristic_with_results_cannot_be_removed(client, plan, people):
    insp, *_ = pending_inspection(plan, people["op"], qty="1")
    pass_inspection(insp, people["qc"])
    ch = plan.characteristics.get()
    as_user(client, people["qc"])
    response = client.post(reverse("quality:characteristic_delete", args=[ch.pk]),
                           headers={"HX-Request": "true"})
    assert "cannot be removed" in response.content.decode()
    assert Characteristic.objects.filter(pk=ch.pk).exists()


def test_defect_codes_created_and_edited(client, people):
    as_user(client, people["qc"])
    client.post(reverse("quality:defect_add"), {"code": "D77", "name": "划伤",
                                                "name_en": "Scratch", "active": "on"})
    code = DefectCode.objects.get(code="D77")
    duplicate = client.post(reverse("quality:defect_add"), {"code": "D77", "name": "x"})
    assert duplicate.status_code == 422
    client.post(reverse("quality:defect_edit", args=[code.pk]),
                {"code": "D77", "name": "划痕", "name_en": "Scratch", "active": "on",
                 "reason": "wording"})
    code.refresh_from_db()
    assert code.name == "划痕"
    assert AuditEntry.objects.filter(content_type__model="defectcode", action="update",
                                     reason="wording").exists()


# --- Statistics --------------------------------------------------------------------------------
def test_statistics_figures_and_page(client, plan, defect, people):
    from django.utils import timezone

    op, qc = people["op"], people["qc"]
    accepted_order(plan, op, qc, people["lead"], qty="4")  # 4 of 4 pass, completed
    ch = plan.characteristics.get()
    scrapped, *_ = pending_inspection(plan, op, qty="10")  # 8 of 10 pass, 2 scrapped
    inspection_record(inspector=qc, inspection=scrapped, results={ch.pk: {"value": "11"}},
                      qty_failed="2", defect_code=defect)
    nonconformance_disposition(actor=qc, nonconformance=Nonconformance.objects.get(),
                               disposition="scrap")
    reworked, wo, tasks, wc = pending_inspection(plan, op, qty="5")  # 4 of 5, 1 reworked
    inspection_record(inspector=qc, inspection=reworked, results={ch.pk: {"value": "9"}},
                      qty_failed="1", defect_code=DefectCodeFactory(code="D02"))
    nc = Nonconformance.objects.get(inspection=reworked)
    nonconformance_disposition(actor=qc, nonconformance=nc, disposition="rework")
    nc.refresh_from_db()
    report(nc.rework_task, op, wc, good=1)
    pass_inspection(Inspection.objects.get(loop=1), qc)
    report(tasks[2], op, wc, good=5)
    now = timezone.now()
    period = {"start": now - timezone.timedelta(days=1), "end": now + timezone.timedelta(hours=1)}
    figures = quality_stats(**period)
    assert figures["inspections"]["inspected"] == 19 and figures["inspections"]["passed"] == 16
    assert round(figures["first_pass_yield"], 2) == Decimal("84.21")
    assert figures["work_orders"] == {"completed": 2, "reworked": 1}
    assert figures["rework_rate_orders"] == 50
    assert figures["rework_rate_units"] == Decimal(100) / 19
    assert figures["scrap_rate"] == Decimal(200) / 19
    assert [(r["defect_code__code"], r["qty"]) for r in figures["by_code"]] == [
        ("D01", 2), ("D02", 1)]
    assert sum(r["count"] for r in figures["by_period"]) == 2
    other_line = quality_stats(**period, line=WorkCenterFactory().line)
    assert other_line["inspections"]["inspected"] is None and other_line["by_code"] == []
    assert other_line["work_orders"]["completed"] == 0
    as_user(client, people["lead"])
    page = client.get(reverse("quality:stats")).content.decode()
    assert "84.2 %" in page and "50.0 %" in page
    assert 'data-testid="pareto-by_code"' in page and "<svg" in page
    assert wc.line.name_en in page and wc.line.name not in page  # defects by line
    assert defect.name_en in page and defect.name not in page
    csv = client.get(reverse("quality:stats") + "?export=csv&table=by_code")
    assert "D01" in csv.content.decode("utf-8-sig")
    bad = client.get(reverse("quality:stats") + "?start=2026-02-10&end=2026-01-01")
    assert bad.status_code == 200 and "The end is before the start." in bad.content.decode()


# --- Query counts, pinned with two data sizes ----------------------------------------------------
def queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_qc_queue_query_count_does_not_grow(client, plan, people, django_assert_max_num_queries):
    pending_inspection(plan, people["op"], qty="2")
    as_user(client, people["qc"])
    url = reverse("quality:qc_queue")
    small = queries(client, url)
    for _n in range(4):
        pending_inspection(plan, people["op"], qty="3")
    with django_assert_max_num_queries(12):
        assert client.get(url).status_code == 200
    assert queries(client, url) == small


def test_archive_page_query_count_does_not_grow(client, plan, people,
                                                django_assert_max_num_queries):
    small = accepted_order(plan, people["op"], people["qc"], people["lead"], qty="2")
    insp, wo, tasks, wc = pending_inspection(plan, people["op"], qty="9", lot_code="LOT-B")
    pass_inspection(insp, people["qc"])
    for qty in (1, 1, 1, 6):
        report(tasks[2], people["op"], wc, good=qty)
    wo.refresh_from_db()
    from quality.services.acceptance import work_order_accept

    big = work_order_accept(actor=people["lead"], work_order=wo)
    assert len(big.data["reports"]) > len(small.data["reports"])
    as_user(client, people["qc"])
    counts = [queries(client, reverse("quality:archive_detail", args=[r.pk]))
              for r in (small, big)]
    assert counts[0] == counts[1]
    with django_assert_max_num_queries(8):
        client.get(reverse("quality:archive_detail", args=[big.pk]))


def test_stats_query_count_does_not_grow(client, plan, defect, people,
                                         django_assert_max_num_queries):
    as_user(client, people["mgr"])
    url = reverse("quality:stats")
    empty = queries(client, url)
    for code in ("D01", "D02", "D03"):
        insp, *_ = pending_inspection(plan, people["op"], qty="5")
        ch = plan.characteristics.get()
        inspection_record(inspector=people["qc"], inspection=insp,
                          results={ch.pk: {"value": "12"}}, qty_failed="1",
                          defect_code=DefectCodeFactory(code=code))
    accepted_order(plan, people["op"], people["qc"], people["lead"])
    assert queries(client, url) == empty
    with django_assert_max_num_queries(14):
        client.get(url)


def test_inspection_notes_have_a_length_limit(client, photo_plan, people):
    insp, *_ = pending_inspection(photo_plan, people["op"], qty="2")
    ch = photo_plan.characteristics.get()
    as_user(client, people["qc"])
    response = client.post(reverse("quality:record", args=[insp.pk]),
                           {f"c{ch.pk}": "pass", "notes": "x" * 300_000})
    assert response.status_code in (200, 422)
    assert "at most 2000 characters" in response.content.decode()
    insp.refresh_from_db()
    assert insp.status == "pending" and insp.notes == ""
    with pytest.raises(ValidationError, match="at most 2,000 characters"):
        inspection_record(inspector=people["qc"], inspection=insp,
                          results={ch.pk: {"passed": True}}, notes="x" * 2001)


@pytest.mark.parametrize("qty,failed,expected", [
    ("1", None, "passed (1 unit)."), ("4", None, "passed (4 units)."),
    ("2", "1", "decide what happens to the 1 unit."),
    ("5", "3", "decide what happens to the 3 units."),
])
def test_recorded_message_counts_units_in_the_singular_and_plural(client, plan, defect, people,
                                                                  qty, failed, expected):
    insp, *_ = pending_inspection(plan, people["op"], qty=qty)
    as_user(client, people["qc"])
    if failed:
        response = fail(client, insp, qty_failed=failed, defect_code=defect.pk)
    else:
        ch = plan.characteristics.get()
        response = client.post(reverse("quality:record", args=[insp.pk]),
                               {f"c{ch.pk}": "10.01"})
    assert response.status_code == 302
    shown = [str(m) for m in response.wsgi_request._messages]
    assert any(m.endswith(expected) for m in shown), shown


def test_acceptance_shows_what_a_step_was_completed_short_by_and_why(client, plan, people):
    """The lead read "Every unit is accounted for" above a step that took 4 in and reported
    1 good: the 3 the operator completed it short by (and the reason given at the station)
    were nowhere on the page that signs the work order off."""
    import uuid

    from execution.services.reporting import task_complete

    insp, wo, tasks, wc = pending_inspection(plan, people["op"], qty="4")
    pass_inspection(insp, people["qc"])
    report(tasks[2], people["op"], wc, good=1)
    task_complete(operator=people["op"], task=Task.objects.get(pk=tasks[2].pk),
                  work_center=wc, client_token=uuid.uuid4().hex, short_reason="材料不足")
    as_user(client, people["lead"])
    page = client.get(reverse("quality:acceptance", args=[wo.pk])).content.decode()
    assert 'data-testid="ready"' in page
    table = page[page.index('data-testid="reconciliation"'):]
    assert "Completed short" in table
    short = re.findall(r'data-testid="short">(.*?)</td>', table, re.S)
    assert len(short) == 1 and "3" in short[0] and "材料不足" in short[0]


def test_an_accepted_work_orders_acceptance_page_says_so_not_that_it_cannot_be_accepted(
        client, plan, people):
    """Back on the acceptance page of a work order they had just accepted, the lead read in
    red "Cannot be accepted yet: it is accepted, not awaiting acceptance"."""
    record = accepted_order(plan, people["op"], people["qc"], people["lead"])
    as_user(client, people["lead"])
    url = reverse("quality:acceptance", args=[record.work_order_id])
    page = client.get(url).content.decode()
    assert 'data-testid="blockers"' not in page and "Cannot be accepted yet" not in page
    assert 'data-testid="accepted"' in page
    assert f"{record.work_order.number} is accepted and archived." in page
    assert reverse("quality:archive_detail", args=[record.pk]) in page
    zh = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert f"{record.work_order.number} 已验收并归档" in zh


def test_the_archived_record_shows_what_a_step_was_completed_short_by_and_why(
        client, plan, people):
    """The archived record kept a step's completed-short quantity and the operator's reason
    (its JSON has them), but its page and XLSX showed neither: 4 in, 1 good, and nothing
    about the other 3."""
    import uuid

    from execution.services.reporting import task_complete
    from quality.services.acceptance import work_order_accept

    insp, wo, tasks, wc = pending_inspection(plan, people["op"], qty="4")
    pass_inspection(insp, people["qc"])
    report(tasks[2], people["op"], wc, good=1)
    task_complete(operator=people["op"], task=Task.objects.get(pk=tasks[2].pk),
                  work_center=wc, client_token=uuid.uuid4().hex, short_reason="材料不足")
    wo.refresh_from_db()
    record = work_order_accept(actor=people["lead"], work_order=wo)
    as_user(client, people["lead"])
    page = client.get(reverse("quality:archive_detail", args=[record.pk])).content.decode()
    tasks_table = page[page.index("Tasks and quantities"):page.index("Work reports")]
    assert "Completed short by" in tasks_table
    activities = page[page.index("Start, pause, finish"):]
    activities = activities[:activities.index("</table>")]
    assert "材料不足" in activities


def short_order(plan, people, scrap=1):
    """A 4-unit work order awaiting acceptance, its last step 4 - scrap good and scrap scrapped."""
    insp, wo, tasks, wc = pending_inspection(plan, people["op"], qty="4")
    pass_inspection(insp, people["qc"])
    report(tasks[2], people["op"], wc, good=4 - scrap, scrap=scrap,
           scrap_reason=scrap_reason() if scrap else None)
    wo.refresh_from_db()
    return wo


def test_acceptance_says_the_work_order_is_short_of_its_quantity_but_allows_it(
        client, plan, people):
    """A work order of 4 with 3 good and 1 scrapped said in green "Ready for acceptance: every
    unit is accounted for" and was archived with one click; nowhere did it say that only 3 of
    the 4 ordered were good."""
    wo = short_order(plan, people)
    assert wo.status == WorkOrder.Status.AWAITING_ACCEPTANCE
    as_user(client, people["lead"])
    url = reverse("quality:acceptance", args=[wo.pk])
    page = client.get(url).content.decode()
    warning = page[page.index('data-testid="shortfall"'):]
    warning = warning[:warning.index("</section>")]
    assert "Short of the ordered quantity" in warning
    assert "3 of 4 good (1 scrapped)" in warning
    assert 'data-testid="ready"' in page and 'data-testid="accept"' in page  # not a blocker
    zh = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "未达订单数量" in zh and "订单数量 4，良品仅 3（报废 1）" in zh
    # Accepted, the acceptance page and the archived record still say so.
    response = client.post(reverse("quality:accept", args=[wo.pk]))
    assert response.status_code == 302
    record = ArchivedRecord.objects.get(work_order=wo)
    assert "3 of 4 good (1 scrapped)" in client.get(url).content.decode()
    archive_url = reverse("quality:archive_detail", args=[record.pk])
    archived = client.get(archive_url).content.decode()
    assert re.search(r'data-testid="shortfall">[^<]*3 of 4 good \(1 scrapped\)', archived)
    zh = client.get(archive_url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "订单数量 4，良品仅 3（报废 1）" in zh
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(client.get(
        reverse("quality:archive_xlsx", args=[record.pk])).content))
    rows = [tuple(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    assert ("short of the ordered quantity", "3 of 4 good (1 scrapped)") in rows


def test_a_full_order_shows_no_shortfall(client, plan, people):
    record = accepted_order(plan, people["op"], people["qc"], people["lead"])
    as_user(client, people["lead"])
    for url in (reverse("quality:acceptance", args=[record.work_order_id]),
                reverse("quality:archive_detail", args=[record.pk])):
        page = client.get(url).content.decode()
        assert 'data-testid="shortfall"' not in page and "Short of the ordered" not in page


def test_shortfall_names_scrap_completed_short_and_units_not_accounted_for():
    from types import SimpleNamespace

    from quality.services.acceptance import delivery_shortfall

    def step(good, scrap=0, short=0, kind="normal", qc=None):
        return SimpleNamespace(kind=kind, qty_good=Decimal(good), qty_scrap=Decimal(scrap),
                               qty_short=Decimal(short), wait_for_qc=qc is not None,
                               qty_qc_accepted=Decimal(qc or 0))

    with translation.override("en"):
        assert delivery_shortfall(Decimal("10"), [step(10), step(10)]) == ""
        assert delivery_shortfall(Decimal("10"), [step(9, 1), step(7, short=2)]) == (
            "7 of 10 good (1 scrapped, 2 completed short)")
        # The last step's output waits for QC: only what QC accepted is delivered.
        assert delivery_shortfall(Decimal("10"), [step(10, qc=8)]) == (
            "8 of 10 good (2 not accounted for)")
        # A rework task's units come back to the step it reworks: not counted twice.
        assert delivery_shortfall(Decimal("4"), [step(3, 1), step(1, 1, kind="rework")]) == (
            "3 of 4 good (1 scrapped)")
    with translation.override("zh-hans"):
        assert delivery_shortfall(Decimal("10"), [step(9, 1), step(7, short=2)]) == (
            "订单数量 10，良品仅 7（报废 1、短缺完工 2）")


def test_acceptance_page_query_count_is_the_same_short_or_full(client, plan, people):
    full = short_order(plan, people, scrap=0)
    short = short_order(plan, people, scrap=1)
    as_user(client, people["lead"])
    counts = [queries(client, reverse("quality:acceptance", args=[wo.pk]))
              for wo in (full, short)]
    assert counts[0] == counts[1] == ACCEPTANCE_PAGE_QUERIES


# The acceptance page's queries (session, user, work order, tasks, blockers, components not
# all issued, the side lists).
ACCEPTANCE_PAGE_QUERIES = 11
