"""Excel / CSV import and export of items, BOM lines, routings and production orders."""

import datetime
import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation

from mes.models import AuditEntry, Event
from planning import models as pm
from planning.imports import parsing
from planning.imports.run import import_file_apply, import_file_check
from planning.services.orders import production_order_create, production_order_explode
from tests.factories import (
    BOMLineFactory,
    BOMVersionFactory,
    ItemFactory,
    ProductionOrderFactory,
    WorkCenterFactory,
    make_product,
)
from tests.factories_imports import (
    BOM_HEADER,
    ITEM_HEADER,
    ORDER_HEADER,
    ROUTING_HEADER,
    counts,
    csv_upload,
    routed_item,
    xlsx_upload,
)

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

KINDS = ("items", "routings", "bom", "orders")


@pytest.fixture(autouse=True)
def _english(settings):
    """Messages are asserted in English, whatever the default language and its catalog say."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def planner(make_user):
    return make_user("planner")


def apply(planner, upload, kind=None):
    return import_file_apply(actor=planner, upload=upload, kind=kind)


def only_error(report):
    assert not report.written
    assert len(report.errors) == 1, report.errors
    return report.errors[0]


# --- Good files ------------------------------------------------------------------------------
def test_workbook_with_every_kind_imports_in_dependency_order(planner):
    WorkCenterFactory(code="WC1")
    upload = xlsx_upload({
        # Orders first and BOM before routings: the sheets are still applied in order.
        "orders": [ORDER_HEADER, ["PO-1", "A", 10, "2026-04-01", "紧急", "客户甲"]],
        "bom": [BOM_HEADER, ["A", "1", "B", 2, 0], ["B", "1", "R", 0.5, 1.5]],
        "items": [ITEM_HEADER, ["A", "成品A", "Product A", "make", "pcs"],
                  ["B", "半成品B", "", "自制", "pcs"], ["R", "原料", "", "外购", "kg"]],
        "routings": [ROUTING_HEADER, ["A", "1", 10, "装配", "WC1", 5, 1.5],
                     ["B", "1", 10, "加工", "WC1", 5, 2]],
    })
    report = apply(planner, upload)
    assert report.written, report.errors
    assert (report.created, report.updated, report.unchanged) == (8, 0, 0)
    assert pm.Item.objects.get(code="R").kind == pm.Item.Kind.BUY
    line = pm.BOMLine.objects.get(bom__item__code="B", child__code="R")
    assert (line.quantity_per, line.scrap_pct, line.position) == (Decimal("0.5"),
                                                                 Decimal("1.5"), 10)
    assert pm.Routing.objects.get(item__code="A").active
    order = pm.ProductionOrder.objects.get(number="PO-1")
    assert order.priority == pm.Priority.URGENT and order.status == "draft"
    assert timezone.localtime(order.due).strftime("%Y-%m-%d %H:%M") == "2026-04-01 23:59"
    entries = AuditEntry.objects.filter(reason="import data.xlsx")
    assert entries.count() == 8 + 2 + 2  # records, plus the new BOM versions and routings
    assert set(entries.values_list("actor", flat=True)) == {planner.pk}


def test_existing_item_is_updated_with_before_and_after_in_the_audit_log(planner):
    item = ItemFactory(code="X1", name="旧名", uom="pcs")
    same = ItemFactory(code="X2", name="不变", name_en="Same", uom="pcs")
    upload = csv_upload([ITEM_HEADER, ["X1", "新名", "", "make", "kg"],
                         ["X2", "不变", "Same", "make", "pcs"], ["X3", "新物料", "", "buy", ""]],
                        name="items.csv")
    report = apply(planner, upload, "items")
    assert (report.created, report.updated, report.unchanged) == (1, 1, 1)
    item.refresh_from_db()
    assert (item.name, item.uom, item.name_en) == ("新名", "kg", "")
    assert pm.Item.objects.get(code="X3").uom == "pcs"  # empty non-text cell: the default
    entry = AuditEntry.objects.get(object_id=str(item.pk), action="update")
    assert entry.reason == "import items.csv"
    assert entry.before["name"] == "旧名" and entry.after["name"] == "新名"
    assert set(entry.changed_fields) == {"name", "uom", "name_en"}
    assert not AuditEntry.objects.filter(object_id=str(same.pk)).exists()


def test_bom_line_already_in_the_database_is_updated_not_duplicated(planner):
    parent = routed_item("P1")
    child = ItemFactory(code="C1", kind=pm.Item.Kind.BUY)
    other = ItemFactory(code="C2", kind=pm.Item.Kind.BUY)
    bom = BOMVersionFactory(item=parent, version="1")
    line = BOMLineFactory(bom=bom, child=child, quantity_per=Decimal("1"), position=10)
    kept = BOMLineFactory(bom=bom, child=other, quantity_per=Decimal("4"), position=20)
    report = apply(planner, csv_upload([BOM_HEADER, ["P1", "1", "C1", 3, 2]]), "bom")
    assert (report.created, report.updated) == (0, 1), report.errors
    line.refresh_from_db()
    assert (line.quantity_per, line.scrap_pct, line.position) == (3, 2, 10)
    assert pm.BOMLine.objects.filter(pk=kept.pk).exists()  # never silently deleted


def test_new_routing_version_activated_by_the_file_deactivates_the_old_one(planner):
    wc = WorkCenterFactory(code="WC9")
    item = routed_item("M1", work_center=wc)
    header = [*ROUTING_HEADER, "routing_active 工艺启用"]
    report = apply(planner, csv_upload([header, ["M1", "2", 10, "新工序", "WC9", 0, 1, "是"]]))
    assert report.written, report.errors
    assert list(pm.Routing.objects.filter(item=item).order_by("version")
                .values_list("version", "active")) == [("1", False), ("2", True)]
    # Unsaid, a further version stays inactive: the active one is kept.
    report = apply(planner, csv_upload([ROUTING_HEADER, ["M1", "3", 10, "X", "WC9", 0, 1]]))
    assert report.written and not pm.Routing.objects.get(item=item, version="3").active


def test_order_made_by_import_equals_one_made_by_hand(planner):
    item = routed_item("FG", discrete=True)
    due = timezone.make_aware(datetime.datetime(2026, 5, 1, 17, 0))
    by_hand = production_order_create(actor=planner, item=item, quantity=Decimal("5"), due=due,
                                      number="PO-HAND", customer="甲")
    report = apply(planner, csv_upload([ORDER_HEADER, ["PO-IMP", "FG", 5, "2026-05-01 17:00",
                                                       "", "甲"]]), "orders")
    assert report.written, report.errors
    imported = pm.ProductionOrder.objects.get(number="PO-IMP")
    skip = {"id", "number", "created_at"}
    fields = [f.name for f in pm.ProductionOrder._meta.concrete_fields if f.name not in skip]
    assert ({f: getattr(imported, f) for f in fields}
            == {f: getattr(by_hand, f) for f in fields})
    assert AuditEntry.objects.filter(object_id=str(imported.pk), action="create").exists()
    announced = Event.objects.filter(kind="order.created").values_list("payload", flat=True)
    assert {"order": "PO-IMP", "priority": 1} in list(announced)


def test_changing_a_planned_order_explodes_it_again_like_a_hand_edit(planner):
    top, _made, _wc = make_product(2)
    order = production_order_create(actor=planner, item=top, quantity=Decimal("4"),
                                    due=timezone.now() + datetime.timedelta(days=3),
                                    number="PO-PL")
    production_order_explode(actor=planner, order=order)
    due = timezone.localtime(order.due).strftime("%Y-%m-%d %H:%M:%S")
    report = apply(planner, csv_upload([ORDER_HEADER, ["PO-PL", top.code, 6, due, "", ""]]))
    assert report.written and report.updated == 1, report.errors
    order.refresh_from_db()
    assert order.status == "planned"
    root = pm.WorkOrder.objects.get(production_order=order, level=0)
    assert root.quantity == 6


def test_order_due_outside_the_apis_range_is_refused(planner):
    routed_item("FG3")
    error = only_error(apply(planner, csv_upload([
        ORDER_HEADER, ["PO-FAR", "FG3", 1, "9999-12-31 23:59", "normal", ""]])))
    assert (error.row, error.column) == (2, "due 交期")
    assert error.reason == "Give a date between 1970 and 2200."
    assert not pm.ProductionOrder.objects.exists()


def test_orders_update_draft_and_refuse_released_changes(planner):
    item = routed_item("FG2")
    draft = ProductionOrderFactory(number="PO-D", item=item, quantity=Decimal("10"))
    released = ProductionOrderFactory(number="PO-R", item=item, quantity=Decimal("10"),
                                      status=pm.ProductionOrder.Status.RELEASED)
    due = timezone.localtime(released.due).strftime("%Y-%m-%d %H:%M:%S")
    before = counts()
    report = apply(planner, csv_upload([ORDER_HEADER, ["PO-D", "FG2", 20, due, "high", ""],
                                        ["PO-R", "FG2", 30, due, "normal", ""]]))
    error = only_error(report)
    assert (error.row, error.column, error.value) == (3, "order_number 订单号", "PO-R")
    assert "change process" in error.reason
    assert counts() == before
    # The released order unchanged, the draft changed: accepted.
    report = apply(planner, csv_upload([ORDER_HEADER, ["PO-D", "FG2", 20, due, "high", ""],
                                        ["PO-R", "FG2", 10, due, "normal", ""]]))
    assert report.written and (report.updated, report.unchanged) == (1, 1)
    draft.refresh_from_db()
    assert draft.quantity == 20 and draft.priority == pm.Priority.HIGH


# --- Encodings and headers -------------------------------------------------------------------
@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig", "utf-8"])
def test_csv_in_gbk_and_utf8_with_or_without_bom_reads_chinese(planner, encoding):
    rows = [["物料编码", "名称", "自制或外购", "单位"], ["中-1", "齿轮箱", "外购", "件"]]
    report = apply(planner, csv_upload(rows, encoding=encoding))
    assert report.written, report.errors
    item = pm.Item.objects.get(code="中-1")
    assert (item.name, item.kind, item.uom) == ("齿轮箱", "buy", "件")


def test_xlsx_with_chinese_headers_and_numeric_codes_reads(planner):
    WorkCenterFactory(code="WC-1")
    upload = xlsx_upload({"Sheet1": [["物料编码", "工序号", "工序名称", "工作中心编码",
                                      "准备时间分钟", "单件工时分钟", "质检点"],
                                     [10001, 10, "车削", "WC-1", 12, 0.75, "是"]]})
    ItemFactory(code="10001")
    report = apply(planner, upload)
    assert report.written, report.errors
    step = pm.RoutingStep.objects.get(routing__item__code="10001")
    assert (step.setup_minutes, step.run_minutes_per_unit, step.is_qc_checkpoint) == (
        12, Decimal("0.75"), True)


def test_semicolon_csv_and_unknown_columns_are_tolerated(planner):
    report = apply(planner, csv_upload([["item_code", "name", "colour"], ["S1", "螺钉", "红"]],
                                       delimiter=";"))
    assert report.written, report.errors
    assert any("colour" in w for w in report.warnings)


# --- Bad rows: every problem, the row as Excel numbers it, nothing written ---------------------
def _bad_cases():
    wc = ["WC-OK"]
    return {
        "unknown item": (
            "bom", [BOM_HEADER, ["P", "1", "NOPE", 1, 0]],
            (2, "child_item_code 子项物料编码", "NOPE", "Unknown item code")),
        "zero quantity": (
            "bom", [BOM_HEADER, ["P", "1", "C", 0, 0]],
            (2, "quantity_per 单位用量", "0", "greater than zero")),
        "text quantity": (
            "orders", [ORDER_HEADER, ["PO-9", "P", "十", "2026-04-01", "normal", ""]],
            (2, "quantity 数量", "十", "Not a number")),
        "huge quantity": (
            "orders", [ORDER_HEADER, ["PO-9", "P", "1e30", "2026-04-01", "normal", ""]],
            (2, "quantity 数量", "1e30", "The number is too large")),
        "huge quantity per": (
            "bom", [BOM_HEADER, ["P", "1", "C", "1e30", 0]],
            (2, "quantity_per 单位用量", "1e30", "The number is too large")),
        "huge scrap": (
            "bom", [BOM_HEADER, ["P", "1", "C", 1, "1e30"]],
            (2, "scrap_pct 损耗率%", "1e30", "between 0 and 99")),
        "due in year 9999": (
            "orders", [ORDER_HEADER, ["PO-9", "P", 1, "9999-12-31", "normal", ""]],
            (2, "due 交期", "9999-12-31", "Give a date between 1970 and 2200")),
        "due in year 1": (
            "orders", [ORDER_HEADER, ["PO-9", "P", 1, "0001-01-01 08:00", "normal", ""]],
            (2, "due 交期", "0001-01-01 08:00", "Give a date between 1970 and 2200")),
        "scrap out of range": (
            "bom", [BOM_HEADER, ["P", "1", "C", 1, 120]],
            (2, "scrap_pct 损耗率%", "120", "between 0 and 99")),
        "duplicate line in the file": (
            "bom", [BOM_HEADER, ["P", "1", "C", 1, 0], ["P", "1", "C", 2, 0]],
            (3, "child_item_code 子项物料编码", "C", "row 2")),
        "own component": (
            "bom", [BOM_HEADER, ["P", "1", "P", 1, 0]],
            (2, "child_item_code 子项物料编码", "P", "P → P")),
        "unknown work center": (
            "routings", [ROUTING_HEADER, ["P", "1", 30, "X", "WC-NONE", 0, 1]],
            (2, "work_center_code 工作中心编码", "WC-NONE", "Unknown work center")),
        "negative run time": (
            "routings", [ROUTING_HEADER, ["P", "1", 30, "X", wc[0], 0, -1]],
            (2, "run_min_per_unit 单件工时分钟", "-1", "less than 0")),
        "bad date": (
            "orders", [ORDER_HEADER, ["PO-9", "P", 1, "31/04/2026", "normal", ""]],
            (2, "due 交期", "31/04/2026", "Not a date")),
        "unknown priority": (
            "orders", [ORDER_HEADER, ["PO-9", "P", 1, "2026-04-01", "最高", ""]],
            (2, "priority 优先级", "最高", "normal, high, urgent")),
        "bought item ordered": (
            "orders", [ORDER_HEADER, ["PO-9", "C", 1, "2026-04-01", "", ""]],
            (2, "item_code 物料编码", "C", "bought item")),
        "empty required cell": (
            "items", [ITEM_HEADER, ["", "无编码", "", "make", "pcs"]],
            (2, "item_code 物料编码", "", "Required")),
        "missing column": (
            "items", [["item_code 物料编码", "uom"], ["Z", "pcs"]],
            (1, "name 名称", "", "Required column missing")),
    }


@pytest.mark.parametrize("case", list(_bad_cases()))
def test_each_bad_row_is_reported_where_excel_shows_it_and_nothing_is_written(planner, case):
    WorkCenterFactory(code="WC-OK")
    routed_item("P")
    ItemFactory(code="C", kind=pm.Item.Kind.BUY)
    kind, rows, (row, column, value, reason) = _bad_cases()[case]
    before = counts()
    # A good row first, so "nothing written" means something: it is not written either.
    report = apply(planner, csv_upload(rows), kind)
    error = only_error(report)
    assert (error.row, error.column, error.value) == (row, column, value)
    assert reason in error.reason
    assert counts() == before


def test_xlsx_number_cell_too_large_for_the_column_is_a_row_error(planner):
    routed_item("P")
    before = counts()
    upload = xlsx_upload({"orders": [ORDER_HEADER, ["PO-9", "P", 1e30, "2026-04-01",
                                                    "normal", ""]]})
    error = only_error(apply(planner, upload, "orders"))
    assert (error.row, error.column) == (2, "quantity 数量")
    assert "The number is too large" in error.reason
    assert counts() == before


def test_all_problems_are_listed_not_just_the_first(planner):
    routed_item("P")
    before = counts()
    report = apply(planner, csv_upload([
        BOM_HEADER,
        ["P", "1", "NOPE1", 1, 0],       # row 2: unknown
        ["P", "1", "NOPE2", -1, 0],      # row 3: unknown and negative
        ["P", "1", "P", 1, 200],         # row 4: scrap and cycle
    ]), "bom")
    found = {(e.row, e.column.split()[0]) for e in report.errors}
    assert found == {(2, "child_item_code"), (3, "child_item_code"), (3, "quantity_per"),
                     (4, "scrap_pct"), (4, "child_item_code")}
    assert counts() == before


def test_bom_cycle_across_the_file_and_the_database_names_the_path(planner):
    a, b, c = routed_item("A"), routed_item("B"), routed_item("C")
    BOMLineFactory(bom=BOMVersionFactory(item=a), child=b)
    BOMLineFactory(bom=BOMVersionFactory(item=b), child=c)
    before = counts()
    report = apply(planner, csv_upload([BOM_HEADER, ["D", "1", "A", 1, 0],
                                        ["C", "1", "A", 1, 0]]), "bom")
    # D is unknown: its row is reported too, but the cycle is on row 3.
    cycle = [e for e in report.errors if "cycle" in e.reason]
    assert len(cycle) == 1 and cycle[0].row == 3
    assert "C → A → B → C" in cycle[0].reason
    assert counts() == before


def test_deep_cycle_entirely_inside_the_file(planner):
    for code in "WXYZ":
        routed_item(code)
    report = apply(planner, csv_upload([BOM_HEADER, ["W", "1", "X", 1, 0], ["X", "1", "Y", 1, 0],
                                        ["Y", "1", "Z", 1, 0], ["Z", "1", "W", 1, 0]]))
    error = only_error(report)
    assert error.row == 2 and "W → X → Y → Z → W" in error.reason


def test_made_items_without_routing_are_named_and_a_routing_in_the_same_workbook_counts(planner):
    WorkCenterFactory(code="WC1")
    routed_item("TOP")
    ItemFactory(code="SUB")  # made, no routing
    before = counts()
    report = apply(planner, csv_upload([BOM_HEADER, ["TOP", "1", "SUB", 1, 0]]), "bom")
    error = only_error(report)
    assert (error.row, error.value) == (2, "SUB") and "no active routing" in error.reason
    assert report.missing_routings == ["SUB"]
    report = apply(planner, csv_upload([ORDER_HEADER, ["PO-5", "SUB", 1, "2026-04-01", "", ""]]))
    assert only_error(report).value == "SUB"
    assert counts() == before
    report = apply(planner, xlsx_upload({
        "bom": [BOM_HEADER, ["TOP", "1", "SUB", 1, 0]],
        "routings": [ROUTING_HEADER, ["SUB", "1", 10, "焊接", "WC1", 0, 1]]}))
    assert report.written, report.errors


def test_duplicate_order_numbers_and_erp_refs(planner):
    routed_item("FG")
    ProductionOrderFactory(number="PO-OLD", item=pm.Item.objects.get(code="FG"), erp_ref="E1")
    header = [*ORDER_HEADER, "erp_ref ERP单号"]
    report = apply(planner, csv_upload([header, ["PO-1", "FG", 1, "2026-04-01", "", "", "E1"],
                                        ["PO-2", "FG", 1, "2026-04-01", "", "", "E2"],
                                        ["PO-2", "FG", 1, "2026-04-01", "", "", ""],
                                        ["PO-3", "FG", 1, "2026-04-01", "", "", "E2"]]))
    assert [(e.row, e.column.split()[0]) for e in report.errors] == [
        (2, "erp_ref"), (4, "order_number"), (5, "erp_ref")]


def test_routing_and_step_consistency_errors(planner):
    WorkCenterFactory(code="WC1")
    routed_item("M", steps=(10, 20))
    ItemFactory(code="K", kind=pm.Item.Kind.BUY)
    header = [*ROUTING_HEADER, "routing_active 工艺启用"]
    report = apply(planner, csv_upload([header, ["M", "2", 10, "a", "WC1", 0, 1, "yes"],
                                        ["M", "3", 10, "b", "WC1", 0, 1, "yes"],
                                        ["M", "3", 20, "c", "WC1", 0, 1, "no"],
                                        ["M", "3", 20, "d", "WC1", 0, 1, ""]]))
    assert [(e.row, e.column.split()[0]) for e in report.errors] == [
        (4, "routing_active"), (5, "step_seq"), (3, "routing_active")]
    bom = [*BOM_HEADER, "consumed_at_step 消耗工序号"]
    error = only_error(apply(planner, csv_upload([bom, ["M", "1", "K", 1, 0, 30]])))
    assert (error.row, error.value) == (2, "30") and "10, 20" in error.reason


def test_xlsx_date_cells_and_unrecognised_sheets(planner):
    routed_item("FG")
    report = apply(planner, xlsx_upload({
        "orders": [ORDER_HEADER, ["PO-X", "FG", 2, datetime.datetime(2026, 6, 1, 8, 30), "高",
                                  ""]],
        "说明": [["这是说明", "不是数据"], ["随便", "写写"]]}))
    error = only_error(report)
    assert error.sheet == "说明" and "Cannot tell" in error.reason
    report = apply(planner, xlsx_upload({
        "orders": [ORDER_HEADER, ["PO-X", "FG", 2, datetime.datetime(2026, 6, 1, 8, 30), "高",
                                  ""]]}))
    order = pm.ProductionOrder.objects.get(number="PO-X")
    assert timezone.localtime(order.due).strftime("%m-%d %H:%M") == "06-01 08:30"
    assert order.priority == pm.Priority.HIGH


@pytest.mark.parametrize("name,data,reason", [
    ("empty.csv", b"", "empty"),
    ("header-only.csv", b"item_code,name\n", "no data rows"),
    ("notes.pdf", b"%PDF-1.4 hello", "Only Excel workbooks"),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, ".xls"),
    ("fake.xlsx", b"item_code,name\nA,B\n", "not an Excel workbook"),
    ("broken.xlsx", b"PK\x03\x04garbage", "not a readable .xlsx"),
    ("latin1.csv", "item_code,name\nA,café\n".encode("latin-1"), "encoding"),
])
def test_unreadable_files_get_a_clear_message(planner, name, data, reason):
    before = counts()
    error = only_error(apply(planner, SimpleUploadedFile(name, data)))
    assert reason in error.reason and error.row is None
    assert counts() == before


def test_a_cell_too_long_for_csv_names_its_row_not_the_csv_module_error(planner):
    data = b"item_code,name\nA,short\nB," + b"x" * 140_000 + b"\n"
    reason = only_error(apply(planner, SimpleUploadedFile("long.csv", data))).reason
    assert "Row 3 has a cell longer than 131,072 characters" in reason
    assert "field limit" not in reason  # csv's English, shown as is in zh-hans
    assert not pm.Item.objects.exists()


def test_too_large_and_too_many_rows(planner, monkeypatch):
    big = SimpleUploadedFile("big.csv", b"item_code,name\n" + b"A,B\n" * (1_400_000))
    assert big.size > parsing.MAX_UPLOAD_BYTES
    assert "MB" in only_error(apply(planner, big)).reason
    monkeypatch.setattr(parsing, "MAX_ROWS", 3)
    rows = [["item_code", "name"]] + [[f"R{i}", "x"] for i in range(4)]
    assert "more than 3" in only_error(apply(planner, csv_upload(rows))).reason
    assert not pm.Item.objects.exists()


# --- Round trip: export, import again, nothing changes -----------------------------------------
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_then_import_changes_nothing(client_as, fmt):
    top, made, wc = make_product(3, steps=2, scrap_pct=Decimal("2.5"), qty_per=Decimal("1.25"))
    line = pm.BOMLine.objects.filter(bom__item=top).first()
    line.operation_seq = pm.RoutingStep.objects.filter(routing__item=top).first().seq
    line.save()
    ItemFactory(code="EMPTY-EN", name_en="", description="多行\n描述")
    ProductionOrderFactory(item=top, erp_ref="ERP-1", notes="加急,客户电话",
                           release_date=timezone.now())
    ProductionOrderFactory(item=top, status=pm.ProductionOrder.Status.RELEASED)
    client = client_as("planner")
    before = counts()
    for kind in KINDS:
        response = client.get(reverse("planning:io_export", args=[kind, fmt]))
        assert response.status_code == 200
        upload = SimpleUploadedFile(f"{kind}.{fmt}", response.content)
        result = client.post(reverse("planning:io_apply"), {"kind": "", "file": upload})
        assert result.status_code == 200, result.content.decode()[:3000]
        report = result.context["report"]
        assert report.changed == 0 and report.unchanged > 0, (kind, report.results)
        assert "0 changed" in result.content.decode()
    assert counts() == before


def test_templates_have_bilingual_headers_and_an_example_that_imports(client_as):
    client = client_as("planner")
    response = client.get(reverse("planning:io_template", args=["items", "xlsx"]))
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    header, example = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert header[0] == "item_code 物料编码" and example[0] == "FG-1001"
    csv_text = client.get(reverse("planning:io_template", args=["orders", "csv"])).content
    assert csv_text.decode("utf-8-sig").startswith("order_number 订单号,item_code 物料编码")
    report = import_file_check(upload=SimpleUploadedFile("t.xlsx", response.content))
    assert report.ok and report.created == 1


# --- Pages and permissions -------------------------------------------------------------------
def test_operator_gets_403_and_manager_may_export_but_not_import(client_as, client):
    upload = csv_upload([["item_code", "name"], ["A", "B"]])
    pages = [("get", reverse("planning:io"), None),
             ("get", reverse("planning:io_export", args=["items", "csv"]), None),
             ("get", reverse("planning:io_template", args=["bom", "xlsx"]), None),
             ("post", reverse("planning:io_check"), {"file": upload}),
             ("post", reverse("planning:io_apply"), {"file": upload})]
    operator = client_as("operator")
    for method, url, data in pages:
        assert getattr(operator, method)(url, data or {}).status_code == 403, url
    manager = client_as("manager")
    for method, url, data in pages[:3]:
        assert getattr(manager, method)(url, data or {}).status_code == 200, url
    page = manager.get(reverse("planning:io")).content.decode()
    assert 'data-testid="import"' not in page
    for method, url, data in pages[3:]:
        upload.seek(0)
        assert getattr(manager, method)(url, data).status_code == 403, url
    assert not pm.Item.objects.exists()
    assert manager.get(reverse("planning:io_export", args=["nope", "csv"])).status_code == 404


def test_check_shows_what_would_happen_and_writes_nothing(client_as):
    client = client_as("planner")
    upload = csv_upload([["item_code", "name"], ["A", "甲"], ["B", "乙"]])
    response = client.post(reverse("planning:io_check"), {"file": upload},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response.templates[0].name == "planning/io/_check.html"
    assert 'data-testid="import-now"' in response.content.decode()
    assert response.context["report"].created == 2
    upload.seek(0)
    page = client.post(reverse("planning:io_check"), {"file": upload})  # without JavaScript
    assert page.status_code == 200 and 'id="import-form"' in page.content.decode()
    assert not pm.Item.objects.exists()


def test_error_page_lists_rows_and_offers_the_csv(client_as):
    client = client_as("planner")
    upload = csv_upload([["item_code", "name", "kind"], ["A", "甲", "make"], ["B", "乙", "买"]])
    response = client.post(reverse("planning:io_apply"), {"file": upload})
    assert response.status_code == 422
    html = response.content.decode()
    assert "nothing was imported" in html.lower()
    assert "买" in html and 'data-testid="errors-csv"' in html
    assert not pm.Item.objects.exists()


# --- Cost: a fixed number of queries, not one per row ------------------------------------------
def test_a_1000_row_item_import_costs_a_fixed_number_of_queries(planner,
                                                                django_assert_max_num_queries):
    existing = [ItemFactory.build(code=f"E{i:04d}") for i in range(500)]
    pm.Item.objects.bulk_create(existing)
    rows = [ITEM_HEADER]
    rows += [[f"E{i:04d}", f"改{i}", "", "make", "pcs"] for i in range(500)]   # updates
    rows += [[f"N{i:04d}", f"新{i}", "", "buy", "kg"] for i in range(500)]     # creates
    upload = csv_upload(rows)
    # Bulk statements are split by the backend's parameter limit (SQLite: ~100 rows each),
    # so the bar is on statements per batch, far below one per row.
    with django_assert_max_num_queries(30):
        report = apply(planner, upload)
    assert report.written and (report.created, report.updated) == (500, 500)
    assert AuditEntry.objects.filter(reason="import data.csv").count() == 1000


# --- In a real browser -------------------------------------------------------------------------
@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_planner_checks_then_imports_in_the_browser(asgi_server, page, make_user):
    from tests.conftest import browser_login, screenshot
    from tests.factories import PASSWORD

    make_user("planner", username="io_planner")
    browser_login(page, asgi_server, "io_planner", PASSWORD)
    page.goto(asgi_server.url + reverse("planning:io"))
    bad = csv_upload([ITEM_HEADER, ["B-1", "螺栓", "", "买", "pcs"]], name="bad.csv")
    page.set_input_files("input[type=file]", {"name": "bad.csv", "mimeType": "text/csv",
                                              "buffer": bad.read()})
    page.get_by_test_id("check").click()
    table = page.get_by_test_id("error-table")
    table.wait_for()
    assert "买" in table.inner_text() and "2" in table.locator("td").first.inner_text()
    screenshot(page, "planning-io-errors")
    good = xlsx_upload({"items": [ITEM_HEADER, ["B-1", "螺栓", "Bolt", "buy", "pcs"],
                                  ["B-2", "螺母", "Nut", "外购", "pcs"]]}, name="items.xlsx")
    page.set_input_files("input[type=file]", {"name": "items.xlsx", "buffer": good.read(),
                                              "mimeType": "application/octet-stream"})
    page.get_by_test_id("check").click()
    page.get_by_test_id("check-ok").wait_for()
    assert not pm.Item.objects.exists()  # checking writes nothing
    screenshot(page, "planning-io-check")
    with page.expect_navigation():
        page.get_by_test_id("import-now").click()
    assert "2 created, 0 updated, 0 unchanged" in page.get_by_test_id("import-result").inner_text()
    screenshot(page, "planning-io-result")
    assert set(pm.Item.objects.values_list("code", flat=True)) == {"B-1", "B-2"}
