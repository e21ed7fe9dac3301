"""The station's layout in a real browser on a line-side tablet, a desktop and a phone: the
equipment's Down button stays in sight beside a long dispatch list, the scan field's hint fits,
and the top bar (log out, user, station badge, nav) keeps its words whole on a phone."""

import pytest

from planning.models import Equipment
from tests.conftest import screenshot, serve_asgi
from tests.factories_execution import released_order
from tests.test_station_browser import open_station, wedge

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TABLET = {"width": 1024, "height": 768}
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def asgi_server(django_db_setup, django_db_blocker):
    """A server per test (see tests.conftest.serve_asgi)."""
    yield from serve_asgi(django_db_blocker)


@pytest.fixture
def zh_page(browser):
    context = browser.new_context(locale="zh-CN", viewport=PHONE)
    context.add_cookies([{"name": "django_language", "value": "zh-hans",
                          "domain": "127.0.0.1", "path": "/"}])
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    yield pg
    context.close()


def busy_station(tasks=10):
    """A station with a long dispatch list (one task per order) and a machine."""
    _wo, _tasks, wc = released_order(steps=1)
    for _ in range(tasks - 1):
        released_order(steps=1, work_center=wc)
    Equipment.objects.create(code="CNC-1", name="数控车床1", name_en="CNC lathe 1",
                             work_center=wc)
    return wc


SEEN = """(el) => { const r = el.getBoundingClientRect();
    if (!(r.height > 0 && r.top > -1 && r.bottom < window.innerHeight + 1
          && r.left > -1 && r.right < window.innerWidth + 1)) return false;
    // not hidden under the fold of a scrolling ancestor either
    for (let p = el.parentElement; p; p = p.parentElement) {
        const q = p.getBoundingClientRect(), s = getComputedStyle(p);
        if (/(auto|scroll|hidden)/.test(s.overflowY)
            && (r.top < q.top - 1 || r.bottom > q.bottom + 1)) return false;
    }
    const x = (r.left + r.right) / 2, y = (r.top + r.bottom) / 2;
    return el.contains(document.elementFromPoint(x, y)); }"""

DOWN = '[data-testid="equipment-CNC-1"] button[value="down"]'


def seen(page, selector) -> bool:
    """In the viewport, not under the fold of a scrolling box, and not covered."""
    locator = page.locator(selector) if isinstance(selector, str) else selector
    return locator.evaluate(SEEN)


@pytest.mark.parametrize("viewport", [TABLET, DESKTOP], ids=["1024", "1366"])
def test_the_down_button_stays_in_sight_beside_a_long_dispatch_list(asgi_server, page,
                                                                    make_user, viewport):
    """Walk #14: the right column scrolled as one box, the dispatch list first, so with ten
    tasks the equipment's Down button was below that box's fold with no cue."""
    page.set_viewport_size(viewport)
    wc = busy_station()
    user = make_user("operator", badge_code="B-LAY")
    open_station(page, asgi_server, user, wc)
    rows = page.get_by_test_id("dispatch-row")
    assert rows.count() == 10
    assert seen(page, DOWN), "the Down button is out of sight on opening the station"
    screenshot(page, f"station-layout-{viewport['width']}-open")

    # The list scrolls within its own box (a cue says there is more); Down stays put.
    assert not seen(page, rows.last)
    rows.last.scroll_into_view_if_needed()
    assert seen(page, rows.last)
    assert seen(page, DOWN), "scrolling the dispatch list hid the Down button"
    # Scrolled down the page (a selected task's forms are long): still in sight.
    wedge(page, "B-LAY")
    page.get_by_test_id("operator-name").wait_for()
    rows.first.get_by_role("button").click()
    page.get_by_test_id("report-form").wait_for()
    page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
    assert seen(page, DOWN), "scrolling the page hid the Down button"
    screenshot(page, f"station-layout-{viewport['width']}-scrolled")


def placeholder_room(page) -> tuple[float, float]:
    """(width of the scan field's hint, room for it)"""
    return page.evaluate("""() => { const el = document.getElementById('scan-input');
        const s = getComputedStyle(el), c = document.createElement('canvas').getContext('2d');
        c.font = getComputedStyle(el, '::placeholder').font;
        const room = el.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
        return [c.measureText(el.placeholder).width, room]; }""")


def test_the_scan_fields_hint_fits_on_a_tablet(asgi_server, page, zh_page, make_user):
    """Walk #14: at 1024 px the hint read "工牌 · MES:T:… · 工阜" (cut off)."""
    wc = busy_station(tasks=1)
    user = make_user("operator", badge_code="B-LAY")
    for pg in (page, zh_page):
        for viewport in (TABLET, DESKTOP, PHONE):
            pg.set_viewport_size(viewport)
            if viewport is TABLET:
                open_station(pg, asgi_server, user, wc)
            width, room = placeholder_room(pg)
            assert width <= room + 1, (pg.evaluate(
                "() => document.getElementById('scan-input').placeholder"), viewport, width, room)
    screenshot(zh_page, "station-layout-zh-scan-hint")


ONE_LINE = """(sel) => { const el = document.querySelector(sel);
    const lh = parseFloat(getComputedStyle(el).lineHeight) ||
               parseFloat(getComputedStyle(el).fontSize) * 1.5;
    return el.getClientRects().length === 1 && el.getBoundingClientRect().height < lh * 1.5; }"""

FITS = """(sel) => { const el = document.querySelector(sel);
    return el.scrollWidth <= el.clientWidth + 1; }"""


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_the_top_bar_keeps_its_words_whole_on_a_phone(asgi_server, page, zh_page, make_user,
                                                       lang):
    """Walk #7: at 390 px "退出" stacked one character per line, "Log out" and the user's name
    wrapped, the nav was cut at "Downt" with no cue, and the badge broke as "B-OP-/001"."""
    pg = zh_page if lang == "zh-hans" else page
    pg.set_viewport_size(PHONE)
    _wo, _tasks, wc = released_order(steps=1)
    user = make_user("operator", badge_code="B-OP-001", display_name="操作工 张伟 / Zhang Wei",
                     username="zhangwei")
    open_station(pg, asgi_server, user, wc)
    wedge(pg, "B-OP-001")
    pg.get_by_test_id("operator-name").wait_for()
    screenshot(pg, f"topbar-390-{lang}")
    logout = ".topbar-right form[action$='logout/'] button"
    assert pg.evaluate(ONE_LINE, logout), "Log out wraps"
    assert pg.evaluate(ONE_LINE, "[data-testid=current-user]"), "the user's name wraps"
    assert pg.evaluate(ONE_LINE, "[data-testid=operator-badge]"), "the badge breaks"
    # Nothing of the top bar sticks out past the screen's edge.
    assert pg.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    # The nav: every item whole on one line; those past the edge are reached by scrolling
    # it sideways, and a cue (a fade at the edge) says so.
    nav = pg.locator(".topbar .nav")
    for link in nav.locator("a").all():
        assert link.evaluate("(a) => a.getClientRects().length === 1 && "
                             "a.getBoundingClientRect().height < 48"), link.inner_text()
    overflowing = nav.evaluate("(n) => n.scrollWidth > n.clientWidth + 1")
    if overflowing:
        assert nav.evaluate("(n) => getComputedStyle(n).overflowX") in ("auto", "scroll")
        assert nav.evaluate("(n) => n.classList.contains('has-more-right')"), \
            "a nav cut at the edge shows no cue"
        nav.evaluate("(n) => n.scrollTo(n.scrollWidth, 0)")
        pg.wait_for_function("() => !document.querySelector('.topbar .nav')"
                             ".classList.contains('has-more-right')")
        assert nav.evaluate("(n) => n.classList.contains('has-more-left')")
        screenshot(pg, f"topbar-390-{lang}-nav-scrolled")
    # The same bar on any page.
    pg.goto(f"{asgi_server.url}/execution/downtime/")
    assert pg.evaluate(ONE_LINE, logout), "Log out wraps"
    assert pg.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
