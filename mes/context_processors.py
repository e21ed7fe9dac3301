from django.apps import apps
from django.urls import NoReverseMatch, reverse
from django.utils.functional import SimpleLazyObject

from mes.roles import perm


def navigation(request):
    """The navigation entries the signed-in user's roles allow, from each app's nav_items.
    Lazy: partials that show no navigation (most htmx answers) do not pay for it."""
    return {"nav_items": SimpleLazyObject(lambda: nav_entries(getattr(request, "user", None),
                                                              current=request.path))}


def nav_entries(user, *, current: str = "", app_label: str | None = None) -> list[dict]:
    """The pages `user` may open, in navigation order (each app's `nav_items`: url name,
    label, capability); only `app_label`'s when given."""
    if user is None or not user.is_authenticated:
        return []
    configs = apps.get_app_configs() if app_label is None else [apps.get_app_config(app_label)]
    items = []
    for config in configs:
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
