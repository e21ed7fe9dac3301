"""Notifications: in-app, e-mail, webhooks (generic signed JSON, WeCom, DingTalk, Feishu);
sent exactly once across duplicate runs and worker crashes; retried, then failed, without
blocking anything else."""

import base64
import datetime
import hashlib
import hmac
import threading
import urllib.parse
from unittest import mock

import pytest
from django.core import mail
from django.db import connection

from alerts.channels import Message
from alerts.channels.webhook import build_request, verify_generic
from alerts.kinds import Channel, Kind
from alerts.models import Alert, Notification, WebhookEndpoint
from alerts.services import delivery
from alerts.services.lifecycle import alert_acknowledge
from alerts.services.sweep import alerts_sweep
from alerts.tasks import notification_send
from tests.factories import WorkCenterFactory
from tests.factories_alerts import (
    eager_fixture,  # noqa: F401  (the `eager` fixture)
    english_fixture,  # noqa: F401  (the `english` fixture)
    make_endpoint,
    make_rule,
    minutes,
    now,
    receiver_fixture,  # noqa: F401  (the `receiver` fixture)
    schedule,
)
from tests.factories_execution import released_order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


class WorkerKilled(Exception):
    """Stands for a worker process dying between two statements."""


@pytest.fixture
def late_task(make_user):
    lead = make_user("workshop_lead", email="lead@plant.example")
    wc = WorkCenterFactory(lead=lead)
    _wo, tasks, _ = released_order(steps=1, work_center=wc)
    t0 = now()
    schedule(tasks[0], t0 - minutes(60), t0)
    return {"lead": lead, "wc": wc, "task": tasks[0], "t0": t0}


def raise_with(late_task, endpoint=None, channels=(Channel.IN_APP, Channel.EMAIL)):
    chain = [{"after_minutes": 0, "notify_responsible": bool(channels),
              "channels": list(channels),
              "webhooks": [endpoint] if endpoint else []}]
    if endpoint:
        chain[0]["channels"] = [*channels, Channel.WEBHOOK]
    make_rule(Kind.SCHEDULE_LAG, minutes=30, chain=chain, severity="critical")
    alerts_sweep(now=late_task["t0"])
    return Alert.objects.get()


def test_each_channel_sends_once_per_person(late_task, receiver, eager,
                                            django_capture_on_commit_callbacks):
    hook = make_endpoint(receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        alert = raise_with(late_task, hook)
    rows = {(n.channel, n.status) for n in alert.notifications.all()}
    assert rows == {("in_app", "sent"), ("email", "sent"), ("webhook", "sent")}
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["lead@plant.example"]
    assert "[MES]" in mail.outbox[0].subject
    assert len(receiver.requests) == 1
    # the send task delivered again (a duplicate message): nothing more goes out
    for n in alert.notifications.exclude(channel="in_app"):
        assert notification_send.apply(args=[n.pk]).get() == "skipped"
    assert len(mail.outbox) == 1 and len(receiver.requests) == 1


def test_an_in_app_notification_is_one_delivery_attempt(late_task, receiver, eager,
                                                       django_capture_on_commit_callbacks):
    """The alert page showed an in-app notification "sent" after "0 attempts": it is
    delivered when it is written, and that delivery is its one attempt, like an e-mail's."""
    with django_capture_on_commit_callbacks(execute=True):
        alert = raise_with(late_task)
    rows = {(n.channel, n.status, n.attempts) for n in alert.notifications.all()}
    assert rows == {("in_app", "sent", 1), ("email", "sent", 1)}


def test_generic_webhook_is_signed_and_verifiable(late_task, receiver):
    hook = make_endpoint(receiver.url, secret="k3y")
    alert = raise_with(late_task, hook, channels=())
    n = alert.notifications.get(channel="webhook")
    assert delivery.notification_deliver(n.pk) == "sent"
    (req,) = receiver.requests
    headers = req["headers"]
    assert verify_generic("k3y", headers["X-MES-Timestamp"], req["raw"],
                          headers["X-MES-Signature"])
    assert not verify_generic("wrong", headers["X-MES-Timestamp"], req["raw"],
                              headers["X-MES-Signature"])
    assert headers["Idempotency-Key"] == f"mes-notification-{n.pk}"
    body = req["json"]
    assert body["alert"]["id"] == alert.pk and body["severity"] == "critical"
    assert body["url"].endswith(f"/alerts/{alert.pk}/")


def test_crash_after_sending_before_recording_is_resent_with_the_same_key(late_task,
                                                                          receiver):
    alert = raise_with(late_task, make_endpoint(receiver.url), channels=(Channel.EMAIL,))
    hook_n = alert.notifications.get(channel="webhook")
    mail_n = alert.notifications.get(channel="email")
    real_finish = delivery._finish

    def killed_after_send(n, **changes):
        if changes.get("status") == "sent":
            raise WorkerKilled
        return real_finish(n, **changes)

    t1 = now()
    with mock.patch.object(delivery, "_finish", killed_after_send):
        for n in (hook_n, mail_n):
            with pytest.raises(WorkerKilled):
                delivery.notification_deliver(n.pk, now=t1)
    assert len(receiver.requests) == 1 and len(mail.outbox) == 1
    # Celery delivers the message again at once (acks_late): the claim is still fresh.
    for n in (hook_n, mail_n):
        assert delivery.notification_deliver(n.pk, now=t1 + datetime.timedelta(seconds=5)) \
            == "skipped"
    assert len(receiver.requests) == 1
    # After the lease: the residual window. Sent again, with the same idempotency key, so
    # the receiver counts one delivery.
    later = t1 + delivery.lease() + datetime.timedelta(seconds=1)
    assert delivery.notifications_stale(now=later) == sorted([hook_n.pk, mail_n.pk])
    for n in (hook_n, mail_n):
        assert delivery.notification_deliver(n.pk, now=later) == "sent"
    assert len(receiver.requests) == 2 and receiver.keys() == {hook_n.idempotency_key}
    assert {m.extra_headers["Message-ID"] for m in mail.outbox} == {
        f"<{mail_n.idempotency_key}@mes.alerts>"}
    for n in (hook_n, mail_n):
        n.refresh_from_db()
        assert (n.status, n.attempts) == ("sent", 2)
    # and never again
    assert delivery.notification_deliver(hook_n.pk, now=later) == "skipped"
    assert delivery.notifications_stale(now=later + datetime.timedelta(hours=1)) == []


def test_failing_webhook_is_retried_then_marked_failed_and_others_still_go(
        late_task, receiver, eager, django_capture_on_commit_callbacks, settings):
    settings.MES_ALERT_SEND_MAX_ATTEMPTS = 3
    # Eager Celery re-runs a retried task in place only when it does not propagate the Retry.
    eager.conf.task_eager_propagates = False
    receiver.status, receiver.body = 500, b"down for maintenance"
    with django_capture_on_commit_callbacks(execute=True):
        alert = raise_with(late_task, make_endpoint(receiver.url))
    hook_n = alert.notifications.get(channel="webhook")
    assert (hook_n.status, hook_n.attempts) == ("failed", 3)
    assert "HTTP 500" in hook_n.last_error and len(receiver.requests) == 3
    assert alert.notifications.get(channel="email").status == "sent"
    assert len(mail.outbox) == 1
    from mes.models import Event

    assert Event.objects.filter(kind="notification.failed", topic="plant").exists()


def test_robot_refusal_is_permanent(late_task, receiver):
    receiver.body = b'{"errcode": 310000, "errmsg": "sign not match"}'
    alert = raise_with(late_task, make_endpoint(receiver.url, kind="dingtalk"), channels=())
    n = alert.notifications.get()
    assert delivery.notification_deliver(n.pk) == "failed"
    n.refresh_from_db()
    assert n.attempts == 1 and "310000" in n.last_error


@pytest.mark.django_db(transaction=True)
def test_a_slow_webhook_blocks_nothing(make_user, receiver, settings):
    """While a receiver hangs, the notification row is not locked and no transaction is
    open: people keep working on the alert, and the send gives up at the timeout."""
    settings.MES_ALERT_SEND_MAX_ATTEMPTS = 1
    lead = make_user("workshop_lead")
    wc = WorkCenterFactory(lead=lead)
    _wo, tasks, _ = released_order(steps=1, work_center=wc)
    t0 = now()
    schedule(tasks[0], t0 - minutes(60), t0)
    receiver.gate = threading.Event()
    hook = make_endpoint(receiver.url, timeout=1)
    make_rule(Kind.SCHEDULE_LAG, minutes=30, chain=[
        {"after_minutes": 0, "notify_responsible": True, "channels": ["in_app", "webhook"],
         "webhooks": [hook]}])
    with mock.patch("alerts.services.notify.enqueue_on_commit"):  # we send it ourselves
        alerts_sweep(now=t0)
    n = Notification.objects.get(channel="webhook")
    seen, result = {}, {}

    def send():
        real_post = delivery.deliver.__globals__["webhook_send"]

        def watching(*args, **kwargs):
            seen["atomic"] = connection.in_atomic_block
            return real_post(*args, **kwargs)

        with mock.patch("alerts.channels.webhook_send", watching):
            result["outcome"] = delivery.notification_deliver(n.pk)
        connection.close()

    worker = threading.Thread(target=send)
    worker.start()
    while not receiver.requests:
        threading.Event().wait(0.02)
    # the receiver is hanging now: acknowledging the alert goes through at once
    started = now()
    alert_acknowledge(actor=lead, alert=Alert.objects.get())
    assert (now() - started).total_seconds() < 0.9
    worker.join(10)
    assert seen["atomic"] is False and result["outcome"] == "failed"
    n.refresh_from_db()
    assert n.status == "failed" and "1 s" in n.last_error


# --- message formats ------------------------------------------------------------------------
MSG = Message(key="mes-notification-7", event="alert.notification",
              title="严重 · 开工滞后: WO-1/10",
              lines=["Not started 45 min after the planned start."],
              url="https://mes/alerts/7/", severity="critical", data={"id": 7})
AT = datetime.datetime(2026, 5, 4, 8, 30, tzinfo=datetime.UTC)


def endpoint(kind, secret="SEC123",  # noqa: S107
             url="https://robot.example/send?access_token=abc"):
    return WebhookEndpoint(name=kind, kind=kind, url=url, secret=secret, timeout_seconds=5)


def test_wecom_markdown_shape():
    url, body, headers = build_request(endpoint("wecom", secret=""), MSG, AT)
    import json

    payload = json.loads(body)
    assert payload["msgtype"] == "markdown" and set(payload) == {"msgtype", "markdown"}
    assert payload["markdown"]["content"].startswith('## <font color="warning">严重')
    assert "> Not started" in payload["markdown"]["content"]
    assert url == "https://robot.example/send?access_token=abc"
    assert headers["Idempotency-Key"] == "mes-notification-7"


def test_dingtalk_markdown_with_timestamp_and_sign():
    import json

    url, body, _headers = build_request(endpoint("dingtalk"), MSG, AT)
    payload = json.loads(body)
    assert payload["msgtype"] == "markdown"
    assert payload["markdown"]["title"].startswith("严重") and "## " in payload["markdown"]["text"]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    ts = query["timestamp"][0]
    assert ts == str(int(AT.timestamp() * 1000)) and query["access_token"] == ["abc"]
    expected = base64.b64encode(hmac.new(b"SEC123", f"{ts}\nSEC123".encode(),
                                         hashlib.sha256).digest()).decode()
    assert query["sign"] == [expected]


def test_feishu_post_with_timestamp_and_sign():
    import json

    url, body, _headers = build_request(endpoint("feishu", url="https://open.feishu.cn/hook/x"),
                                        MSG, AT)
    payload = json.loads(body)
    assert payload["msg_type"] == "post" and payload["timestamp"] == str(int(AT.timestamp()))
    expected = base64.b64encode(hmac.new(f"{payload['timestamp']}\nSEC123".encode(), b"",
                                         hashlib.sha256).digest()).decode()
    assert payload["sign"] == expected
    post = payload["content"]["post"]["zh_cn"]
    assert post["title"] == MSG.title
    assert post["content"][0] == [{"tag": "text", "text": MSG.lines[0]}]
    assert post["content"][-1] == [{"tag": "a", "text": MSG.url, "href": MSG.url}]
    assert url == "https://open.feishu.cn/hook/x"
    unsigned = json.loads(build_request(endpoint("feishu", secret=""), MSG, AT)[1])
    assert "sign" not in unsigned and "timestamp" not in unsigned


def test_generic_without_secret_is_unsigned():
    _url, _body, headers = build_request(endpoint("generic", secret=""), MSG, AT)
    assert "X-MES-Signature" not in headers and headers["X-MES-Timestamp"]


def test_people_without_an_address_get_no_email(make_user):
    lead = make_user("workshop_lead", email="")
    wc = WorkCenterFactory(lead=lead)
    _wo, tasks, _ = released_order(steps=1, work_center=wc)
    schedule(tasks[0], now() - minutes(60), now())
    make_rule(Kind.SCHEDULE_LAG, minutes=30, chain=[
        {"after_minutes": 0, "notify_responsible": True, "channels": ["in_app", "email"]}])
    alerts_sweep()
    assert list(Notification.objects.values_list("channel", flat=True)) == ["in_app"]
