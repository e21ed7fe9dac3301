import factory
from django.contrib.auth.models import Group

from mes.models import User
from mes.roles import sync_role_groups

PASSWORD = "test-pass-123"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.Sequence(lambda n: f"员工 {n}")
    badge_code = factory.Sequence(lambda n: f"B-{n:05d}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if extracted:
            if Group.objects.filter(name__in=extracted).count() < len(set(extracted)):
                sync_role_groups()  # transactional tests flush the migration-made groups
            self.groups.set([Group.objects.get(name=r) for r in extracted])
        self.save()


# --- Planning ---------------------------------------------------------------------------------
import datetime  # noqa: E402
from decimal import Decimal  # noqa: E402

from django.utils import timezone  # noqa: E402

from planning import models as pm  # noqa: E402


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = pm.Site
        django_get_or_create = ("code",)

    code = "S1"
    name = "一号工厂"
    name_en = "Plant 1"


class WorkshopFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = pm.Workshop

    site = factory.SubFactory(SiteFactory)
    code = factory.Sequence(lambda n: f"WS{n}")
    name = factory.Sequence(lambda n: f"车间{n}")
    name_en = factory.Sequence(lambda n: f"Workshop {n}")


class LineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = pm.Line

    workshop = factory.SubFactory(WorkshopFactory)
    code = factory.Sequence(lambda n: f"L{n}")
    name = factory.Sequence(lambda n: f"产线{n}")
    name_en = factory.Sequence(lambda n: f"Line {n}")


class WorkCenterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = pm.WorkCenter

    line = factory.SubFactory(LineFactory)
    code = factory.Sequence(lambda n: f"WC{n:03d}")
    name = factory.Sequence(lambda n: f"工作中心{n}")
    name_en = factory.Sequence(lambda n: f"Work center {n}")
    machines = 1


class ItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = pm.Item

    code = factory.Sequence(lambda n: f"IT-{n:05d}")
    name = factory.Sequence(lambda n: f"物料{n}")
    name_en = factory.Sequence(lambda n: f"Item {n}")
    kind = pm.Item.Kind.MAKE
    uom = "pcs"


class BOMVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = pm.BOMVersion

    item = factory.SubFactory(ItemFactory)
    version = "1"


class BOMLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = pm.BOMLine

    bom = factory.SubFactory(BOMVersionFactory)
    child = factory.SubFactory(ItemFactory)
    quantity_per = Decimal("1")
    position = factory.Sequence(lambda n: (n + 1) * 10)


class RoutingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = pm.Routing

    item = factory.SubFactory(ItemFactory)
    version = "1"


class RoutingStepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = pm.RoutingStep

    routing = factory.SubFactory(RoutingFactory)
    seq = factory.Sequence(lambda n: (n + 1) * 10)
    name = factory.Sequence(lambda n: f"工序{n}")
    work_center = factory.SubFactory(WorkCenterFactory)
    setup_minutes = Decimal("10")
    run_minutes_per_unit = Decimal("1.5")


class ProductionOrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = pm.ProductionOrder

    number = factory.Sequence(lambda n: f"PO-{n:05d}")
    item = factory.SubFactory(ItemFactory)
    quantity = Decimal("100")
    due = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=7))


def make_product(levels=3, *, steps=2, scrap_pct=Decimal("0"), qty_per=Decimal("2"),
                 buy_per_level=1, work_center=None):
    """A made item whose BOM is `levels` deep: each made item has one made child (until the
    last level) and `buy_per_level` bought components; each made item has `steps` steps."""
    wc = work_center or WorkCenterFactory()
    top = ItemFactory(name="成品", name_en="Product")
    parent = top
    made = [top]
    for level in range(levels):
        bom = BOMVersionFactory(item=parent)
        routing = RoutingFactory(item=parent)
        for _s in range(steps):
            RoutingStepFactory(routing=routing, work_center=wc)
        for _b in range(buy_per_level):
            BOMLineFactory(bom=bom, child=ItemFactory(kind=pm.Item.Kind.BUY),
                           quantity_per=Decimal("3"))
        if level < levels - 1:
            child = ItemFactory()
            BOMLineFactory(bom=bom, child=child, quantity_per=qty_per, scrap_pct=scrap_pct)
            made.append(child)
            parent = child
    return top, made, wc
