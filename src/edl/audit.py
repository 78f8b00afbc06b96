"""The audit log (审计日志): one append-only row per security-relevant act, written in the act's own transaction.

Rows are never changed: the database refuses UPDATE and DELETE on `audit_log` (a trigger), and the application
has no code path that edits them. Holders see their own entries; staff see their authorities'.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, insert
from sqlalchemy.orm import Session

from edl.db.models import AuditRow


class Action(StrEnum):
    SIGN_IN = "sign_in"
    SIGN_IN_FAILED = "sign_in_failed"
    SIGN_OUT = "sign_out"
    OTP_SENT = "otp_sent"
    BIND = "bind"
    FACE_AUTH = "face_auth"
    SUBMIT = "submit"
    PHOTO_REJECTED = "photo_rejected"
    REFUSED = "refused"
    REVIEW = "review"
    ISSUE = "issue"
    VOID = "void"
    STAFF_CHANGED = "staff_changed"
    REGISTRY_VIEW = "registry_view"
    UNBIND = "unbind"
    RELEASE = "release_binding"
    SANCTION = "sanction"
    """Issue 16: a sanction proposed, confirmed, declined, lifted, ended, or a refused attempt (the outcome says)."""
    DEVICE_KEY = "device_key"
    """Issue 15: an mdoc signed for a holder-held device key (the driver's app, or a wallet through OpenID4VCI)."""


class ActorKind(StrEnum):
    HOLDER = "holder"
    STAFF = "staff"
    SYSTEM = "system"
    CLI = "cli"


def entry(
    *,
    at: datetime,
    actor_kind: ActorKind,
    actor: str,
    action: Action,
    subject: str,
    outcome: str = "ok",
    detail: Mapping[str, Any] | None = None,
    client: str | None = None,
) -> dict[str, Any]:
    """The column values of one audit entry (fields cut to their column lengths)."""
    return {
        "at": at,
        "actor_kind": actor_kind.value,
        "actor": actor[:64],
        "action": action.value,
        "subject": subject[:64],
        "outcome": outcome[:16],
        "detail": dict(detail or {}),
        "client": client[:64] if client else None,
    }


def record(session: Session, **fields: Any) -> None:
    """Append one audit entry (the keyword arguments of `entry`) in `session`'s transaction: it commits or rolls
    back with the act."""
    session.add(AuditRow(**entry(**fields)))


def record_many(db: Session | Connection, entries: Sequence[Mapping[str, Any]]) -> None:
    """Append audit entries (made by `entry`) in one statement, in the transaction of `db` (a session, or the
    connection of a bulk writer such as the registry import)."""
    if entries:
        db.execute(insert(AuditRow), [dict(e) for e in entries])
