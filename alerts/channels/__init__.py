"""Delivery channels. In-app notifications need none (they are outbox events written with the
notification); e-mail and webhooks are sent from Celery by alerts.services.delivery."""

from django.conf import settings
from django.utils.translation import gettext as _

from alerts.channels.email import email_send
from alerts.channels.http import (  # noqa: F401
    PermanentSendError,
    SendError,
    TransientSendError,
)
from alerts.channels.webhook import Message, webhook_send
from alerts.kinds import Channel
from alerts.services.common import alert_url


def absolute(path: str) -> str:
    base = getattr(settings, "MES_BASE_URL", "") or ""
    return f"{base.rstrip('/')}{path}" if base else path


def message_for(notification) -> Message:
    from alerts.services.notify import notification_title

    alert = notification.alert
    lines = [alert.message]
    if alert.assignee_id:
        lines.append(_("Assignee: %(who)s") % {"who": alert.assignee})
    if notification.level:
        lines.append(_("Escalation level %(n)s") % {"n": notification.level})
    return Message(
        key=notification.idempotency_key, event="alert.notification",
        title=notification_title(alert), lines=lines, url=absolute(alert_url(alert.pk)),
        severity=alert.severity,
        data={"id": alert.pk, "rule": alert.rule.code, "kind": alert.kind,
              "severity": alert.severity, "status": alert.status,
              "subject": alert.subject_repr, "message": alert.message,
              "raised_at": alert.raised_at.isoformat(), "level": notification.level,
              "work_center": alert.work_center_id, "task": alert.task_id,
              "work_order": alert.work_order_id})


def deliver(notification, now) -> None:
    """Send one e-mail or webhook notification; a SendError says why it did not go."""
    msg = message_for(notification)
    if notification.channel == Channel.EMAIL:
        body = "\n".join([*msg.lines, "", msg.url])
        email_send(to=notification.recipient.email, subject=f"[MES] {msg.title}", body=body,
                   key=msg.key)
    elif notification.channel == Channel.WEBHOOK:
        if notification.endpoint is None or not notification.endpoint.active:
            raise PermanentSendError(_("The webhook endpoint was removed or switched off."))
        webhook_send(notification.endpoint, msg, now)
    else:
        raise PermanentSendError(f"channel {notification.channel} is not sent by a worker")
