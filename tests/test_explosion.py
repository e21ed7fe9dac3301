"""BOM explosion and release: quantities, structure, determinism, query counts, refusals."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from mes.models import AuditEntry, Event
from planning.models import (
    Item,
    MaterialRequirement,
    ProductionOrder,
    Task,
    TaskLink,
    WorkOrder,
)
from planning.services.orders import (
    production_order_create,
    production_order_explode,
    production_order_release,
    production_order_update,
    work_order_cancel,
    work_order_hold,
    work_order_resume,
    work_orders_release,
)
from tests.factories import (
    BOMLineFactory,
    BOMVersionFactory,
    ItemFactory,
    RoutingFactory,
    RoutingStepFactory,
    WorkCenterFactory,
    make_product,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def planner(make_user):
    return make_user("planner")


def order_for(item, planner, qty="10", **kw):
    from django.utils import timezone

    return production_order_create(actor=planner, item=item, quantity=Decimal(qty),
                                   due=timezone.now() + timezone.timedelta(days=5), **kw)


def test_three_level_bom_with_scrap_quantities(planner):
    # 10 × 2 × 1.05 = 21 ; 21 × 2 × 1.05 = 44.1 → 45 (whole units, rounded up)
    top, made, _wc = make_product(3, scrap_pct=Decimal("5"), qty_per=Decimal("2"))
    order = order_for(top, planner)
    result = production_order_explode(actor=planner, order=order)
    assert (result.work_orders, result.levels) == (3, 3)
    wos = list(WorkOrder.objects.filter(production_order=order).order_by("level"))
    assert [wo.quantity for wo in wos] == [Decimal("10"), Decimal("21"), Decimal("45")]
    assert [wo.item_id for wo in wos] == [m.id for m in made]
    assert wos[1].parent == wos[0] and wos[2].parent == wos[1]
    # bought components: 3 per unit of each made item, no scrap
    mats = {m.work_order_id: m.quantity for m in MaterialRequirement.objects.all()}
    assert mats == {wos[0].id: Decimal("30"), wos[1].id: Decimal("63"),
                    wos[2].id: Decimal("135")}
    # two steps per work order, chained, and each child's last step feeds the parent's first
    assert Task.objects.count() == 6
    links = set(TaskLink.objects.values_list("predecessor__work_order__level",
                                             "predecessor__seq", "successor__work_order__level",
                                             "successor__seq"))
    seqs = {lvl: sorted(Task.objects.filter(work_order=wos[lvl]).values_list("seq", flat=True))
            for lvl in range(3)}
    for lvl in range(3):
        assert (lvl, seqs[lvl][0], lvl, seqs[lvl][1]) in links
    assert (2, seqs[2][1], 1, seqs[1][0]) in links and (1, seqs[1][1], 0, seqs[0][0]) in links
    assert len(links) == 5
    order.refresh_from_db()
    assert order.status == ProductionOrder.Status.PLANNED
    assert AuditEntry.objects.filter(object_id=str(order.pk), action="transition").exists()


def test_fractional_item_not_rounded_and_consumed_step_respected(planner):
    wc = WorkCenterFactory()
    top = ItemFactory()
    paint = ItemFactory(discrete=False, uom="kg")
    sub = ItemFactory()
    bom = BOMVersionFactory(item=top)
    BOMLineFactory(bom=bom, child=sub, quantity_per=Decimal("1"), operation_seq=20)
    sub_bom = BOMVersionFactory(item=sub)
    BOMLineFactory(bom=sub_bom, child=paint, quantity_per=Decimal("0.333"),
                   scrap_pct=Decimal("10"))
    paint_route = RoutingFactory(item=paint)
    RoutingStepFactory(routing=paint_route, seq=10, work_center=wc)
    for item in (top, sub):
        r = RoutingFactory(item=item)
        RoutingStepFactory(routing=r, seq=10, work_center=wc)
        RoutingStepFactory(routing=r, seq=20, work_center=wc)
    order = order_for(top, planner, qty="7")
    production_order_explode(actor=planner, order=order)
    paint_wo = WorkOrder.objects.get(production_order=order, item=paint)
    assert paint_wo.quantity == Decimal("2.5641")  # 7 × 0.333 × 1.1 = 2.5641 (ceil at 4 dp)
    sub_last = Task.objects.get(work_order__item=sub, seq=20)
    assert TaskLink.objects.filter(predecessor=sub_last, successor__work_order__item=top,
                                   successor__seq=20).exists()


def test_reexplode_replaces_draft_and_is_deterministic(planner):
    top, _made, _wc = make_product(3)
    order = order_for(top, planner)
    production_order_explode(actor=planner, order=order)

    def shape():
        return sorted(WorkOrder.objects.filter(production_order=order)
                      .values_list("number", "level", "item_id", "quantity", "parent__number"))

    first = shape()
    production_order_explode(actor=planner, order=order)
    assert shape() == first
    assert WorkOrder.objects.filter(production_order=order).count() == 3


def test_explosion_queries_grow_with_depth_not_lines(planner, django_assert_max_num_queries):
    def build(width):
        wc = WorkCenterFactory()
        top = ItemFactory()
        RoutingStepFactory(routing=RoutingFactory(item=top), work_center=wc)
        parents = [top]
        for _level in range(3):
            children = []
            for parent in parents[:2]:
                bom = BOMVersionFactory(item=parent)
                for _ in range(width):
                    child = ItemFactory()
                    BOMLineFactory(bom=bom, child=child)
                    children.append(child)
                    BOMLineFactory(bom=bom, child=ItemFactory(kind=Item.Kind.BUY))
            for c in children:
                RoutingStepFactory(routing=RoutingFactory(item=c), work_center=wc)
            parents = children
        return order_for(top, planner)

    small, big = build(2), build(8)
    with django_assert_max_num_queries(60) as q_small:
        production_order_explode(actor=planner, order=small)
    with django_assert_max_num_queries(60) as q_big:
        production_order_explode(actor=planner, order=big)

    def reads(ctx):  # bulk inserts split into batches by the backend's parameter limit
        return [q["sql"].split()[0] for q in ctx.captured_queries
                if not q["sql"].startswith("INSERT")]

    assert reads(q_big) == reads(q_small)
    assert WorkOrder.objects.filter(production_order=big).count() > \
        3 * WorkOrder.objects.filter(production_order=small).count()


def test_cycle_at_depth_three_is_refused_naming_it(planner):
    top, made, _wc = make_product(3)
    bom = BOMVersionFactory(item=made[2], version="2")
    made[2].bom_versions.exclude(pk=bom.pk).update(active=False)
    BOMLineFactory(bom=bom, child=top)
    order = order_for(top, planner)
    with pytest.raises(ValidationError) as exc:
        production_order_explode(actor=planner, order=order)
    assert " → ".join([top.code, made[1].code, made[2].code, top.code]) in str(exc.value)
    assert not WorkOrder.objects.exists()


def test_order_validation_names_fields(planner):
    top, _made, _wc = make_product(1)
    bought = ItemFactory(kind=Item.Kind.BUY)
    no_routing = ItemFactory()
    for item, qty, field in [(top, "0", "quantity"), (top, "-3", "quantity"),
                             (top, "1.5", "quantity"), (bought, "1", "item"),
                             (no_routing, "1", "item")]:
        with pytest.raises(ValidationError) as exc:
            order_for(item, planner, qty=qty)
        assert field in exc.value.message_dict
    assert not ProductionOrder.objects.exists()


def test_release_whole_order_then_hold_resume_cancel(planner):
    top, _made, wc = make_product(2)
    order = order_for(top, planner)
    production_order_explode(actor=planner, order=order)
    result = production_order_release(actor=planner, order=order)
    assert len(result.released) == 2 and not result.refused
    assert set(Task.objects.values_list("status", flat=True)) == {"released"}
    assert Event.objects.filter(topic=f"wc:{wc.id}", kind="tasks.released").exists()
    assert AuditEntry.objects.filter(action="transition", content_type__model="workorder") \
        .count() == 2
    with pytest.raises(ValidationError):
        production_order_explode(actor=planner, order=order)
    wo = WorkOrder.objects.get(production_order=order, level=0)
    with pytest.raises(ValidationError):
        work_order_hold(actor=planner, work_order=wo, reason="")
    work_order_hold(actor=planner, work_order=wo, reason="material shortage")
    assert set(wo.tasks.values_list("status", flat=True)) == {"on_hold"}
    wo = work_order_resume(actor=planner, work_order=wo, reason="material arrived")
    assert wo.status == "released"
    assert set(wo.tasks.values_list("status", flat=True)) == {"released"}
    work_order_cancel(actor=planner, work_order=wo, reason="customer cancelled")
    assert set(wo.tasks.values_list("status", flat=True)) == {"cancelled"}
    # Each task has its own entries for the hold, the resume and the cancel, with the reasons.
    for task in wo.tasks.all():
        entries = AuditEntry.objects.filter(content_type__model="task", object_id=str(task.pk),
                                            action="transition").order_by("pk")
        assert [(e.before["status"], e.after["status"], e.reason, e.actor_id)
                for e in entries][-3:] == [
            ("released", "on_hold", "material shortage", planner.pk),
            ("on_hold", "released", "material arrived", planner.pk),
            ("released", "cancelled", "customer cancelled", planner.pk)]
        assert wo.number in entries.last().object_repr
    with pytest.raises(ValidationError):
        work_order_resume(actor=planner, work_order=wo, reason="oops")
    with pytest.raises(ValidationError):
        production_order_update(actor=planner, order=order, quantity=Decimal("5"))


def test_release_refuses_with_reasons(planner):
    top, made, wc = make_product(2)
    order = order_for(top, planner)
    production_order_explode(actor=planner, order=order)
    wc.active = False
    wc.save()
    result = production_order_release(actor=planner, order=order)
    assert not result.released
    assert all(any(wc.code in r for r in reasons) for _wo, reasons in result.refused)
    assert set(WorkOrder.objects.values_list("status", flat=True)) == {"draft"}


def test_update_of_planned_order_re_explodes(planner):
    top, _made, _wc = make_product(2)
    order = order_for(top, planner)
    production_order_explode(actor=planner, order=order)
    production_order_update(actor=planner, order=order, quantity=Decimal("20"),
                            reason="customer wants more")
    assert WorkOrder.objects.get(production_order=order, level=0).quantity == Decimal("20")
    entry = AuditEntry.objects.filter(object_id=str(order.pk), action="update").get()
    assert entry.changed_fields == ["quantity"] and entry.reason == "customer wants more"


def test_bulk_release_a_selection(planner):
    top, _made, _wc = make_product(3)
    order = order_for(top, planner)
    production_order_explode(actor=planner, order=order)
    leaf = WorkOrder.objects.get(production_order=order, level=2)
    result = work_orders_release(actor=planner, work_orders=[leaf])
    assert result.released == [leaf]
    again = work_orders_release(actor=planner, work_orders=[leaf.pk])
    assert not again.released and "draft" in again.refused[0][1][0]


def test_next_order_number_skips_a_typed_number_that_is_no_sequence(planner):
    from django.utils import timezone

    top, *_ = make_product(1)
    odd = f"PO{timezone.localdate():%Y%m%d}-²"  # "²" is a digit to str.isdigit()
    order_for(top, planner, number=odd)
    assert order_for(top, planner).number == odd.replace("²", "0001")
