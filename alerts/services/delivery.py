"""Sending e-mail and webhook notifications exactly once, from Celery.

1. Claim: one conditional UPDATE moves the row pending → sending (or takes over a `sending`
   row whose claim lease expired: its worker died). It commits at once. A second run of the
   task — a duplicate message, a re-delivery after a crash — finds nothing to claim and stops.
2. Send, with no transaction and no row lock held: a slow or dead receiver blocks nothing
   but this one task, for at most the endpoint's timeout.
3. Record the outcome with another conditional UPDATE: sent (sent_at), or back to pending with
   the error (Celery retries with exponential backoff), or failed after the last attempt.

The one residual window: a worker that dies after the receiver accepted the message but
before step 3 commits. After the lease expires the notification is sent again — with the same
`Idempotency-Key` header (webhooks) or Message-ID (e-mail), so the receiver can drop the
repeat. No design without the receiver's help closes that window; this one keeps it to a crash
between two statements.
"""

import datetime
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from alerts.channels import SendError, TransientSendError, deliver
from alerts.kinds import Channel
from alerts.models import Notification
from alerts.services.common import alert_event_rows, events_bulk

log = logging.getLogger("alerts")
N = Notification.Status
SENT_BY_WORKER = (Channel.EMAIL, Channel.WEBHOOK)


def max_attempts() -> int:
    return int(getattr(settings, "MES_ALERT_SEND_MAX_ATTEMPTS", 5))


def lease() -> datetime.timedelta:
    """How long a claim protects a send in progress: longer than any send can take."""
    return datetime.timedelta(seconds=int(getattr(settings, "MES_ALERT_SEND_LEASE_SECONDS",
                                                  120)))


def backoff(attempt: int) -> datetime.timedelta:
    """Celery's retry_backoff: 2, 4, 8 … s, at most 10 minutes (jitter comes on top)."""
    return datetime.timedelta(seconds=min(600, 2 ** max(1, attempt)))


def notification_claim(notification_id: int, now) -> Notification | None:
    """Take the notification for sending, or None when it is sent, failed, or in another
    worker's hands. Runs in autocommit: the claim is visible to every worker at once."""
    claimed = (Notification.objects
               .filter(pk=notification_id, channel__in=SENT_BY_WORKER)
               .filter(Q(status=N.PENDING) | Q(status=N.SENDING, claimed_at__lt=now - lease()))
               .update(status=N.SENDING, claimed_at=now, attempts=F("attempts") + 1,
                       next_attempt_at=None))
    if not claimed:
        return None
    return (Notification.objects
            .select_related("alert", "alert__rule", "alert__assignee", "recipient", "endpoint")
            .get(pk=notification_id))


def _finish(n: Notification, **changes) -> bool:
    """Record the outcome, if the claim is still ours."""
    return bool(Notification.objects.filter(pk=n.pk, status=N.SENDING, claimed_at=n.claimed_at)
                .update(**changes))


def notification_deliver(notification_id: int, *, now=None) -> str:
    """Claim, send, record. Returns "sent", "failed" or "skipped" (nothing to do); raises
    TransientSendError when a retry should follow (the row is pending again)."""
    now = now or timezone.now()
    n = notification_claim(notification_id, now)
    if n is None:
        return "skipped"
    try:
        deliver(n, now)
    except SendError as exc:
        error = str(exc)[:500] or exc.__class__.__name__
        if exc.transient and n.attempts < max_attempts():
            _finish(n, status=N.PENDING, last_error=error,
                    next_attempt_at=timezone.now() + backoff(n.attempts))
            raise TransientSendError(error) from exc
        if _finish(n, status=N.FAILED, last_error=error):
            _report_failure(n, error)
        return "failed"
    _finish(n, status=N.SENT, sent_at=timezone.now(), last_error="")
    return "sent"


def _report_failure(n: Notification, error: str) -> None:
    """Shown on the alert page (and live on boards) without blocking anything."""
    log.warning("notification %s to %s failed for good: %s", n.pk, n.target_display, error)
    with transaction.atomic():
        events_bulk([(topic, "notification.failed",
                      {**payload, "notification": n.pk, "channel": n.channel, "error": error})
                     for topic, _kind, payload in alert_event_rows([n.alert],
                                                                   "notification.failed")])


def notifications_stale(*, now, limit: int = 500) -> list[int]:
    """Notifications whose Celery message was lost (broker down at enqueue, a retry dropped)
    or whose worker died holding the claim: the sweep enqueues them again."""
    grace = datetime.timedelta(minutes=2)
    return list(Notification.objects.filter(channel__in=SENT_BY_WORKER).filter(
        Q(status=N.PENDING, next_attempt_at__isnull=True, created_at__lt=now - grace)
        | Q(status=N.PENDING, next_attempt_at__lt=now - grace)
        | Q(status=N.SENDING, claimed_at__lt=now - lease()),
    ).order_by("pk").values_list("pk", flat=True)[:limit])
