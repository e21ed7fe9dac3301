"""API test helpers: keys with scopes for users with roles, and a JSON client that sends them."""

import json

from django.utils import translation

from mes.api.tokens import SCOPES, api_token_create
from tests.factories import UserFactory

ALL_SCOPES = tuple(SCOPES)


def api_key(*roles, scopes=ALL_SCOPES, user=None, name="test integration"):
    """(token, key) for a new user with `roles` (or `user`), limited to `scopes`."""
    user = user or UserFactory(roles=list(roles or ["admin"]))
    return api_token_create(actor=None, user=user, name=name, scopes=list(scopes))


class ApiClient:
    """Django's test client speaking JSON with `Authorization: Bearer <key>`."""

    def __init__(self, client, key: str | None, language: str = "en"):
        self.client = client
        # Integrations choose their language; the assertions below read English messages.
        self.headers = {"Accept-Language": language}
        if key:
            self.headers["Authorization"] = f"Bearer {key}"

    def get(self, path, params=None, **headers):
        # The request activates its language; leave the test's own language as it was.
        with translation.override(translation.get_language()):
            return self.client.get(path, params or {}, headers={**self.headers, **headers})

    def _send(self, method, path, data, content_type, headers):
        body = data if isinstance(data, bytes | str) else json.dumps(
            data if data is not None else {}, default=str)
        with translation.override(translation.get_language()):
            return getattr(self.client, method)(path, body, content_type=content_type,
                                                headers={**self.headers, **headers})

    def post(self, path, data=None, content_type="application/json", **headers):
        return self._send("post", path, data, content_type, headers)

    def put(self, path, data=None, content_type="application/json", **headers):
        return self._send("put", path, data, content_type, headers)

    def patch(self, path, data=None, content_type="application/json", **headers):
        return self._send("patch", path, data, content_type, headers)


def api_as(client, *roles, scopes=ALL_SCOPES, user=None) -> ApiClient:
    token, key = api_key(*roles, scopes=scopes, user=user)
    api = ApiClient(client, key)
    api.user, api.token, api.key = token.user, token, key
    return api


def error_of(response, field=None) -> dict:
    """The first error item (for `field` when given) of an error response."""
    items = response.json()["errors"]
    if field is not None:
        items = [e for e in items if e["field"] == field]
    assert items, response.json()
    return items[0]
