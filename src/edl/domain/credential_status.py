"""What a verifier is told about an e-licence: valid, suspended, revoked, or unknown.

One mapping from the registry (licence statuses, validity, the e-licence's void and its sanction) to the three
states a Token Status List can carry, used by the status list, the online API and the verifier page alike.
`unknown` is never stored: it is what a verifier concludes when it cannot learn the status (no list, a stale list,
a list it cannot verify).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from enum import IntEnum, StrEnum

from edl.domain.status import Status


class CredentialStatus(StrEnum):
    VALID = "valid"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


class ListValue(IntEnum):
    """Status values of the IETF Token Status List (draft-ietf-oauth-status-list, section 7.1)."""

    VALID = 0x00
    INVALID = 0x01
    SUSPENDED = 0x02


REVOKING: frozenset[Status] = frozenset({Status.ANNULLED, Status.REVOKED, Status.CANCELLED})
"""撤销, 吊销, 注销: the licence is gone for good, so the e-licence is revoked (INVALID)."""


def credential_status(
    statuses: Iterable[Status],
    *,
    licence_valid_until: date | None,
    today: date,
    voided: bool,
    elicence_suspended: bool = False,
) -> CredentialStatus:
    """The e-licence's status from the registry's facts, today (China date).

    Revoked: the e-licence was voided (re-issued, class/validity/authority changed) or the licence was annulled,
    revoked or cancelled. Suspended: the e-licence is under a sanction (`elicence_suspended`: its
    ``suspended_until`` is still ahead, `edl.domain.sanction.suspends`; the paper licence's own statuses are
    untouched by it), any other status that blocks issuance (暂扣, 超分, 逾期未体检, ...) or a licence past its
    validity. Valid otherwise. `elicence_suspended` defaults to False only for offline verification, which knows no
    registry: every registry read (online answers, the status list) passes it.
    """
    held = set(statuses)
    if voided or held & REVOKING:
        return CredentialStatus.REVOKED
    if elicence_suspended:
        return CredentialStatus.SUSPENDED
    if any(s.info.blocks_issuance for s in held):
        return CredentialStatus.SUSPENDED
    if licence_valid_until is not None and licence_valid_until < today:
        return CredentialStatus.SUSPENDED
    return CredentialStatus.VALID


def list_value(status: CredentialStatus) -> ListValue:
    if status is CredentialStatus.VALID:
        return ListValue.VALID
    if status is CredentialStatus.SUSPENDED:
        return ListValue.SUSPENDED
    if status is CredentialStatus.REVOKED:
        return ListValue.INVALID
    raise ValueError("unknown is never written to a status list")


def from_list_value(value: int) -> CredentialStatus:
    """A list entry read back: 0 valid, 1 revoked, 2 suspended; 3 (application-specific) is unknown to us."""
    return {0: CredentialStatus.VALID, 1: CredentialStatus.REVOKED, 2: CredentialStatus.SUSPENDED}.get(
        value, CredentialStatus.UNKNOWN
    )
