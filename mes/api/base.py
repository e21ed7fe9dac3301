"""What every API view shares: authentication, scope + capability checks, the error shape,
size limits, pagination, and one transaction per write request (nothing half-written)."""

import io
import json

from django.contrib.auth.decorators import login_not_required
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils.translation import gettext as _
from rest_framework import exceptions, generics, mixins, parsers, renderers, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from mes.api.auth import ApiTokenAuthentication
from mes.api.errors import Conflict, PayloadTooLarge, api_exception_handler
from mes.api.permissions import ScopeAndCapability
from mes.api.schema import MesAutoSchema

JSON_MAX_BYTES = 1024 * 1024
XML_MAX_BYTES = 2 * 1024 * 1024
SAFE = ("GET", "HEAD", "OPTIONS")


def read_limited(stream, limit: int) -> bytes:
    raw = stream.read(limit + 1) if stream is not None else b""
    if len(raw) > limit:
        raise PayloadTooLarge()
    return raw


NUL = "\x00"


def _nul_path(data, path: str = "body") -> str | None:
    """Where a NUL character hides in parsed JSON (PostgreSQL text cannot hold one)."""
    if isinstance(data, str):
        return path if NUL in data else None
    if isinstance(data, dict):
        items = data.items()
    elif isinstance(data, list):
        items = enumerate(data)
    else:
        return None
    for key, value in items:
        if isinstance(key, str) and NUL in key:
            return path
        found = _nul_path(value, str(key) if path == "body" else f"{path}.{key}")
        if found:
            return found
    return None


def refuse_nul(name: str):
    raise ValidationError({name: [_("Text may not contain NUL characters.")]},
                          code="null_characters")


def _json_error(cause) -> str:
    """DRF's "JSON parse error - Expecting value: line 1 column 32 (char 31)", translated."""
    if isinstance(cause, json.JSONDecodeError):
        return _("The request body is not valid JSON: the error is at line %(line)s, column "
                 "%(column)s.") % {"line": cause.lineno, "column": cause.colno}
    if isinstance(cause, UnicodeDecodeError):
        return _("The request body is not valid JSON: it is not UTF-8 text.")
    return _("The request body is not valid JSON.")


class LimitedJSONParser(parsers.JSONParser):
    """JSON bodies up to 1 MB (a device report is a few hundred bytes), without NULs."""

    def parse(self, stream, media_type=None, parser_context=None):
        raw = read_limited(stream, JSON_MAX_BYTES)
        try:
            data = super().parse(io.BytesIO(raw), media_type, parser_context)
        except exceptions.ParseError as exc:
            raise exceptions.ParseError(_json_error(exc.__context__)) from None
        where = _nul_path(data)
        if where:
            refuse_nul(where)
        return data


class XMLBytesParser(parsers.BaseParser):
    """B2MML documents arrive as raw bytes (up to 2 MB); the view parses and validates them."""

    media_type = "application/xml"

    def parse(self, stream, media_type=None, parser_context=None):
        return read_limited(stream, XML_MAX_BYTES)


class TextXMLBytesParser(XMLBytesParser):
    media_type = "text/xml"


class Pagination(LimitOffsetPagination):
    default_limit = 100
    max_limit = 500


class ApiMixin:
    """Mix into every API view. Set `access` (see mes.api.permissions)."""

    authentication_classes = [ApiTokenAuthentication, SessionAuthentication]
    permission_classes = [ScopeAndCapability]
    parser_classes = [LimitedJSONParser]
    pagination_class = Pagination
    schema = MesAutoSchema()
    access: dict = {}
    # Refusal code -> the input field it is about, when the service does not say.
    error_fields: dict = {}

    @classmethod
    def as_view(cls, *args, **kwargs):
        # Integrations send a token, not a session: the login redirect must not apply.
        return login_not_required(super().as_view(*args, **kwargs))

    def get_exception_handler(self):
        return api_exception_handler

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        for name, value in [*kwargs.items(), *request.query_params.lists()]:
            values = value if isinstance(value, list) else [value]
            if any(isinstance(v, str) and NUL in v for v in values):
                refuse_nul(name)
        if "ordering" in request.query_params:
            # No list sorts on request (each has one documented order): an ignored ordering
            # would hand back rows in an order the caller did not ask for.
            raise ValidationError({"ordering": [_(
                "Lists cannot be sorted on request: leave out ordering (each list has a fixed "
                "order).")]}, code="invalid")

    def dispatch(self, request, *args, **kwargs):
        if request.method in SAFE:
            return super().dispatch(request, *args, **kwargs)
        # One request, one transaction: a refused request leaves nothing behind, even when
        # the view called several services.
        with transaction.atomic():
            response = super().dispatch(request, *args, **kwargs)
            if response.status_code >= 400:
                transaction.set_rollback(True)
        self.after_commit(request, response)
        return response

    def after_commit(self, request, response) -> None:
        """Hook run after the write transaction ended (e.g. to log a refusal)."""


class ApiView(ApiMixin, APIView):
    pass


class ApiGenericView(ApiMixin, generics.GenericAPIView):
    pass


class ReadOnlyViewSet(ApiMixin, viewsets.ReadOnlyModelViewSet):
    pass


class ApiViewSet(ApiMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                 viewsets.GenericViewSet):
    """List + retrieve; subclasses add create/update/actions that call services."""


def created_or_repeated(data, created: bool) -> Response:
    """Exactly-once writes: 201 the first time, 200 with the same result for a retry."""
    return Response(data, status=201 if created else 200)


def call_service(fn, /, **kwargs):
    """Call a service in a savepoint; a unique clash with a concurrent write becomes a 409."""
    try:
        with transaction.atomic():
            return fn(**kwargs)
    except IntegrityError:
        raise Conflict(_("The same record was written at the same moment by another request; "
                         "send it again."), code="duplicate") from None


class XMLRenderer(renderers.BaseRenderer):
    """Lets clients ask for application/xml on B2MML views (their answers are HttpResponses
    built by the view; errors are always JSON)."""

    media_type = "application/xml"
    format = "xml"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, bytes) else b""


class XmlApiView(ApiView):
    renderer_classes = [renderers.JSONRenderer, XMLRenderer]
    parser_classes = [XMLBytesParser, TextXMLBytesParser]

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if isinstance(response, Response) and response.status_code >= 400:
            response.accepted_renderer = renderers.JSONRenderer()
            response.accepted_media_type = "application/json"
        return response

    def xml_body(self, request) -> bytes:
        data = request.data
        if not isinstance(data, bytes) or not data.strip():
            raise ValidationError({"xml": [_("Send the XML document as the request body.")]},
                                  code="required")
        return data


def xml_response(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/xml; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response
