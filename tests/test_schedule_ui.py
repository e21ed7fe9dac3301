"""The planners' scheduling pages through the Django test client: runs and versions, the
difference, apply and discard, rush orders and order changes, pins, Gantt SVG, permissions,
bad input, polling and query counts."""

import datetime
import re
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from mes.models import AuditEntry, Event
from planning import gantt
from planning.models import (
    ProductionOrder,
    ScheduleVersion,
    ShiftCalendar,
    Task,
    TaskLink,
    WorkCenter,
    WorkOrder,
)
from planning.services.schedule import schedule_request
from tests.factories import WorkCenterFactory
from tests.factories_schedule import (
    applied,
    bulk_version,
    computed,
    day_shift_calendar,
    released_orders,
)

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
HX = {**EN, "HTTP_HX_REQUEST": "true"}


def url(name, *args):
    return reverse(f"planning:{name}", args=args)


def local_input(dt) -> str:
    return timezone.localtime(dt).strftime("%Y-%m-%dT%H:%M")


def bar_ids(html: str) -> list[int]:
    return [int(m) for m in re.findall(r'<a href="[^"]*" class="bar[^"]*" data-task="(\d+)"',
                                       html)]


@pytest.fixture
def planner(client_as):
    return client_as("planner")


def run_view(client, django_capture_on_commit_callbacks, **data):
    """POST the run form; the eager Celery task computes the version on commit."""
    data = {"reason": "new orders", "time_limit": "1", "frozen_minutes": "120", **data}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("schedule_run"), data, **EN)
    return response


# --- Pages and permissions ------------------------------------------------------------------
def test_pages_render_for_planner(planner):
    orders, _wc = released_orders(1)
    version = applied(planner.user)
    task = Task.objects.filter(work_order__production_order=orders[0]).first()
    for target in (url("schedule"), url("schedule_gantt"), url("schedule_rush"),
                   url("schedule_version", version.pk), url("schedule_task", task.pk),
                   url("order_change", orders[0].pk),
                   url("schedule_gantt") + f"?view=order&order={orders[0].number}"):
        response = planner.get(target, **EN)
        assert response.status_code == 200, target
    page = planner.get(url("schedule"), **EN).content.decode()
    assert 'data-testid="run-form"' in page and "Insert a rush order" in page
    assert 'href="/planning/schedule/"' in planner.get("/", **EN).content.decode()  # nav item


def test_manager_views_but_cannot_run_or_apply(client_as):
    planner_user = client_as("planner").user
    orders, _wc = released_orders(1, planner=planner_user)
    version = computed(planner_user)
    task = Task.objects.filter(work_order__production_order=orders[0]).first()
    manager = client_as("manager")
    assert manager.get(url("schedule"), **EN).status_code == 200
    assert 'data-testid="run-form"' not in manager.get(url("schedule"), **EN).content.decode()
    page = manager.get(url("schedule_version", version.pk), **EN).content.decode()
    assert "Only planners apply or discard" in page
    assert manager.get(url("schedule_gantt"), **EN).status_code == 200
    assert manager.get(url("schedule_task", task.pk), **EN).status_code == 200
    for target, data in ((url("schedule_run"), {"reason": "x"}),
                         (url("schedule_version_apply", version.pk), {}),
                         (url("schedule_version_discard", version.pk), {"discard-reason": "x"}),
                         (url("schedule_task_pin", task.pk), {"pin-reason": "x"}),
                         (url("schedule_task_unpin", task.pk), {"unpin-reason": "x"}),
                         (url("schedule_rush"), {}),
                         (url("order_change", orders[0].pk), {})):
        assert manager.post(target, data, **EN).status_code == 403, target
    assert manager.get(url("schedule_rush"), **EN).status_code == 403
    assert manager.get(url("order_change", orders[0].pk), **EN).status_code == 403
    version.refresh_from_db()
    assert version.status == "ready"


def test_operator_gets_403(client_as):
    planner_user = client_as("planner").user
    released_orders(1, planner=planner_user)
    version = computed(planner_user)
    operator = client_as("operator")
    task = Task.objects.first()
    for target in (url("schedule"), url("schedule_gantt"), url("schedule_version", version.pk),
                   url("schedule_version_card", version.pk), url("schedule_task", task.pk),
                   url("schedule_rush")):
        assert operator.get(target, **EN).status_code == 403, target


# --- Run, poll, review, apply, discard ------------------------------------------------------
def test_run_review_and_apply(planner, django_capture_on_commit_callbacks):
    orders, wc = released_orders(2, steps=3)
    response = run_view(planner, django_capture_on_commit_callbacks)
    version = ScheduleVersion.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("schedule_version", version.pk)
    assert version.status == "ready", version.error
    page = planner.get(url("schedule_version", version.pk), **EN).content.decode()
    assert 'data-testid="count-moved"><b>6</b>' in page
    assert page.count('<tr data-task="') == 6  # each moved task listed: not planned → new start
    assert "not planned" in page and wc.code in page
    assert len(bar_ids(page)) == 6  # the Gantt preview
    assert 'data-testid="apply"' in page and 'data-testid="discard"' in page
    response = planner.post(url("schedule_version_apply", version.pk),
                            {"apply-reason": "looks good"}, **EN)
    assert response.status_code == 302
    version.refresh_from_db()
    assert version.status == "applied" and version.applied_by == planner.user
    tasks = Task.objects.filter(work_order__production_order__in=orders)
    assert all(t.planned_start and t.planned_end for t in tasks)
    assert Event.objects.filter(topic=f"wc:{wc.pk}", kind="schedule.changed").exists()
    page = planner.get(url("schedule"), **EN).content.decode()
    current = page.split('data-testid="current-schedule"')[1].split("</section>")[0]
    assert f"S{version.pk}" in current and "current" in current
    # Applying twice says why not, and changes nothing.
    response = planner.post(url("schedule_version_apply", version.pk), {}, follow=True, **EN)
    assert "only a ready schedule can be applied" in response.content.decode()


def test_run_needs_a_reason_and_a_sane_time_limit(planner, django_capture_on_commit_callbacks):
    released_orders(1)
    response = run_view(planner, django_capture_on_commit_callbacks, reason=" ",
                        time_limit="900")
    assert response.status_code == 422
    page = response.content.decode()
    assert re.search(r'data-field="reason">[^<]*required', page)
    assert 'data-field="time_limit"' in page
    assert not ScheduleVersion.objects.exists()


def test_running_version_polls_then_stops_with_286(planner):
    released_orders(1)
    version = schedule_request(actor=planner.user, reason="poll me", time_limit=1)  # no worker
    ScheduleVersion.objects.filter(pk=version.pk).update(progress=0.4,
                                                         message="cp-sat: 120")
    card = planner.get(url("schedule_version_card", version.pk), **HX)
    html = card.content.decode()
    assert card.status_code == 200
    assert 'hx-trigger="every 1s"' in html and "40 %" in html and "cp-sat: 120" in html
    body = planner.get(url("schedule_version", version.pk), HTTP_HX_TARGET="version-body", **HX)
    assert body.status_code == 200 and 'hx-trigger="every 1s"' in body.content.decode()
    index = planner.get(url("schedule"), **EN).content.decode()
    assert f'hx-get="{url("schedule_version_card", version.pk)}"' in index
    from planning.services.schedule import schedule_compute

    schedule_compute(version.pk)
    card = planner.get(url("schedule_version_card", version.pk), **HX)
    assert card.status_code == 286
    assert "every 1s" not in card.content.decode()
    assert "ready to apply" in card.content.decode()
    body = planner.get(url("schedule_version", version.pk), HTTP_HX_TARGET="version-body", **HX)
    assert body.status_code == 286 and 'data-testid="diff"' in body.content.decode()


def test_a_run_after_work_slipped_still_succeeds(planner):
    """The first steps were planned at the last run's origin and have not started a minute
    later; their successors inside the frozen horizon must not make the run impossible."""
    from unittest import mock

    released_orders(2, steps=2)
    applied(planner.user)
    later = timezone.now() + datetime.timedelta(seconds=61)
    with mock.patch("django.utils.timezone.now", return_value=later):
        version = computed(planner.user)
    assert version.status == "ready", version.error


def test_discard_needs_a_reason(planner):
    released_orders(1)
    version = computed(planner.user)
    response = planner.post(url("schedule_version_discard", version.pk), {"discard-reason": ""},
                            **EN)
    assert response.status_code == 422
    assert 'data-field="reason"' in response.content.decode()
    version.refresh_from_db()
    assert version.status == "ready"
    planner.post(url("schedule_version_discard", version.pk),
                 {"discard-reason": "wrong input"}, **EN)
    version.refresh_from_db()
    assert version.status == "discarded"
    assert AuditEntry.objects.filter(object_id=str(version.pk), reason="wrong input").exists()
    assert not Task.objects.exclude(planned_start=None).exists()


def test_failed_version_names_tasks_and_keeps_current(planner):
    orders, wc = released_orders(1, steps=1)
    applied(planner.user)
    task = Task.objects.get(work_order__production_order=orders[0])
    before = task.planned_start
    wc.calendar = ShiftCalendar.objects.create(code="EMPTY", name="无班次")
    wc.save()
    version = computed(planner.user)
    assert version.status == "failed"
    page = planner.get(url("schedule_version", version.pk), **EN).content.decode()
    assert 'data-testid="version-error"' in page
    assert "The current schedule is unchanged." in page
    assert orders[0].work_orders.get().number in page  # the offending task is named
    assert 'data-testid="apply"' not in page
    index = planner.get(url("schedule"), **EN).content.decode()
    assert "The current schedule is unchanged." in index
    task.refresh_from_db()
    assert task.planned_start == before


# --- Rush orders and order changes ----------------------------------------------------------
def rush_data(product, **kw):
    due = timezone.now() + datetime.timedelta(hours=6)
    return {"item": product.code, "quantity": "3", "due": local_input(due), "priority": "3",
            "customer": "VIP", "reason": "customer line down", "time_limit": "1", **kw}


def test_rush_order_preview_then_apply(planner, django_capture_on_commit_callbacks):
    orders, wc = released_orders(2, steps=2, qty="20")
    applied(planner.user)
    form = planner.get(url("schedule_rush"), **EN).content.decode()
    assert '<option value="3" selected>' in form  # urgent by default
    with django_capture_on_commit_callbacks(execute=True):
        response = planner.post(url("schedule_rush"), rush_data(orders[0].item), **EN)
    assert response.status_code == 302
    version = ScheduleVersion.objects.get(rush_order__isnull=False)
    rush = version.rush_order
    assert version.status == "ready" and rush.status == "planned"
    page = planner.get(response["Location"], **EN).content.decode()
    assert 'data-testid="rush-order"' in page and rush.number in page
    assert "Applying releases the rush order" in page
    assert 'data-testid="affected"' in page and f'data-wc="{wc.code}"' in page
    planner.post(url("schedule_version_apply", version.pk), {}, **EN)
    rush.refresh_from_db()
    assert set(rush.work_orders.values_list("status", flat=True)) == {"released"}
    assert Event.objects.filter(topic=f"wc:{wc.pk}", kind="tasks.released").exists()
    assert all(t.planned_start for t in Task.objects.filter(work_order__production_order=rush))


def test_rush_order_discard_cancels_it(planner, django_capture_on_commit_callbacks):
    orders, _wc = released_orders(1)
    with django_capture_on_commit_callbacks(execute=True):
        planner.post(url("schedule_rush"), rush_data(orders[0].item), **EN)
    version = ScheduleVersion.objects.get()
    planner.post(url("schedule_version_discard", version.pk),
                 {"discard-reason": "customer withdrew"}, **EN)
    version.rush_order.refresh_from_db()
    assert version.rush_order.status == "cancelled"


def test_rush_order_bad_input_names_the_fields(planner):
    orders, _wc = released_orders(1)
    response = planner.post(url("schedule_rush"), rush_data(orders[0].item, item="NOPE",
                                                            reason="", quantity="-1"), **EN)
    assert response.status_code == 422
    page = response.content.decode()
    for name in ("item", "reason", "quantity"):
        assert f'data-field="{name}"' in page, name
    assert "No item has this code." in page
    assert ProductionOrder.objects.count() == 1 and not ScheduleVersion.objects.exists()


def test_order_change_preview_then_apply(planner, django_capture_on_commit_callbacks):
    orders, _wc = released_orders(1, qty="10")
    order = orders[0]
    page = planner.get(url("order_change", order.pk), **EN).content.decode()
    assert 'name="quantity" value="10' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = planner.post(url("order_change", order.pk), {
            "quantity": "15", "due": local_input(order.due), "priority": str(order.priority),
            "reason": "customer wants more", "time_limit": "1"}, **EN)
    assert response.status_code == 302
    version = ScheduleVersion.objects.get()
    assert version.pending_changes[0]["quantity"] == "15" and "due" not in \
        version.pending_changes[0]  # only what differs
    page = planner.get(response["Location"], **EN).content.decode()
    assert 'data-testid="pending-changes"' in page and order.number in page
    order.refresh_from_db()
    assert order.quantity == 10  # nothing before apply
    planner.post(url("schedule_version_apply", version.pk), {}, **EN)
    order.refresh_from_db()
    assert order.quantity == 15


def test_order_change_refuses_nothing_and_unreleased(planner):
    orders, _wc = released_orders(1, qty="10")
    order = orders[0]
    response = planner.post(url("order_change", order.pk), {
        "quantity": "10", "reason": "no-op", "time_limit": "1"}, **EN)
    assert response.status_code == 422 and "Nothing to change" in response.content.decode()
    draft = ProductionOrder.objects.create(number="PO-DRAFT", item=order.item, quantity=1,
                                           due=order.due)
    response = planner.get(url("order_change", draft.pk), follow=True, **EN)
    assert "only a released order" in response.content.decode()


# --- Pins -----------------------------------------------------------------------------------
def test_pin_and_unpin_through_the_panel(planner):
    orders, wc = released_orders(1, steps=2)
    task = Task.objects.filter(work_order__production_order=orders[0]).order_by("seq").first()
    pin = (timezone.now() + datetime.timedelta(hours=5)).replace(second=0, microsecond=0)
    panel = planner.get(url("schedule_task", task.pk), **HX).content.decode()
    assert 'data-testid="pin-form"' in panel and "<html" not in panel
    response = planner.post(url("schedule_task_pin", task.pk), {
        "pin-start": local_input(pin), "pin-reason": "tooling arrives then"}, **HX)
    assert response.status_code == 200 and response["HX-Trigger"] == "gantt-changed"
    assert "Pinned." in response.content.decode()
    task.refresh_from_db()
    assert task.pinned_start == pin and task.pinned_work_center is None
    assert AuditEntry.objects.filter(object_id=str(task.pk),
                                     reason="tooling arrives then").exists()
    version = computed(planner.user)
    assert version.entries.get(task=task).start == pin  # the scheduler honours the pin
    chart = planner.get(url("schedule_gantt") + f"?version={version.pk}", **EN).content.decode()
    assert re.search(rf'class="bar[^"]* pinned[^"]*" data-task="{task.pk}"', chart)
    response = planner.post(url("schedule_task_unpin", task.pk), {"unpin-reason": "not needed"},
                            **EN)
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.pinned_start is None


def test_pin_to_another_work_center_moves_the_task_when_applied(planner):
    orders, wc = released_orders(1, steps=2)
    task = Task.objects.filter(work_order__production_order=orders[0]).order_by("seq").first()
    spare = WorkCenterFactory(line=wc.line)
    planner.post(url("schedule_task_pin", task.pk), {"pin-work_center": spare.pk,
                                                     "pin-reason": "main machine serviced"}, **HX)
    version = computed(planner.user)
    assert version.entries.get(task=task).work_center == spare
    page = planner.get(url("schedule_version", version.pk), **EN).content.decode()
    assert 'data-testid="wc-changed"' in page and spare.code in page
    planner.post(url("schedule_version_apply", version.pk), {}, **EN)
    task.refresh_from_db()
    assert task.work_center == spare and task.planned_start is not None


def test_a_version_discarded_while_computing_stays_discarded(planner):
    from planning.scheduling import schedule
    from planning.services.schedule import _store, build_problem

    released_orders(1)
    version = schedule_request(actor=planner.user, reason="slow", time_limit=1)
    running = ScheduleVersion.objects.get(pk=version.pk)  # what the worker read at its start
    response = planner.post(url("schedule_version_discard", version.pk),
                            {"discard-reason": "taking too long"}, **EN)
    assert response.status_code == 302
    problem, tasks = build_problem(running)
    _store(running, schedule(problem, time_limit=1), tasks)  # the worker finishes after it
    version.refresh_from_db()
    assert version.status == "discarded"


def test_bad_pins_are_refused_clearly(planner):
    orders, wc = released_orders(1, steps=2)
    tasks = list(Task.objects.filter(work_order__production_order=orders[0]).order_by("seq"))
    idle = WorkCenterFactory(active=False)
    cases = [
        ({"pin-work_center": idle.pk, "pin-reason": "x"}, "is not active"),
        ({"pin-start": local_input(timezone.now() - datetime.timedelta(hours=3)),
          "pin-reason": "x"}, "in the past"),
        ({"pin-start": local_input(timezone.now() + datetime.timedelta(hours=3))},
         "This field is required"),
        ({"pin-reason": "x"}, "Give a start, a work center or both."),
    ]
    for data, message in cases:
        response = planner.post(url("schedule_task_pin", tasks[0].pk), data, **HX)
        assert message in response.content.decode(), message
    wc.calendar = day_shift_calendar()
    wc.save()
    sunday = timezone.localtime() + datetime.timedelta(days=7)
    sunday = (sunday - datetime.timedelta(days=(sunday.weekday() - 6) % 7)).replace(hour=10)
    response = planner.post(url("schedule_task_pin", tasks[0].pk), {
        "pin-start": local_input(sunday), "pin-reason": "x"}, **HX)
    assert "outside the working time" in response.content.decode()
    Task.objects.filter(pk=tasks[1].pk).update(status=Task.Status.IN_PROGRESS)
    response = planner.post(url("schedule_task_pin", tasks[1].pk), {
        "pin-work_center": wc.pk, "pin-reason": "x"}, **HX)
    assert "only a task that has not started" in response.content.decode()
    assert not Task.objects.exclude(pinned_start=None, pinned_work_center=None).exists()


# --- Gantt ----------------------------------------------------------------------------------
def test_gantt_by_work_center_marks_now_frozen_late_and_time_off(planner):
    orders, wc = released_orders(2, steps=3, qty="40", due_days=0)  # due now: will be late
    wc.calendar = day_shift_calendar()
    wc.save()
    other_orders, other = released_orders(1, steps=2, qty="2", due_days=20)
    applied(planner.user)
    tasks = Task.objects.all()
    response = planner.get(url("schedule_gantt") + "?scale=week", **EN)
    html = response.content.decode()
    assert sorted(bar_ids(html)) == sorted(t.pk for t in tasks)  # one bar per task
    assert 'data-testid="gantt-now"' in html and 'data-testid="gantt-frozen"' in html
    late = {int(i) for i in re.findall(r'class="bar[^"]* late[^"]*" data-task="(\d+)"', html)}
    late_expected = {t.pk for t in tasks if t.planned_end > t.work_order.due}
    assert late == late_expected and late  # the orders due now are late, the others not
    assert f'<path id="gantt-off-{wc.calendar_id}"' in html  # nights and Sundays shaded
    assert html.count('class="off"') == 1  # only the row that has a calendar
    # Filter to one work center: only its bars.
    partial = planner.get(url("schedule_gantt") + f"?scale=week&work_center={other.pk}",
                          HTTP_HX_TARGET="gantt", **HX).content.decode()
    assert "<html" not in partial and partial.startswith('<div id="gantt"')
    assert sorted(bar_ids(partial)) == sorted(
        Task.objects.filter(work_center=other).values_list("pk", flat=True))
    for scale in gantt.SCALES:
        page = planner.get(url("schedule_gantt") + f"?scale={scale}", **EN)
        assert page.status_code == 200 and 'data-testid="gantt-svg"' in page.content.decode()


def test_gantt_by_production_order_draws_dependencies(planner):
    orders, _wc = released_orders(1, steps=2, levels=3)
    applied(planner.user)
    order = orders[0]
    html = planner.get(url("schedule_gantt") + f"?view=order&order={order.number}",
                       **EN).content.decode()
    tasks = Task.objects.filter(work_order__production_order=order)
    assert sorted(bar_ids(html)) == sorted(t.pk for t in tasks)
    links = TaskLink.objects.filter(predecessor__in=tasks, successor__in=tasks)
    assert links.exists()
    assert html.count('class="link"') == links.count()
    for wo in WorkOrder.objects.filter(production_order=order):
        assert f">{wo.number}</text>" in html
    bad = planner.get(url("schedule_gantt") + "?view=order&order=NOPE", **EN).content.decode()
    assert "No production order has this number." in bad
    assert 'data-testid="gantt-choose-order"' in bad


@pytest.mark.parametrize("start", ["9999-12-31T00:00", "0001-01-01T00:00", "2201-01-01T00:00"])
def test_gantt_from_a_date_out_of_range_is_a_field_error(planner, start):
    for scale in ("", *gantt.SCALES):
        page = planner.get(url("schedule_gantt"), {"start": start, "scale": scale}, **EN)
        html = page.content.decode()
        assert page.status_code == 200 and 'data-testid="gantt-svg"' in html  # from today
        assert page.context["gantt_form"].errors["start"] == [
            "Give a date between 1970 and 2200."]
        assert 'data-field="start"' in html


def test_task_panel_full_page_without_javascript(planner):
    orders, _wc = released_orders(1, steps=1)
    applied(planner.user)
    task = Task.objects.get()
    chart = planner.get(url("schedule_gantt"), **EN).content.decode()
    href = re.search(rf'<a href="([^"]+)" class="bar[^"]*" data-task="{task.pk}"', chart)[1]
    page = planner.get(href, **EN).content.decode()
    assert "<html" in page and 'data-testid="task-panel"' in page
    assert orders[0].number in page and task.name in page


def test_render_1000_bars_is_fast():
    now = timezone.now()
    rows = [gantt.Row(key=i, label=f"WC{i}", lanes=2, calendar="c") for i in range(30)]
    bars = [gantt.Bar(task_id=n, row=n % 30, start=now + datetime.timedelta(minutes=37 * n),
                      end=now + datetime.timedelta(minutes=37 * n + 90), label=f"W{n}/10",
                      title="t", href=f"/t/{n}/", late=n % 7 == 0) for n in range(1000)]
    start, end = gantt.window(gantt.SCALES["day"], None, now)
    off = gantt.gaps([(start + datetime.timedelta(hours=h), start + datetime.timedelta(
        hours=h + 9)) for h in range(8, 56 * 24, 24)], start, end)
    chart = gantt.Chart(rows=rows, bars=bars, start=start, end=end, scale=gantt.SCALES["day"],
                        now=now, frozen=(now, now + datetime.timedelta(hours=2)),
                        off={"c": off})
    began = time.perf_counter()
    svg = gantt.render_svg(chart)
    assert time.perf_counter() - began < 1.0  # typically ~20 ms
    assert len(bar_ids(svg)) == 1000


def test_gantt_page_of_1000_tasks(planner):
    small, _order = bulk_version(tasks=16, work_centers=2)
    version, order = bulk_version(tasks=1000)
    target = url("schedule_gantt") + "?scale=week&version="
    counts = [_queries(planner, target + str(v.pk)) for v in (small, version)]
    assert counts[0] == counts[1]
    began = time.perf_counter()
    html = planner.get(target + str(version.pk), **EN).content.decode()
    elapsed = time.perf_counter() - began
    assert len(bar_ids(html)) == 1000
    print(f"gantt page, 1000 tasks: {elapsed * 1000:.0f} ms, {counts[1]} queries")
    html = planner.get(url("schedule_gantt") + f"?scale=week&view=order&order={order.number}"
                       f"&version={version.pk}", **EN).content.decode()
    assert len(bar_ids(html)) == 1000 and html.count('class="link"') == 1000 - 125


# --- Query counts: fixed whatever the size --------------------------------------------------
def _queries(client, target, **headers):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(target, **EN, **headers)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _measure(planner, version):
    order = ProductionOrder.objects.order_by("pk").first()
    task = Task.objects.order_by("pk").first()
    return {
        "index": _queries(planner, url("schedule")),
        "version": _queries(planner, url("schedule_version", version.pk)),
        "gantt": _queries(planner, url("schedule_gantt")),
        "gantt_order": _queries(planner, url("schedule_gantt") +
                                f"?view=order&order={order.number}"),
        "gantt_version": _queries(planner, url("schedule_gantt") + f"?version={version.pk}",
                                  HTTP_HX_REQUEST="true", HTTP_HX_TARGET="gantt"),
        "task": _queries(planner, url("schedule_task", task.pk), HTTP_HX_REQUEST="true"),
    }


def test_query_counts_do_not_grow_with_the_plant(planner, django_assert_max_num_queries):
    calendar = day_shift_calendar()
    released_orders(1, steps=2, levels=2, work_center=WorkCenterFactory(calendar=calendar))
    applied(planner.user)
    small = _measure(planner, computed(planner.user))
    wc2 = WorkCenterFactory(calendar=day_shift_calendar("DAY2"))
    released_orders(4, steps=3, levels=2, work_center=WorkCenterFactory(calendar=calendar))
    released_orders(2, steps=2)  # a work center without calendar: around the clock
    released_orders(3, steps=2, work_center=wc2)
    WorkCenter.objects.filter(pk=wc2.pk).update(machines=3)
    applied(planner.user)
    big_version = computed(planner.user, reason="bigger")
    for _i in range(3):  # more history on the schedule page (still computing)
        schedule_request(actor=planner.user, reason="again", time_limit=1)
    assert Task.objects.count() > 5 * 4
    big = _measure(planner, big_version)
    assert big == small
    with django_assert_max_num_queries(16):
        planner.get(url("schedule_gantt"), **EN)


def test_a_version_computed_before_another_was_applied_offers_no_apply(planner):
    """A planner came back to a run they had not applied, still "ready to apply" with its
    Apply button, after a later run was applied: the button only answered "Another schedule
    was applied after this one was computed; run it again." The page says so at once and
    offers Discard only."""
    released_orders(1)
    old = computed(planner.user, reason="first try")
    assert old.status == "ready", old.error
    applied(planner.user, reason="second try")
    stale = "Another schedule was applied after this one was computed; run it again."
    page = planner.get(url("schedule_version", old.pk), **EN).content.decode()
    assert stale in page
    assert 'data-testid="apply"' not in page and 'data-testid="discard"' in page
    index = planner.get(url("schedule"), **EN).content.decode()
    card = index.split(f'id="version-card-{old.pk}"')[1].split("</article>")[0]
    assert stale in card and 'data-testid="review"' not in card


def test_no_computing_message_stays_above_the_finished_result(planner):
    """"Schedule S65 is being computed." (a flash message, outside the body the page swaps
    while it polls) stayed above the finished result. The body alone says it computes."""
    from planning.services.schedule import schedule_compute

    released_orders(1)
    response = planner.post(url("schedule_run"), {"reason": "new orders", "time_limit": "1",
                                                  "frozen_minutes": "120"}, **EN)
    assert response.status_code == 302  # no worker: it is still computing
    version = ScheduleVersion.objects.get()
    page = planner.get(response["Location"], **EN).content.decode()
    assert 'data-testid="version-progress"' in page and 'hx-trigger="every 1s"' in page
    assert "being computed" not in page and 'class="messages"' not in page
    schedule_compute(version.pk)
    body = planner.get(url("schedule_version", version.pk), HTTP_HX_TARGET="version-body", **HX)
    assert body.status_code == 286 and 'data-testid="diff"' in body.content.decode()
    page = planner.get(url("schedule_version", version.pk), **EN).content.decode()
    assert "being computed" not in page and 'data-testid="version-progress"' not in page
    zh = planner.get(url("schedule_version", version.pk),
                     HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert 'lang="zh-hans"' in zh and "正在计算" not in zh


def test_tasks_already_running_are_not_listed_as_moved(planner):
    """A running task re-anchored to now on every run was listed as moved (08:58 → 08:59)
    and counted in "22 tasks moved"; the page says how many go on from now instead."""
    from unittest import mock

    orders, _wc = released_orders(1, steps=2)
    applied(planner.user)
    first = Task.objects.filter(work_order__production_order=orders[0]).order_by("seq")[0]
    Task.objects.filter(pk=first.pk).update(status=Task.Status.IN_PROGRESS,
                                            actual_start=timezone.now())
    later = timezone.now() + datetime.timedelta(minutes=5)
    with mock.patch("django.utils.timezone.now", return_value=later):
        version = computed(planner.user, frozen_minutes=0)
    assert version.status == "ready", version.error
    page = planner.get(url("schedule_version", version.pk), **EN).content.decode()
    assert f'<tr data-task="{first.pk}">' not in page
    moved = int(re.search(r'data-testid="count-moved"><b>(\d+)</b>', page).group(1))
    assert moved == page.count('<tr data-task="')
    assert re.search(r'data-testid="continuing">\s*1 task already started goes on from now',
                     page)
    zh = planner.get(url("schedule_version", version.pk),
                     HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "1 道已开工的工序从现在继续" in zh


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_large_weighted_tardiness_reads_with_thousands_separators(planner, language):
    """"349763 min" could not be read at a glance (about 243 days): it reads "349,763"."""
    released_orders(1)
    version = schedule_request(actor=planner.user, reason="big", time_limit=1)
    from planning.services.schedule import schedule_compute

    schedule_compute(version.pk)
    ScheduleVersion.objects.filter(pk=version.pk).update(weighted_tardiness=349763)
    card = planner.get(url("schedule_version_card", version.pk), HTTP_HX_REQUEST="true",
                       HTTP_ACCEPT_LANGUAGE=language).content.decode()
    shown = re.search(r'data-testid="weighted-tardiness">([^<]*)<', card).group(1)
    assert shown.strip() == "349,763", shown


def test_gantt_row_labels_are_cut_to_their_column_with_the_whole_name_as_tooltip():
    """A work center's name longer than the label column ends in "…" (it was cut off with no
    sign), Chinese characters counting double (they are twice as wide); the whole name is
    the label's tooltip. A name that fits is shown as it is, without one."""
    from planning.gantt import _fit, _label_text

    assert _fit("WC-HT Heat treatment furnace", 26) == "WC-HT Heat treatment furn…"
    assert _fit("WC-HT 热处理炉一号线自动化线", 26) == "WC-HT 热处理炉一号线自动…"
    assert _fit("WC-SAW 下料锯", 26) == "WC-SAW 下料锯"
    cut = _label_text("", 8, 20, "WC-HT Heat treatment furnace <1>", 26)
    assert cut == ('<text x="8" y="20"><title>WC-HT Heat treatment furnace &lt;1&gt;</title>'
                   'WC-HT Heat treatment furn…</text>')
    assert _label_text(' class="sub"', 8, 33, "Line 1", 30) == \
        '<text class="sub" x="8" y="33">Line 1</text>'
