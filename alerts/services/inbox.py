"""A person reading their notifications. Read marks are the reader's own state: they are not
audit-logged, but each change is announced on the reader's topic so every open tab agrees."""

from django.db import transaction
from django.utils import timezone

from alerts.kinds import Channel
from alerts.models import Notification
from alerts.services.common import events_bulk
from mes.events import topic_user


@transaction.atomic
def notifications_mark_read(*, actor, ids=None, alert_id=None, now=None) -> int:
    """Mark the actor's unread in-app notifications read: the given ids, those of one alert,
    or all of them. Returns how many changed."""
    qs = Notification.objects.filter(recipient=actor, channel=Channel.IN_APP,
                                     read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    if alert_id is not None:
        qs = qs.filter(alert_id=alert_id)
    changed = qs.update(read_at=now or timezone.now())
    if changed:
        events_bulk([(topic_user(actor.pk), "notification.read", {"count": changed})],
                    actor=actor)
    return changed
