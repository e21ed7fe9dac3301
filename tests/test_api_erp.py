"""ERP exchange: orders PUT by ERP reference (idempotent), and the change feed (no miss, no
double, also with concurrent writers on PostgreSQL)."""

import datetime
import random
import threading
import time
from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from execution.models import MaterialConsumption, WorkReport
from mes.models import Event
from planning.models import ProductionOrder
from planning.services.orders import production_order_release
from quality.api.feed import erp_feed
from tests.factories import UserFactory, make_product
from tests.factories_api import ApiClient, api_as, error_of
from tests.factories_execution import released_order, scrap_reason
from tests.factories_quality import issue_lot, report

DUE = "2031-05-01T17:00:00+08:00"


def erp_body(item, **extra):
    return {"item": item.code, "quantity": "20", "due": DUE, "customer": "某电器", **extra}


@pytest.mark.django_db
def test_put_is_idempotent_on_the_erp_reference(client):
    top, _made, _wc = make_product(levels=2)
    api = api_as(client, "planner", scopes=["erp"])
    url = "/api/erp/orders/SAP-4711/"
    first = api.put(url, erp_body(top))
    assert first.status_code == 201, first.json()
    assert first.json()["erp_ref"] == "SAP-4711" and first.json()["status"] == "draft"
    again = api.put(url, erp_body(top))
    assert again.status_code == 200 and again.json() == first.json()
    changed = api.put(url, erp_body(top, quantity="25", explode=True))
    assert changed.status_code == 200
    assert changed.json()["quantity"] == "25.0000" and changed.json()["status"] == "planned"
    assert ProductionOrder.objects.filter(erp_ref="SAP-4711").count() == 1
    assert api.get(url).json()["number"] == first.json()["number"]
    assert api.get("/api/erp/orders/NOPE/").status_code == 404


@pytest.mark.django_db
def test_released_order_changes_are_refused_but_resends_are_fine(client):
    top, _made, _wc = make_product(levels=1)
    api = api_as(client, "planner", scopes=["erp"])
    url = "/api/erp/orders/SAP-1/"
    api.put(url, erp_body(top, explode=True))
    order = ProductionOrder.objects.get(erp_ref="SAP-1")
    production_order_release(actor=api.user, order=order)
    assert api.put(url, erp_body(top)).status_code == 200
    response = api.put(url, erp_body(top, quantity="30"))
    assert response.status_code == 409
    error = error_of(response, "quantity")
    assert error["code"] == "released" and "plan change" in error["message"]
    assert ProductionOrder.objects.get(pk=order.pk).quantity == 20
    mismatch = api.put(url, erp_body(top, number="OTHER-1"))
    assert mismatch.status_code == 409 and error_of(mismatch, "number")


@pytest.mark.django_db
def test_put_refusals_write_nothing(client):
    top, _made, _wc = make_product(levels=1)
    api = api_as(client, "planner", scopes=["erp"])
    response = api.put("/api/erp/orders/SAP-2/", erp_body(top, quantity="2.5"))
    assert response.status_code == 422 and error_of(response, "quantity")
    response = api.put("/api/erp/orders/SAP-2/", {**erp_body(top), "item": "NOPE"})
    assert response.status_code == 400 and error_of(response, "item")
    assert not ProductionOrder.objects.exists()
    planner_without_erp = api_as(client, "planner", scopes=["planning:write"])
    response = planner_without_erp.put("/api/erp/orders/SAP-2/", erp_body(top))
    assert response.status_code == 403


def _drain(cursor="", limit=500):
    """Poll the feed until it has nothing more right now: (entries, cursor)."""
    entries = []
    while True:
        page = erp_feed(cursor=cursor, limit=limit)
        entries += page["entries"]
        cursor = page["next_cursor"]
        if not page["more"]:
            return entries, cursor, page


@pytest.mark.django_db
def test_feed_reports_scrap_consumption_and_completion(client, settings):
    settings.MES_ERP_FEED_GRACE_SECONDS = 0
    operator = UserFactory(roles=["operator"])
    wo, tasks, wc = released_order(steps=2, qty="5")
    issue_lot(wo, tasks[0], operator, wc, "LOT-1")
    report(tasks[0], operator, wc, good=4, scrap=1, scrap_reason=scrap_reason())
    report(tasks[1], operator, wc, good=4)
    api = api_as(client, "planner", scopes=["erp"])
    page = api.get("/api/erp/feed/").json()
    kinds = Counter(e["type"] for e in page["entries"])
    assert kinds == {"report": 2, "consumption": 1, "completed": 1}
    summary = {row["work_order"]: row for row in page["work_orders"]}[wo.number]
    assert summary["completed"] == "4.0000" and summary["scrap"] == "1.0000"
    assert summary["consumption"][0]["quantity"] != "0.0000"
    completed = next(e for e in page["entries"] if e["type"] == "completed")
    assert completed["good"] == "4.0000" and completed["erp_ref"] is None
    again = api.get("/api/erp/feed/", {"cursor": page["next_cursor"]}).json()
    assert again["entries"] == [] and again["next_cursor"] == page["next_cursor"]
    bad = api.get("/api/erp/feed/", {"cursor": "yesterday"})
    assert bad.status_code == 400 and error_of(bad, "cursor")
    assert api.get("/api/erp/feed/", {"limit": "0"}).status_code == 400
    superscript = api.get("/api/erp/feed/", {"limit": "²"})  # a digit to isdigit()
    assert superscript.status_code == 400 and error_of(superscript, "limit")


@pytest.mark.django_db
def test_feed_waits_at_a_gap_that_may_still_commit(settings):
    settings.MES_ERP_FEED_GRACE_SECONDS = 30
    first = Event.objects.create(topic="plant", kind="x")
    hole = Event.objects.create(topic="plant", kind="x")
    last = Event.objects.create(topic="plant", kind="x")
    start = f"{first.id - 1}-0"
    hole.delete()  # as if its transaction had not committed yet
    page = erp_feed(cursor=start)
    assert page["next_cursor"] == f"{first.id}-0" and page["waiting"]
    Event.objects.filter(pk=last.pk).update(created_at=timezone.now()
                                            - datetime.timedelta(minutes=5))
    page = erp_feed(cursor=page["next_cursor"])  # older than the grace: a rollback
    assert page["next_cursor"] == f"{last.id}-0" and not page["waiting"]


@pytest.mark.django_db
def test_feed_pages_never_repeat_or_skip(settings):
    settings.MES_ERP_FEED_GRACE_SECONDS = 0
    operator = UserFactory(roles=["operator"])
    wo, tasks, wc = released_order(steps=1, qty="100")
    for _ in range(7):
        report(tasks[0], operator, wc, good=1)
    entries, _cursor, _page = _drain(limit=3)
    ids = [e["report"] for e in entries if e["type"] == "report"]
    assert sorted(ids) == sorted(WorkReport.objects.values_list("pk", flat=True))
    assert len(ids) == len(set(ids)) == 7


def _head() -> str:
    """The newest committed positions of both sources (once the writers have finished)."""
    from django.db.models import Max

    return (f"{Event.objects.aggregate(m=Max('id'))['m'] or 0}-"
            f"{MaterialConsumption.objects.aggregate(m=Max('id'))['m'] or 0}")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_feed_with_concurrent_writers_misses_nothing_and_doubles_nothing(settings):
    """Writers commit out of order (some hold their transaction open, some roll back) while an
    ERP polls; afterwards every committed report and lot is in the feed exactly once."""
    if connection.vendor != "postgresql":
        pytest.skip("commit order versus id order is a PostgreSQL matter")
    settings.MES_ERP_FEED_GRACE_SECONDS = 3
    operator = UserFactory(roles=["operator"])
    orders = [released_order(steps=1, qty="10000") for _ in range(4)]
    stop = threading.Event()
    errors, seen = [], []

    def writer(n, wo, task, wc):
        from django.db import connections

        rng = random.Random(n)
        try:
            for i in range(12):
                try:
                    with transaction.atomic():
                        if i % 3 == 0:
                            issue_lot(wo, task, operator, wc, f"LOT-{n}-{i}")
                        report(task, operator, wc, good=1)
                        time.sleep(rng.uniform(0, 0.25))  # commit later than others
                        if i % 5 == 4:
                            raise RuntimeError("roll back")  # leaves a gap in the ids
                except RuntimeError:
                    pass
        except Exception as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    def poller():
        from django.db import connections

        cursor = ""
        try:
            while True:
                page = erp_feed(cursor=cursor, limit=50)
                seen.extend(page["entries"])
                cursor = page["next_cursor"]
                if stop.is_set() and not page["more"] and not page["waiting"] \
                        and cursor == _head():
                    break
                time.sleep(0.02)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n, wo, tasks[0], wc))
               for n, (wo, tasks, wc) in enumerate(orders * 2)]
    reader = threading.Thread(target=poller)
    reader.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    reader.join(60)
    assert not reader.is_alive() and not errors
    reports = [e["report"] for e in seen if e["type"] == "report"]
    lots = [e["consumption"] for e in seen if e["type"] == "consumption"]
    assert len(reports) == len(set(reports)), "a report came twice"
    assert len(lots) == len(set(lots)), "a lot came twice"
    assert set(reports) == set(WorkReport.objects.values_list("pk", flat=True))
    assert set(lots) == set(MaterialConsumption.objects.values_list("pk", flat=True))
    good = sum(Decimal(e["good"]) for e in seen if e["type"] == "report")
    assert good == WorkReport.objects.count() == 8 * 12 - 8 * 2


def test_cursor_parsing():
    from quality.api.feed import parse_cursor

    assert parse_cursor("") == (0, 0) and parse_cursor("12-3") == (12, 3)
    with pytest.raises(ValueError):
        parse_cursor("12")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_same_new_order_put_at_once_makes_one_order():
    """Six ERP retries of a new order arriving together: one order, one 201, the rest 200."""
    if connection.vendor != "postgresql":
        pytest.skip("concurrent inserts are proven on PostgreSQL")
    from django.test import Client

    top, _made, _wc = make_product(levels=1)
    _token, key = api_key_for_planner()
    barrier = threading.Barrier(6)
    statuses, errors = [], []

    def put():
        from django.db import connections

        try:
            api = ApiClient(Client(), key)
            barrier.wait()
            statuses.append(api.put("/api/erp/orders/SAP-RACE/", erp_body(top)).status_code)
        except Exception as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=put) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(statuses) == [200] * 5 + [201]
    assert ProductionOrder.objects.filter(erp_ref="SAP-RACE").count() == 1


def api_key_for_planner():
    from tests.factories_api import api_key

    return api_key("planner", scopes=["erp"])


@pytest.mark.django_db
@pytest.mark.parametrize("since", ["garbage", "99999999999999999999999"])
def test_feed_refuses_since_instead_of_answering_from_the_beginning(client, since):
    api = api_as(client, "planner", scopes=["erp"])
    response = api.get("/api/erp/feed/", {"since": since})
    assert response.status_code == 400
    assert error_of(response, "since")["code"] == "unknown_parameter"


@pytest.mark.django_db
def test_lists_refuse_ordering_they_would_ignore(client):
    api = api_as(client, "planner")
    response = api.get("/api/items/", {"ordering": "nonsense"})
    assert response.status_code == 400 and error_of(response, "ordering")
    assert api.get("/api/items/").status_code == 200
