"""The current request's id, so audit entries and logs can be tied to one request."""

import contextvars
import uuid

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("mes_request_id", default="")


def current_request_id() -> str:
    return _request_id.get()


def new_request_id() -> contextvars.Token:
    return _request_id.set(str(uuid.uuid4()))


def reset_request_id(token: contextvars.Token) -> None:
    _request_id.reset(token)
