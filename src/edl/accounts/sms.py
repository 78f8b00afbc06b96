"""Text messages (短信) to holders' phones: the `SmsSender` interface, the signed-webhook gateway and the log sender.

`WebhookSmsSender` hands each message to an HTTP SMS gateway (`EDL_SMS_URL`) as a JSON POST signed with
HMAC-SHA256 over the timestamp and the exact body (the scheme is in docs/deploy.md). `LogSmsSender` is for
development and the demo: it logs that a text was sent with every digit run masked (a sign-in code never reaches a
log), and in the demo it keeps the last messages in memory for the dev inbox page `/dev/sms`.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import re
import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import urlsplit

import httpx
import structlog

from edl.accounts.errors import AccountError

DEV_INBOX_SIZE = 50
SIGNATURE_HEADER = "X-EDL-Signature"
TIMESTAMP_HEADER = "X-EDL-Timestamp"
SIGNATURE_VERSION = "v1"
WEBHOOK_KEY_NAME = "sms-webhook"
"""The name of the gateway's shared secret: `<data_dir>/secrets/sms-webhook.key`."""
MAX_URL_CHARS = 2048
MAX_TIMEOUT_SECONDS = 30.0
_DIGIT_RUN = re.compile(r"\d[\dXx]{3,}")
"""Four or more digits, a licence number's check character X among them (a tail such as 598X is as private as 5981)."""
_LOOPBACK_NAMES = frozenset({"localhost"})


class SmsSender(Protocol):
    def send(self, mobile: str, text: str) -> None:
        """Send `text` to `mobile` (11 digits); raise on failure so the caller's transaction rolls back."""
        ...


class SmsNotSent(AccountError):
    """The gateway did not take the message: nothing was sent, so the sign-in that asked for it is refused.

    `reason` (for the log) names what went wrong, never the number or the text.
    """

    status_code = 503

    def __init__(self, reason: str) -> None:
        super().__init__("短信发送失败，请稍后再试 / the text message could not be sent: try again in a moment")
        self.reason = reason


class SmsGatewayRefused(SmsNotSent):
    """The gateway answered, but not with 2xx."""

    def __init__(self, status: int) -> None:
        super().__init__(f"gateway answered HTTP {status}")
        self.status = status


class SmsGatewayUnreachable(SmsNotSent):
    """No answer from the gateway: connection refused, DNS, TLS or timeout."""


class InvalidSmsGatewayUrl(ValueError):
    """`EDL_SMS_URL` cannot be used; the message says why."""


@dataclass(frozen=True, slots=True)
class SentSms:
    at: datetime
    mobile: str
    text: str


def mask_mobile(mobile: str) -> str:
    """Every digit but the last four hidden: '13800138000' → '*******8000'."""
    return "*" * max(0, len(mobile) - 4) + mobile[-4:]


def mask_digits(text: str) -> str:
    """Every run of 4 or more digits (or X, after a digit) hidden: '验证码为 042042' → '验证码为 ******', '尾号598X' →
    '尾号****' (codes and licence-number tails never reach a log)."""
    return _DIGIT_RUN.sub(lambda m: "*" * len(m.group()), text)


def check_gateway_url(url: str) -> str:
    """The gateway URL, if usable: http(s) with a host, no user name or password, https unless the host is loopback."""
    text = url.strip()
    if not text or len(text) > MAX_URL_CHARS or any(c.isspace() for c in text):
        raise InvalidSmsGatewayUrl(f"EDL_SMS_URL must be one http(s) URL of at most {MAX_URL_CHARS} characters")
    try:
        parts = urlsplit(text)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise InvalidSmsGatewayUrl("EDL_SMS_URL is not a valid URL") from exc
    if parts.scheme not in ("http", "https") or not host:
        raise InvalidSmsGatewayUrl("EDL_SMS_URL must be an http(s) URL with a host")
    if parts.username is not None or parts.password is not None:
        raise InvalidSmsGatewayUrl(
            "EDL_SMS_URL must not carry a user name or password (requests are signed with the shared secret)"
        )
    if parts.scheme == "http" and not _is_loopback(host):
        raise InvalidSmsGatewayUrl("EDL_SMS_URL must use https (plain http only to this machine's loopback)")
    return text


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def webhook_signature(key: bytes, timestamp: int, body: bytes) -> str:
    """The `X-EDL-Signature` value: 'v1=' + hex HMAC-SHA256(key, '<timestamp>.' + body)."""
    mac = hmac.new(key, f"{timestamp}.".encode("ascii") + body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={mac}"


class WebhookSmsSender:
    """POSTs each message as signed JSON to an HTTP SMS gateway; anything but a 2xx answer raises `SmsNotSent`.

    Body: {"id": unique message id, "to": "+86…" (E.164), "text": …, "timestamp": Unix seconds}; headers
    `X-EDL-Timestamp` (the same seconds) and `X-EDL-Signature` (`webhook_signature`). Redirects are not followed.
    """

    def __init__(
        self,
        url: str,
        key: bytes,
        *,
        timeout_seconds: float,
        clock: Callable[[], datetime],
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not 0 < timeout_seconds <= MAX_TIMEOUT_SECONDS:
            raise ValueError(f"the SMS gateway timeout must be over 0 and at most {MAX_TIMEOUT_SECONDS:g} seconds")
        self.url = check_gateway_url(url)
        self._key = key
        self._clock = clock
        self._client = httpx.Client(timeout=timeout_seconds, follow_redirects=False, transport=transport)
        self._log = structlog.get_logger("edl.sms")

    def __repr__(self) -> str:  # the key stays out of any repr or traceback
        return f"WebhookSmsSender({self.url!r})"

    def send(self, mobile: str, text: str) -> None:
        timestamp = int(self._clock().timestamp())
        message_id = uuid.uuid4().hex
        body = json.dumps(
            {"id": message_id, "to": f"+86{mobile}", "text": text, "timestamp": timestamp},
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode("utf-8")
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: webhook_signature(self._key, timestamp, body),
            "User-Agent": "edl-sms",
        }
        try:
            # Streamed and closed unread: the gateway's answer body is of no use and is never buffered.
            with self._client.stream("POST", self.url, content=body, headers=headers) as answer:
                status = answer.status_code
        except httpx.HTTPError as exc:
            self._log.warning("sms_not_sent", id=message_id, mobile=mask_mobile(mobile), error=type(exc).__name__)
            raise SmsGatewayUnreachable(type(exc).__name__) from None
        if not 200 <= status < 300:
            self._log.warning("sms_not_sent", id=message_id, mobile=mask_mobile(mobile), status=status)
            raise SmsGatewayRefused(status)
        self._log.info("sms_sent", id=message_id, mobile=mask_mobile(mobile), gateway=True)

    def close(self) -> None:
        self._client.close()


class LogSmsSender:
    """Logs each message (event `sms_sent`, digits masked); with `dev_inbox` (the demo), keeps the last 50 in memory."""

    def __init__(self, dev_inbox: bool) -> None:
        self.dev_inbox = dev_inbox
        self._messages: deque[SentSms] = deque(maxlen=DEV_INBOX_SIZE)
        self._lock = threading.Lock()
        self._log = structlog.get_logger("edl.sms")

    def send(self, mobile: str, text: str) -> None:
        self._log.info("sms_sent", mobile=mask_mobile(mobile), text=mask_digits(text))
        if self.dev_inbox:
            with self._lock:
                self._messages.append(SentSms(datetime.now(UTC), mobile, text))

    @property
    def messages(self) -> list[SentSms]:
        """The kept messages, newest first (empty unless `dev_inbox`)."""
        with self._lock:
            return list(reversed(self._messages))

    def last_to(self, mobile: str) -> SentSms | None:
        """The newest kept message to `mobile`."""
        with self._lock:
            return next((m for m in reversed(self._messages) if m.mobile == mobile), None)
