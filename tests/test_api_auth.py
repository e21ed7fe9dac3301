"""API keys and scopes, the one error shape, size limits, and lists at a fixed query cost."""

import datetime
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIRequestFactory, force_authenticate

from mes.api import docs
from mes.api.tokens import api_token_revoke, key_digest
from mes.models import ApiToken, AuditEntry
from tests.factories import ItemFactory, UserFactory
from tests.factories_api import ApiClient, api_as, api_key, error_of
from tests.factories_execution import released_order

pytestmark = pytest.mark.django_db


def test_no_key_is_401_with_the_error_shape(client):
    response = client.get("/api/items/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert error_of(response)["code"] == "not_authenticated"


@pytest.mark.parametrize("key", ["mes_nope_nope", "garbage", "mes_" + "x" * 200])
def test_unknown_key_is_401(client, key):
    response = ApiClient(client, key).get("/api/items/")
    assert response.status_code == 401
    assert error_of(response)["code"] == "bad_token"


def test_revoked_and_expired_keys_stop_working(client):
    token, key = api_key("planner")
    api = ApiClient(client, key)
    assert api.get("/api/items/").status_code == 200
    api_token_revoke(actor=None, token=token)
    assert api.get("/api/items/").status_code == 401
    token2, key2 = api_key("planner")
    ApiToken.objects.filter(pk=token2.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert ApiClient(client, key2).get("/api/items/").status_code == 401


def test_key_is_stored_only_as_a_digest(client):
    token, key = api_key("planner")
    token.refresh_from_db()
    assert token.key_hash == key_digest(key) and key not in token.key_hash
    assert key.startswith(token.prefix)
    entry = AuditEntry.objects.get(object_id=str(token.pk), action="create",
                                   content_type__model="apitoken")
    assert key not in str(entry.after) and "key_hash" not in entry.after


def test_scope_and_role_must_both_allow(client):
    ItemFactory()
    # A planner's key without planning:write may read but not create.
    api = api_as(client, "planner", scopes=["planning:read"])
    assert api.get("/api/items/").status_code == 200
    response = api.post("/api/items/", {"code": "X1", "name": "x"})
    assert response.status_code == 403
    assert error_of(response)["code"] == "missing_scope"
    # An operator's key with every scope still cannot do what operators may not.
    op = api_as(client, "operator")
    response = op.post("/api/items/", {"code": "X1", "name": "x"})
    assert response.status_code == 403
    assert error_of(response)["code"] == "missing_capability"
    assert not ApiTokenAudit_items_created()


def ApiTokenAudit_items_created():  # noqa: N802 - reads like a sentence in the assert
    from planning.models import Item

    return Item.objects.filter(code="X1").exists()


def test_session_users_use_the_browsable_api(client_as):
    ItemFactory(code="SESS-1")
    client = client_as("planner")
    response = client.get("/api/items/", headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert response.json()["results"][0]["code"] == "SESS-1"
    assert client.get("/api/items/", headers={"Accept": "text/html"}).status_code == 200


def test_malformed_json_is_400_naming_it(client):
    api = api_as(client, "planner")
    response = api.post("/api/items/", "{not json")
    assert response.status_code == 400
    assert error_of(response) == {"field": None, "code": "malformed",
                                  "message": error_of(response)["message"]}


def test_oversized_bodies_are_413(client):
    api = api_as(client, "planner")
    big = '{"code": "A", "name": "' + "x" * (1024 * 1024) + '"}'
    response = api.post("/api/items/", big)
    assert response.status_code == 413
    assert error_of(response)["code"] == "too_large"
    xml = b"<?xml version='1.0'?><a>" + b"x" * (2 * 1024 * 1024) + b"</a>"
    response = api.post("/api/b2mml/operations-schedule/", xml, content_type="application/xml")
    assert response.status_code == 413


def test_unknown_reference_names_the_field(client):
    api = api_as(client, "planner")
    response = api.post("/api/production-orders/", {
        "item": "NO-SUCH", "quantity": "5", "due": "2030-01-01T08:00:00+08:00"})
    assert response.status_code == 400
    assert error_of(response, "item")["code"] == "does_not_exist"


def test_wrong_types_and_missing_fields_are_listed(client):
    api = api_as(client, "planner")
    response = api.post("/api/production-orders/", {"quantity": "many"})
    assert response.status_code == 400
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"item", "quantity", "due"} <= fields


def test_schema_and_docs(client, client_as):
    api = api_as(client, "operator", scopes=["devices"])
    response = api.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/erp/orders/{erp_ref}/" in schema["paths"]
    assert "422" in schema["paths"]["/api/work-reports/"]["post"]["responses"]
    page = client_as("operator").get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "vendor/swagger-ui-5.35.0/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower() and "https://" not in html


def _count(fn) -> int:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


@pytest.mark.parametrize("path", ["/api/production-orders/", "/api/work-orders/",
                                  "/api/tasks/", "/api/items/", "/api/bom-versions/",
                                  "/api/routings/", "/api/work-reports/", "/api/equipment/",
                                  "/api/inspections/", "/api/nonconformances/"])
def test_lists_cost_a_fixed_number_of_queries(client, path):
    api = api_as(client, "admin")
    released_order(levels=2, steps=2)
    api.get(path)  # the key's first use is written down once
    small = _count(lambda: api.get(path))
    released_order(levels=3, steps=3)
    released_order(levels=2, steps=3)
    assert _count(lambda: api.get(path)) == small
    assert small <= 8


def test_api_root_lists_resources_and_needs_a_key(client):
    assert client.get("/api/").status_code == 401  # not a login redirect
    api = api_as(client, "operator", scopes=["devices"])
    links = api.get("/api/", Accept="application/json").json()
    assert {"work-orders", "tasks", "work-reports", "equipment"} <= set(links)


def test_nul_characters_are_refused_naming_the_field(client):
    api = api_as(client, "planner")
    response = api.post("/api/items/", {"code": "A\u0000B", "name": "x"})
    assert response.status_code == 400 and error_of(response, "code")["code"] == \
        "null_characters"
    response = api.get("/api/items/", {"q": "a\x00"})
    assert response.status_code == 400 and error_of(response, "q")


def test_far_away_dates_are_refused(client):
    api = api_as(client, "planner")
    response = api.get("/api/production-orders/", {"due_after": "0878-10-07T11:49:50-20:12"})
    assert response.status_code == 400 and error_of(response, "due_after")
    response = api.post("/api/production-orders/", {"item": "X", "quantity": "1",
                                                    "due": "0001-01-01T00:00:00+05:00"})
    assert response.status_code == 400 and error_of(response, "due")


def test_malformed_json_says_where_in_the_callers_language(client):
    api = api_as(client, "planner")
    response = api.post("/api/items/", '{"code": "A", "name": ')
    assert error_of(response)["message"] == (
        "The request body is not valid JSON: the error is at line 1, column 23.")
    api.headers["Accept-Language"] = "zh-CN"
    response = api.post("/api/items/", '{"code": "A", "name": ')
    assert response.status_code == 400
    assert "JSON parse error" not in error_of(response)["message"]


def test_schema_answers_every_concurrent_request():
    """Integrators opening the API docs at the same moment: the web server runs several threads
    per process, and each request generating the schema at once must get it (it used to
    answer 500 "Schema generation REQUIRES a view instance" to most of them)."""
    docs._DOCUMENTS.clear()  # generate here, at once, not from an earlier test's document
    user = UserFactory(roles=["operator"])
    view = docs.SchemaView.as_view()
    factory = APIRequestFactory()
    threads = 8
    barrier = Barrier(threads)

    def fetch(lang):
        request = factory.get("/api/schema/", {"format": "json", "lang": lang})
        force_authenticate(request, user=user)
        barrier.wait()
        try:
            response = view(request)
        except Exception as exc:  # noqa: BLE001 - the server would answer 500
            return 500, lang, repr(exc).encode()
        response.render()
        return response.status_code, lang, response.content

    for _round in range(3):
        with ThreadPoolExecutor(threads) as pool:
            answers = list(pool.map(fetch, ["en", "zh-hans"] * (threads // 2)))
        assert [status for status, _lang, _body in answers] == [200] * threads, [
            body[:200] for status, _lang, body in answers if status != 200]
        # The same document for the same language, whichever request made it.
        for lang in ("en", "zh-hans"):
            assert len({body for _s, got, body in answers if got == lang}) == 1
