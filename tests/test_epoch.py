"""Epoch seconds of stored datetimes (dashboards.selectors.expressions): what the boards and KPI
pages compute with and turn back into the times they show."""

import datetime

import pytest
from django.utils import timezone

from dashboards.selectors.expressions import epoch, from_seconds, seconds
from dashboards.selectors.orders import order_progress
from planning.models import ProductionOrder
from tests.factories import ProductionOrderFactory

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

UTC = datetime.UTC


@pytest.mark.parametrize("due", [
    datetime.datetime(2026, 12, 2, 3, 15, tzinfo=UTC),
    datetime.datetime(2026, 12, 2, 3, 15, 59, tzinfo=UTC),
    datetime.datetime(2031, 7, 1, 23, 59, 0, 500000, tzinfo=UTC),
    datetime.datetime(2026, 1, 1, 0, 0, 0, 1000, tzinfo=UTC),
])
def test_a_stored_time_comes_back_as_it_was(due):
    """SQLite reads the stored text through julianday(), a floating-point day count: 03:15 came
    back as 03:14:59.999987, and a page showing minutes showed 03:14. Exact to the millisecond
    (SQLite's own precision) on both databases."""
    order = ProductionOrderFactory(due=due)
    got = ProductionOrder.objects.filter(pk=order.pk).annotate(s=epoch("due")) \
        .values_list("s", flat=True).get()
    assert got == seconds(due)
    assert from_seconds(got) == due


def test_order_progress_shows_the_due_minute_the_order_has(make_user):
    due = (timezone.now() + datetime.timedelta(days=3)).replace(second=0, microsecond=0)
    order = ProductionOrderFactory(due=due)
    rows = {r.id: r for r in order_progress()}
    assert rows[order.pk].due == due
