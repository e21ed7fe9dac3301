"""E-mail notifications through Django's e-mail backend (locmem in tests)."""

import smtplib

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from alerts.channels.http import PermanentSendError, TransientSendError

MESSAGE_ID_DOMAIN = "mes.alerts"


def email_send(*, to: str, subject: str, body: str, key: str) -> None:
    """Send one message. Its Message-ID is derived from the notification, so a re-delivery
    after a crash carries the same id and mail systems can tell it is the same message."""
    message = EmailMessage(
        subject=subject[:200], body=body, to=[to],
        from_email=getattr(settings, "MES_ALERT_EMAIL_FROM", None) or settings.DEFAULT_FROM_EMAIL,
        headers={"Message-ID": f"<{key}@{MESSAGE_ID_DOMAIN}>", "X-MES-Idempotency-Key": key},
        connection=get_connection(timeout=getattr(settings, "EMAIL_TIMEOUT", None) or 10),
    )
    try:
        message.send(fail_silently=False)
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as exc:
        raise PermanentSendError(f"refused: {exc}"[:300]) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise TransientSendError(f"mail server: {exc}"[:300]) from None
