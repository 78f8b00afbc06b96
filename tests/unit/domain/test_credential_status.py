"""The one mapping from registry facts to what a verifier is told."""

from __future__ import annotations

from datetime import date

import pytest

from edl.domain.credential_status import (
    CredentialStatus,
    ListValue,
    credential_status,
    from_list_value,
    list_value,
)
from edl.domain.status import Status

TODAY = date(2026, 12, 2)


@pytest.mark.parametrize(
    ("statuses", "valid_until", "voided", "expected"),
    [
        ({Status.NORMAL}, date(2030, 1, 1), False, CredentialStatus.VALID),
        ({Status.NORMAL}, None, False, CredentialStatus.VALID),
        ({Status.SUSPENDED}, date(2030, 1, 1), False, CredentialStatus.SUSPENDED),
        ({Status.EXAM_OVERDUE}, date(2030, 1, 1), False, CredentialStatus.SUSPENDED),
        ({Status.POINTS_LIMIT}, date(2030, 1, 1), False, CredentialStatus.SUSPENDED),
        ({Status.REVOKED}, date(2030, 1, 1), False, CredentialStatus.REVOKED),
        ({Status.CANCELLED}, date(2030, 1, 1), False, CredentialStatus.REVOKED),
        ({Status.ANNULLED, Status.SUSPENDED}, date(2030, 1, 1), False, CredentialStatus.REVOKED),
        ({Status.NORMAL}, date(2026, 12, 1), False, CredentialStatus.SUSPENDED),
        ({Status.NORMAL}, date(2026, 12, 2), False, CredentialStatus.VALID),
        ({Status.NORMAL}, date(2030, 1, 1), True, CredentialStatus.REVOKED),
    ],
)
def test_registry_facts_map_to_one_verifier_status(
    statuses: set[Status], valid_until: date | None, voided: bool, expected: CredentialStatus
) -> None:
    assert credential_status(statuses, licence_valid_until=valid_until, today=TODAY, voided=voided) is expected


def test_list_values_follow_the_token_status_list_draft() -> None:
    assert list_value(CredentialStatus.VALID) is ListValue.VALID and ListValue.VALID == 0
    assert list_value(CredentialStatus.REVOKED) is ListValue.INVALID and ListValue.INVALID == 1
    assert list_value(CredentialStatus.SUSPENDED) is ListValue.SUSPENDED and ListValue.SUSPENDED == 2
    with pytest.raises(ValueError, match="unknown"):
        list_value(CredentialStatus.UNKNOWN)
    for status in (CredentialStatus.VALID, CredentialStatus.REVOKED, CredentialStatus.SUSPENDED):
        assert from_list_value(list_value(status)) is status
    assert from_list_value(3) is CredentialStatus.UNKNOWN
