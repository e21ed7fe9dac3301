"""Both must allow: the token's scopes (for token requests) and the user's role capability.

A view says what each action needs with `access`: {action: (scopes, capability)}, where any one
of `scopes` is enough and `capability` is a codename from mes/roles.py. Actions not listed use
the "read" entry for safe methods and the "write" entry otherwise. Session requests (a person
in the browser) have no token: only the capability applies.
"""

from django.utils.translation import gettext as _
from rest_framework import exceptions, permissions

from mes.models import ApiToken
from mes.roles import perm


def access_for(view, request) -> tuple[tuple[str, ...], str | None]:
    access = getattr(view, "access", {})
    action = getattr(view, "action", None)
    if action in access:
        return access[action]
    key = "read" if request.method in permissions.SAFE_METHODS else "write"
    if key not in access:
        raise exceptions.MethodNotAllowed(request.method)
    return access[key]


class ScopeAndCapability(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            raise exceptions.NotAuthenticated()
        scopes, capability = access_for(view, request)
        token = request.auth if isinstance(request.auth, ApiToken) else None
        if token is not None and scopes and not set(scopes) & set(token.scopes):
            raise exceptions.PermissionDenied(
                _("This API key lacks the scope %(scopes)s.") % {"scopes": " or ".join(scopes)},
                code="missing_scope")
        if capability and not request.user.has_perm(perm(capability)):
            raise exceptions.PermissionDenied(
                _("%(user)s's roles do not allow this (needs %(cap)s).") % {
                    "user": request.user, "cap": capability}, code="missing_capability")
        return True
