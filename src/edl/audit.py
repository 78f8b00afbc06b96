"""The audit log (审计日志): one append-only row per security-relevant act, written in the act's own transaction.

Rows are never changed: the database refuses UPDATE and DELETE on `audit_log` (a trigger), and the application
has no code path that edits them. Holders see their own entries; staff see their authorities'.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

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


class ActorKind(StrEnum):
    HOLDER = "holder"
    STAFF = "staff"
    SYSTEM = "system"
    CLI = "cli"


def record(
    session: Session,
    *,
    at: datetime,
    actor_kind: ActorKind,
    actor: str,
    action: Action,
    subject: str,
    outcome: str = "ok",
    detail: Mapping[str, Any] | None = None,
    client: str | None = None,
) -> None:
    """Append one audit entry in `session`'s transaction (it commits or rolls back with the act)."""
    session.add(
        AuditRow(
            at=at,
            actor_kind=actor_kind.value,
            actor=actor[:64],
            action=action.value,
            subject=subject[:64],
            outcome=outcome[:16],
            detail=dict(detail or {}),
            client=client[:64] if client else None,
        )
    )
