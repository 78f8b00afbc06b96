"""The in-app inbox: a message is a row written in the same transaction as the event it reports.

Readers get `Notice` values (not ORM rows), so the pages format them without knowing the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.orm import Session

from edl.db.models import NotificationRow, OutboxRow
from edl.notifications.outbox import NoticeKind


@dataclass(frozen=True, slots=True)
class Message:
    """What to tell the holder, in both languages."""

    kind: str
    title_zh: str
    title_en: str
    body_zh: str
    body_en: str
    link: str | None = None


@dataclass(frozen=True, slots=True)
class Notice:
    """One message of a holder's inbox, in both languages (the page picks one)."""

    id: int
    kind: str
    title_zh: str
    title_en: str
    body_zh: str
    body_en: str
    link: str | None
    created_at: datetime
    read_at: datetime | None

    @property
    def unread(self) -> bool:
        return self.read_at is None


def _notice(row: NotificationRow) -> Notice:
    return Notice(
        id=row.id,
        kind=row.kind,
        title_zh=row.title_zh,
        title_en=row.title_en,
        body_zh=row.body_zh,
        body_en=row.body_en,
        link=row.link,
        created_at=row.created_at,
        read_at=row.read_at,
    )


def notify(session: Session, account_id: str, message: Message, *, at: datetime) -> None:
    """Put `message` in the holder's inbox and its Web Push in the outbox, both in `session`'s transaction: the
    worker pushes it after commit (never for a change that rolls back)."""
    notify_many(session, [(account_id, message)], at=at)


def notify_many(db: Session | Connection, notices: Sequence[tuple[str, Message]], *, at: datetime) -> int:
    """`notify` for many (account id, message) pairs in one go, in the transaction of `db` (a session, or the
    connection of a bulk writer such as the registry import): inbox rows, then their Web Push in the outbox."""
    pushes: list[dict[str, Any]] = []
    for account_id, m in notices:  # one statement each, to learn the new message ids (such notices are rare)
        note_id = db.execute(
            insert(NotificationRow)
            .values(
                account_id=account_id,
                kind=m.kind,
                title_zh=m.title_zh,
                title_en=m.title_en,
                body_zh=m.body_zh,
                body_en=m.body_en,
                link=m.link,
                created_at=at,
            )
            .returning(NotificationRow.id)
        ).scalar_one()
        pushes.append(
            {
                "kind": NoticeKind.PUSH.value,
                "recipient": account_id,
                "payload": {"notification_id": note_id},
                "created_at": at,
                "attempts": 0,
                "next_attempt_at": at,
            }
        )
    if pushes:
        db.execute(insert(OutboxRow), pushes)
    return len(pushes)


def unread_count(session: Session, account_id: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(NotificationRow)
            .where(NotificationRow.account_id == account_id, NotificationRow.read_at.is_(None))
        )
        or 0
    )


def inbox(session: Session, account_id: str, *, limit: int = 50) -> list[Notice]:
    """The holder's newest `limit` messages, newest first."""
    rows = session.scalars(
        select(NotificationRow)
        .where(NotificationRow.account_id == account_id)
        .order_by(NotificationRow.id.desc())
        .limit(limit)
    )
    return [_notice(row) for row in rows]


def mark_read(session: Session, account_id: str, *, at: datetime, ids: list[int] | None = None) -> int:
    """Mark the holder's messages read (all, or `ids`); another account's ids are ignored."""
    stmt = update(NotificationRow).where(NotificationRow.account_id == account_id, NotificationRow.read_at.is_(None))
    if ids is not None:
        stmt = stmt.where(NotificationRow.id.in_(ids))
    result = session.execute(stmt.values(read_at=at))
    return int(getattr(result, "rowcount", 0) or 0)
