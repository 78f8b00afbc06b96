"""What the application use cases hand back: small frozen values, so that callers (the web pages, the CLI) never hold
a database row. Each is read from its row in the service's session (`of`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from edl.db.models import AccountRow, ApplicationRow, ElicenceRow, FaceCheckRow


@dataclass(frozen=True, slots=True)
class Application:
    """One application (申领) as it stands: how the photo was given, its state, deadline and decision."""

    id: str
    account_id: str
    licence_number: str
    authority_code: str
    kind: str
    """A `PhotoSource` value: stored_photo, camera or album."""
    photo_change: bool
    state: str
    """An `ApplicationState` value."""
    photo_ref: str
    photo_checks: Mapping[str, Any]
    """What the automatic photo checks measured (empty for the stored photo)."""
    submitted_at: datetime
    due_at: datetime | None
    decided_at: datetime | None
    decided_by: str | None
    reject_code: str | None
    reject_note: str | None
    elicence_id: str | None

    @property
    def photo_flags(self) -> list[Mapping[str, str]]:
        """What the automatic checks could not judge, for the reviewer: each {code, message_zh, message_en}, kept in
        `photo_checks["flags"]` (no column of its own; older applications have none)."""
        flags = self.photo_checks.get("flags")
        return [f for f in flags if isinstance(f, Mapping)] if isinstance(flags, list) else []

    @classmethod
    def of(cls, row: ApplicationRow) -> Application:
        return cls(
            id=row.id,
            account_id=row.account_id,
            licence_number=row.licence_number,
            authority_code=row.authority_code,
            kind=row.kind,
            photo_change=row.photo_change,
            state=row.state,
            photo_ref=row.photo_ref,
            photo_checks=dict(row.photo_checks or {}),
            submitted_at=row.submitted_at,
            due_at=row.due_at,
            decided_at=row.decided_at,
            decided_by=row.decided_by,
            reject_code=row.reject_code,
            reject_note=row.reject_note,
            elicence_id=row.elicence_id,
        )


@dataclass(frozen=True, slots=True)
class ElicenceSummary:
    """An e-licence as the holder's pages speak of it: when it was issued, its photo, whether and why it was voided."""

    id: str
    licence_number: str
    issued_at: datetime
    photo_ref: str
    voided_at: datetime | None
    void_reason: str | None

    @classmethod
    def of(cls, row: ElicenceRow) -> ElicenceSummary:
        return cls(row.id, row.licence_number, row.issued_at, row.photo_ref, row.voided_at, row.void_reason)


@dataclass(frozen=True, slots=True)
class FaceCheck:
    """One real-person authentication attempt as the reviewer sees it: the provider, its outcome, the distance."""

    provider: str
    outcome: str
    """A `FaceOutcome` value (or `pending` while the frames are being checked)."""
    distance: float | None
    at: datetime

    @classmethod
    def of(cls, row: FaceCheckRow) -> FaceCheck:
        return cls(row.provider, row.outcome, row.distance, row.at)


@dataclass(frozen=True, slots=True)
class Binding:
    """Which account a licence is bound to (绑定), with the mobile it signs in with, and since when."""

    account_id: str
    mobile: str
    bound_at: datetime | None

    @classmethod
    def of(cls, row: AccountRow) -> Binding:
        return cls(row.id, row.mobile, row.bound_at)
