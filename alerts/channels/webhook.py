"""Webhook messages: generic signed JSON and the robot formats of WeCom, DingTalk and Feishu.

Generic receivers verify `X-MES-Signature: sha256=<hex>`, the HMAC-SHA256 with the endpoint's
secret of `<X-MES-Timestamp>.<raw body>`, and dedupe on `Idempotency-Key` (the same for every
retry and re-delivery of one notification). Robots sign as their platforms document:
DingTalk adds `timestamp` (ms) and `sign` to the URL; Feishu puts `timestamp` (s) and `sign`
in the body. WeCom robots carry their key in the URL and sign nothing.
"""

import base64
import hashlib
import hmac
import json
import urllib.parse
from dataclasses import dataclass

from django.conf import settings

from alerts.channels.http import PermanentSendError, TransientSendError, post
from alerts.models import WebhookEndpoint

K = WebhookEndpoint.Kind
SIGNATURE_HEADER = "X-MES-Signature"
TIMESTAMP_HEADER = "X-MES-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
# Robot error codes that mean "slow down", worth a retry; any other refusal is permanent.
THROTTLED = {45009, 130101, 11232, 9499}


@dataclass
class Message:
    """What a webhook says, whatever its format."""

    key: str            # idempotency key
    event: str          # e.g. alert.notification, alert.test
    title: str
    lines: list[str]
    url: str            # link to the alert page ('' when unknown)
    severity: str
    data: dict          # the structured alert, for generic receivers


def sign_generic(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify_generic(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver does with the headers (also used by the tests)."""
    return hmac.compare_digest(sign_generic(secret, timestamp, body), signature or "")


def sign_dingtalk(secret: str, timestamp_ms: str) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def sign_feishu(secret: str, timestamp_s: str) -> str:
    # Feishu's robot: the key is "timestamp\nsecret" and the message is empty.
    mac = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def _markdown(msg: Message, *, wecom: bool) -> str:
    colour = {"critical": "warning", "warning": "comment", "info": "info"}.get(msg.severity,
                                                                              "comment")
    head = (f'## <font color="{colour}">{msg.title}</font>' if wecom else f"## {msg.title}")
    body = "\n".join(f"> {line}" for line in msg.lines)
    link = f"\n\n[{msg.url}]({msg.url})" if msg.url else ""
    return f"{head}\n{body}{link}"


def build_request(endpoint: WebhookEndpoint, msg: Message, now) -> tuple[str, bytes, dict]:
    """(url, body, headers) for `endpoint`'s format, signed for `now`."""
    headers = {"Content-Type": "application/json; charset=utf-8",
               "User-Agent": "MES-alerts/1", IDEMPOTENCY_HEADER: msg.key}
    url = endpoint.url
    if endpoint.kind == K.WECOM:
        payload = {"msgtype": "markdown",
                   "markdown": {"content": _markdown(msg, wecom=True)[:4000]}}
    elif endpoint.kind == K.DINGTALK:
        payload = {"msgtype": "markdown",
                   "markdown": {"title": msg.title[:60], "text": _markdown(msg, wecom=False)}}
        if endpoint.secret:
            ts = str(int(now.timestamp() * 1000))
            query = urllib.parse.urlencode({"timestamp": ts,
                                            "sign": sign_dingtalk(endpoint.secret, ts)})
            url = f"{url}{'&' if '?' in url else '?'}{query}"
    elif endpoint.kind == K.FEISHU:
        content = [[{"tag": "text", "text": line}] for line in msg.lines]
        if msg.url:
            content.append([{"tag": "a", "text": msg.url, "href": msg.url}])
        payload = {"msg_type": "post",
                   "content": {"post": {"zh_cn": {"title": msg.title, "content": content}}}}
        if endpoint.secret:
            ts = str(int(now.timestamp()))
            payload = {"timestamp": ts, "sign": sign_feishu(endpoint.secret, ts), **payload}
    else:
        payload = {"id": msg.key, "event": msg.event, "title": msg.title, "text": msg.lines,
                   "url": msg.url, "severity": msg.severity, "alert": msg.data}
    body = json.dumps(payload, ensure_ascii=False, default=str).encode()
    if endpoint.kind == K.GENERIC:
        ts = str(int(now.timestamp()))
        headers[TIMESTAMP_HEADER] = ts
        headers["X-MES-Event"] = msg.event
        if endpoint.secret:
            headers[SIGNATURE_HEADER] = sign_generic(endpoint.secret, ts, body)
    return url, body, headers


def check_response(kind: str, text: str) -> None:
    """Robots answer HTTP 200 with an error code in the body: read it."""
    if kind == K.GENERIC:
        return
    try:
        answer = json.loads(text or "{}")
    except ValueError:
        raise PermanentSendError(f"unexpected answer: {text[:200]}") from None
    if not isinstance(answer, dict):
        return
    code = answer.get("errcode", answer.get("code", answer.get("StatusCode", 0)))
    if code in (0, None, "0"):
        return
    message = (f"robot refused ({code}): "
               f"{answer.get('errmsg') or answer.get('msg') or answer.get('StatusMessage')}")
    try:
        throttled = int(code) in THROTTLED
    except (TypeError, ValueError):
        throttled = False
    raise (TransientSendError if throttled else PermanentSendError)(message[:300])


def webhook_send(endpoint: WebhookEndpoint, msg: Message, now) -> None:
    url, body, headers = build_request(endpoint, msg, now)
    timeout = min(float(endpoint.timeout_seconds or 5),
                  float(getattr(settings, "MES_ALERT_WEBHOOK_MAX_TIMEOUT", 30)))
    _status, text = post(url, body, headers, timeout)
    check_response(endpoint.kind, text)
