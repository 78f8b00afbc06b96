"""What each relying-party purpose may see; a party's own field list narrows it (configures it, for insurers)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edl.verification.purposes import (
    FIELDS,
    RULES,
    Field,
    InvalidPurpose,
    Purpose,
    UnknownPolicy,
    allowed_fields,
    check_configured_fields,
    parse_purpose,
)


def test_police_see_everything_and_refuse_an_unknown_status() -> None:
    assert allowed_fields(Purpose.POLICE) == FIELDS
    assert RULES[Purpose.POLICE].unknown is UnknownPolicy.REFUSE


def test_rental_sees_name_photo_classes_validity_status_and_never_the_address() -> None:
    assert set(allowed_fields(Purpose.RENTAL)) == {
        Field.NAME,
        Field.PHOTO,
        Field.CLASSES,
        Field.VALID_FROM,
        Field.VALID_UNTIL,
        Field.STATUS,
    }
    assert RULES[Purpose.RENTAL].unknown is UnknownPolicy.WARN


def test_employer_sees_what_rental_sees_plus_points() -> None:
    assert set(allowed_fields(Purpose.EMPLOYER)) == set(allowed_fields(Purpose.RENTAL)) | {Field.POINTS}


@pytest.mark.parametrize("purpose", [Purpose.RENTAL, Purpose.EMPLOYER, Purpose.POLICE])
def test_a_configured_list_only_narrows_fixed_purposes(purpose: Purpose) -> None:
    assert allowed_fields(purpose, ["name", "address"]) == (
        (Field.NAME, Field.ADDRESS, Field.STATUS) if purpose is Purpose.POLICE else (Field.NAME, Field.STATUS)
    )


def test_an_insurer_is_configured_per_party() -> None:
    assert allowed_fields(Purpose.INSURER, ["address", "driving_record"]) == (
        Field.ADDRESS,
        Field.STATUS,
        Field.DRIVING_RECORD,
    )
    assert check_configured_fields(Purpose.INSURER, ["address"]) == (Field.ADDRESS,)


def test_registration_refuses_fields_a_fixed_purpose_never_allows() -> None:
    with pytest.raises(InvalidPurpose, match="address"):
        check_configured_fields(Purpose.RENTAL, ["name", "address"])
    with pytest.raises(InvalidPurpose, match="unknown field"):
        check_configured_fields(Purpose.POLICE, ["shoe_size"])


def test_purposes_parse_in_any_case_and_refuse_others() -> None:
    assert parse_purpose(" Rental ") is Purpose.RENTAL
    with pytest.raises(InvalidPurpose, match="police, rental, employer, insurer"):
        parse_purpose("marketing")


@given(purpose=st.sampled_from(list(Purpose)), chosen=st.lists(st.sampled_from([f.value for f in FIELDS])))
def test_status_is_always_shown_and_fixed_purposes_never_widen(purpose: Purpose, chosen: list[str]) -> None:
    fields = allowed_fields(purpose, chosen)
    assert Field.STATUS in fields
    if not RULES[purpose].configurable:
        assert set(fields) <= set(RULES[purpose].fields)
    assert list(fields) == sorted(fields, key=FIELDS.index)
