"""Builders for import tests: uploaded files (xlsx, csv in any encoding) and small products."""

import csv
import io

from django.core.files.uploadedfile import SimpleUploadedFile

from planning import models as pm
from tests.factories import ItemFactory, RoutingFactory, RoutingStepFactory, WorkCenterFactory

ITEM_HEADER = ["item_code 物料编码", "name 名称", "name_en 英文名称", "kind 自制或外购",
               "uom 单位"]
BOM_HEADER = ["parent_item_code 父项物料编码", "bom_version BOM版本",
              "child_item_code 子项物料编码", "quantity_per 单位用量", "scrap_pct 损耗率%"]
ROUTING_HEADER = ["item_code 物料编码", "routing_version 工艺版本", "step_seq 工序号",
                  "operation 工序名称", "work_center_code 工作中心编码", "setup_min 准备时间分钟",
                  "run_min_per_unit 单件工时分钟"]
ORDER_HEADER = ["order_number 订单号", "item_code 物料编码", "quantity 数量", "due 交期",
                "priority 优先级", "customer 客户"]


def csv_upload(rows, *, name="data.csv", encoding="utf-8-sig", delimiter=","):
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter).writerows(rows)
    return SimpleUploadedFile(name, buf.getvalue().encode(encoding), content_type="text/csv")


def xlsx_upload(sheets: dict[str, list[list]], *, name="data.xlsx"):
    """`sheets`: sheet title -> rows (the first row is the header)."""
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return SimpleUploadedFile(name, out.getvalue(),
                              content_type="application/vnd.openxmlformats-officedocument."
                                           "spreadsheetml.sheet")


def routed_item(code=None, *, work_center=None, steps=(10, 20), **kwargs) -> pm.Item:
    """A made item with an active routing of `steps`."""
    item = ItemFactory(**({"code": code} if code else {}), **kwargs)
    routing = RoutingFactory(item=item)
    wc = work_center or WorkCenterFactory()
    for seq in steps:
        RoutingStepFactory(routing=routing, seq=seq, work_center=wc)
    return item


def counts() -> dict:
    """Rows per planning table and audit entries: 'nothing written' is 'counts unchanged'."""
    from mes.models import AuditEntry, Event

    return {model.__name__: model.objects.count()
            for model in (pm.Item, pm.BOMVersion, pm.BOMLine, pm.Routing, pm.RoutingStep,
                          pm.ProductionOrder, pm.WorkOrder, AuditEntry, Event)}
