"""The one place that talks HTTP to webhook receivers (stdlib only; tests replace `post`)."""

import urllib.error
import urllib.request


class SendError(Exception):
    """A notification could not be delivered."""

    transient = True


class TransientSendError(SendError):
    """Worth retrying later: a timeout, a network error, a 5xx, a rate limit."""


class PermanentSendError(SendError):
    """Retrying will not help: a 4xx, a robot refusing the key or the signature."""

    transient = False


ERROR_MAX = 300


def post(url: str, body: bytes, headers: dict, timeout: float) -> tuple[int, str]:
    """POST `body`; (status, response text) for a 2xx, else a SendError saying why."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.read(64 * 1024).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        text = exc.read(2000).decode("utf-8", "replace") if exc.fp else ""
        message = f"HTTP {exc.code}: {text}"[:ERROR_MAX]
        if exc.code in (408, 425, 429) or exc.code >= 500:
            raise TransientSendError(message) from None
        raise PermanentSendError(message) from None
    except TimeoutError:
        raise TransientSendError(f"no answer within {timeout:g} s") from None
    except urllib.error.URLError as exc:
        raise TransientSendError(f"cannot connect: {exc.reason}"[:ERROR_MAX]) from None
    except OSError as exc:
        raise TransientSendError(f"network error: {exc}"[:ERROR_MAX]) from None
