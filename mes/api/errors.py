"""Every API error has one shape, naming the field when there is one::

    {"errors": [{"field": "good", "code": "too_many", "message": "Only 3 left to report …"}]}

Status codes: 400 malformed or invalid input (parsing, types, unknown references), 401 no or
bad token, 403 missing scope or capability, 404 unknown record, 409 the record's state does not
allow it (a released order, a finished task), 413 too large, 422 a business rule refused it.
"""

from django.core.exceptions import NON_FIELD_ERRORS, ObjectDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

# Refusal codes that mean "not in this state" rather than "bad values": answered 409.
STATE_CODES = frozenset({
    "not_released", "on_hold", "done", "cancelled", "work_order_finished", "running",
    "state", "released", "blocked", "decided",
})


# Codes that mean the document itself is unusable (not well-formed, not valid): 400.
MALFORMED_CODES = frozenset({"malformed", "schema", "wrong_document"})

# ValidationError subclasses that always mean a state conflict (409). The apps register theirs
# (planning: InvalidTransition) so that mes never imports an app.
CONFLICT_TYPES: list[type] = []


def register_conflict(exc_type: type) -> None:
    if exc_type not in CONFLICT_TYPES:
        CONFLICT_TYPES.append(exc_type)


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("The request body is too large.")
    default_code = "too_large"


class Conflict(exceptions.APIException):
    """The record's state does not allow the request (409); `field` names what conflicts."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"

    def __init__(self, message, *, code="conflict", field=None):
        messages = message if isinstance(message, list | tuple) else [message]
        super().__init__({field or NON_FIELD_ERRORS: [exceptions.ErrorDetail(str(m), code)
                                                      for m in messages]})


class Unprocessable(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "invalid"


class ErrorItemSerializer(serializers.Serializer):
    field = serializers.CharField(allow_null=True, help_text=_("The input field, or null."))
    code = serializers.CharField()
    message = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    errors = ErrorItemSerializer(many=True)


def _item(field, code, message) -> dict:
    if field in (NON_FIELD_ERRORS, "non_field_errors", None, ""):
        field = None
    return {"field": field, "code": str(code or "invalid"), "message": str(message)}


def _from_detail(detail, field=None) -> list[dict]:
    """DRF's nested error detail (dicts, lists, ErrorDetail) as flat items."""
    if isinstance(detail, dict):
        out = []
        for key, value in detail.items():
            name = key if field is None else f"{field}.{key}"
            out += _from_detail(value, None if key in (NON_FIELD_ERRORS, "non_field_errors")
                                and field is None else name)
        return out
    if isinstance(detail, list):
        out = []
        for index, value in enumerate(detail):
            nested = isinstance(value, dict | list) and field is not None
            out += _from_detail(value, f"{field}[{index}]" if nested else field)
        return out
    return [_item(field, getattr(detail, "code", None), detail)]


def django_errors(exc: DjangoValidationError, field_of_code: dict | None = None) -> list[dict]:
    """A Django ValidationError (from a service or a model) as error items."""
    field_of_code = field_of_code or {}
    default_code = getattr(exc, "code", None)
    pairs = (exc.error_dict.items() if hasattr(exc, "error_dict")
             else [(None, exc.error_list)])
    out = []
    for field, errors in pairs:
        for error in errors:
            code = error.code or default_code or "invalid"
            message = error.message % error.params if error.params else error.message
            out.append(_item(field if field is not None else field_of_code.get(code), code,
                             message))
    return out


def django_status(exc: DjangoValidationError) -> int:
    if isinstance(exc, tuple(CONFLICT_TYPES)):
        return status.HTTP_409_CONFLICT
    codes = {e.code for e in exc.error_list} if not hasattr(exc, "error_dict") else {
        e.code for errors in exc.error_dict.values() for e in errors}
    codes.add(getattr(exc, "code", None))
    if codes & MALFORMED_CODES:
        return status.HTTP_400_BAD_REQUEST
    if codes & STATE_CODES:
        return status.HTTP_409_CONFLICT
    return status.HTTP_422_UNPROCESSABLE_ENTITY


def error_response(items: list[dict], status_code: int, headers=None) -> Response:
    return Response({"errors": items}, status=status_code, headers=headers)


def api_exception_handler(exc, context):
    """DRF exception handler: the one error shape for every failure the API reports."""
    view = context.get("view")
    field_of_code = getattr(view, "error_fields", {}) if view is not None else {}
    if isinstance(exc, DjangoValidationError):
        return error_response(django_errors(exc, field_of_code), django_status(exc))
    if isinstance(exc, Http404 | ObjectDoesNotExist):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    if not isinstance(exc, exceptions.APIException):
        return None  # a bug: let it be a 500 with the traceback in the log
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    if isinstance(exc, exceptions.ParseError):
        items = [_item(None, "malformed", exc.detail)]
    else:
        items = _from_detail(exc.detail)
    return error_response(items, exc.status_code, headers)
