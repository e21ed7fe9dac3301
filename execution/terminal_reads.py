"""The reads every station action repeats (the station by its code, the work order's material
list, the scrap reasons), written as SQL once per process instead of compiled by the ORM on
every scan (see mes/sql.py). execution.selectors exposes them; these are their bodies.
"""

from decimal import Decimal

from execution.models import MaterialConsumption, ScrapReason
from mes.models import User
from mes.sql import ModelColumns, convert, fetch_all, fetch_one, statement, table, valid_pk
from planning.models import Item, Line, MaterialRequirement, Site, WorkCenter, Workshop

_WC = ModelColumns(WorkCenter, "wc")
_LINE = ModelColumns(Line, "ln")
_SHOP = ModelColumns(Workshop, "ws")
_SITE = ModelColumns(Site, "st")
_MR = ModelColumns(MaterialRequirement, "mr")
_ITEM = ModelColumns(Item, "it")
_REASON = ModelColumns(ScrapReason, "sr")
_USER = ModelColumns(User, "u")



def _station_sql() -> str:
    return f"""
SELECT {_WC.select()}, {_LINE.select()}, {_SHOP.select()}, {_SITE.select()}
FROM {table(WorkCenter)} wc
JOIN {table(Line)} ln ON ln."id" = wc."line_id"
JOIN {table(Workshop)} ws ON ws."id" = ln."workshop_id"
JOIN {table(Site)} st ON st."id" = ws."site_id"
WHERE wc."code" = %s AND wc."active"
LIMIT 2"""  # noqa: S608


def _materials_sql() -> str:
    return f"""
SELECT {_MR.select()}, {_ITEM.select()},
  (SELECT SUM(c."quantity") FROM {table(MaterialConsumption)} c
    WHERE c."work_order_id" = mr."work_order_id" AND c."item_id" = mr."item_id")
FROM {table(MaterialRequirement)} mr
JOIN {table(Item)} it ON it."id" = mr."item_id"
WHERE mr."work_order_id" = %s
ORDER BY it."code", mr."id"
"""  # noqa: S608


def _scrap_reasons_sql() -> str:
    return (f'SELECT {_REASON.select()} FROM {table(ScrapReason)} sr '  # noqa: S608
            f'WHERE sr."active" ORDER BY sr."code"')


def station_by_code(code: str) -> WorkCenter:
    """An active work center by its code, with its line, workshop and site. Raises
    WorkCenter.DoesNotExist (and MultipleObjectsReturned, as .get() would)."""
    rows = fetch_all(statement("execution.station", _station_sql), [code])
    if not rows:
        raise WorkCenter.DoesNotExist(f"No active work center {code!r}")
    if len(rows) > 1:
        raise WorkCenter.MultipleObjectsReturned(f"Several active work centers {code!r}")
    row = rows[0]
    wc = _WC.instance(row, 0)
    line = _LINE.instance(row, len(_WC))
    shop = _SHOP.instance(row, len(_WC) + len(_LINE))
    site = _SITE.instance(row, len(_WC) + len(_LINE) + len(_SHOP))
    shop.site, line.workshop, wc.line = site, shop, line
    return wc


def active_user(user_id: int) -> User | None:
    """An active user by id (the operator a badge scan put on the station), or None."""
    user_id = valid_pk(User, user_id)
    if user_id is None:
        return None
    row = fetch_one(statement("execution.active_user", lambda: (
        f'SELECT {_USER.select()} FROM {table(User)} u '  # noqa: S608
        f'WHERE u."id" = %s AND u."is_active"')), [user_id])
    return None if row is None else _USER.instance(row)


def material_rows(work_order_id: int) -> list[MaterialRequirement]:
    """The work order's material requirements (item attached) with `issued`: the sum of the
    lots issued so far (0 when none), by item code."""
    issued_field = MaterialConsumption._meta.get_field("quantity")
    result = []
    for row in fetch_all(statement("execution.materials", _materials_sql), [work_order_id]):
        mr = _MR.instance(row, 0)
        mr.item = _ITEM.instance(row, len(_MR))
        issued = row[len(_MR) + len(_ITEM)]
        mr.issued = Decimal(0) if issued is None else convert(issued_field, issued)
        result.append(mr)
    return result


def active_scrap_reasons() -> list[ScrapReason]:
    rows = fetch_all(statement("execution.scrap_reasons", _scrap_reasons_sql), [])
    return [_REASON.instance(row) for row in rows]

