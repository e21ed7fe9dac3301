from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.middleware import (
    LoginRequiredMiddleware as BaseLoginRequiredMiddleware,
)
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from mes.request_context import new_request_id, reset_request_id


class RequestIdMiddleware:
    """Gives each request an id (echoed in X-Request-ID) that audit entries record."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = new_request_id()
        try:
            from mes.request_context import current_request_id

            request.request_id = current_request_id()
            response = self.get_response(request)
            response["X-Request-ID"] = request.request_id
            return response
        finally:
            reset_request_id(token)


class LoginRequiredMiddleware(BaseLoginRequiredMiddleware):
    """Django's login requirement, except that an htmx request (a tap, a scan, a panel's live
    refresh) is not redirected: htmx would follow the redirect and draw the login page inside
    the panel. It gets 401, nothing to swap, and in `MES-Sign-In` the login address with `next`
    set to the page the request came from; the page says so and goes there (station.js)."""

    def handle_no_permission(self, request, view_func):
        if request.headers.get("HX-Request") != "true":
            return super().handle_no_permission(request, view_func)
        page = request.headers.get("HX-Current-URL", "")
        if url_has_allowed_host_and_scheme(page, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
            parts = urlsplit(page)
            back = parts.path + (f"?{parts.query}" if parts.query else "")
        else:  # (no page, or another site's: back to where a sign-in goes anyway)
            back = resolve_url(settings.LOGIN_REDIRECT_URL)
        login = redirect_to_login(back, resolve_url(self.get_login_url(view_func)),
                                  self.get_redirect_field_name(view_func))
        response = HttpResponse(_("Signed out: sign in again."), status=401,
                                content_type="text/plain; charset=utf-8")
        response["MES-Sign-In"] = login["Location"]
        response["HX-Reswap"] = "none"
        return response
