"""Bad input everywhere (Hypothesis): forms, imports, station scans and reports, the API.

For every generated input: never a 5xx; a refusal changes nothing in the database (the
counts of every record kind the endpoint could write are unchanged); and the answer names
the problem (the field, or the reason). Each example runs in a savepoint that is rolled back,
so examples do not see each other's writes. Few examples per test, so the suite stays fast.
"""

import contextlib
import html
import io
import json
import uuid
from collections import Counter

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from execution.models import TaskActivity, WorkReport
from mes.models import AuditEntry, Event
from planning.models import BOMLine, Item, ProductionOrder, Task, WorkOrder
from quality.models import DefectCode, Inspection, InspectionResult, Nonconformance
from tests.factories import BOMVersionFactory, ItemFactory, make_product
from tests.factories_api import ApiClient, api_key
from tests.factories_execution import released_order, scrap_reason
from tests.factories_quality import DefectCodeFactory, measured_plan, pending_inspection

pytestmark = pytest.mark.django_db

FEW = settings(max_examples=25, deadline=None, derandomize=True, print_blob=True,
               suppress_health_check=[HealthCheck.function_scoped_fixture,
                                      HealthCheck.too_slow, HealthCheck.data_too_large])
COUNTED = (ProductionOrder, WorkOrder, Task, Item, BOMLine, WorkReport, TaskActivity,
           Inspection, InspectionResult, Nonconformance, AuditEntry, Event)

# --- strategies: what a tired hand, a stuck key, a wrong scan or an attacker sends -----------
nasty_text = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    st.sampled_from(["", " ", "\x00", "null", "None", "NaN", "-inf", "1e309", "0x10",
                     "<script>alert(1)</script>", "'; DROP TABLE planning_item;--",
                     "=cmd|' /C calc'!A0", "１２", "٣", "1,5", "1.5.5", "99999999999999999999",
                     "-1", "0", "1/0", "../../etc/passwd", "\ufeff", "A" * 5000]),
)
numberish = st.one_of(
    nasty_text,
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.integers(min_value=-10**20, max_value=10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


def counts() -> dict:
    return {m.__name__: m.objects.count() for m in COUNTED}


@contextlib.contextmanager
def rolled_back():
    """One example's writes, undone afterwards."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def success(response) -> bool:
    return response.status_code in (200, 201, 204, 302) and not _form_errors(response)


def _form_errors(response) -> list[str]:
    context = getattr(response, "context", None)
    form = context.get("form") if context is not None else None
    if form is None or not getattr(form, "is_bound", False):
        return []
    return [str(m) for errors in form.errors.values() for m in errors]


def assert_refusal_names_the_problem(response, fields=()):
    body = response.content.decode("utf-8", "replace")
    messages = _form_errors(response)
    if messages:  # each message the form holds is shown on the page
        for message in messages:
            assert html.escape(message) in body or message in body, message
        return
    lowered = body.lower()
    assert any(f.lower() in lowered for f in fields) or "error" in lowered, body[:500]


OUTCOMES: Counter = Counter()  # (test, accepted?) — printed at the end, to see both happen


def check(response, before: dict, fields=(), allowed_growth=()) -> None:
    assert response.status_code < 500, response.content[:1000]
    OUTCOMES[(response.wsgi_request.path.split("/")[2], success(response))] += 1
    if success(response):
        return
    after = counts()
    for name in allowed_growth:
        after.pop(name, None), before.pop(name, None)
    assert after == {k: v for k, v in before.items() if k in after}, "a refusal wrote data"
    assert_refusal_names_the_problem(response, fields)


# --- forms ---------------------------------------------------------------------------------
@pytest.fixture
def planner(client_as):
    return client_as("planner")


def good_or(valid, bad=nasty_text):
    """Mostly one valid value, so that examples with a single bad field are common."""
    return st.one_of(st.just(valid), st.just(valid), bad)


@FEW
@given(item=good_or("FG-OK"), quantity=good_or("5", numberish),
       due=good_or("2030-01-01 10:00"), release=good_or(""), priority=good_or("2"),
       customer=good_or("华东机械"), notes=good_or(""))
def test_production_order_form(planner, item, quantity, due, release, priority, customer,
                               notes):
    if not Item.objects.filter(code="FG-OK").exists():
        top, _made, _wc = make_product(1, steps=1)
        Item.objects.filter(pk=top.pk).update(code="FG-OK")
    with rolled_back():
        before = counts()
        response = planner.post(reverse("planning:order_add"), {
            "item": item, "quantity": quantity, "due": due, "release_date": release,
            "priority": priority, "customer": customer, "notes": notes, "reason": notes})
        check(response, before, ("item", "quantity", "due", "priority"))


@FEW
@given(child=good_or("CHILD-1"), quantity=good_or("2", numberish),
       scrap=good_or("0", numberish), position=good_or("10", numberish),
       operation=good_or("", numberish), optional=good_or(""))
def test_bom_line_form(planner, child, quantity, scrap, position, operation, optional):
    if not BOMLine.objects.exists() and not Item.objects.filter(code="PARENT-1").exists():
        parent = ItemFactory(code="PARENT-1")
        BOMVersionFactory(item=parent)
        ItemFactory(code="CHILD-1", kind=Item.Kind.BUY)
    bom = Item.objects.get(code="PARENT-1").bom_versions.first()
    with rolled_back():
        before = counts()
        response = planner.post(reverse("planning:bom_line_add", args=[bom.pk]), {
            "position": position, "child": child, "quantity_per": quantity,
            "scrap_pct": scrap, "optional": optional, "operation_seq": operation,
            "reason": "fuzz"})
        check(response, before, ("child", "quantity", "scrap", "position"))


@pytest.fixture
def inspection(client_as, make_user):
    op = make_user("operator", username="fuzz_op")
    plan = measured_plan(code="IP-FUZZ")
    DefectCodeFactory(code="D-FUZZ")
    insp, *_ = pending_inspection(plan, op, qty="5")
    return client_as("qc_inspector"), insp, plan.characteristics.get()


@FEW
@given(value=good_or("10.3", numberish), qty_failed=good_or("", numberish),
       defect=good_or("D-FUZZ"), notes=good_or(""), verdict=good_or(""),
       photo=st.one_of(st.none(), st.none(), st.binary(max_size=200)))
def test_inspection_recording(inspection, value, qty_failed, defect, notes, verdict, photo):
    client, insp, ch = inspection
    if defect == "D-FUZZ":
        defect = str(DefectCode.objects.get(code="D-FUZZ").pk)
    data = {f"c{ch.pk}": value, "qty_failed": qty_failed, "defect_code": defect,
            "notes": notes, "verdict": verdict}
    if photo is not None:
        data[f"photo_c{ch.pk}"] = SimpleUploadedFile("p.jpg", photo)
    with rolled_back():
        before = counts()
        response = client.post(reverse("quality:record", args=[insp.pk]), data)
        check(response, before, ("measured", "photo", "defect", "quantity", "number"))


# --- imports --------------------------------------------------------------------------------
HEADER = ["item_code", "name", "kind", "uom", "discrete", "active"]


def _csv(rows) -> bytes:
    import csv

    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8")


row = st.lists(st.one_of(nasty_text, st.sampled_from(["FG-9", "make", "buy", "pcs", "yes"])),
               min_size=0, max_size=8)
upload = st.one_of(
    st.binary(max_size=3000).map(lambda b: ("random.csv", b)),
    st.binary(max_size=3000).map(lambda b: ("random.xlsx", b"PK\x03\x04" + b)),
    st.lists(row, max_size=12).map(lambda rows: ("items.csv", _csv([HEADER, *rows]))),
    st.lists(row, max_size=5).map(lambda rows: ("items.tsv", _csv(rows))),
)


@FEW
@given(upload=upload, kind=st.sampled_from(["", "items", "boms", "routings", "orders", "zz"]))
def test_import_check_and_apply(planner, upload, kind):
    name, content = upload
    for view in ("planning:io_check", "planning:io_apply"):
        with rolled_back():
            before = counts()
            response = planner.post(reverse(view), {
                "kind": kind, "file": SimpleUploadedFile(name, content)})
            assert response.status_code < 500, response.content[:800]
            report = response.context.get("report") if response.context else None
            if view == "planning:io_check":
                assert counts() == before, "checking a file wrote data"
            if report is not None and report.written:
                continue  # a valid file was imported: all of it
            assert counts() == before, "a refused import wrote part of the file"
            if report is not None and not report.ok:
                body = response.content.decode()
                assert report.errors, "refused without saying why"
                first = report.errors[0]
                assert html.escape(first.reason) in body or first.reason in body
            elif report is None:
                assert_refusal_names_the_problem(response, ("file", "kind"))


# --- station terminal -----------------------------------------------------------------------
@pytest.fixture
def station(client_as):
    client = client_as("operator")
    _wo, (task, _t2), wc = released_order(steps=2, qty="10")
    return client, task, wc, scrap_reason()


@FEW
@given(code=nasty_text)
@example(code="B-00001\x00")  # found on PostgreSQL: the refusal log could not store a NUL
@example(code="X" * 201)
def test_station_scan(station, code):
    client, _task, wc, _reason = station
    with rolled_back():
        before = counts()
        response = client.post(reverse("execution:station_scan", args=[wc.code]),
                               {"code": code}, HTTP_HX_REQUEST="true")
        assert response.status_code < 500
        if response.status_code == 200:  # a badge or a task after all
            return
        assert response.status_code == 422
        assert counts() == before
        assert "st-status-bad" in response.content.decode()


@FEW
@given(task=good_or("OK", numberish), good=good_or("1", numberish),
       scrap=good_or("0", numberish), reason=good_or("OK"),
       token=good_or("tok", st.one_of(nasty_text, st.uuids().map(str))))
@example(task="OK", good="1\x00", scrap="0", reason="OK", token="tok")
def test_station_report(station, task, good, scrap, reason, token):
    client, real_task, wc, scrap_code = station
    with rolled_back():
        before = counts()
        response = client.post(reverse("execution:station_report", args=[wc.code]), {
            "task": real_task.pk if task == "OK" else task, "good": good, "scrap": scrap,
            "scrap_reason": scrap_code.pk if reason == "OK" else reason,
            "client_token": uuid.uuid4().hex if token == "tok" else token},
            HTTP_HX_REQUEST="true")
        assert response.status_code < 500
        if response.status_code == 200:
            assert WorkReport.objects.count() == before["WorkReport"] + 1
            return
        assert response.status_code == 422
        assert counts() == before  # (the refusal itself is kept in ScanRefusal, by design)
        body = response.content.decode()
        assert "st-status-bad" in body
        real_task.refresh_from_db()
        assert real_task.qty_good == 0 and real_task.qty_scrap == 0


# --- API ------------------------------------------------------------------------------------
json_value = st.recursive(
    st.one_of(st.none(), st.booleans(), numberish, st.integers(), st.floats()),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6)


KEYS: dict = {}


@pytest.fixture(autouse=True)
def _forget_keys():
    KEYS.clear()  # keys live in the test's database, which is rolled back after each test


@pytest.fixture
def device(client):
    _wo, (task,), _wc = released_order(steps=1, qty="10")
    _token, key = api_key("operator")
    return ApiClient(client, key), task


@FEW
@given(body=st.fixed_dictionaries({}, optional={
    "task": st.one_of(json_value, st.just("OK")), "good": json_value, "scrap": json_value,
    "client_token": json_value, "scrap_reason": json_value, "work_start": json_value,
    "work_end": json_value, "note": json_value, "scan": json_value,
    "work_center": json_value, "operator_badge": json_value}))
def test_api_work_report(device, body):
    api, task = device
    if body.get("task") == "OK":
        body["task"] = task.pk
    with rolled_back():
        before = counts()
        response = api.post("/api/work-reports/", body)
        assert response.status_code < 500, response.content[:800]
        if response.status_code in (200, 201):
            return
        assert counts() == before
        errors = response.json()["errors"]
        assert errors and all(e.get("message") for e in errors), errors
        assert any(e.get("field") or e.get("code") for e in errors), errors


@FEW
@given(raw=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
def test_api_malformed_bodies(client, raw):
    api = ApiClient(client, KEYS.setdefault("planner", api_key("planner")[1]))
    with rolled_back():
        before = counts()
        response = api.post("/api/production-orders/", raw)
        assert response.status_code < 500, response.content[:800]
        assert response.status_code in (400, 413, 415, 422)
        assert counts() == before
        assert json.loads(response.content)["errors"]


# --- dates no period, window or filter can be computed from -------------------------------------
@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "2201-01-01"])
@pytest.mark.parametrize("url,fields", [
    ("/dashboards/kpis/", {"start": "{d}", "end": "{d}"}),
    ("/dashboards/kpis/downtime/", {"start": "{d}"}),
    ("/dashboards/kpis/rework/", {"end": "{d}"}),
    ("/quality/stats/", {"start": "{d}", "end": "{d}"}),
    ("/quality/stats/", {"end": "{d}"}),
    ("/execution/refused-scans/", {"since": "{d}T00:00", "until": "{d}T00:00"}),
    ("/audit/", {"since": "{d}T00:00", "until": "{d}T00:00"}),
    ("/dashboards/kpis/report/", {"month": "{m}"}),
])
def test_dates_out_of_range_are_named_not_a_server_error(client_as, url, fields, day):
    c = client_as("admin", "planner", "workshop_lead", "qc_inspector")
    query = {k: v.format(d=day, m=day[:7]) for k, v in fields.items()}
    response = c.get(url, query, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code in (200, 400, 422)
    assert "Give a date between 1970 and 2200." in html.unescape(response.content.decode())


def test_order_due_out_of_range_is_named(planner):
    top = make_product(1)[0]
    before = counts()
    response = planner.post(reverse("planning:order_add"), {
        "item": top.code, "quantity": "5", "due": "9999-12-31T00:00", "priority": "2"},
        HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code in (200, 400, 422)
    assert response.context["form"].errors["due"] == ["Give a date between 1970 and 2200."]
    assert counts() == before


def test_zz_both_outcomes_were_exercised():
    """The forms above accepted some inputs and refused others (no vacuous pass)."""
    if not OUTCOMES:
        pytest.skip("run with the tests above")
    print("\nform outcomes (page, accepted): count", dict(OUTCOMES))
    for page in {p for p, _ok in OUTCOMES}:
        assert OUTCOMES[(page, False)] > 0, page
