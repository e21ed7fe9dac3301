"""Authentication: `Authorization: Bearer <key>` for integrations, the session for people
using the browsable API and the docs page."""

import datetime

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from mes.api.tokens import api_token_for_key
from mes.models import ApiToken

LAST_USED_EVERY = datetime.timedelta(minutes=1)  # don't write a row on every call


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keywords = ("bearer", "token")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode("latin-1").lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                _("Send the key as “Authorization: Bearer <key>”."), code="bad_token")
        try:
            key = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Invalid API key."),
                                                  code="bad_token") from None
        token = api_token_for_key(key)
        if token is None:
            raise exceptions.AuthenticationFailed(
                _("Unknown, expired or revoked API key."), code="bad_token")
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_EVERY:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request):
        return 'Bearer realm="mes"'
