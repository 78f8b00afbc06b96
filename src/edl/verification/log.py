"""The verification log (核验记录): one append-only row per verification — who, purpose, when, result.

Written by the online API and the verifier page (`edl.verification.online`), read by the holder ("who checked my
licence") and by staff through the database. The table refuses UPDATE and DELETE (a trigger).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Table, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from edl.db.models import VerificationRow

MAX_ERRORS_TEXT: Final = 256
_TABLE: Table = VerificationRow.__table__  # type: ignore[assignment]
_INSERT = insert(_TABLE).returning(_TABLE.c.id)
"""Built once (Core, on the table): the hot path pays no statement construction or ORM bookkeeping."""


@dataclass(frozen=True, slots=True)
class Check:
    """One verification as the holder sees it."""

    id: int
    at: datetime
    party_name: str
    purpose: str
    method: str
    channel: str
    valid: bool
    status: str
    errors: tuple[str, ...]


def log_values(
    *,
    at: datetime,
    party_id: str | None,
    party_name: str,
    purpose: str,
    method: str,
    channel: str,
    elicence_id: str | None,
    licence_number: str | None,
    valid: bool,
    status: str,
    errors: tuple[str, ...] = (),
    client: str | None = None,
) -> dict[str, Any]:
    """The column values of one log row (texts cut to their columns), keyed by column name (`LOG_COLUMNS`): what
    `record_verification` inserts and what the group commit (`edl.verification.groupcommit`) batches."""
    text = ",".join(dict.fromkeys(errors))
    if len(text) > MAX_ERRORS_TEXT:
        text = text[: MAX_ERRORS_TEXT - 1].rsplit(",", 1)[0] + ",…"
    return {
        "at": at,
        "relying_party_id": party_id,
        "relying_party_name": party_name[:128],
        "purpose": purpose[:32],
        "method": method[:16],
        "channel": channel[:8],
        "elicence_id": elicence_id,
        "licence_number": licence_number,
        "valid": valid,
        "status": status[:16],
        "errors": text,
        "client": client[:64] if client else None,
    }


LOG_COLUMNS: Final = (
    "at",
    "relying_party_id",
    "relying_party_name",
    "purpose",
    "method",
    "channel",
    "elicence_id",
    "licence_number",
    "valid",
    "status",
    "errors",
    "client",
)
"""The columns `log_values` fills, in the order the group commit sends them."""


def record_verification(session: Session | Connection, **values: Any) -> int:
    """Append one row (the keyword arguments of `log_values`) in the transaction of `session` (ORM session or Core
    connection); its id.

    The id is the `verification_id` the API answers with.
    """
    return insert_row(session, log_values(**values))


def insert_row(session: Session | Connection, values: Mapping[str, Any]) -> int:
    """Insert one row of `log_values` in the transaction of `session`; its id."""
    return int(session.execute(_INSERT, dict(values)).scalar_one())


def checks_of_licence(session: Session, licence_number: str, *, limit: int = 50) -> list[Check]:
    """The newest verifications of any e-licence of `licence_number`, newest first."""
    rows = session.scalars(
        select(VerificationRow)
        .where(VerificationRow.licence_number == licence_number)
        .order_by(VerificationRow.id.desc())
        .limit(limit)
    )
    return [
        Check(
            id=r.id,
            at=r.at,
            party_name=r.relying_party_name,
            purpose=r.purpose,
            method=r.method,
            channel=r.channel,
            valid=r.valid,
            status=r.status,
            errors=tuple(e for e in r.errors.split(",") if e),
        )
        for r in rows
    ]
