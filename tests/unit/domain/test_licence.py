from datetime import date

import pytest

from edl.domain import InvalidLicence, PointsCycle, Rollout, Status, Validity, ValidityTerm, VehicleClass
from edl.domain.points import cycle_start
from edl.domain.status import STATUS_TABLE, blocking, parse_statuses
from tests.factories import licence

TODAY = date(2026, 11, 25)

BLOCKING = {"B", "C", "D", "E", "F", "G", "J", "M", "P", "S"}


def test_normal_licence_is_eligible() -> None:
    assert licence().eligibility(TODAY).eligible


@pytest.mark.parametrize("status", list(Status))
def test_each_status_blocks_exactly_as_the_brief_says(status: Status) -> None:
    result = licence(statuses=frozenset({status})).eligibility(TODAY)
    assert result.eligible is (status.value not in BLOCKING)
    if not result.eligible:
        code, zh, en = result.reasons[0]
        assert code == f"status_{status.value}"
        assert STATUS_TABLE[status].name_zh in zh and en


def test_suspended_licence_is_refused_with_plain_reason_in_both_languages() -> None:
    (reason,) = licence(statuses=frozenset({Status.SUSPENDED})).eligibility(TODAY).reasons
    assert "暂扣" in reason[1]
    assert "suspended" in reason[2]


def test_expired_licence_is_refused_and_shows_overdue_for_renewal() -> None:
    lic = licence(term=ValidityTerm.SIX_YEARS, valid_from=date(2019, 1, 1))
    assert lic.validity.end == date(2025, 1, 1)
    result = lic.eligibility(TODAY)
    assert [r[0] for r in result.reasons] == ["expired"]
    assert Status.RENEWAL_OVERDUE in lic.effective_statuses(TODAY)
    assert lic.eligibility(date(2025, 1, 1)).eligible  # the end date itself is still valid


def test_several_statuses_give_every_reason() -> None:
    lic = licence(statuses=frozenset({Status.SUSPENDED, Status.EXAM_OVERDUE, Status.OFFENCE_PENDING}))
    assert [r[0] for r in lic.eligibility(TODAY).reasons] == ["status_D", "status_P"]


def test_rollout_outside_pilot_is_refused() -> None:
    lic = licence(authority="120000")
    assert not lic.eligibility(TODAY, Rollout.only({"510100"})).eligible
    assert lic.eligibility(TODAY, Rollout.only({"120000"})).eligible
    assert lic.eligibility(TODAY, Rollout.everywhere()).eligible


def test_long_term_validity_never_expires() -> None:
    lic = licence(term=ValidityTerm.LONG_TERM, valid_from=date(2020, 1, 1), first_issue=date(2010, 1, 1))
    assert lic.validity.end is None
    assert lic.eligibility(date(2090, 1, 1)).eligible
    assert "长期" in lic.validity.label_zh()


def test_validity_of_leap_day_start() -> None:
    assert Validity.of(ValidityTerm.SIX_YEARS, date(2020, 2, 29)).end == date(2026, 2, 28)


def test_inconsistent_licences_are_refused() -> None:
    with pytest.raises(InvalidLicence):
        licence(first_issue=date(1980, 1, 1))  # before birth
    with pytest.raises(InvalidLicence):
        licence(first_issue=date(2008, 5, 16))  # one day short of 18
    with pytest.raises(InvalidLicence):
        licence(classes=())
    with pytest.raises(InvalidLicence):
        Validity(ValidityTerm.LONG_TERM, date(2020, 1, 1), date(2030, 1, 1))


def test_licence_may_drive_uses_the_inclusion_table() -> None:
    lic = licence(classes=(VehicleClass.A2, VehicleClass.D))
    assert lic.may_drive(VehicleClass.C6)
    assert lic.may_drive(VehicleClass.F)
    assert not lic.may_drive(VehicleClass.A1)


def test_normal_is_dropped_when_another_status_holds() -> None:
    assert parse_statuses("AD") == frozenset({Status.SUSPENDED})
    assert parse_statuses("") == frozenset({Status.NORMAL})
    assert parse_statuses("暂扣、违法未处理") == frozenset({Status.SUSPENDED, Status.OFFENCE_PENDING})
    assert blocking({Status.OFFENCE_PENDING}) == []


def test_points_cycle_counts_from_first_issue_anniversary() -> None:
    first = date(2015, 3, 1)
    assert cycle_start(first, date(2026, 2, 28)) == date(2025, 3, 1)
    assert cycle_start(first, date(2026, 3, 1)) == date(2026, 3, 1)
    cycle = PointsCycle(date(2025, 3, 1), 6)
    assert cycle.points_on(date(2026, 2, 28), first) == 6
    assert cycle.points_on(date(2026, 3, 1), first) == 0  # a new cycle started
    later = cycle.add(6, date(2026, 1, 10), first)
    assert later.total == 12 and later.limit_reached
    assert cycle.add(3, date(2026, 4, 1), first) == PointsCycle(date(2026, 3, 1), 3)


@pytest.mark.parametrize("points", [0, 2, 4, 13])
def test_an_offence_scores_only_legal_amounts(points: int) -> None:
    with pytest.raises(InvalidLicence):
        PointsCycle(date(2025, 3, 1), 0).add(points, date(2025, 4, 1), date(2015, 3, 1))
