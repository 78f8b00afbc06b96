"""Text messages (短信) to holders' phones: the `SmsSender` interface and the development sender.

A real deployment plugs in its SMS gateway behind `SmsSender`. `LogSmsSender` writes every message to the server
log in full (that is its whole point: the sign-in code can be read there), and in the demo it also keeps the last
messages in memory for the dev inbox page `/dev/sms`.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import structlog

DEV_INBOX_SIZE = 50


class SmsSender(Protocol):
    def send(self, mobile: str, text: str) -> None:
        """Send `text` to `mobile` (11 digits); raise on failure so the caller's transaction rolls back."""
        ...


@dataclass(frozen=True, slots=True)
class SentSms:
    at: datetime
    mobile: str
    text: str


def mask_mobile(mobile: str) -> str:
    """Every digit but the last four hidden: '13800138000' → '*******8000'."""
    return "*" * max(0, len(mobile) - 4) + mobile[-4:]


class LogSmsSender:
    """Writes each message to the log (event `sms_sent`); with `dev_inbox`, keeps the last 50 in memory."""

    def __init__(self, dev_inbox: bool) -> None:
        self.dev_inbox = dev_inbox
        self._messages: deque[SentSms] = deque(maxlen=DEV_INBOX_SIZE)
        self._lock = threading.Lock()
        self._log = structlog.get_logger("edl.sms")

    def send(self, mobile: str, text: str) -> None:
        self._log.info("sms_sent", mobile=mask_mobile(mobile), text=text)
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
        return next((m for m in self.messages if m.mobile == mobile), None)
