"""Signed-in browser sessions: a random token in the cookie, only its SHA-256 in `web_sessions`.

A stolen database therefore holds no usable cookie. A session ends when it expires or is revoked (sign-out,
or a staff account being disabled).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import update
from sqlalchemy.orm import Session

from edl.db.models import WebSessionRow

MAX_TOKEN_LENGTH = 128


class SessionKind(StrEnum):
    HOLDER = "holder"
    STAFF = "staff"
    PARTY = "party"
    """A relying party's operator on the verifier web page (signed in with the party's API key)."""


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A new session: put `token` in the cookie; it is never stored or shown anywhere else."""

    subject_id: str
    token: str
    expires_at: datetime


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(session: Session, kind: SessionKind, subject_id: str, *, at: datetime, hours: int) -> SignedIn:
    token = secrets.token_urlsafe(32)
    expires = at + timedelta(hours=hours)
    session.add(
        WebSessionRow(
            token_hash=token_hash(token), kind=kind.value, subject_id=subject_id, created_at=at, expires_at=expires
        )
    )
    return SignedIn(subject_id, token, expires)


def live_session(session: Session, kind: SessionKind, token: str | None, *, at: datetime) -> WebSessionRow | None:
    """The session behind a cookie value, when it is of `kind`, not expired and not revoked."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    row = session.get(WebSessionRow, token_hash(token))
    if row is None or row.kind != kind.value or row.revoked_at is not None:
        return None
    if row.expires_at <= at:
        return None
    return row


def revoke_session(session: Session, kind: SessionKind, token: str | None, *, at: datetime) -> WebSessionRow | None:
    """End the live session behind `token` (sign-out); the row, or None when there was none."""
    row = live_session(session, kind, token, at=at)
    if row is not None:
        row.revoked_at = at
    return row


def revoke_all(session: Session, kind: SessionKind, subject_id: str, *, at: datetime) -> int:
    """End every live session of one account or staff user; how many were ended."""
    result = session.execute(
        update(WebSessionRow)
        .where(
            WebSessionRow.kind == kind.value,
            WebSessionRow.subject_id == subject_id,
            WebSessionRow.revoked_at.is_(None),
        )
        .values(revoked_at=at)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
