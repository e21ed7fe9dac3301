"""The API's pages in a real browser: the docs page renders the schema from vendored Swagger
UI without touching the internet, "Try it out" works with the session, and an administrator
makes a key that works at once."""

import json
import urllib.request

import pytest

from tests.conftest import browser_login, screenshot
from tests.factories import PASSWORD, ItemFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_docs_page_is_offline_and_tries_requests_with_the_session(asgi_server, page,
                                                                  make_user):
    ItemFactory(code="DOCS-1")
    user = make_user("planner", username="docs")
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    browser_login(page, asgi_server, user.username, PASSWORD)
    page.goto(asgi_server.url + "/api/docs/")
    page.locator(".opblock-tag-section").first.wait_for()
    assert page.locator(".opblock").count() > 40
    outside = [u for u in requests if not u.startswith(asgi_server.url)
               and not u.startswith("data:")]
    assert outside == [], outside
    # Try GET /api/items/ out, with the browser's session.
    page.locator("#operations-items-items_list").click()
    page.get_by_role("button", name="Try it out").click()
    page.get_by_role("button", name="Execute").click()
    live = page.locator("#operations-items-items_list .live-responses-table")
    live.locator(".microlight", has_text="DOCS-1").first.wait_for()
    assert "200" in live.locator("tbody .response-col_status").first.inner_text()
    screenshot(page, "api-docs")


def test_admin_makes_a_key_that_works(asgi_server, page, make_user):
    admin = make_user("admin", username="keyadmin")
    browser_login(page, asgi_server, admin.username, PASSWORD)
    page.goto(asgi_server.url + "/api/manage/tokens/")
    page.fill("input[name=name]", "SAP 生产")
    page.select_option("select[name=user]", str(admin.pk))
    page.check("input[name=scopes][value='planning:read']")
    page.get_by_test_id("create-key").click()
    key = page.get_by_test_id("key").inner_text().strip()
    assert key.startswith("mes_")
    screenshot(page, "api-tokens")
    request = urllib.request.Request(asgi_server.url + "/api/items/",  # noqa: S310
                                     headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert json.load(response)["count"] == 0
    page.reload()
    assert key not in page.content()  # shown once only
