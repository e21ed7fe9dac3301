from mes.events import TOPIC_DEMO
from mes.models import Event


def demo_events_recent(limit: int = 20):
    return list(Event.objects.filter(topic=TOPIC_DEMO).select_related("actor")
                .order_by("-id")[:limit])
