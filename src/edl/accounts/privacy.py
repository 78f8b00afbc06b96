"""The privacy notice (个人信息保护告知) a driver accepts before the first sign-in creates the account.

`PRIVACY_NOTICE_VERSION` names the text shown (`/privacy` and the sign-in page); the account keeps when consent
was given and to which version. Change the version whenever the notice changes in substance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from edl.db.models import AccountRow

PRIVACY_NOTICE_VERSION = "2026-12-04"


@dataclass(frozen=True, slots=True)
class Consent:
    at: datetime
    version: str


def is_current(version: str | None) -> bool:
    """Whether a version sent back by the sign-in form is the notice in force (a stale page is no consent)."""
    return version == PRIVACY_NOTICE_VERSION


def consent_of(session: Session, account_id: str) -> Consent | None:
    """The consent on record for an account, or None (an account made before consent was recorded)."""
    row = session.get(AccountRow, account_id)
    if row is None or row.privacy_consent_at is None:
        return None
    return Consent(row.privacy_consent_at, row.privacy_notice_version or "")
