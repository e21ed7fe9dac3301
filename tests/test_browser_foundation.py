"""The foundation in a real browser: log in as each role, and live events across processes."""

import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT, browser_login, screenshot, subprocess_env
from tests.factories import PASSWORD, make_product

pytestmark = [pytest.mark.browser, pytest.mark.embedded, pytest.mark.django_db(transaction=True)]

ROLES = ["planner", "workshop_lead", "operator", "qc_inspector", "manager", "admin"]


@pytest.mark.parametrize("role", ROLES)
def test_each_role_logs_in_and_sees_home(asgi_server, page, make_user, role):
    user = make_user(role, username=f"u_{role}")
    browser_login(page, asgi_server, user.username, PASSWORD)
    assert page.get_by_test_id("current-user").inner_text() == str(user)
    nav = page.locator("nav.nav a").all_inner_texts()
    assert "Home" in nav
    # navigation shows only what the role may use
    assert ("Audit log" in nav) == (role in {"planner", "workshop_lead", "manager", "admin"})
    assert ("Employees" in nav) == (role == "admin")
    screenshot(page, f"home-{role}")


def test_language_switch_to_chinese(asgi_server, page, make_user):
    user = make_user("planner", username="lang")
    browser_login(page, asgi_server, user.username, PASSWORD)
    with page.expect_navigation():
        page.select_option("select[name=language]", "zh-hans")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert "首页" in page.locator("nav.nav").inner_text()
    screenshot(page, "home-zh-hans")


def test_event_from_another_process_appears_live(asgi_server, page, make_user):
    user = make_user("operator", username="live")
    browser_login(page, asgi_server, user.username, PASSWORD)
    page.goto(asgi_server.url + "/live/")
    # wait until the stream is connected
    page.wait_for_function("() => document.querySelector('[sse-connect]') && "
                           "htmx.find('[sse-connect]')['htmx-internal-data'] && "
                           "htmx.find('[sse-connect]')['htmx-internal-data'].sseEventSource && "
                           "htmx.find('[sse-connect]')['htmx-internal-data'].sseEventSource"
                           ".readyState === 1")
    for n in range(3):
        text = f"from another process {n} {time.time()}"
        started = time.monotonic()
        subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", "emit_event", text], cwd=ROOT, env=subprocess_env(),
            check=True, capture_output=True,
        )
        written = time.monotonic()
        page.locator(".event-text", has_text=text).wait_for(timeout=2_000)
        assert time.monotonic() - written <= 2.0, f"took {time.monotonic() - written:.2f}s"
        assert written - started < 30
    screenshot(page, "live-events")


def test_signed_out_an_htmx_page_goes_to_sign_in_not_draws_it(asgi_server, page, make_user):
    """The session ended while a list was open: filtering it (an htmx request) does not draw
    the login page into the table; the browser goes to the sign-in page, back to the list."""
    from django.contrib.sessions.models import Session
    from django.urls import reverse

    user = make_user("workshop_lead", username="signedout")
    browser_login(page, asgi_server, user.username, PASSWORD)
    url = reverse("execution:refusal_list")
    page.goto(asgi_server.url + url)
    Session.objects.all().delete()
    page.fill("form.filters input[name=q]", "nothing")
    page.evaluate("() => document.querySelector('form.filters').requestSubmit()")
    page.wait_for_url(f"{asgi_server.url}/accounts/login/?next={url}")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(asgi_server.url + url)


def test_a_message_about_an_earlier_action_goes_when_the_next_is_done_in_place(
        asgi_server, page, make_user):
    """The order page says it was created; exploding it in place (htmx) answers for itself,
    and "Created production order …" no longer stands above that answer."""
    planner = make_user("planner", username="plan")
    top = make_product(levels=2)[0]
    browser_login(page, asgi_server, planner.username, PASSWORD)
    page.goto(asgi_server.url + "/planning/orders/add/")
    page.fill("input[name=item]", top.code)
    page.fill("input[name=quantity]", "5")
    page.fill("input[name=due]", "2030-06-01T10:00")
    with page.expect_navigation():
        page.locator("form.record-form button[type=submit], main form button[type=submit]"
                     ).last.click()
    messages = page.locator("ul.messages")
    assert "Created production order" in messages.inner_text()
    page.get_by_test_id("explode").click()
    page.get_by_test_id("feedback").wait_for()
    messages.wait_for(state="detached", timeout=5_000)
    screenshot(page, "order-exploded-in-place")
