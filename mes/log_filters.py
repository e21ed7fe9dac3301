"""Logging filters."""

import logging


class ClientErrorsWithoutTraceback(logging.Filter):
    """A 4xx answer (a refused permission, a bad request) is the client's mistake, told to the
    client: log its one line, not the server's traceback (a 403 logged ~40 lines each)."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if record.name == "django.request" and status is not None and 400 <= status < 500:
            record.exc_info = None
            record.exc_text = None
        return True
