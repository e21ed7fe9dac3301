from django.apps import apps
from django.urls import NoReverseMatch, reverse
from django.utils.functional import SimpleLazyObject

from mes.roles import perm


def navigation(request):
    """The navigation entries the signed-in user's roles allow, from each app's nav_items.
    Lazy: partials that show no navigation (most htmx answers) do not pay for it."""
    return {"nav_items": SimpleLazyObject(lambda: _nav_items(request))}


def _nav_items(request) -> list[dict]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    items = []
    current = request.path
    for config in apps.get_app_configs():
        for url_name, label, capability in getattr(config, "nav_items", ()):
            if capability and not user.has_perm(perm(capability)):
                continue
            try:
                url = reverse(url_name)
            except NoReverseMatch:
                continue
            active = current == url if url == "/" else current.startswith(url)
            items.append({"url": url, "label": label, "active": active})
    return items
