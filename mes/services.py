from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from mes.events import TOPIC_DEMO, event_emit
from mes.models import Event

__all__ = ["ValidationError", "demo_message_post"]

DEMO_MESSAGE_MAX = 500


@transaction.atomic
def demo_message_post(*, actor, text: str) -> Event:
    """Post a message to the live demo page. After: one outbox event on topic 'demo'."""
    text = (text or "").strip()
    if not text:
        raise ValidationError(_("The message is empty."))
    if len(text) > DEMO_MESSAGE_MAX:
        raise ValidationError(_("The message is longer than %(max)d characters.")
                              % {"max": DEMO_MESSAGE_MAX})
    return event_emit(topic=TOPIC_DEMO, kind="demo.message",
                      payload={"text": text, "by": str(actor) if actor else "system"},
                      actor=actor)
