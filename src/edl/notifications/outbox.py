"""The notice outbox: SMS and Web Push notices written in the transaction of the event they report.

A notice is a row of `outbox`; the worker (`edl.notifications.worker`) delivers it after commit, with retries. So a
notice is never lost (the row stays until delivered) and never sent for a change that rolled back (no row then).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from edl.db.models import LicenceRow, OutboxRow

MAX_SMS_CHARS = 500


class NoticeKind(StrEnum):
    SMS = "sms"
    """payload {"text": …}; recipient an 11-digit mobile number."""
    PUSH = "push"
    """payload {"notification_id": …}; recipient the account id (Web Push of an inbox message)."""


def enqueue(session: Session, kind: NoticeKind, recipient: str, payload: dict[str, Any], *, at: datetime) -> OutboxRow:
    """Add a notice to the outbox in `session`'s transaction; it is due at once."""
    row = OutboxRow(
        kind=kind.value, recipient=recipient, payload=payload, created_at=at, attempts=0, next_attempt_at=at
    )
    session.add(row)
    return row


def enqueue_sms(session: Session, mobile: str, text: str, *, at: datetime) -> OutboxRow:
    return enqueue(session, NoticeKind.SMS, mobile, {"text": text[:MAX_SMS_CHARS]}, at=at)


def text_registered_mobile(session: Session, licence_number: str, text: str, *, at: datetime) -> OutboxRow | None:
    """An SMS to the licence's registered mobile (登记手机号), if the registry holds one."""
    mobile = session.scalar(select(LicenceRow.mobile).where(LicenceRow.number == licence_number))
    if not mobile:
        return None
    return enqueue_sms(session, mobile, text, at=at)
