"""Login throttling: after repeated failed sign-ins, refuse further attempts for a while.

After MES_LOGIN_FAILURE_LIMIT (5) failed logins for one username, or from one client address,
within MES_LOGIN_WINDOW_SECONDS (15 min), every further attempt for that username or from
that address is refused for MES_LOGIN_LOCK_SECONDS (15 min) — even with the right password,
so guessing gains nothing — with a message saying so and for how long. A successful login
clears the username's count (not the address's: one machine may not spray many accounts).

Counts live in Django's default cache, which settings make shared by every web process (Redis,
else the database cache), so the limit holds across them. If the cache fails (Redis down), the
throttle fails open: sign-ins are checked by password alone, and a warning is logged. (Redis
counts atomically; the database cache reads then writes, so two failures in the same instant
from two processes may count as one.) The client address is REMOTE_ADDR: behind a proxy, run
uvicorn with --proxy-headers and FORWARDED_ALLOW_IPS set to the proxy's address only, or
clients can pick their own.
"""

import hashlib
import logging
import math
import time

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

KEY_PREFIX = "mes:login"

log = logging.getLogger(__name__)


def failure_limit() -> int:
    return int(getattr(settings, "MES_LOGIN_FAILURE_LIMIT", 5))


def window_seconds() -> int:
    return int(getattr(settings, "MES_LOGIN_WINDOW_SECONDS", 15 * 60))


def lock_seconds() -> int:
    return int(getattr(settings, "MES_LOGIN_LOCK_SECONDS", 15 * 60))


def client_address(request) -> str:
    return (request.META.get("REMOTE_ADDR") or "unknown")[:64] if request is not None else ""


def _subjects(username: str, address: str) -> list[str]:
    """Cache-safe names of what is counted: the username (case-folded) and the address."""
    out = []
    if username:
        digest = hashlib.sha256(username.strip().casefold().encode()).hexdigest()[:32]
        out.append(f"user:{digest}")
    if address:
        out.append(f"ip:{hashlib.sha256(address.encode()).hexdigest()[:32]}")
    return out


def locked_seconds(username: str, address: str) -> int:
    """Seconds until the username and the address may try again (0: they may now)."""
    keys = [f"{KEY_PREFIX}:lock:{s}" for s in _subjects(username, address)]
    try:
        until = cache.get_many(keys).values()
    except Exception:  # fail open: a broken cache must not lock everybody out
        log.warning("Login throttle: the cache is unavailable; not checking locks", exc_info=True)
        return 0
    now = time.time()
    left = max([u - now for u in until if u] or [0])
    return math.ceil(left) if left > 0 else 0


def login_failure_record(username: str, address: str) -> None:
    """Count one failed login; lock the username or address that reaches the limit."""
    try:
        _failure_count(username, address)
    except Exception:  # fail open: the failure goes uncounted, the request carries on
        log.warning("Login throttle: the cache is unavailable; a failed sign-in was not "
                    "counted", exc_info=True)


def _failure_count(username: str, address: str) -> None:
    for subject in _subjects(username, address):
        key = f"{KEY_PREFIX}:fail:{subject}"
        cache.add(key, 0, window_seconds())  # the window starts at the first failure
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr: this failure starts a new window
            cache.set(key, 1, window_seconds())
            count = 1
        if count >= failure_limit():
            cache.set(f"{KEY_PREFIX}:lock:{subject}", time.time() + lock_seconds(),
                      lock_seconds())
            cache.delete(key)


def login_throttle_reset(username: str = "", address: str = "") -> None:
    """Forget the failures and lock of a username and/or address (after a success, or by an
    administrator who has checked who was locked out)."""
    keys = [f"{KEY_PREFIX}:{kind}:{s}" for s in _subjects(username, address)
            for kind in ("fail", "lock")]
    try:
        cache.delete_many(keys)
    except Exception:
        log.warning("Login throttle: the cache is unavailable; could not reset", exc_info=True)


def throttled_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return _("Too many failed sign-ins for this account or from this device. Sign-in is "
             "blocked for %(minutes)d more minute(s); try again later or ask an "
             "administrator.") % {"minutes": minutes}


class ThrottledAuthenticationFormMixin:
    """Refuse while locked out (before checking the password); count each failure."""

    throttled = False

    def clean(self):
        username = self.data.get("username", "") or ""
        address = client_address(self.request)
        left = locked_seconds(username, address)
        if left:
            self.throttled = True
            raise ValidationError(throttled_message(left), code="throttled")
        try:
            cleaned = super().clean()
        except ValidationError:
            login_failure_record(username, address)
            left = locked_seconds(username, address)
            if left:  # this failure was the last one allowed
                self.throttled = True
                raise ValidationError(throttled_message(left), code="throttled") from None
            raise
        login_throttle_reset(username=username)
        return cleaned


class ThrottledAuthenticationForm(ThrottledAuthenticationFormMixin, AuthenticationForm):
    pass


class ThrottledAdminAuthenticationForm(ThrottledAuthenticationFormMixin,
                                       AdminAuthenticationForm):
    """The Django admin's own login page (set as admin.site.login_form in MesConfig.ready)."""


class ThrottledLoginView(LoginView):
    """The login page, refusing (429, with the reason) while an account or device is locked."""

    authentication_form = ThrottledAuthenticationForm

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.throttled:
            response.status_code = 429
        return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = context.get("form")
        if form is not None and form.throttled:
            context["throttled"] = form.non_field_errors()[0]
        return context
