"""BOM tree, where-used and BOM cycle checks: right numbers, queries by depth not by size."""

import datetime
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from planning import selectors
from planning.models import BOMLine, Item
from tests.factories import BOMLineFactory, BOMVersionFactory, ItemFactory, RoutingFactory
from tests.factories_planning_ui import make_bom_tree

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def chain(*codes):
    """Items A → B → C ... each containing the next once; returns the items."""
    items = [ItemFactory(code=c) for c in codes]
    for parent, child in zip(items, items[1:], strict=False):
        BOMLineFactory(bom=BOMVersionFactory(item=parent), child=child)
    return items


# --- bom_cycle_path -------------------------------------------------------------------------
def test_cycle_path_names_every_item_of_a_deep_cycle():
    a, b, c = chain("A", "B", "C")
    # C → A would close A → B → C → A
    assert selectors.bom_cycle_path(c.pk, a.pk) == ["C", "A", "B", "C"]
    assert selectors.bom_cycle_path(b.pk, a.pk) == ["B", "A", "B"]
    assert selectors.bom_cycle_path(a.pk, a.pk) == ["A", "A"]


def test_no_cycle_for_shared_components_or_new_links():
    a, b, c = chain("A", "B", "C")
    d = ItemFactory(code="D")
    BOMLineFactory(bom=a.bom_versions.get(), child=c)  # C used twice: a DAG, not a cycle
    assert selectors.bom_cycle_path(a.pk, d.pk) is None
    assert selectors.bom_cycle_path(d.pk, a.pk) is None
    assert selectors.bom_cycle_path(b.pk, c.pk) is None


def test_cycle_check_costs_queries_by_depth_not_by_lines(django_assert_max_num_queries):
    narrow, _n = make_bom_tree((2, 2, 2), extra_top=0)
    wide, _n = make_bom_tree((8, 8, 8), extra_top=40)
    stranger = ItemFactory()
    with django_assert_max_num_queries(5) as few:
        assert selectors.bom_cycle_path(stranger.pk, narrow.pk) is None
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert selectors.bom_cycle_path(stranger.pk, wide.pk) is None


# --- the tree -------------------------------------------------------------------------------
def test_rolled_up_quantities_with_scrap_and_whole_units():
    top = ItemFactory(code="TOP")
    sub = ItemFactory(code="SUB")
    paint = ItemFactory(code="PAINT", kind=Item.Kind.BUY, discrete=False, uom="kg")
    screw = ItemFactory(code="SCREW", kind=Item.Kind.BUY)
    RoutingFactory(item=sub)
    BOMLineFactory(bom=BOMVersionFactory(item=top), child=sub, quantity_per=Decimal("2"),
                   scrap_pct=Decimal("5"))
    sub_bom = BOMVersionFactory(item=sub)
    BOMLineFactory(bom=sub_bom, child=paint, quantity_per=Decimal("0.125"))
    BOMLineFactory(bom=sub_bom, child=screw, quantity_per=Decimal("3"), scrap_pct=Decimal("10"))
    tree = selectors.bom_tree(top, top_quantity=Decimal("10"))
    by_code = {row.item.code: row for row in tree.rows}
    assert [r.item.code for r in tree.rows] == ["TOP", "SUB", "PAINT", "SCREW"]
    assert by_code["SUB"].quantity == 21            # 10 × 2 × 1.05 = 21
    assert by_code["PAINT"].quantity == Decimal("2.625")  # 21 × 0.125, not whole units
    assert by_code["SCREW"].quantity == 70          # 21 × 3 × 1.1 = 69.3 → 70
    assert by_code["SUB"].depth == 1 and by_code["SCREW"].depth == 2
    assert by_code["SUB"].has_routing and not by_code["TOP"].has_routing
    assert tree.line_count == 3 and tree.depth == 2


def test_version_by_date_or_chosen(client_as):
    top = ItemFactory(code="TOP")
    old = BOMVersionFactory(item=top, version="1", effective_from=datetime.date(2020, 1, 1),
                            effective_to=datetime.date(2025, 1, 1))
    new = BOMVersionFactory(item=top, version="2", effective_from=datetime.date(2025, 1, 1))
    BOMLineFactory(bom=old, child=ItemFactory(code="OLD-PART"))
    BOMLineFactory(bom=new, child=ItemFactory(code="NEW-PART"))
    codes = lambda tree: [r.item.code for r in tree.rows]  # noqa: E731
    assert codes(selectors.bom_tree(top, on=datetime.date(2024, 6, 1))) == ["TOP", "OLD-PART"]
    assert codes(selectors.bom_tree(top, on=datetime.date(2026, 6, 1))) == ["TOP", "NEW-PART"]
    assert codes(selectors.bom_tree(top, version=old)) == ["TOP", "OLD-PART"]
    c = client_as("planner")
    page = c.get(reverse("planning:item_bom_tree", args=[top.pk]), {"version": old.pk})
    assert b"OLD-PART" in page.content and b"NEW-PART" not in page.content
    page = c.get(reverse("planning:item_bom_tree", args=[top.pk]), {"on": "2026-06-01"})
    assert b"NEW-PART" in page.content and b"OLD-PART" not in page.content
    for junk in ("²", "99999999999999999999999"):  # no such version: the one in effect
        page = c.get(reverse("planning:item_bom_tree", args=[top.pk]),
                     {"version": junk, "on": "2026-06-01"})
        assert page.status_code == 200 and b"NEW-PART" in page.content


def test_existing_cycle_is_shown_not_followed():
    a, b = chain("A", "B")
    # A bad link written around the checks (an import, an old database): the page survives.
    BOMLine.objects.create(bom=BOMVersionFactory(item=b), child=a, quantity_per=1)
    tree = selectors.bom_tree(a)
    assert [(r.item.code, r.cycle) for r in tree.rows] == [("A", False), ("B", False),
                                                            ("A", True)]


def test_tree_page_nests_branches_and_renders_quantities(client_as):
    top, lines = make_bom_tree((2, 3, 2), extra_top=1)
    c = client_as("planner")
    response = c.get(reverse("planning:item_bom_tree", args=[top.pk]), {"qty": "4"})
    html = response.content.decode()
    assert response.status_code == 200
    # Every opened branch is closed again: the nesting is well formed.
    assert html.count("<details") == html.count("</details>") == 1 + 2 + 2 * 3
    assert html.count('class="tree-row') == lines + 1
    # Top-level rows are visible, deeper branches start collapsed (only the top is open).
    assert len(re.findall(r"<details class=\"tree-node\" open>", html)) == 1
    assert "expand=all" in html
    everything = c.get(reverse("planning:item_bom_tree", args=[top.pk]), {"expand": "all"})
    assert everything.content.decode().count("<details class=\"tree-node\" open>") == 9
    bad = c.get(reverse("planning:item_bom_tree", args=[top.pk]), {"qty": "-1", "on": "x"})
    assert "above zero" in bad.content.decode() and "not a date" in bad.content.decode()


def test_htmx_gets_only_the_tree(client_as):
    top, _lines = make_bom_tree((2, 2), extra_top=0)
    response = client_as("planner").get(reverse("planning:item_bom_tree", args=[top.pk]),
                                        {"qty": "3"}, HTTP_HX_REQUEST="true",
                                        HTTP_HX_TARGET="bom-tree")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="bom-tree"') and "<html" not in html


@pytest.mark.parametrize("role", ["operator"])
def test_tree_refused_without_view_planning(client_as, role):
    top, _lines = make_bom_tree((1,), extra_top=0)
    c = client_as(role)
    assert c.get(reverse("planning:item_bom_tree", args=[top.pk])).status_code == 403
    assert c.get(reverse("planning:item_where_used", args=[top.pk])).status_code == 403


def test_tree_page_queries_do_not_grow_with_the_bom(client_as, django_assert_max_num_queries):
    """Same depth, ten times the lines: the same number of queries."""
    c = client_as("planner")
    small, small_lines = make_bom_tree((2, 2, 2), extra_top=2)
    large, large_lines = make_bom_tree((5, 5, 6), extra_top=20)
    assert (small_lines, large_lines) == (16, 200)
    url = reverse("planning:item_bom_tree", args=[small.pk])
    c.get(url)  # warm the session and permission caches of this client
    with django_assert_max_num_queries(12) as few:
        assert c.get(url).status_code == 200
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = c.get(reverse("planning:item_bom_tree", args=[large.pk]))
    assert response.content.decode().count('class="tree-row') == 201


# --- where used -----------------------------------------------------------------------------
def test_where_used_walks_up_to_the_top_items(client_as, django_assert_max_num_queries):
    a, b, c = chain("A", "B", "C")
    x = ItemFactory(code="X")
    BOMLineFactory(bom=BOMVersionFactory(item=x), child=b)  # B is also used in X
    _root, rows, tops = selectors.where_used(c)
    assert [(r.item.code, r.depth) for r in rows] == [("C", 0), ("B", 1), ("A", 2), ("X", 2)]
    assert [t.code for t in tops] == ["A", "X"]
    client = client_as("planner")
    with django_assert_max_num_queries(14):
        page = client.get(reverse("planning:item_where_used", args=[c.pk]))
    assert page.status_code == 200
    assert page.content.decode().count('class="tree-row') == 4
    item_page = client.get(reverse("planning:item_detail", args=[c.pk])).content.decode()
    assert "B" in item_page and reverse("planning:item_where_used", args=[c.pk]) in item_page
