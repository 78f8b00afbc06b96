"""Issue 16, item 4: the sanction's rules in plain Python (abuse reasons, who may do what, terms, the notice)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from edl.domain.application import REJECT_REASONS_BY_CODE
from edl.domain.credential_status import CredentialStatus, credential_status
from edl.domain.dates import CHINA_TZ
from edl.domain.sanction import (
    ABUSE_REASON_CODES,
    DURATION_DAYS,
    INDEFINITE_UNTIL,
    SanctionRefused,
    SanctionState,
    check_duration,
    check_may_decide,
    check_may_propose,
    effective_state,
    ends_at,
    is_abuse,
    stop_notice,
    suspended_until,
    suspends,
)
from edl.domain.status import Status

AT = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)
TODAY = date(2026, 12, 4)


def test_every_abuse_reason_is_a_standard_reject_reason_and_honest_mistakes_are_not_abuse() -> None:
    assert REJECT_REASONS_BY_CODE.keys() >= ABUSE_REASON_CODES
    assert is_abuse("marks") and is_abuse("not_holder")
    for honest in ("background", "face_covered", "posture", "clothing", "retouched", "quality", "other", None):
        assert not is_abuse(honest)


def test_a_reviewer_proposes_only_for_abuse() -> None:
    check_may_propose("reviewer", "marks")
    check_may_propose("supervisor", "not_holder")
    with pytest.raises(SanctionRefused) as refused:
        check_may_propose("reviewer", "quality")
    assert refused.value.code == "not_abuse"
    with pytest.raises(SanctionRefused) as refused:
        check_may_propose("admin", "marks")
    assert refused.value.code == "forbidden"


def test_only_another_supervisor_confirms_and_a_supervisor_lifts() -> None:
    check_may_decide("supervisor", actor="staff:b", proposed_by="staff:a", confirming=True)
    check_may_decide("supervisor", actor="staff:a", proposed_by="staff:a", confirming=False)  # lifting own: fine
    with pytest.raises(SanctionRefused) as refused:
        check_may_decide("supervisor", actor="staff:a", proposed_by="staff:a", confirming=True)
    assert refused.value.code == "own_proposal"
    for role in ("reviewer", "admin", "nobody"):
        with pytest.raises(SanctionRefused) as refused:
            check_may_decide(role, actor="staff:b", proposed_by="staff:a", confirming=False)
        assert refused.value.code == "forbidden"


def test_durations_come_from_the_table() -> None:
    for days in DURATION_DAYS:
        assert check_duration(days) == days
    for bad in (0, 7, -30, 10_000):
        with pytest.raises(SanctionRefused):
            check_duration(bad)


def test_a_term_ends_by_time_and_an_indefinite_one_does_not() -> None:
    end = ends_at(AT, 30)
    assert end == AT + timedelta(days=30) and suspended_until(end) == end
    assert ends_at(AT, None) is None and suspended_until(None) == INDEFINITE_UNTIL
    assert INDEFINITE_UNTIL.astimezone(CHINA_TZ).year == 9999, "shown in Beijing time without overflow"
    assert suspends(end, AT) and suspends(end, end - timedelta(microseconds=1))
    assert not suspends(end, end) and not suspends(None, AT)
    assert effective_state(SanctionState.ACTIVE, end, end) is SanctionState.ENDED
    assert effective_state(SanctionState.ACTIVE, None, AT + timedelta(days=9000)) is SanctionState.ACTIVE
    assert effective_state(SanctionState.LIFTED, end, end) is SanctionState.LIFTED


def test_the_notice_gives_the_reason_the_term_and_the_counter() -> None:
    notice = stop_notice("照片含有标记", "The photo contains marks", AT + timedelta(days=30))
    assert "照片含有标记" in notice.zh and "至 2027-01-03 10:00（北京时间）" in notice.zh and "车管所" in notice.zh
    assert "The photo contains marks" in notice.en and "2027-01-03 10:00 Beijing time" in notice.en
    assert "counter" in notice.en and " / " not in notice.zh, "the zh half never holds the ' / ' separator"
    assert "直至解除" in stop_notice("a", "b", None).zh


@pytest.mark.parametrize(
    ("statuses", "voided", "suspended", "expected"),
    [
        ({Status.NORMAL}, False, True, CredentialStatus.SUSPENDED),
        ({Status.NORMAL}, False, False, CredentialStatus.VALID),
        ({Status.NORMAL}, True, True, CredentialStatus.REVOKED),
        ({Status.REVOKED}, False, True, CredentialStatus.REVOKED),
        ({Status.SUSPENDED}, False, True, CredentialStatus.SUSPENDED),
    ],
)
def test_a_sanction_suspends_the_elicence_but_never_outranks_a_revocation(
    statuses: set[Status], voided: bool, suspended: bool, expected: CredentialStatus
) -> None:
    got = credential_status(
        statuses, licence_valid_until=date(2030, 1, 1), today=TODAY, voided=voided, elicence_suspended=suspended
    )
    assert got is expected
