"""Planning UI: pages, permissions, forms that name the bad field, audit history, exports,
pinned query counts and the order actions (htmx and plain POST)."""

import io
import re
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse

from mes.models import AuditEntry
from planning.models import (
    BOMLine,
    Item,
    ProductionOrder,
    Routing,
    Site,
    Task,
    WorkCenter,
    WorkOrder,
)
from tests.factories import (
    BOMLineFactory,
    BOMVersionFactory,
    ItemFactory,
    RoutingFactory,
    WorkCenterFactory,
    make_product,
)
from tests.factories_planning_ui import (
    EquipmentFactory,
    HolidayFactory,
    ShiftFactory,
    TaskFactory,
    WorkOrderFactory,
    routed_item,
)

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


@pytest.fixture
def plant():
    top, made, wc = make_product(3)
    shift = ShiftFactory()
    HolidayFactory(calendar=shift.calendar)
    eq = EquipmentFactory(work_center=wc)
    order = ProductionOrder.objects.create(number="PO-T1", item=top, quantity=5,
                                           due="2030-01-01T00:00:00Z")
    wo = WorkOrderFactory(production_order=order)
    TaskFactory(work_order=wo, work_center=wc)
    return {"top": top, "made": made, "wc": wc, "shift": shift, "eq": eq, "order": order,
            "wo": wo, "bom": top.bom_versions.get(), "routing": top.routings.get()}


def view_pages(p):
    wc, line, cal = p["wc"], p["wc"].line, p["shift"].calendar_id
    return [
        ("planning:site_list", []), ("planning:site_detail", [line.workshop.site_id]),
        ("planning:workshop_list", []), ("planning:workshop_detail", [line.workshop_id]),
        ("planning:line_list", []), ("planning:line_detail", [line.pk]),
        ("planning:work_center_list", []), ("planning:work_center_detail", [wc.pk]),
        ("planning:equipment_list", []), ("planning:equipment_detail", [p["eq"].pk]),
        ("planning:calendar_list", []), ("planning:calendar_detail", [cal]),
        ("planning:item_list", []), ("planning:item_detail", [p["top"].pk]),
        ("planning:item_bom_tree", [p["top"].pk]),
        ("planning:item_where_used", [p["made"][-1].pk]),
        ("planning:bom_detail", [p["bom"].pk]), ("planning:routing_detail", [p["routing"].pk]),
        ("planning:order_list", []), ("planning:order_detail", [p["order"].pk]),
        ("planning:work_order_detail", [p["wo"].pk]),
    ]


def change_pages(p):
    wc, line, cal = p["wc"], p["wc"].line, p["shift"].calendar_id
    return [
        ("planning:site_add", []), ("planning:site_edit", [line.workshop.site_id]),
        ("planning:site_delete", [line.workshop.site_id]),
        ("planning:workshop_add", []), ("planning:workshop_edit", [line.workshop_id]),
        ("planning:line_add", []), ("planning:line_edit", [line.pk]),
        ("planning:work_center_add", []), ("planning:work_center_edit", [wc.pk]),
        ("planning:work_center_delete", [wc.pk]),
        ("planning:equipment_add", []), ("planning:equipment_edit", [p["eq"].pk]),
        ("planning:calendar_add", []), ("planning:calendar_edit", [cal]),
        ("planning:shift_add", [cal]), ("planning:shift_edit", [p["shift"].pk]),
        ("planning:holiday_add", [cal]),
        ("planning:item_add", []), ("planning:item_edit", [p["top"].pk]),
        ("planning:item_delete", [p["top"].pk]),
        ("planning:bom_add", [p["top"].pk]), ("planning:bom_edit", [p["bom"].pk]),
        ("planning:bom_line_add", [p["bom"].pk]),
        ("planning:bom_line_edit", [p["bom"].lines.first().pk]),
        ("planning:routing_add", [p["top"].pk]), ("planning:routing_edit", [p["routing"].pk]),
        ("planning:routing_step_add", [p["routing"].pk]),
        ("planning:routing_step_edit", [p["routing"].steps.first().pk]),
        ("planning:order_add", []), ("planning:order_edit", [p["order"].pk]),
        ("planning:work_order_action", [p["wo"].pk, "hold"]),
    ]


# --- Pages and permissions ------------------------------------------------------------------
def test_every_page_renders_for_the_planner(client_as, plant):
    c = client_as("planner")
    for name, args in view_pages(plant) + change_pages(plant):
        response = c.get(reverse(name, args=args))
        assert response.status_code == 200, name


def test_operator_gets_403_everywhere(client_as, plant):
    c = client_as("operator")
    for name, args in view_pages(plant) + change_pages(plant):
        assert c.get(reverse(name, args=args)).status_code == 403, name
    assert c.post(reverse("planning:site_add"), {"code": "X", "name": "x"}).status_code == 403
    assert c.post(reverse("planning:order_action",
                          args=[plant["order"].pk, "explode"])).status_code == 403
    assert not Site.objects.filter(code="X").exists()


def test_view_only_role_reads_but_cannot_change(client_as, plant):
    c = client_as("manager")  # view_planning without manage_planning
    for name, args in view_pages(plant):
        response = c.get(reverse(name, args=args))
        assert response.status_code == 200, name
        assert b'data-testid="edit"' not in response.content, name
    for name, args in change_pages(plant):
        assert c.get(reverse(name, args=args)).status_code == 403, name
    wc = plant["wc"]
    assert c.post(reverse("planning:work_center_edit", args=[wc.pk]),
                  {"name": "changed"}).status_code == 403
    assert c.post(reverse("planning:work_order_action", args=[plant["wo"].pk, "hold"]),
                  {"reason": "x"}).status_code == 403
    wc.refresh_from_db()
    assert wc.name != "changed"


# --- Forms: bad input is refused naming the field ------------------------------------------
def field_errors(response, field):
    return [str(e) for e in response.context["form"].errors.get(field, [])]


def test_bom_line_refuses_a_cycle_three_levels_deep(client_as):
    a, b, c = (ItemFactory(code=code) for code in "ABC")
    BOMLineFactory(bom=BOMVersionFactory(item=a), child=b)
    BOMLineFactory(bom=BOMVersionFactory(item=b), child=c)
    c_bom = BOMVersionFactory(item=c)
    client = client_as("planner")
    response = client.post(reverse("planning:bom_line_add", args=[c_bom.pk]),
                           {"position": 10, "child": "A", "quantity_per": "1", "scrap_pct": "0"})
    assert response.status_code == 200
    assert field_errors(response, "child") == ["This line would make a BOM cycle: C → A → B → C."]
    assert "C → A → B → C" in response.content.decode()
    assert not BOMLine.objects.filter(bom=c_bom).exists()


def test_bom_line_checks_quantity_code_and_step(client_as):
    parent = routed_item(code="P")  # routing with one step (seq 10)
    bom = BOMVersionFactory(item=parent)
    ItemFactory(code="PART")
    client = client_as("planner")
    url = reverse("planning:bom_line_add", args=[bom.pk])
    bad = client.post(url, {"position": 10, "child": "NOPE", "quantity_per": "0",
                            "scrap_pct": "120", "operation_seq": "99"})
    assert field_errors(bad, "child") == ["No item has this code."]
    assert field_errors(bad, "quantity_per")
    assert field_errors(bad, "scrap_pct")
    wrong_step = client.post(url, {"position": 10, "child": "PART", "quantity_per": "2",
                                   "scrap_pct": "0", "operation_seq": "99"})
    step = parent.routings.get().steps.get().seq
    assert field_errors(wrong_step, "operation_seq") == [
        f"The active routing has no step 99 (steps: {step})."]
    ok = client.post(url, {"position": 10, "child": "PART 零件", "quantity_per": "2",
                           "scrap_pct": "2.5", "operation_seq": str(step), "reason": "new BOM"})
    assert ok.status_code == 302
    line = BOMLine.objects.get(bom=bom)
    assert line.child.code == "PART" and line.scrap_pct == Decimal("2.5")
    entry = AuditEntry.objects.get(object_id=str(line.pk), action="create")
    assert entry.reason == "new BOM" and entry.actor == client.user
    edit = reverse("planning:bom_line_edit", args=[line.pk])
    assert 'value="PART"' in client.get(edit).content.decode()
    same = {"position": 10, "child": "PART", "scrap_pct": "2.50", "operation_seq": str(step)}
    client.post(edit, {**same, "quantity_per": "3", "reason": "rev C"})
    line.refresh_from_db()
    assert line.quantity_per == 3
    change = AuditEntry.objects.get(object_id=str(line.pk), action="update")
    assert change.before["quantity_per"] == "2" and change.after["quantity_per"] == "3"
    assert change.changed_fields == ["quantity_per"]
    # saving again unchanged ("3" is "3.0000") writes no audit entry
    client.post(edit, {**same, "quantity_per": "3.000", "scrap_pct": "2.5"})
    assert AuditEntry.objects.filter(object_id=str(line.pk), action="update").count() == 1


def test_bought_items_get_no_routing_or_bom(client_as):
    bought = ItemFactory(code="BUY-1", kind=Item.Kind.BUY)
    client = client_as("planner")
    r = client.post(reverse("planning:routing_add", args=[bought.pk]), {"version": "1",
                                                                        "active": "on"})
    assert "BUY-1 is bought, not made: it cannot have a routing." in str(
        r.context["form"].non_field_errors())
    r = client.post(reverse("planning:bom_add", args=[bought.pk]),
                    {"version": "1", "effective_from": "2025-01-01", "active": "on"})
    assert "BUY-1 is bought, not made" in str(r.context["form"].non_field_errors())
    assert not Routing.objects.filter(item=bought).exists()
    made = routed_item(code="MADE-1")
    r = client.post(reverse("planning:item_edit", args=[made.pk]),
                    {"code": "MADE-1", "name": "x", "kind": "buy", "uom": "pcs", "active": "on"})
    assert field_errors(r, "kind")


def test_routing_step_qc_rules_and_second_active_routing(client_as):
    item = routed_item(code="R1")
    wc = WorkCenterFactory()
    client = client_as("planner")
    routing = item.routings.get()
    r = client.post(reverse("planning:routing_step_add", args=[routing.pk]), {
        "seq": 20, "name": "检验", "work_center": wc.pk, "setup_minutes": "0",
        "run_minutes_per_unit": "-1", "wait_for_qc": "on", "inspection_plan_code": "IP-1"})
    assert field_errors(r, "wait_for_qc") and field_errors(r, "inspection_plan_code")
    assert field_errors(r, "run_minutes_per_unit")
    r = client.post(reverse("planning:routing_add", args=[item.pk]),
                    {"version": "2", "active": "on"})
    assert r.status_code == 200 and r.context["form"].errors  # one active routing per item
    assert item.routings.count() == 1


def test_shift_breaks_are_parsed_and_checked(client_as):
    cal = ShiftFactory().calendar
    client = client_as("planner")
    url = reverse("planning:shift_add", args=[cal.pk])
    base = {"name": "中班", "weekday": 2, "start": "16:00", "end": "00:30"}
    bad = client.post(url, {**base, "breaks": "20:00-20:30, lunch"})
    assert field_errors(bad, "breaks") == ["“lunch” is not a break: write it as 12:00-12:30."]
    ok = client.post(url, {**base, "breaks": "20:00-20:30, 9:00 - 9:10"})
    assert ok.status_code == 302
    shift = cal.shifts.get(name="中班")
    assert shift.breaks == [["20:00", "20:30"], ["09:00", "09:10"]]


def test_order_form_names_the_bad_fields(client_as):
    bought = ItemFactory(code="BUY-2", kind=Item.Kind.BUY)
    unrouted = ItemFactory(code="NO-ROUTE")
    client = client_as("planner")
    url = reverse("planning:order_add")
    base = {"due": "2030-01-10T17:00", "priority": 1}
    r = client.post(url, {**base, "item": bought.code, "quantity": "0"})
    assert field_errors(r, "item") == ["BUY-2 is bought, not made: choose a made item."]
    assert field_errors(r, "quantity") == ["The quantity must be more than zero."]
    r = client.post(url, {**base, "item": unrouted.code, "quantity": "-5"})
    assert field_errors(r, "item") == ["NO-ROUTE has no active routing: add one first."]
    assert field_errors(r, "quantity") == ["The quantity must be more than zero."]
    made = routed_item(code="FG")
    r = client.post(url, {**base, "item": "FG", "quantity": "2.5",
                          "release_date": "2030-02-01T08:00"})
    assert field_errors(r, "quantity") == ["FG is counted in whole units: enter a whole number."]
    assert field_errors(r, "release_date")
    assert field_errors(client.post(url, {"item": "FG", "quantity": "3"}), "due")
    # the API's range (1970-2200): 9999-12-31 was accepted here and refused there
    r = client.post(url, {**base, "item": "FG", "quantity": "3", "due": "9999-12-31T23:59"})
    assert field_errors(r, "due") == ["Give a date between 1970 and 2200."]
    assert not ProductionOrder.objects.filter(item=made).exists()


# --- Audit: every change recorded and shown -------------------------------------------------
def test_edit_is_audited_with_before_after_and_reason_and_shown(client_as):
    wc = WorkCenterFactory(name="旧名", machines=1)
    client = client_as("planner")
    operator = WorkCenterFactory().lead or client.user
    data = {"line": wc.line_id, "code": wc.code, "name": "新名", "name_en": "", "machines": 3,
            "cost_center": "CC-7", "operators": [operator.pk], "active": "on",
            "in_service_from": "2026-03-10", "reason": "second machine bought"}
    response = client.post(reverse("planning:work_center_edit", args=[wc.pk]), data)
    assert response.status_code == 302
    update, operators = AuditEntry.objects.filter(object_id=str(wc.pk),
                                                  action="update").order_by("id")
    assert update.before["name"] == "旧名" and update.after["name"] == "新名"
    assert set(update.changed_fields) == {"name", "name_en", "machines", "cost_center",
                                          "in_service_from"}
    assert update.after["in_service_from"] == "2026-03-10"
    assert update.reason == "second machine bought" and update.actor == client.user
    assert operators.after == {"operators": [operator.pk]}
    page = client.get(reverse("planning:work_center_detail", args=[wc.pk])).content.decode()
    history = page[page.index('data-testid="history"'):]
    assert "second machine bought" in history and "旧名" in history and "新名" in history
    assert "Parallel machines" in history and str(operator) in history


def test_bom_version_history_includes_its_lines(client_as):
    bom = BOMVersionFactory()
    ItemFactory(code="PART-H")
    client = client_as("planner")
    client.post(reverse("planning:bom_line_add", args=[bom.pk]),
                {"position": 10, "child": "PART-H", "quantity_per": "4", "scrap_pct": "0",
                 "reason": "drawing rev B"})
    line = bom.lines.get()
    client.post(reverse("planning:bom_line_delete", args=[line.pk]), {"reason": "not needed"})
    page = client.get(reverse("planning:bom_detail", args=[bom.pk])).content.decode()
    assert "drawing rev B" in page and "not needed" in page and "PART-H" in page


def test_delete_in_use_is_refused_naming_the_users(client_as):
    wc = WorkCenterFactory()
    site = wc.line.workshop.site
    client = client_as("planner")
    response = client.post(reverse("planning:site_delete", args=[site.pk]), {"reason": "x"},
                           follow=True)
    text = response.content.decode()
    assert f"Cannot delete {site}: it is still used by workshops (1): " in text
    assert wc.line.workshop.code in text
    assert Site.objects.filter(pk=site.pk).exists()
    assert not AuditEntry.objects.filter(action="delete").exists()
    spare = WorkCenterFactory(line=wc.line, code="SPARE")
    client.post(reverse("planning:work_center_delete", args=[spare.pk]), {"reason": "sold"})
    assert not WorkCenter.objects.filter(pk=spare.pk).exists()
    assert AuditEntry.objects.get(action="delete", object_id=str(spare.pk)).reason == "sold"


# --- Lists: exports and fixed query counts --------------------------------------------------
def test_item_list_exports_csv_and_xlsx_with_filters(client_as):
    routed_item(code="EXP-MADE", name="成品")
    ItemFactory(code="EXP-BUY", kind=Item.Kind.BUY)
    client = client_as("planner")
    csv = client.get(reverse("planning:item_list"), {"export": "csv", "kind": "make"})
    assert csv["Content-Type"].startswith("text/csv")
    text = csv.content.decode("utf-8-sig")
    assert "EXP-MADE" in text and "成品" in text and "EXP-BUY" not in text
    xlsx = client.get(reverse("planning:order_list"), {"export": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert [c.value for c in sheet[1]][:2] == ["Order number", "Item"]


@pytest.mark.parametrize("url_name", ["planning:work_center_list", "planning:item_list",
                                      "planning:order_list", "planning:line_list",
                                      "planning:calendar_list", "planning:equipment_list"])
def test_list_queries_do_not_grow_with_rows(client_as, django_assert_max_num_queries, url_name):
    client = client_as("planner")

    def fill(n):
        for _ in range(n):
            order = ProductionOrder.objects.create(
                number=f"PO-Q{ProductionOrder.objects.count()}", item=routed_item(),
                quantity=1, due="2030-01-01T00:00:00Z")
            WorkOrderFactory(production_order=order)
            EquipmentFactory(work_center=order.item.routings.get().steps.get().work_center)
            ShiftFactory()

    fill(2)
    client.get(reverse(url_name))
    with django_assert_max_num_queries(14) as few:
        assert client.get(reverse(url_name)).status_code == 200
    fill(12)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(reverse(url_name), {"sort": "-code"}).status_code == 200
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(reverse(url_name), HTTP_HX_REQUEST="true",
                          HTTP_HX_TARGET="object-list").status_code == 200


def test_order_detail_queries_do_not_grow_with_work_orders(client_as, plant,
                                                           django_assert_max_num_queries):
    from planning.services.orders import production_order_create, production_order_explode

    client = client_as("planner")

    def exploded(levels):
        top, _made, _wc = make_product(levels, steps=3, buy_per_level=2)
        order = production_order_create(actor=client.user, item=top, quantity=5,
                                        due=plant["order"].due)
        production_order_explode(actor=client.user, order=order)
        return order

    small, large = exploded(1), exploded(6)
    assert small.work_orders.count() == 1 and large.work_orders.count() == 6
    client.get(reverse("planning:order_detail", args=[small.pk]))
    with django_assert_max_num_queries(14) as few:
        assert client.get(reverse("planning:order_detail", args=[small.pk])).status_code == 200
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(reverse("planning:order_detail", args=[large.pk]))
    assert page.content.decode().count('class="wo-row"') == 6


def test_detail_pages_queries_do_not_grow(client_as, django_assert_max_num_queries):
    client = client_as("planner")

    def product(buy, steps):
        top, made, wc = make_product(2, steps=steps, buy_per_level=buy)
        for n in range(buy):  # history entries of the item and of its BOM's lines
            client.post(reverse("planning:item_edit", args=[top.pk]), {
                "code": top.code, "name": f"名{n}", "kind": "make", "uom": "pcs",
                "active": "on", "reason": f"r{n}"})
        return top

    small, large = product(1, 1), product(8, 6)
    for name, arg in (("planning:item_detail", lambda i: i.pk),
                      ("planning:bom_detail", lambda i: i.bom_versions.get().pk),
                      ("planning:routing_detail", lambda i: i.routings.get().pk)):
        client.get(reverse(name, args=[arg(small)]))
        with django_assert_max_num_queries(14) as few:
            assert client.get(reverse(name, args=[arg(small)])).status_code == 200
        with django_assert_max_num_queries(len(few.captured_queries)):
            assert client.get(reverse(name, args=[arg(large)])).status_code == 200


# --- Production orders: create, edit, explode, release, hold --------------------------------
def test_an_order_due_in_the_past_is_created_with_a_warning(client_as):
    """Catch-up orders exist: one due in the past is accepted, and the planner is told it is
    late from the start (it was created silently)."""
    top, _made, _wc = make_product(1)
    client = client_as("planner")
    response = client.post(reverse("planning:order_add"), {
        "item": top.code, "quantity": "2", "due": "2026-01-05T17:00", "priority": 3},
        follow=True, HTTP_ACCEPT_LANGUAGE="en")
    page = response.content.decode()
    assert "due 2026-01-05 17:00, which has passed: it is late from the start." in page
    assert ProductionOrder.objects.filter(item=top).count() == 1
    future = client.post(reverse("planning:order_add"), {
        "item": top.code, "quantity": "2", "due": "2030-01-05T17:00", "priority": 3},
        follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert "late from the start" not in future.content.decode()


def test_order_lifecycle_through_the_pages(client_as):
    top, _made, _wc = make_product(2)
    client = client_as("planner")
    response = client.post(reverse("planning:order_add"), {
        "item": top.code, "quantity": "12", "due": "2030-03-01T17:00", "priority": 3,
        "customer": "ACME", "sales_order_ref": "SO-77", "notes": "rush", "reason": "new deal"})
    order = ProductionOrder.objects.get(sales_order_ref="SO-77")
    assert response.status_code == 302 and response["Location"].endswith(f"/{order.pk}/")
    assert order.quantity == 12 and order.priority == 3 and order.created_by == client.user
    # edit: only the changed field is passed on, with the reason
    client.post(reverse("planning:order_edit", args=[order.pk]), {
        "item": top.code, "quantity": "15", "due": "2030-03-01T17:00", "priority": 3,
        "customer": "ACME", "sales_order_ref": "SO-77", "notes": "rush",
        "reason": "customer wants more"})
    order.refresh_from_db()
    assert order.quantity == 15
    assert AuditEntry.objects.get(object_id=str(order.pk), action="update").reason == \
        "customer wants more"
    # explode without JavaScript: POST + redirect + message
    response = client.post(reverse("planning:order_action", args=[order.pk, "explode"]),
                           follow=True)
    assert "Exploded into 2 work orders" in response.content.decode()
    order.refresh_from_db()
    assert order.status == ProductionOrder.Status.PLANNED
    history = response.content.decode().split('data-testid="history"')[1]
    assert "draft</span> → <span class=\"after\">planned" in history
    assert "Work orders" in history and "→ <span class=\"after\">2<" in history
    # ids no work order can have (too large for the column, not numbers) release nothing
    child = order.work_orders.get(level=1)
    for junk in (["99999999999999999999999"], ["²"], ["-1", "0", "x"]):
        response = client.post(
            reverse("planning:order_action", args=[order.pk, "release_selected"]),
            {"work_orders": junk}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="order-body")
        assert response.status_code == 200
        assert "Tick the work orders to release first." in response.content.decode()
    assert not order.work_orders.exclude(status=WorkOrder.Status.DRAFT).exists()
    # release one work order with htmx: the refreshed order body comes back
    response = client.post(reverse("planning:order_action", args=[order.pk, "release_selected"]),
                           {"work_orders": [child.pk]}, HTTP_HX_REQUEST="true",
                           HTTP_HX_TARGET="order-body")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="order-body"') and "Released 1 work order." in html
    child.refresh_from_db()
    assert child.status == WorkOrder.Status.RELEASED
    # the order can no longer be exploded again; its edit page sends you back
    assert 'data-testid="explode"' not in html
    # hold needs a reason: htmx prompt answer in the HX-Prompt header
    url = reverse("planning:work_order_action", args=[child.pk, "hold"])
    refused = client.post(url, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="order-body")
    assert "Say why." in refused.content.decode()
    client.post(url, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="order-body",
                HTTP_HX_PROMPT="material missing")
    child.refresh_from_db()
    assert child.status == WorkOrder.Status.ON_HOLD
    assert set(child.tasks.values_list("status", flat=True)) == {Task.Status.ON_HOLD}
    page = client.get(reverse("planning:work_order_detail", args=[child.pk])).content.decode()
    assert "material missing" in page and 'data-action="resume"' in page
    # resume from the work order page without JavaScript: confirm page, then POST
    resume = reverse("planning:work_order_action", args=[child.pk, "resume"])
    assert 'name="reason"' in client.get(resume).content.decode()
    response = client.post(resume, {"reason": "material arrived"})
    assert response.status_code == 302
    child.refresh_from_db()
    assert child.status == WorkOrder.Status.RELEASED
    # The work order's history shows its tasks' status changes (named, with the reasons),
    # not their quantity updates.
    history = client.get(reverse("planning:work_order_detail", args=[child.pk])).content.decode()
    history = history[history.index('data-testid="history"'):]
    history = history[:history.index("</section>")]
    step = child.tasks.order_by("seq").first()
    assert history.count(f"{child.number}/{step.seq}") >= 3  # released, held, resumed
    assert "material missing" in history and "material arrived" in history
    # The status a hold resumes to reads as a status does (已下达), not as stored (released).
    zh = client.get(reverse("planning:work_order_detail", args=[child.pk]),
                    HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    zh = zh[zh.index('data-testid="history"'):]
    zh = zh[:zh.index("</section>")]
    assert "挂起前状态" in zh and '<span class="after">已下达</span>' in zh
    assert "released" not in zh


def test_release_all_lists_refusals_with_reasons(client_as):
    top, made, wc = make_product(2)
    client = client_as("planner")
    client.post(reverse("planning:order_add"), {"item": top.code, "quantity": "3",
                                                "due": "2030-03-01T17:00", "priority": 1})
    order = ProductionOrder.objects.get(item=top)
    client.post(reverse("planning:order_action", args=[order.pk, "explode"]))
    WorkCenter.objects.filter(pk=wc.pk).update(active=False)
    response = client.post(reverse("planning:order_action", args=[order.pk, "release"]),
                           HTTP_HX_REQUEST="true", HTTP_HX_TARGET="order-body")
    html = response.content.decode()
    assert 'data-testid="refusals"' in html and f"work center {wc.code}" in html
    assert html.count("<li><a href") >= 2
    # without JavaScript the refusals come as messages after the redirect
    response = client.post(reverse("planning:order_action", args=[order.pk, "release"]),
                           follow=True)
    assert "not released" in response.content.decode()


def test_order_edit_refused_once_released(client_as):
    order = ProductionOrder.objects.create(number="PO-R", item=routed_item(), quantity=1,
                                           due="2030-01-01T00:00:00Z",
                                           status=ProductionOrder.Status.RELEASED)
    client = client_as("planner")
    response = client.get(reverse("planning:order_edit", args=[order.pk]), follow=True)
    assert "can no longer be edited" in response.content.decode()


def test_order_list_filters_and_search(client_as):
    item = routed_item(code="FLT")
    for n, (customer, status, prio) in enumerate([("Alpha", "draft", 1), ("Beta", "released", 3),
                                                  ("Alpha", "completed", 2)]):
        ProductionOrder.objects.create(number=f"PO-F{n}", item=item, quantity=1,
                                       due=f"2030-01-0{n + 1}T08:00:00Z", customer=customer,
                                       status=status, priority=prio, sales_order_ref=f"SO-{n}")
    client = client_as("planner")

    def numbers(**params):
        table = client.get(reverse("planning:order_list"), params).context["table"]
        return sorted(row.record.number for row in table.rows)

    assert numbers(status="open") == ["PO-F0", "PO-F1"]
    assert numbers(customer="alp") == ["PO-F0", "PO-F2"]
    assert numbers(priority=3) == ["PO-F1"]
    assert numbers(q="SO-2") == ["PO-F2"]
    assert numbers(due_after="2030-01-02", due_before="2030-01-02") == ["PO-F1"]


def test_work_order_page_links_its_traveler_and_family(client_as, plant):
    parent = plant["wo"]
    child = WorkOrderFactory(production_order=parent.production_order, parent=parent, level=1)
    page = client_as("planner").get(reverse("planning:work_order_detail", args=[parent.pk]))
    html = page.content.decode()
    assert reverse("planning:work_order_detail", args=[child.pk]) in html
    assert reverse("planning:traveler", args=[parent.pk]) in html
    assert plant["wc"].code in html


def test_navigation_names_still_resolve(client_as):
    nav = client_as("planner").get(reverse("home")).context["nav_items"]
    urls = {item["url"] for item in nav}
    assert {reverse("planning:order_list"), reverse("planning:item_list"),
            reverse("planning:work_center_list")} <= urls


@pytest.mark.parametrize(("roles", "expected"), [
    (("planner",), {"/planning/": "planning:order_list", "/execution/": "execution:station_list",
                    "/quality/": "quality:stats", "/dashboards/": "dashboards:board",
                    "/alerts/": "alerts:alert_list"}),
    (("operator",), {"/planning/": "home", "/execution/": "execution:station_list",
                     "/quality/": "home", "/dashboards/": "home", "/alerts/": "home"}),
    (("qc_inspector",), {"/quality/": "quality:qc_queue"}),
    (("workshop_lead",), {"/alerts/": "alerts:alert_list",
                          "/quality/": "quality:acceptance_queue"}),
])
def test_an_apps_address_typed_by_hand_opens_its_first_page_the_user_may_open(
        client_as, roles, expected):
    client = client_as(*roles)
    nav = {item["url"] for item in client.get(reverse("home")).context["nav_items"]}
    for address, name in expected.items():
        response = client.get(address)
        assert (response.status_code, response["Location"]) == (302, reverse(name)), address
        assert name == "home" or reverse(name) in nav
        assert client.get(response["Location"]).status_code == 200, address


def test_child_tables_on_plant_pages_have_translated_headers(client_as):
    wc = WorkCenterFactory()
    client = client_as("planner")
    for url in (reverse("planning:line_detail", args=[wc.line_id]),
                reverse("planning:workshop_detail", args=[wc.line.workshop_id])):
        html = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
        headers = [re.sub(r"<[^>]+>", "", h).strip()
                   for h in re.findall(r"<th[^>]*>(.*?)</th>", html, re.S)]
        assert headers, url
        english = [h for h in headers if re.fullmatch(r"[A-Za-z ]+", h)]
        assert not english, (url, english)


def test_item_create_with_routing_and_new_order_link(client_as):
    client = client_as("planner")
    response = client.post(reverse("planning:item_add"), {
        "code": "NEW-1", "name": "新品", "name_en": "New", "kind": "make", "uom": "pcs",
        "discrete": "on", "active": "on"})
    item = Item.objects.get(code="NEW-1")
    assert response["Location"] == reverse("planning:item_detail", args=[item.pk])
    client.post(reverse("planning:routing_add", args=[item.pk]), {"version": "1",
                                                                  "active": "on"})
    routing = item.routings.get()
    wc = WorkCenterFactory()
    client.post(reverse("planning:routing_step_add", args=[routing.pk]), {
        "seq": 10, "name": "装配", "work_center": wc.pk, "setup_minutes": "5",
        "run_minutes_per_unit": "0.5", "is_qc_checkpoint": "on", "inspection_plan_code": "IP",
        "wait_for_qc": "on"})
    assert routing.steps.get().wait_for_qc
    page = client.get(reverse("planning:item_detail", args=[item.pk])).content.decode()
    assert f"{reverse('planning:order_add')}?item=NEW-1" in page
    form = client.get(reverse("planning:order_add"), {"item": "NEW-1"}).content.decode()
    assert 'value="NEW-1"' in form
    # The item datalist names the items in the page's language.
    en = client.get(reverse("planning:order_add"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<option value="NEW-1">New</option>' in en and "新品" not in en
    zh = client.get(reverse("planning:order_add"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert '<option value="NEW-1">新品</option>' in zh.content.decode()
    wcs = client.get(reverse("planning:work_center_list"), HTTP_ACCEPT_LANGUAGE="en")
    assert wc.name_en in wcs.content.decode() and wc.name not in wcs.content.decode()


def test_new_child_record_starts_from_the_parent_page(client_as):
    RoutingFactory()
    wc = WorkCenterFactory()
    form = client_as("planner").get(reverse("planning:equipment_add"),
                                    {"work_center": wc.pk}).context["form"]
    assert str(form["work_center"].value()) == str(wc.pk)


# --- In a real browser ----------------------------------------------------------------------
@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_planner_builds_a_product_and_plans_it_in_the_browser(asgi_server, page, make_user):
    from tests.conftest import browser_login, screenshot
    from tests.factories import PASSWORD

    wc = WorkCenterFactory(code="WC-ASM")
    sub = routed_item(code="SUB-1", name="子组件", name_en="Sub-assembly", work_center=wc)
    BOMLineFactory(bom=BOMVersionFactory(item=sub),
                   child=ItemFactory(code="BOLT-1", kind=Item.Kind.BUY), quantity_per=3)
    ItemFactory(code="PLATE-1", kind=Item.Kind.BUY, name_en="Plate")
    user = make_user("planner", username="browser-planner")
    page.set_default_timeout(20_000)  # a busy CI machine; every wait below is for an event
    browser_login(page, asgi_server, user.username, PASSWORD)
    url = asgi_server.url

    # 1. a new item
    page.goto(url + reverse("planning:item_list"))
    page.get_by_test_id("add").click()
    page.fill("#id_code", "FG-100")
    page.fill("#id_name", "成品100")
    page.fill("#id_name_en", "Finished good 100")
    page.select_option("#id_kind", "make")
    page.get_by_test_id("save").click()
    page.wait_for_url(re.compile(r".*/planning/items/\d+/$"))
    item_url = page.url

    # 2. its BOM: a version and two lines
    page.get_by_test_id("add-bom").click()
    page.fill("#id_version", "A")
    page.get_by_test_id("save").click()
    page.wait_for_url(item_url)
    page.get_by_role("link", name="vA").click()
    for code, qty, scrap in (("SUB-1", "2", "5"), ("PLATE-1", "4", "0")):
        page.get_by_test_id("add-line").click()
        page.fill("#id_child", code)
        page.fill("#id_quantity_per", qty)
        page.fill("#id_scrap_pct", scrap)
        page.get_by_test_id("save").click()
        page.wait_for_url("**/planning/boms/*/")
    assert page.get_by_test_id("bom-lines").locator("tbody tr").count() == 2
    screenshot(page, "planning-bom-version")

    # 3. a routing with one step, so that it can be ordered
    page.goto(item_url)
    page.get_by_test_id("add-routing").click()
    page.get_by_test_id("save").click()
    page.wait_for_url(item_url)
    page.get_by_role("link", name="Routing v1").click()
    page.get_by_test_id("add-step").click()
    page.fill("#id_name", "总装")
    page.select_option("#id_work_center", str(wc.pk))
    page.fill("#id_run_minutes_per_unit", "2.5")
    page.get_by_test_id("save").click()
    page.wait_for_url("**/planning/routings/*/")

    # 4. the BOM tree: the sub-assembly's own parts show when its level is expanded
    page.goto(item_url)
    page.get_by_test_id("bom-tree").click()
    page.wait_for_url("**/bom-tree/")
    tree = page.get_by_test_id("bom-tree")
    bolt = tree.locator('[data-item="BOLT-1"]')
    assert tree.locator('[data-item="SUB-1"]').is_visible() and not bolt.is_visible()
    tree.locator('summary[data-item="SUB-1"]').click()
    bolt.wait_for(state="visible")
    # a new top quantity re-renders only the tree (htmx) with rolled-up quantities
    page.fill('[data-testid="tree-qty"]', "10")
    page.keyboard.press("Enter")
    page.locator('summary[data-item="SUB-1"]', has_text="21").wait_for()  # 10 × 2 × 1.05
    page.wait_for_url("**qty=10**")
    page.wait_for_function("() => !document.querySelector('.htmx-request')")
    page.get_by_role("button", name="Expand all").first.click()
    bolt.wait_for(state="visible")
    assert "63" in page.locator('[data-item="BOLT-1"]').inner_text()  # 21 × 3
    screenshot(page, "planning-bom-tree")

    # 5. a production order for it, exploded and released with htmx
    page.goto(item_url)
    page.get_by_role("link", name="New production order").click()
    assert page.input_value("#id_item") == "FG-100"
    page.fill("#id_quantity", "10")
    page.fill("#id_customer", "ACME")
    page.fill("#id_sales_order_ref", "SO-2026-001")
    page.select_option("#id_priority", "2")
    page.get_by_test_id("save").click()
    page.wait_for_url(re.compile(r".*/planning/orders/\d+/$"))
    page.get_by_test_id("explode").click()
    page.locator("tr.wo-row").nth(1).wait_for()
    assert page.locator("tr.wo-row").count() == 2
    assert page.get_by_test_id("order-status").inner_text() == "planned"
    page.get_by_test_id("release-all").click()
    page.locator('[data-testid="order-status"]', has_text="released").wait_for()
    assert "Released 2 work orders" in page.get_by_test_id("feedback").inner_text()
    # hold one work order: the reason comes from the prompt
    page.once("dialog", lambda dialog: dialog.accept("waiting for plates"))
    page.locator("tr.wo-row").first.locator('[data-action="hold"]').click()
    page.locator("tr.wo-row").first.locator(".status-on_hold").wait_for()
    screenshot(page, "planning-order-detail")
    order = ProductionOrder.objects.get(sales_order_ref="SO-2026-001")
    assert order.item.code == "FG-100" and order.priority == 2
    assert order.work_orders.filter(status=WorkOrder.Status.ON_HOLD).count() == 1


def test_codes_with_spaces_are_refused_like_the_importer_refuses_them(client_as, client):
    """An item "TST UI 1" could be made by hand but its export could not be imported back."""
    from tests.factories_api import api_as, error_of

    response = client_as("planner").post(reverse("planning:item_add"), {
        "code": "TST UI 1", "name": "新品", "kind": "make", "uom": "pcs", "active": "on"})
    assert response.status_code == 200
    assert "A code must not contain spaces." in response.content.decode()
    api = api_as(client, "planner")
    response = api.post("/api/items/", {"code": "TST API 1", "name": "x", "kind": "make"})
    assert response.status_code == 400
    assert error_of(response, "code") == {"field": "code", "code": "spaces",
                                          "message": "A code must not contain spaces."}
    top, _made, _wc = make_product(levels=1)
    response = api.post("/api/production-orders/", {"number": "PO 1", "item": top.code,
                                                    "quantity": "1",
                                                    "due": "2031-03-01T17:00:00+08:00"})
    assert response.status_code in (400, 422)
    assert error_of(response, "number")["message"] == "A code must not contain spaces."
    assert not Item.objects.filter(code__contains=" ").exists()
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="must not contain spaces"):
        WorkCenter._meta.get_field("code").run_validators("WC 1")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_work_order_buttons_keep_their_chinese_labels_on_one_line(asgi_server, page,
                                                                   make_user):
    """A planner on a desktop in zh-hans read "下/达", "挂/起", "流转/卡": the work-order
    tree let each action button break its label between characters. Buttons may wrap
    between them, never inside one."""
    from planning.services.orders import production_order_explode
    from tests.conftest import browser_login, screenshot
    from tests.factories import PASSWORD

    top, _made, _wc = make_product(3)
    user = make_user("planner", username="zh-planner")
    order = ProductionOrder.objects.create(number="PO20261128-0001", item=top, quantity=5,
                                           due="2030-01-01T00:00:00Z", customer="华东机械")
    production_order_explode(actor=user, order=order)
    # as wide as the demo plant's rows: a lead's full name, planned times, long item names
    lead = make_user("workshop_lead", username="zh-lead",
                     display_name="装配车间主任 周丽 / Zhou Li")
    Item.objects.filter(work_orders__production_order=order).update(name="输出轴组件减速机")
    order.work_orders.update(responsible=lead, planned_start="2030-01-01T01:00:00Z",
                             planned_end="2030-01-02T01:00:00Z")
    page.set_viewport_size({"width": 1280, "height": 900})
    browser_login(page, asgi_server, user.username, PASSWORD)
    page.goto(asgi_server.url + reverse("planning:order_detail", args=[order.pk]))
    with page.expect_navigation():
        page.select_option("select[name=language]", "zh-hans")
    buttons = page.locator("tr.wo-row .row-actions .btn")
    assert buttons.count() >= 3 * 4  # release, hold, cancel, traveler on each work order
    assert "下达" in buttons.all_inner_texts()
    screenshot(page, "planning-order-detail-zh")
    lines = buttons.evaluate_all("""els => els.map(el => {
        const range = document.createRange();
        range.selectNodeContents(el);
        const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
        return [el.innerText, tops.size];
    })""")
    assert [text for text, n in lines if n != 1] == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_work_order_table_fits_its_card_on_a_1366_screen(asgi_server, page, make_user,
                                                         language):
    """On a 1366×768 laptop the order page's work-order table was wider than its card: the
    Traveler button of each row sat past the edge, behind a sideways scroll (the bell's
    alerts.css, on every page, made each `td.row-actions` a one-line flex box, so the buttons
    could not wrap). Every column shows in full, the table no wider than its card, in both
    languages."""
    from planning.services.orders import production_order_explode
    from tests.conftest import browser_login, screenshot
    from tests.factories import PASSWORD, LineFactory

    top, _made, _wc = make_product(3)
    user = make_user("planner", username=f"wide-{language}")
    order = ProductionOrder.objects.create(number="PO20261128-0001", item=top, quantity=1250,
                                           due="2030-01-01T00:00:00Z", customer="华东机械")
    production_order_explode(actor=user, order=order)
    # as wide as the demo plant's rows get: a lead's full name, a line, planned times, long
    # item codes and names, three BOM levels deep
    lead = make_user("workshop_lead", username=f"wide-lead-{language}",
                     display_name="装配车间主任 周丽 / Zhou Li")
    line = LineFactory(code="L-ASSY-02")
    for n, item in enumerate(Item.objects.filter(work_orders__production_order=order)):
        item.code, item.name = f"GBX-SHAFT-ASSY-{n:04d}", "输出轴组件减速机（精加工）"
        item.name_en = "Output shaft assembly for gearbox, finish-machined"
        item.save()
    order.work_orders.update(responsible=lead, line=line,
                             planned_start="2030-01-01T01:00:00Z",
                             planned_end="2030-01-02T01:00:00Z")
    page.set_viewport_size({"width": 1366, "height": 768})
    browser_login(page, asgi_server, user.username, PASSWORD)
    page.goto(asgi_server.url + reverse("planning:order_detail", args=[order.pk]))
    if language != "en":
        with page.expect_navigation():
            page.select_option("select[name=language]", language)
    assert page.locator("html").get_attribute("lang") == language
    assert page.locator("tr.wo-row .row-actions .btn").count() >= 3 * 4
    screenshot(page, f"planning-order-detail-1366-{language}")
    table, box, cells = page.evaluate("""() => {
        const t = document.querySelector('[data-testid=work-orders] table.wo-tree');
        const c = t.closest('.table-container');
        const actions = [...t.querySelectorAll('td.row-actions')];
        return [t.scrollWidth, c.clientWidth, actions.map(td => getComputedStyle(td).display)];
    }""")
    assert table <= box, f"{language}: the table is {table}px wide in a {box}px card"
    assert set(cells) == {"table-cell"}
