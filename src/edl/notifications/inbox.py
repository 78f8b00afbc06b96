"""The in-app inbox: a message is a row written in the same transaction as the event it reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from edl.db.models import NotificationRow
from edl.notifications.outbox import enqueue_push


@dataclass(frozen=True, slots=True)
class Message:
    """What to tell the holder, in both languages."""

    kind: str
    title_zh: str
    title_en: str
    body_zh: str
    body_en: str
    link: str | None = None


def notify(session: Session, account_id: str, message: Message, *, at: datetime) -> NotificationRow:
    """Put `message` in the holder's inbox and its Web Push in the outbox, both in `session`'s transaction: the
    worker pushes it after commit (never for a change that rolls back)."""
    row = NotificationRow(
        account_id=account_id,
        kind=message.kind,
        title_zh=message.title_zh,
        title_en=message.title_en,
        body_zh=message.body_zh,
        body_en=message.body_en,
        link=message.link,
        created_at=at,
    )
    session.add(row)
    session.flush()
    enqueue_push(session, account_id, row.id, at=at)
    return row


def unread_count(session: Session, account_id: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(NotificationRow)
            .where(NotificationRow.account_id == account_id, NotificationRow.read_at.is_(None))
        )
        or 0
    )


def inbox(session: Session, account_id: str, *, limit: int = 50) -> list[NotificationRow]:
    return list(
        session.scalars(
            select(NotificationRow)
            .where(NotificationRow.account_id == account_id)
            .order_by(NotificationRow.id.desc())
            .limit(limit)
        )
    )


def mark_read(session: Session, account_id: str, *, at: datetime, ids: list[int] | None = None) -> int:
    """Mark the holder's messages read (all, or `ids`); another account's ids are ignored."""
    stmt = update(NotificationRow).where(NotificationRow.account_id == account_id, NotificationRow.read_at.is_(None))
    if ids is not None:
        stmt = stmt.where(NotificationRow.id.in_(ids))
    result = session.execute(stmt.values(read_at=at))
    return int(getattr(result, "rowcount", 0) or 0)
