"""Outgoing webhooks from the outbox: signed, once per (subscription, event), retried with
backoff, a dead endpoint never holding up the others, and a delivery log for administrators."""

import datetime
import http.server
import json
import socket
import threading

import pytest
from django.utils import timezone

from mes.events import TOPIC_PLANT, event_emit
from mes.models import Event, WebhookDelivery, WebhookSubscription
from mes.webhooks import (
    MAX_ATTEMPTS,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    backoff,
    verify,
    webhook_deliver,
    webhook_subscription_create,
    webhook_subscription_set_active,
    webhooks_dispatch,
    webhooks_match,
)
from tests.factories import UserFactory
from tests.factories_execution import released_order

pytestmark = pytest.mark.django_db
S = WebhookDelivery.Status


class Receiver:
    def __init__(self, status=200):
        self.status, self.requests = status, []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the stdlib's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((self.headers, body))  # case-insensitive
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def dead_url() -> str:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/hook"


def age_events(seconds=60):
    """Make the outbox rows older than the gap grace (tests run faster than it)."""
    Event.objects.update(created_at=timezone.now() - datetime.timedelta(seconds=seconds))


def test_release_is_delivered_once_and_signed(receiver):
    admin = UserFactory(roles=["admin"])
    sub, secret = webhook_subscription_create(actor=admin, name="ERP", url=receiver.url,
                                              kinds=["work_orders.released"])
    released_order(steps=1)
    age_events()
    webhooks_dispatch()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == S.DELIVERED and delivery.response_code == 200
    assert delivery.attempts == 1 and delivery.event.kind == "work_orders.released"
    headers, body = receiver.requests[0]
    assert verify(secret, headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    assert not verify("wrong", headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    assert json.loads(body)["event"]["kind"] == "work_orders.released"
    assert headers["Idempotency-Key"] == f"mes-{sub.pk}-{delivery.event_id}"
    webhooks_dispatch()
    assert webhook_deliver(delivery.pk) == "not claimed"
    assert len(receiver.requests) == 1 and WebhookDelivery.objects.count() == 1


def test_only_chosen_kinds_from_now_on(receiver):
    event_emit(topic=TOPIC_PLANT, kind="work_order.accepted", payload={"work_order": "OLD"})
    sub, _secret = webhook_subscription_create(actor=None, name="MES2", url=receiver.url,
                                               kinds=["work_order.accepted"])
    event_emit(topic=TOPIC_PLANT, kind="work_order.accepted", payload={"work_order": "NEW"})
    event_emit(topic="wc:1", kind="work_order.accepted", payload={"work_order": "NEW"})
    event_emit(topic=TOPIC_PLANT, kind="order.created", payload={})
    age_events()
    webhooks_dispatch()
    payloads = [json.loads(b)["event"]["payload"] for _h, b in receiver.requests]
    assert payloads == [{"work_order": "NEW"}]


def test_dead_endpoint_retries_with_backoff_and_never_blocks_others(receiver):
    dead, _ = webhook_subscription_create(actor=None, name="dead", url=dead_url(),
                                          kinds=["work_order.completed"])
    live, _ = webhook_subscription_create(actor=None, name="live", url=receiver.url,
                                          kinds=["work_order.completed"])
    event_emit(topic=TOPIC_PLANT, kind="work_order.completed", payload={"work_order": "W1"})
    age_events()
    webhooks_dispatch()
    assert WebhookDelivery.objects.get(subscription=live).status == S.DELIVERED
    failing = WebhookDelivery.objects.get(subscription=dead)
    assert failing.status == S.RETRYING and failing.attempts == 1
    assert "cannot connect" in failing.last_error and failing.response_code is None
    assert failing.next_attempt_at > timezone.now() + backoff(1) - datetime.timedelta(seconds=5)
    webhooks_dispatch()  # not due yet: nothing is sent
    assert WebhookDelivery.objects.get(pk=failing.pk).attempts == 1
    for attempt in range(2, MAX_ATTEMPTS + 1):
        WebhookDelivery.objects.filter(pk=failing.pk).update(next_attempt_at=timezone.now())
        webhooks_dispatch()
        failing.refresh_from_db()
        assert failing.attempts == attempt
    assert failing.status == S.FAILED
    assert backoff(1) < backoff(2) < backoff(5) <= datetime.timedelta(hours=1)


def test_http_errors_are_recorded(receiver):
    receiver.status = 503
    webhook_subscription_create(actor=None, name="busy", url=receiver.url,
                                kinds=["alert.raised"])
    event_emit(topic=TOPIC_PLANT, kind="alert.raised", payload={"id": 1})
    age_events()
    webhooks_dispatch()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == S.RETRYING and delivery.response_code == 503
    receiver.status = 204
    WebhookDelivery.objects.update(next_attempt_at=timezone.now())
    webhooks_dispatch()
    delivery.refresh_from_db()
    assert delivery.status == S.DELIVERED and delivery.attempts == 2


def test_gap_that_may_still_commit_is_waited_for(receiver):
    webhook_subscription_create(actor=None, name="gap", url=receiver.url,
                                kinds=["schedule.changed"])
    first = event_emit(topic=TOPIC_PLANT, kind="schedule.changed", payload={"n": 1})
    hole = event_emit(topic=TOPIC_PLANT, kind="schedule.changed", payload={"n": 2})
    event_emit(topic=TOPIC_PLANT, kind="schedule.changed", payload={"n": 3})
    hole.delete()  # as if still uncommitted; the row after it is young
    assert webhooks_match() == 1
    assert WebhookSubscription.objects.get().cursor == first.id
    age_events()  # now the gap is old: a rollback
    assert webhooks_match() == 1
    webhooks_dispatch()
    assert sorted(json.loads(b)["event"]["payload"]["n"] for _h, b in receiver.requests) == \
        [1, 3]


def test_paused_subscription_resumes_from_now(receiver):
    sub, _ = webhook_subscription_create(actor=None, name="p", url=receiver.url,
                                         kinds=["alert.resolved"])
    webhook_subscription_set_active(actor=None, subscription=sub, active=False)
    event_emit(topic=TOPIC_PLANT, kind="alert.resolved", payload={})
    webhook_subscription_set_active(actor=None, subscription=sub, active=True)
    age_events()
    webhooks_dispatch()
    assert receiver.requests == [] and not WebhookDelivery.objects.exists()


def test_admin_pages(client_as, receiver):
    admin = client_as("admin")
    response = admin.post("/api/manage/webhooks/", {"name": "ERP", "url": receiver.url,
                                                    "kinds": ["work_order.accepted"]})
    assert response.status_code == 200
    assert b"new-secret" in response.content
    sub = WebhookSubscription.objects.get()
    assert sub.secret.encode() in response.content
    event_emit(topic=TOPIC_PLANT, kind="work_order.accepted", payload={})
    age_events()
    webhooks_dispatch()
    page = admin.get("/api/manage/webhooks/")
    assert page.status_code == 200 and "200" in page.content.decode()
    response = admin.post("/api/manage/tokens/", {"name": "SAP", "user": admin.user.pk,
                                                  "scopes": ["erp", "planning:read"]})
    assert response.status_code == 200 and b"mes_" in response.content
    bad = admin.post("/api/manage/tokens/", {"name": "", "user": admin.user.pk})
    assert bad.status_code == 400


def test_admin_pages_show_refusals_on_their_field(client_as):
    admin = client_as("admin")
    past = admin.post("/api/manage/tokens/", {"name": "SAP", "user": admin.user.pk,
                                              "scopes": ["erp"],
                                              "expires_at": "2020-01-01T00:00"})
    assert past.status_code == 400
    assert past.context["form"].errors["expires_at"] == ["The expiry must be in the future."]
    assert "The expiry must be in the future." in past.content.decode()
    ftp = admin.post("/api/manage/webhooks/", {"name": "ERP", "url": "ftp://example.com/hook",
                                               "kinds": ["work_order.accepted"]})
    assert ftp.status_code == 400
    assert ftp.context["form"].errors["url"] == ["Enter an http:// or https:// URL."]
    assert not WebhookSubscription.objects.exists()


def test_pages_need_an_administrator(client_as):
    planner = client_as("planner")
    assert planner.get("/api/manage/webhooks/").status_code == 403
    assert planner.get("/api/manage/tokens/").status_code == 403


def test_subscription_input_is_checked():
    with pytest.raises(Exception) as caught:
        webhook_subscription_create(actor=None, name="", url="ftp://x", kinds=["nope"])
    assert set(caught.value.message_dict) == {"name", "url", "kinds"}


def test_admin_sends_a_failed_delivery_again(client_as):
    sub, _ = webhook_subscription_create(actor=None, name="dead", url=dead_url(),
                                         kinds=["alert.raised"])
    event = event_emit(topic=TOPIC_PLANT, kind="alert.raised", payload={})
    delivery = WebhookDelivery.objects.create(subscription=sub, event=event, status=S.FAILED,
                                              attempts=MAX_ATTEMPTS, last_error="gone")
    admin = client_as("admin")
    page = admin.get("/api/manage/webhooks/")
    assert "gone" in page.content.decode()
    response = admin.post(f"/api/manage/webhooks/deliveries/{delivery.pk}/retry/")
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == S.RETRYING and delivery.attempts == 0
