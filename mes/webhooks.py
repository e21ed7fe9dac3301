"""Outgoing webhooks: outside systems subscribe to outbox events and get one signed POST each.

Driven from the outbox: the beat task `webhooks_dispatch` reads events past each subscription's
cursor (gap-safe, as the live stream: mes.stream.safe_prefix), makes one WebhookDelivery row per
(subscription, event) — the unique pair means nothing is sent twice — and enqueues one Celery
task per due delivery, so a dead endpoint only delays its own rows. `webhook_deliver` claims its
row (a conditional UPDATE) before sending, and on failure schedules the next attempt with an
exponential backoff that the next dispatch picks up; after MAX_ATTEMPTS the row is failed.

Receivers verify `X-MES-Signature: sha256=<hex>`, the HMAC-SHA256 with the subscription's secret
of `<X-MES-Timestamp>.<raw body>` (as the alert webhooks sign), and may dedupe on
`Idempotency-Key`.
"""

import datetime
import hashlib
import hmac
import json
import logging
import secrets
import time
import urllib.error
import urllib.request

from celery import shared_task
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import F, Max, Min
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mes.audit import audit_record, snapshot
from mes.events import TOPIC_PLANT
from mes.models import AuditEntry, Event, WebhookDelivery, WebhookSubscription
from mes.stream import safe_prefix

log = logging.getLogger(__name__)

# The outbox event kinds (on the plant topic) a subscription may choose.
WEBHOOK_KINDS = {
    "work_orders.released": gettext_lazy("Work orders released"),
    "work_order.completed": gettext_lazy("Work order completed (awaits acceptance)"),
    "work_order.accepted": gettext_lazy("Work order accepted"),
    "alert.raised": gettext_lazy("Alert raised"),
    "alert.resolved": gettext_lazy("Alert resolved"),
    "schedule.changed": gettext_lazy("Schedule changed"),
}
BEAT_ENTRY = "mes-webhooks-dispatch"
DISPATCH_SECONDS = 10.0
MATCH_LIMIT = 1000
DUE_LIMIT = 500
LEASE = datetime.timedelta(seconds=60)       # an enqueued row is not enqueued again before
STALE = datetime.timedelta(minutes=10)       # a "sending" row this old lost its worker
MAX_ATTEMPTS = 8
TIMEOUT_SECONDS = 10.0
S = WebhookDelivery.Status
SIGNATURE_HEADER, TIMESTAMP_HEADER = "X-MES-Signature", "X-MES-Timestamp"


def backoff(attempts: int) -> datetime.timedelta:
    """30 s, 1, 2, 4, 8 … minutes, at most an hour."""
    return datetime.timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver does with the headers (also used by the tests)."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature or "")


# --- Subscriptions ----------------------------------------------------------------------------
def _clean(name: str, url: str, kinds) -> tuple[str, str, list[str]]:
    errors = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = _("Name the receiving system.")
    url = (url or "").strip()
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        errors["url"] = _("Enter an http:// or https:// URL.")
    kinds = sorted(set(kinds or []))
    unknown = [k for k in kinds if k not in WEBHOOK_KINDS]
    if unknown or not kinds:
        errors["kinds"] = _("Choose events from the list.")
    if errors:
        raise ValidationError(errors)
    return name[:100], url, kinds


@transaction.atomic
def webhook_subscription_create(*, actor, name: str, url: str, kinds) -> tuple:
    """Subscribe a URL to event kinds, from now on. Returns (subscription, secret): the
    receiver needs the secret to check signatures; it is shown once."""
    name, url, kinds = _clean(name, url, kinds)
    secret = secrets.token_urlsafe(32)
    latest = Event.objects.aggregate(m=Max("id"))["m"] or 0
    sub = WebhookSubscription.objects.create(
        name=name, url=url, kinds=kinds, secret=secret, cursor=latest,
        created_by=actor if getattr(actor, "is_authenticated", False) else None)
    audit_record(actor=actor, instance=sub, action=AuditEntry.Action.CREATE)
    return sub, secret


@transaction.atomic
def webhook_subscription_set_active(*, actor, subscription, active: bool) -> WebhookSubscription:
    """Pause or resume a subscription. Resumed, it continues from now (no backlog flood)."""
    sub = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
    if sub.active == active:
        return sub
    before = snapshot(sub, ["active", "cursor"])
    sub.active = active
    if active:
        sub.cursor = Event.objects.aggregate(m=Max("id"))["m"] or 0
    sub.save(update_fields=["active", "cursor"])
    audit_record(actor=actor, instance=sub, action=AuditEntry.Action.UPDATE, before=before,
                 after=snapshot(sub, ["active", "cursor"]))
    return sub


# --- Matching events to subscriptions ---------------------------------------------------------
@transaction.atomic
def webhooks_match(now=None) -> int:
    """Make the delivery rows for events past each active subscription's cursor; how many.
    Two dispatchers at once are safe: the subscriptions are locked and each
    (subscription, event) pair is unique."""
    now = now or timezone.now()
    subs = list(WebhookSubscription.objects.select_for_update(skip_locked=True)
                .filter(active=True).order_by("pk"))
    if not subs:
        return 0
    start = min(s.cursor for s in subs)
    rows = list(Event.objects.filter(id__gt=start).order_by("id")
                .only("id", "topic", "kind", "created_at")[:MATCH_LIMIT])
    new = []
    for sub in subs:
        mine = safe_prefix([r for r in rows if r.id > sub.cursor], sub.cursor, now,
                           settings.MES_EVENT_GAP_GRACE_SECONDS)
        if not mine:
            continue
        wanted = set(sub.kinds)
        new += [WebhookDelivery(subscription=sub, event_id=r.id, next_attempt_at=now)
                for r in mine if r.topic == TOPIC_PLANT and r.kind in wanted]
        WebhookSubscription.objects.filter(pk=sub.pk).update(cursor=mine[-1].id)
    WebhookDelivery.objects.bulk_create(new, ignore_conflicts=True, batch_size=500)
    return len(new)


@transaction.atomic
def webhooks_due(now=None) -> list[int]:
    """Deliveries to send now; each is leased so the next dispatch does not enqueue it again."""
    now = now or timezone.now()
    WebhookDelivery.objects.filter(status=S.SENDING, claimed_at__lt=now - STALE).update(
        status=S.RETRYING, next_attempt_at=now)
    ids = list(WebhookDelivery.objects.select_for_update(skip_locked=True)
               .filter(status__in=(S.PENDING, S.RETRYING), next_attempt_at__lte=now,
                       subscription__active=True)
               .order_by("next_attempt_at", "id").values_list("pk", flat=True)[:DUE_LIMIT])
    WebhookDelivery.objects.filter(pk__in=ids).update(next_attempt_at=now + LEASE)
    return ids


@shared_task(ignore_result=True)
def webhooks_dispatch() -> int:
    """Beat task: match new events, then enqueue one delivery task per due row."""
    webhooks_match()
    ids = webhooks_due()
    for delivery_id in ids:
        webhook_deliver.delay(delivery_id)
    return len(ids)


# --- Sending ----------------------------------------------------------------------------------
def _claim(delivery_id: int, now) -> bool:
    return WebhookDelivery.objects.filter(
        pk=delivery_id, status__in=(S.PENDING, S.RETRYING)).update(
        status=S.SENDING, claimed_at=now, attempts=F("attempts") + 1) == 1


def body_for(delivery: WebhookDelivery) -> bytes:
    event = delivery.event
    return json.dumps({
        "delivery": delivery.pk, "subscription": delivery.subscription.name,
        "event": {"id": event.id, "kind": event.kind, "topic": event.topic,
                  "created_at": event.created_at, "payload": event.payload},
    }, cls=DjangoJSONEncoder, ensure_ascii=False).encode()


def post(url: str, body: bytes, headers: dict, timeout: float) -> tuple[int | None, str]:
    """POST; (status, error text) — error text empty for a 2xx."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code}"
    except TimeoutError:
        return None, f"no answer within {timeout:g} s"
    except urllib.error.URLError as exc:
        return None, f"cannot connect: {exc.reason}"[:300]
    except OSError as exc:
        return None, f"network error: {exc}"[:300]


@shared_task(ignore_result=True)
def webhook_deliver(delivery_id: int) -> str:
    """Send one delivery, once: claim it, POST it signed, record the outcome."""
    now = timezone.now()
    if not _claim(delivery_id, now):
        return "not claimed"  # delivered, being sent by another worker, or not due
    delivery = WebhookDelivery.objects.select_related("subscription", "event").get(
        pk=delivery_id)
    sub = delivery.subscription
    body = body_for(delivery)
    stamp = str(int(time.time()))
    headers = {"Content-Type": "application/json; charset=utf-8",
               "User-Agent": "MES-webhooks/1", "X-MES-Event": delivery.event.kind,
               "X-MES-Delivery": str(delivery.pk),
               "Idempotency-Key": f"mes-{sub.pk}-{delivery.event_id}",
               TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: sign(sub.secret, stamp, body)}
    code, error = post(sub.url, body, headers, TIMEOUT_SECONDS)
    done = timezone.now()
    if code is not None and 200 <= code < 300:
        WebhookDelivery.objects.filter(pk=delivery_id).update(
            status=S.DELIVERED, response_code=code, delivered_at=done, last_error="")
        return "delivered"
    failed = delivery.attempts >= MAX_ATTEMPTS
    WebhookDelivery.objects.filter(pk=delivery_id).update(
        status=S.FAILED if failed else S.RETRYING, response_code=code,
        last_error=error[:300], next_attempt_at=done + backoff(delivery.attempts))
    log.info("Webhook delivery %s to %s failed (%s)", delivery_id, sub.url, error)
    return "failed" if failed else "retrying"


def webhook_retry_now(*, delivery: WebhookDelivery) -> None:
    """An administrator's "send again" for a failed delivery."""
    WebhookDelivery.objects.filter(pk=delivery.pk, status=S.FAILED).update(
        status=S.RETRYING, attempts=0, next_attempt_at=timezone.now())


def beat_entry() -> dict:
    return {"task": "mes.webhooks.webhooks_dispatch", "schedule": DISPATCH_SECONDS,
            "options": {"expires": DISPATCH_SECONDS}}


def install_beat_schedule() -> None:
    """Add the dispatch to the Celery beat schedule (call from MesConfig.ready)."""
    from mes.celery import app

    app.conf.beat_schedule.setdefault(BEAT_ENTRY, beat_entry())


def oldest_pending_age(now=None):
    """How long the oldest undelivered row has waited (for the admin page)."""
    now = now or timezone.now()
    oldest = WebhookDelivery.objects.filter(status__in=(S.PENDING, S.RETRYING)).aggregate(
        m=Min("created_at"))["m"]
    return now - oldest if oldest else None
