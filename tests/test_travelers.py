"""Travelers (工单流转卡): printed sheets whose QR codes scan back to the right task/work order."""

import base64
import datetime
import io
import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest
import zxingcpp
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from planning import travelers
from planning.models import BOMLine, Item, MaterialRequirement, ProductionOrder, Task, WorkOrder
from tests.conftest import browser_login, screenshot
from tests.factories import PASSWORD, ProductionOrderFactory, WorkCenterFactory, make_product

WO = WorkOrder.Status
PAYLOAD_RE = re.compile(r"^MES:[TW]:[A-Za-z0-9_-]{22}$")
# Session, user, its permissions (user + group), then work order, tasks, materials.
TRAVELER_QUERIES = 7


def build_order(*, levels=3, steps=3, buy=2, status=WO.RELEASED, qc_last=True):
    """A production order exploded by hand (one work order per made item, one task per step,
    one material requirement per bought component), as the explosion service will."""
    top, made, _wc = make_product(levels, steps=steps, buy_per_level=buy)
    order = ProductionOrderFactory(item=top, status=ProductionOrder.Status.PLANNED)
    now = timezone.now()
    parent, work_orders = None, []
    for level, item in enumerate(made):
        wo = WorkOrder.objects.create(
            number=f"{order.number}-{level + 1:02d}", production_order=order, parent=parent,
            level=level, item=item, quantity=order.quantity * 2 ** level, due=order.due,
            status=status, released_at=now if status != WO.DRAFT else None,
            planned_start=now, planned_end=now + datetime.timedelta(hours=8))
        step_rows = list(item.routings.get().steps.order_by("seq"))
        for n, step in enumerate(step_rows):
            Task.objects.create(
                work_order=wo, seq=step.seq, name=step.name, work_center=step.work_center,
                setup_minutes=step.setup_minutes, run_minutes_per_unit=step.run_minutes_per_unit,
                quantity=wo.quantity, is_qc_checkpoint=qc_last and n == len(step_rows) - 1,
                inspection_plan_code="IP-01" if qc_last and n == len(step_rows) - 1 else "",
                planned_start=now + datetime.timedelta(hours=n),
                planned_end=now + datetime.timedelta(hours=n + 1))
        for line in BOMLine.objects.filter(bom__item=item, child__kind=Item.Kind.BUY):
            MaterialRequirement.objects.create(work_order=wo, item=line.child,
                                               quantity=line.quantity_per * wo.quantity,
                                               operation_seq=line.operation_seq)
        work_orders.append(wo)
        parent = wo
    return order, work_orders


class QRImages(HTMLParser):
    """Every QR <img> of a page: (data-qr, the step of the row it sits in, PNG bytes)."""

    def __init__(self):
        super().__init__()
        self.step = None
        self.found = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr":
            self.step = attrs.get("data-step")
        if tag == "img" and "qr" in (attrs.get("class") or "").split():
            prefix, data = attrs["src"].split(",", 1)
            assert prefix == "data:image/png;base64", prefix
            self.found.append((attrs["data-qr"], self.step, base64.b64decode(data)))


def decode_qr(png: bytes, *, modules_px: int | None = None) -> str:
    image = Image.open(io.BytesIO(png))
    if modules_px:  # as a cheap scanner sees a small print: a few blurred pixels per module
        side = image.width * modules_px // travelers.QR_SCALE
        image = image.convert("L").resize((side, side), Image.Resampling.BILINEAR)
    results = zxingcpp.read_barcodes(image)
    assert len(results) == 1, f"expected one code, found {len(results)}"
    assert results[0].format == zxingcpp.BarcodeFormat.QRCode
    return results[0].text


# --- The sheet and its codes ------------------------------------------------------------------
@pytest.mark.django_db
def test_every_qr_on_the_sheet_scans_back_to_its_record(client_as):
    _order, (top, middle, _leaf) = build_order(steps=4)
    response = client_as("planner").get(reverse("planning:traveler", args=[middle.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    parser = QRImages()
    parser.feed(html)
    tasks = {str(t.seq): t for t in middle.tasks.all()}
    assert len(tasks) == 4
    kinds = sorted(kind for kind, _step, _png in parser.found)
    assert kinds == ["task"] * 4 + ["work-order"]
    seen_steps = set()
    for kind, step, png in parser.found:
        text = decode_qr(png)
        assert text == decode_qr(png, modules_px=3)
        assert PAYLOAD_RE.match(text), text
        target = travelers.scan_resolve(text)
        if kind == "work-order":
            assert (target.kind, target.work_order, target.task) == (travelers.WORK_ORDER,
                                                                     middle, None)
        else:
            assert target.kind == travelers.TASK
            assert target.task == tasks[step] and target.work_order == middle
            seen_steps.add(step)
    assert seen_steps == set(tasks)
    # the header, operations and materials a person needs
    for text in (middle.number, middle.production_order.number, middle.item.code,
                 middle.item.name, middle.item.name_en, top.number, "IP-01", "Materials"):
        assert text in html, text
    assert html.count('data-testid="qc-mark"') == 1
    requirement = middle.materials.select_related("item").first()
    assert requirement.item.code in html
    assert "DRAFT / 草稿" not in html


@pytest.mark.django_db
def test_payload_is_the_random_token_never_an_id():
    _order, (wo, *_rest) = build_order(levels=1, steps=1)
    task = wo.tasks.get()
    assert travelers.payload_for_task(task) == f"MES:T:{task.qr_token}"
    assert travelers.payload_for_work_order(wo) == f"MES:W:{wo.qr_token}"
    for bare in (str(task.pk), str(wo.pk), f"MES:T:{task.pk}", f"MES:W:{wo.pk}",
                 f"T:{task.qr_token}", task.qr_token, f"MES:X:{task.qr_token}",
                 f"MES:T:{task.qr_token}'; --", "MES:T:" + "A" * 200):
        with pytest.raises(ValidationError) as info:
            travelers.scan_resolve(bare)
        assert info.value.code == "malformed", bare
        assert "traveler code" in info.value.messages[0]


@pytest.mark.django_db
def test_a_cut_short_traveler_code_is_called_incomplete_not_foreign():
    """A code that begins MES:W: (or MES:T:) but is cut short or smudged was refused as
    "not a traveler code (expected … MES:W:…)", though it starts as one; it is called a
    traveler code that is incomplete or damaged, with the same refusal code."""
    _order, (wo, *_rest) = build_order(levels=1, steps=1)
    whole = travelers.payload_for_work_order(wo)
    for damaged in (whole[:-8], "MES:T:123", "mes:w:" + "A" * 40, whole[:-1] + "#"):
        with pytest.raises(ValidationError) as info:
            travelers.scan_resolve(damaged)
        assert info.value.code == "malformed", damaged
        message = info.value.messages[0]
        assert "is a traveler code, but incomplete or damaged: scan it again." in message
        assert "not a traveler code" not in message
    for foreign in ("MES:X:" + "A" * 22, "MES:", "B-OP-001"):
        with pytest.raises(ValidationError) as info:
            travelers.scan_resolve(foreign)
        assert "is not a traveler code" in info.value.messages[0], foreign


@pytest.mark.django_db
def test_forged_or_altered_codes_are_refused():
    _order, (wo, *_rest) = build_order(levels=1, steps=2)
    task = wo.tasks.first()
    good = travelers.payload_for_task(task)
    flipped = good[:-1] + ("A" if good[-1] != "A" else "B")
    swapped_case = good[:6] + good[6:].swapcase()
    for forged in (flipped, swapped_case, f"MES:W:{task.qr_token}", f"MES:T:{wo.qr_token}"):
        with pytest.raises(ValidationError) as info:
            travelers.scan_resolve(forged)
        assert info.value.code == "unknown", forged
        assert "no " in info.value.messages[0]
    with pytest.raises(ValidationError) as info:
        travelers.scan_resolve(good, kinds={travelers.WORK_ORDER})
    assert info.value.code == "wrong_kind"
    assert "task" in info.value.messages[0] and "work order" in info.value.messages[0]
    with pytest.raises(ValidationError) as info:
        travelers.scan_resolve("  \r\n")
    assert info.value.code == "empty"
    assert travelers.scan_resolve(good, kinds={travelers.TASK}).task == task


@pytest.mark.django_db
def test_scanner_noise_around_a_code_is_forgiven():
    _order, (wo, *_rest) = build_order(levels=1, steps=1)
    task = wo.tasks.get()
    good = travelers.payload_for_task(task)
    fullwidth = good.replace(":", "：").replace("MES", "ＭＥＳ")  # typed through a Chinese IME
    for scanned in (f"  {good}\r\n", f"\t{good}\n", f"]Q1{good}\r", fullwidth,
                    "mes:t:" + task.qr_token):
        assert travelers.scan_resolve(scanned).task == task, repr(scanned)


# --- Query counts -----------------------------------------------------------------------------
@pytest.mark.django_db
def test_traveler_query_count_does_not_grow_with_tasks_or_materials(
        client_as, django_assert_max_num_queries):
    client = client_as("planner")
    _o1, (small, *_r1) = build_order(levels=1, steps=1, buy=1)
    _o2, (large, *_r2) = build_order(levels=1, steps=9, buy=6)
    assert large.tasks.count() == 9 and large.materials.count() == 6
    client.get(reverse("home"))  # warm up whatever the first request of a session costs
    counts = []
    for wo in (small, large):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("planning:traveler", args=[wo.pk])).status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts
    with django_assert_max_num_queries(TRAVELER_QUERIES):
        client.get(reverse("planning:traveler", args=[large.pk]))


@pytest.mark.django_db
def test_batch_prints_every_work_order_on_its_own_page(client_as, django_assert_max_num_queries):
    client = client_as("workshop_lead")
    small, _wos = build_order(levels=1, steps=1, buy=1)
    order, wos = build_order(levels=3, steps=3, buy=2)
    WorkOrder.objects.filter(pk=wos[2].pk).update(status=WO.CANCELLED)
    client.get(reverse("home"))
    counts = []
    for po in (small, order):
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(reverse("planning:traveler_batch", args=[po.pk]))
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts
    with django_assert_max_num_queries(TRAVELER_QUERIES + 1):
        response = client.get(reverse("planning:traveler_batch", args=[order.pk]))
    html = response.content.decode()
    assert html.count('<article class="traveler') == 2  # the cancelled one is not printed
    assert wos[0].number in html and wos[1].number in html
    assert f'data-work-order="{wos[2].number}"' not in html
    parser = QRImages()
    parser.feed(html)
    assert len(parser.found) == 2 + 6
    resolved = {travelers.scan_resolve(decode_qr(png)).work_order for _k, _s, png in parser.found}
    assert resolved == {wos[0], wos[1]}


@pytest.mark.django_db
def test_batch_of_an_order_not_exploded_says_so(client_as):
    order = ProductionOrderFactory(item=make_product(1)[0])
    response = client_as("planner").get(reverse("planning:traveler_batch", args=[order.pk]))
    assert response.status_code == 200
    assert 'data-testid="no-travelers"' in response.content.decode()


# --- Draft watermark, languages ---------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_draft_sheet_has_a_watermark_in_both_languages(client_as, language):
    client = client_as("planner")
    _order, (draft, *_r) = build_order(levels=1, status=WO.DRAFT)
    _order, (released, *_r) = build_order(levels=1, status=WO.RELEASED)
    _order, (held, *_r) = build_order(levels=1, status=WO.ON_HOLD)
    WorkOrder.objects.filter(pk=held.pk).update(held_from=WO.DRAFT)
    accept = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9" if language == "zh-hans" else "en-US"}
    pages = {wo: client.get(reverse("planning:traveler", args=[wo.pk]), **accept)
             .content.decode() for wo in (draft, released, held)}
    assert f'<html lang="{language}">' in pages[draft]
    assert draft.item.name in pages[draft] and draft.item.name_en in pages[draft]
    assert 'data-testid="watermark">DRAFT / 草稿<' in pages[draft]
    assert 'data-testid="watermark">DRAFT / 草稿<' in pages[held]
    assert 'data-testid="watermark"' not in pages[released]


# --- Permissions and 404 ----------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("roles, status", [((), 403), (("operator",), 200),
                                           (("qc_inspector",), 200), (("planner",), 200)])
def test_who_may_print_and_scan(client_as, roles, status):
    order, (wo, *_r) = build_order(levels=1, steps=1)
    client = client_as(*roles)
    for url in (reverse("planning:traveler", args=[wo.pk]),
                reverse("planning:traveler_batch", args=[order.pk]),
                reverse("planning:scan_resolve") + "?payload="
                + travelers.payload_for_work_order(wo)):
        assert client.get(url).status_code == status, url


@pytest.mark.django_db
def test_missing_records_are_404(client_as):
    client = client_as("planner")
    assert client.get(reverse("planning:traveler", args=[987654])).status_code == 404
    assert client.get(reverse("planning:traveler_batch", args=[987654])).status_code == 404


# --- The scan endpoint ------------------------------------------------------------------------
@pytest.mark.django_db
def test_scan_endpoint_answers_json_and_html(client_as):
    _order, (wo, *_r) = build_order(levels=1, steps=2)
    task = wo.tasks.order_by("seq").last()
    client = client_as("operator")
    url = reverse("planning:scan_resolve")
    data = client.get(url, {"payload": travelers.payload_for_task(task) + "\r\n",
                            "format": "json"}).json()
    assert data["ok"] and data["kind"] == "task"
    assert data["task"]["seq"] == task.seq and data["work_order"]["number"] == wo.number
    assert data["work_order"]["traveler_url"] == reverse("planning:traveler", args=[wo.pk])
    data = client.get(url, {"payload": travelers.payload_for_work_order(wo)},
                      HTTP_ACCEPT="application/json").json()
    assert data["kind"] == "work_order" and data["task"] is None
    bad = client.get(url, {"payload": "12", "format": "json"})
    assert bad.status_code == 400 and bad.json()["code"] == "malformed"
    forged = client.get(url, {"payload": "MES:T:" + "x" * 22, "format": "json"})
    assert forged.status_code == 404 and forged.json()["code"] == "unknown"
    assert client.get(url, {"format": "json"}).json()["code"] == "empty"
    page = client.get(url, {"payload": travelers.payload_for_task(task)})
    assert 'data-kind="task"' in page.content.decode() and task.name in page.content.decode()
    page = client.get(url, {"payload": "12"})
    assert page.status_code == 400 and 'data-testid="scan-error"' in page.content.decode()
    assert client.get(url).status_code == 200  # just the form


# --- With the explosion service ---------------------------------------------------------------
@pytest.mark.django_db
def test_travelers_of_an_exploded_order(client_as):
    orders = pytest.importorskip("planning.services.orders")
    if not hasattr(orders, "production_order_explode"):
        pytest.skip("the explosion service is not there yet")
    client = client_as("planner")
    top, _made, _wc = make_product(3, steps=2, buy_per_level=2)
    order = ProductionOrderFactory(item=top, quantity=Decimal("10"))
    orders.production_order_explode(actor=client.user, order=order)
    work_orders = list(order.work_orders.all())
    assert len(work_orders) == 3
    html = client.get(reverse("planning:traveler_batch", args=[order.pk])).content.decode()
    assert html.count('<article class="traveler') == 3
    assert html.count('data-testid="watermark"') == 3  # exploded, not released
    parser = QRImages()
    parser.feed(html)
    expected = {travelers.payload_for_work_order(wo) for wo in work_orders}
    expected |= {travelers.payload_for_task(t) for t in Task.objects.filter(
        work_order__production_order=order)}
    assert {decode_qr(png) for _k, _s, png in parser.found} == expected


# --- In a real browser ------------------------------------------------------------------------
@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_traveler_in_chromium_prints_without_navigation(asgi_server, page, make_user):
    user = make_user("planner", username="printer")
    order, wos = build_order(levels=2, steps=4, status=WO.DRAFT)
    WorkCenterFactory()  # another work center the sheet must not list
    browser_login(page, asgi_server, user.username, PASSWORD)
    page.goto(asgi_server.url + reverse("planning:traveler", args=[wos[1].pk]))
    assert page.locator("nav.nav").is_visible()
    assert page.get_by_test_id("watermark").is_visible()
    loaded = page.eval_on_selector_all(
        "img.qr", "imgs => imgs.map(i => i.complete && i.naturalWidth)")
    assert loaded == [296] * 5
    screenshot(page, "traveler-screen")
    page.set_viewport_size({"width": 718, "height": 1000})  # A4 less its margins, at 96 dpi
    page.emulate_media(media="print")
    assert not page.locator("nav.nav").is_visible()
    assert not page.locator("header.topbar").is_visible()
    assert not page.get_by_role("button", name="Print").is_visible()
    assert page.locator("article.traveler").is_visible()
    # The printed QR codes scan from what the browser actually drew.
    codes = zxingcpp.read_barcodes(Image.open(io.BytesIO(page.screenshot(full_page=True))))
    assert len({c.text for c in codes}) == 5
    screenshot(page, "traveler-print")
    page.goto(asgi_server.url + reverse("planning:traveler_batch", args=[order.pk]))
    pdf = page.pdf(format="A4", prefer_css_page_size=True)
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert len(wos) <= pages <= 2 * len(wos), pages  # each work order starts a new page
    screenshot(page, "traveler-batch-print")


# Each cell of the operations table whose content is wider than the cell (sticks out past its
# border), and each QC badge not inside its cell.
OVERFLOWS = """() => {
  const out = [];
  for (const cell of document.querySelectorAll('table.tv-ops th, table.tv-ops td')) {
    if (cell.scrollWidth > cell.clientWidth + 1) out.push(cell.className + ': ' + cell.innerText);
  }
  for (const mark of document.querySelectorAll('.tv-ops .qc-mark')) {
    const m = mark.getBoundingClientRect(), c = mark.closest('td').getBoundingClientRect();
    if (m.left < c.left || m.right > c.right) out.push('badge ' + mark.innerText);
  }
  return out;
}"""
LINES = "el => el.getClientRects().length"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("locale,header_end,wait", [
    ("zh-CN", "结束", "等待合格"), ("en-US", "end", "wait for pass")])
def test_printed_qc_column_keeps_its_badge_and_plan_code_inside(asgi_server, browser, make_user,
                                                                locale, header_end, wait):
    """On the printed traveler the ◆ 质检 badge stuck out past its cell, the plan code broke as
    "IP- / SHAF / T", "等待合格" as "等待合 / 格" and the header "计划开始 / 结束" as "结 / 束"."""
    user = make_user("planner", username=f"printer-{locale}")
    _order, wos = build_order(levels=1, steps=4)
    Task.objects.filter(work_order=wos[0], is_qc_checkpoint=True).update(
        inspection_plan_code="IP-SHAFT", wait_for_qc=True)
    context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        browser_login(page, asgi_server, user.username, PASSWORD)
        page.goto(asgi_server.url + reverse("planning:traveler", args=[wos[0].pk]))
        page.set_viewport_size({"width": 718, "height": 1000})
        page.emulate_media(media="print")  # the sheet at A4 width less its margins, 96 dpi
        assert page.locator("html").get_attribute("lang").startswith(locale[:2])
        assert page.evaluate(OVERFLOWS) == []
        plan = page.get_by_test_id("qc-plan")
        assert plan.inner_text() == "IP-SHAFT" and plan.evaluate(LINES) == 1
        assert page.get_by_test_id("qc-mark").evaluate(LINES) == 1
        assert page.locator(".qc-wait").inner_text() == wait
        if locale.startswith("zh"):
            assert page.locator(".qc-wait").evaluate(LINES) == 1
        header = page.locator("th.col-time").inner_text()
        assert header.split("\n")[-1].strip().endswith(header_end), header
        page.locator("table.tv-ops").screenshot(
            path=str(screenshot_folder() / f"traveler-qc-column-{locale}.png"))
    finally:
        context.close()


def screenshot_folder():
    from tests.conftest import ARTIFACTS

    folder = ARTIFACTS / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
