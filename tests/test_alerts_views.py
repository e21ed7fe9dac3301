"""Alert pages: permissions, the live list with filters and htmx row actions, the detail page,
the inbox and badge, rule and webhook configuration with refusals that say why."""

import json

import pytest
from django.urls import reverse
from django.utils import timezone

from alerts.kinds import Kind
from alerts.models import Alert, AlertRule, Notification, WebhookEndpoint
from alerts.services.sweep import alerts_sweep
from tests.factories import WorkCenterFactory
from tests.factories_alerts import (
    english_fixture,  # noqa: F401  (the `english` fixture)
    equipment_for,
    make_endpoint,
    make_rule,
    minutes,
    now,
    receiver_fixture,  # noqa: F401  (the `receiver` fixture)
    schedule,
    stop,
)
from tests.factories_execution import released_order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def late_tasks(n, wc=None):
    wc = wc or WorkCenterFactory()
    t0 = now()
    for _ in range(n):
        _wo, (t1,), _ = released_order(steps=1, work_center=wc)
        schedule(t1, t0 - minutes(60), t0)
    return wc


@pytest.fixture
def alert(make_user):
    lead = make_user("workshop_lead", username="lead1")
    wc = late_tasks(1, WorkCenterFactory(lead=lead))
    make_rule(Kind.SCHEDULE_LAG, minutes=30)
    alerts_sweep()
    a = Alert.objects.get()
    a.lead = lead
    a.wc = wc
    return a


@pytest.mark.parametrize("url_name, args", [
    ("alerts:alert_list", []), ("alerts:rule_list", []), ("alerts:rule_add", []),
    ("alerts:webhook_list", []), ("alerts:webhook_add", []),
])
def test_operators_may_not_open_alert_or_configuration_pages(client_as, url_name, args):
    client = client_as("operator")
    assert client.get(reverse(url_name, args=args)).status_code == 403


def test_operators_are_refused_alert_actions_but_read_their_inbox(client_as, alert):
    client = client_as("operator")
    assert client.get(reverse("alerts:alert_detail", args=[alert.pk])).status_code == 403
    assert client.post(reverse("alerts:alert_action", args=[alert.pk, "acknowledge"])
                       ).status_code == 403
    assert client.get(reverse("alerts:alert_action", args=[999999, "resolve"])).status_code \
        == 403
    assert client.get(reverse("alerts:rule_edit", args=[999999])).status_code == 403
    assert client.get(reverse("alerts:inbox")).status_code == 200
    assert client.get(reverse("alerts:notify_badge")).json() == {"unread": 0}


def test_leads_may_not_configure_rules(client_as):
    client = client_as("workshop_lead")
    assert client.get(reverse("alerts:alert_list")).status_code == 200
    assert client.get(reverse("alerts:rule_list")).status_code == 403


def test_list_filters_and_fixed_query_count(client_as, django_assert_max_num_queries):
    client = client_as("workshop_lead")
    late_tasks(2)
    make_rule(Kind.SCHEDULE_LAG, minutes=30)
    alerts_sweep()
    url = reverse("alerts:alert_list")
    with django_assert_max_num_queries(20) as few:
        page = client.get(url).content.decode()
    assert page.count('data-testid="alert-row"') == 2 and 'sse-connect' in page
    late_tasks(8)
    alerts_sweep()
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(url).content.decode()
    assert page.count('data-testid="alert-row"') == 10
    assert b"alert-row" not in client.get(url, {"state": "resolved"}).content
    assert b"alert-row" not in client.get(url, {"kind": "downtime"}).content
    partial = client.get(url, headers={"HX-Request": "true", "HX-Target": "object-list"})
    assert b"<html" not in partial.content
    assert partial.content.count(b'data-testid="alert-row"') == 10
    export = client.get(url, {"export": "csv"})
    assert export.status_code == 200 and len(export.content.decode().splitlines()) == 11
    # The first visit (no query) lists what its State field says: open or acknowledged.
    Alert.objects.filter(pk=Alert.objects.first().pk).update(
        status=Alert.Status.RESOLVED, cause="c", action="a", resolved_at=timezone.now())
    assert client.get(url).content.decode().count('data-testid="alert-row"') == 9


def test_row_actions_over_htmx(client_as, alert):
    client = client_as("workshop_lead")
    htmx = {"HX-Request": "true", "HX-Target": "alert-dialog-body"}
    ack = client.post(reverse("alerts:alert_action", args=[alert.pk, "acknowledge"]),
                      headers=htmx)
    assert ack.status_code == 204
    assert json.loads(ack["HX-Trigger"]) == {
        "alerts-changed": {"message": f"Alert #{alert.pk} acknowledged."}}
    again = client.post(reverse("alerts:alert_action", args=[alert.pk, "acknowledge"]),
                        headers=htmx)
    assert again.status_code == 200 and b"cannot be acknowledged" in again.content
    form = client.get(reverse("alerts:alert_action", args=[alert.pk, "resolve"]),
                      headers=htmx)
    assert b'name="cause"' in form.content
    refused = client.post(reverse("alerts:alert_action", args=[alert.pk, "resolve"]),
                          {"cause": "", "action": "restarted"}, headers=htmx)
    assert refused.status_code == 200 and "Say what caused it." in refused.content.decode()
    alert.refresh_from_db()
    assert alert.status == "acknowledged"
    done = client.post(reverse("alerts:alert_action", args=[alert.pk, "resolve"]),
                       {"cause": "Operator on break", "action": "Relief operator assigned"},
                       headers=htmx)
    assert done.status_code == 204
    comment = client.post(reverse("alerts:alert_action", args=[alert.pk, "comment"]),
                          {"text": "checked at 10:00"}, headers=htmx)
    assert comment.status_code == 204
    alert.refresh_from_db()
    assert (alert.status, alert.cause) == ("resolved", "Operator on break")


def test_detail_page_shows_timeline_notifications_and_subject(client_as, make_user, alert):
    client = client_as("workshop_lead")
    other = make_user("workshop_lead")
    client.post(reverse("alerts:alert_action", args=[alert.pk, "reassign"]),
                {"assignee": other.pk, "reason": "my area"})
    alert.refresh_from_db()
    assert alert.assignee == other
    Notification.objects.filter(alert=alert).update(status="failed", last_error="HTTP 500: x")
    page = client.get(reverse("alerts:alert_detail", args=[alert.pk])).content.decode()
    assert reverse("planning:work_order_detail", args=[alert.work_order_id]) in page
    assert "HTTP 500: x" in page and 'data-testid="timeline"' in page
    assert "my area" in page
    # a plain form post goes back to the page with a message
    response = client.post(reverse("alerts:alert_action", args=[alert.pk, "resolve"]),
                           {"cause": "", "action": ""})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Say what caused it." in page


def test_inbox_badge_and_reading(client, alert):
    client.force_login(alert.lead)
    assert client.get(reverse("alerts:notify_badge")).json() == {"unread": 1}
    page = client.get(reverse("alerts:inbox")).content.decode()
    assert page.count('data-testid="inbox-item"') == 1
    n = Notification.objects.get(recipient=alert.lead)
    response = client.get(reverse("alerts:notification_open", args=[n.pk]))
    assert response["Location"] == reverse("alerts:alert_detail", args=[alert.pk])
    assert client.get(reverse("alerts:notify_badge")).json() == {"unread": 0}
    Notification.objects.update(read_at=None)
    client.post(reverse("alerts:inbox"))
    assert client.get(reverse("alerts:notify_badge")).json() == {"unread": 0}


def test_downtime_alerts_name_the_reason_in_the_readers_language(client, make_user):
    from execution.models import DowntimeReason

    lead = make_user("workshop_lead", username="lead-dt")
    machine = equipment_for(WorkCenterFactory(lead=lead))
    DowntimeReason.objects.create(code="BRK", name="故障", name_en="Breakdown")
    stop(machine, lead, at=now() - minutes(20))
    make_rule(Kind.DOWNTIME, minutes=15)
    alerts_sweep()
    alert = Alert.objects.get(kind=Kind.DOWNTIME)
    client.force_login(lead)
    urls = [reverse("alerts:alert_list"), reverse("alerts:alert_detail", args=[alert.pk]),
            reverse("alerts:inbox")]
    for url in urls:
        en = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "(Breakdown)." in en and "故障" not in en, url
        zh = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
        assert "故障" in zh and "Breakdown" not in zh, url
    # An alert raised before the English name was stored shows the stored name.
    Alert.objects.filter(pk=alert.pk).update(data={
        k: v for k, v in alert.data.items() if k != "reason_en"})
    en = client.get(urls[1], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "(故障)." in en


def rule_post(**overrides):
    data = {"code": "LAG-1", "name": "开工滞后", "name_en": "Late start",
            "kind": Kind.SCHEDULE_LAG, "severity": "warning", "scope": "plant",
            "minutes": "30", "auto_resolve": "on", "active": "on",
            "levels-TOTAL_FORMS": "2", "levels-INITIAL_FORMS": "0",
            "levels-MIN_NUM_FORMS": "0", "levels-MAX_NUM_FORMS": "10",
            "levels-0-after_minutes": "0", "levels-0-notify_responsible": "on",
            "levels-0-channels": ["in_app"],
            "levels-1-after_minutes": "60", "levels-1-roles": ["workshop_lead"],
            "levels-1-channels": ["in_app", "email"]}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.mark.parametrize("overrides, reason", [
    ({"minutes": "-5"}, "Minutes cannot be negative"),
    ({"minutes": ""}, "needs minutes after the planned start"),
    ({"kind": Kind.PROGRESS_LAG, "percent": "150"}, "between 0 and 100"),
    ({"kind": Kind.DEFECT_RATE, "percent": "5", "window_hours": "0"},
     "longer than 0 hours"),
    ({"levels-1-after_minutes": "0"}, "levels must escalate later"),
    ({"levels-0-after_minutes": "-1"}, "cannot be negative"),
    ({"levels-0-channels": None}, "choose at least one channel"),
    ({"scope": "work_center"}, "Pick the work center"),
    ({"levels-TOTAL_FORMS": "0"}, "The escalation chain is empty"),
    ({"levels-0-people": ["99999999999999999999999"]}, "is not a valid value"),
    ({"levels-0-webhooks": ["99999999999999999999999"]}, "is not a valid value"),
    ({"levels-0-people": ["²"]}, "is not a valid value"),
])
def test_impossible_rules_are_refused_with_the_reason(client_as, overrides, reason):
    client = client_as("manager")
    response = client.post(reverse("alerts:rule_add"), rule_post(**overrides))
    assert response.status_code == 422
    assert reason in response.content.decode()
    assert not AlertRule.objects.exists()


def test_create_and_edit_a_rule_in_the_browser_form(client_as):
    client = client_as("manager")
    assert client.get(reverse("alerts:rule_add")).status_code == 200
    response = client.post(reverse("alerts:rule_add"), rule_post())
    assert response.status_code == 302
    rule = AlertRule.objects.get()
    assert [(lv.level, lv.after_minutes, lv.roles) for lv in rule.levels.all()] == [
        (1, 0, []), (2, 60, ["workshop_lead"])]
    edit = reverse("alerts:rule_edit", args=[rule.pk])
    assert b'value="LAG-1"' in client.get(edit).content
    data = rule_post(minutes="45", **{"levels-2-after_minutes": "240",
                                      "levels-2-roles": ["manager"],
                                      "levels-2-channels": ["in_app"],
                                      "levels-TOTAL_FORMS": "3"})
    assert client.post(edit, data).status_code == 302
    rule.refresh_from_db()
    assert rule.minutes == 45 and rule.levels.count() == 3
    list_page = client.get(reverse("alerts:rule_list")).content.decode()
    assert "L3 +240" in list_page


def test_webhook_endpoint_configuration_and_send_test(client_as, receiver):
    client = client_as("manager")
    response = client.post(reverse("alerts:webhook_add"), {
        "name": "车间群机器人", "kind": "dingtalk", "url": receiver.url + "?access_token=abc",
        "secret": "SEC", "timeout_seconds": "3", "active": "on"})
    assert response.status_code == 302
    hook = WebhookEndpoint.objects.get()
    assert hook.secret == "SEC"
    page = client.get(reverse("alerts:webhook_list")).content.decode()
    assert "access_token=abc" not in page  # robot keys are not shown
    result = client.post(reverse("alerts:webhook_test", args=[hook.pk]),
                         headers={"HX-Request": "true"})
    assert b"Delivered" in result.content
    (req,) = receiver.requests
    assert "sign=" in req["path"] and req["json"]["msgtype"] == "markdown"
    receiver.status = 500
    result = client.post(reverse("alerts:webhook_test", args=[hook.pk]),
                         headers={"HX-Request": "true"})
    assert b"HTTP 500" in result.content
    # editing with an empty secret keeps it; a bad address is refused
    client.post(reverse("alerts:webhook_edit", args=[hook.pk]), {
        "name": hook.name, "kind": "dingtalk", "url": hook.url, "secret": "",
        "timeout_seconds": "3", "active": "on"})
    hook.refresh_from_db()
    assert hook.secret == "SEC"
    bad = client.post(reverse("alerts:webhook_edit", args=[hook.pk]), {
        "name": hook.name, "kind": "generic", "url": "ftp://x/y", "timeout_seconds": "99"})
    assert bad.status_code == 422


def test_rule_chain_can_name_webhook_endpoints(client_as, receiver):
    client = client_as("manager")
    hook = make_endpoint(receiver.url)
    data = rule_post(**{"levels-1-channels": ["webhook"], "levels-1-webhooks": [hook.pk],
                        "levels-1-roles": None})
    assert client.post(reverse("alerts:rule_add"), data).status_code == 302
    assert list(AlertRule.objects.get().levels.get(level=2).webhooks.all()) == [hook]


def test_action_confirmations_are_in_the_readers_language(client_as, alert):
    """The confirmations were translated once, at import, in whatever language was active."""
    client = client_as("workshop_lead")
    url = reverse("alerts:alert_action", args=[alert.pk, "acknowledge"])
    zh = client.post(url, {"note": ""}, HTTP_ACCEPT_LANGUAGE="zh-CN", follow=True)
    assert f"告警 #{alert.pk} 已确认。" in zh.content.decode()
    url = reverse("alerts:alert_action", args=[alert.pk, "resolve"])
    en = client.post(url, {"cause": "Operator on break", "action": "Relief operator assigned"},
                     HTTP_ACCEPT_LANGUAGE="en", follow=True)
    assert f"Alert #{alert.pk} resolved." in en.content.decode()


def test_subject_links_lead_each_reader_to_a_page_they_may_open(make_user):
    """A failed inspection's alert links its inspection for quality's readers, the work order
    for the others (a planner was sent to a refusal); a rework-loop alert links its
    nonconformance (its page name was wrong: it linked the work order for everyone)."""
    from alerts.selectors import subject_url

    qc, planner = make_user("qc_inspector"), make_user("planner")
    failed = Alert(kind=Kind.INSPECTION_FAILED, object_id=5, work_order_id=7)
    loops = Alert(kind=Kind.REWORK_LOOPS, object_id=9, work_order_id=7)
    work_order = reverse("planning:work_order_detail", args=[7])
    assert subject_url(failed, user=qc) == reverse("quality:inspection_detail", args=[5])
    assert subject_url(loops, user=qc) == reverse("quality:nc_detail", args=[9])
    assert subject_url(failed, user=planner) == work_order
    assert subject_url(loops, user=planner) == work_order


def test_kpi_records_link_quality_records_only_for_their_readers(make_user):
    """The rework and first-pass-yield drill-downs list inspections and nonconformances: a
    link to each for quality's readers, the plain number for the others."""
    from types import SimpleNamespace

    from django.test import RequestFactory

    from dashboards.tables import InspectionRecordsTable, NonconformanceRecordsTable

    record = SimpleNamespace(pk=3, id=3, number="NC-3")
    for user, linked in ((make_user("qc_inspector"), True), (make_user("manager"), True),
                         (make_user("workshop_lead"), True), (make_user("planner"), False)):
        for table_class, column, name in ((InspectionRecordsTable, "id", "inspection_detail"),
                                          (NonconformanceRecordsTable, "number", "nc_detail")):
            table = table_class([record])
            table.request = RequestFactory().get("/")
            table.request.user = user
            cell = str(table.rows[0].get_cell(column))
            assert (reverse(f"quality:{name}", args=[3]) in cell) is linked, (user, cell)
