"""Row validation: a row is valid exactly when the domain accepts it, plus the file-level cross-checks."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edl.db.models import LicenceRow
from edl.domain import (
    PILOT_AUTHORITIES,
    Holder,
    IdNumber,
    IssuingAuthority,
    Licence,
    PointsCycle,
    Status,
    Validity,
    ValidityTerm,
    VehicleClass,
    make_id_number,
)
from edl.domain.dates import add_years
from edl.domain.idcard import CHECK_CHARS
from edl.registry.formats import COLUMNS, DB_COLUMNS, RowParser, RowRejected, db_values
from edl.registry.mapping import row_values
from tests.unit.registry.factories import TODAY, row

parser = RowParser(TODAY)


def reject_reason(**overrides: str) -> str:
    with pytest.raises(RowRejected) as caught:
        parser.licence(row(**overrides))
    return caught.value.reason


def test_valid_row_gives_the_domain_licence() -> None:
    lic = parser.licence(row(classes="C1 E", statuses="违法未处理"))
    assert lic == Licence(
        number=IdNumber.parse(row()["number"]),
        file_number="510100000000",
        holder=Holder("张伟", 1, "CHN", date(1990, 5, 3), "成都市武侯区人民南路四段1号"),
        classes=(VehicleClass.C1, VehicleClass.E),
        first_issue=date(2012, 6, 1),
        validity=Validity(ValidityTerm.TEN_YEARS, date(2018, 6, 1), date(2028, 6, 1)),
        authority=IssuingAuthority("510100", "成都市公安局交通管理局", "成都"),
        statuses=frozenset({Status.OFFENCE_PENDING}),
        points=PointsCycle(date(2026, 6, 1), 3),
    )


def test_db_values_are_the_mapping_row_values_in_column_order() -> None:
    lic = parser.licence(row(photo_sha256="ab" * 32, photo_compliant="true", statuses="DH"))
    expected = row_values(lic)
    assert db_values(lic) == tuple(expected[c] for c in DB_COLUMNS)


SPELLINGS = [
    ("男", "十年", "2028-06-01", "A", "true"),
    ("1", "长期", "", "正常", "1"),
    ("M", "6", "2024-06-01", "dh", "否"),
]
"""(sex, validity_term, valid_until, statuses, photo_compliant) spellings the format documents."""


@pytest.mark.parametrize(("sex", "term", "until", "statuses", "compliant"), SPELLINGS)
def test_documented_spellings_are_accepted(sex: str, term: str, until: str, statuses: str, compliant: str) -> None:
    lic = parser.licence(
        row(sex=sex, validity_term=term, valid_until=until, statuses=statuses, photo_compliant=compliant)
    )
    assert lic.holder.sex == 1


def test_optional_columns_may_be_absent_or_empty() -> None:
    fields = row(points="0", points_cycle_start="")
    for optional in ("nationality", "statuses", "photo_sha256", "photo_compliant"):
        del fields[optional]
    lic = parser.licence({**fields, "points": ""})
    assert (lic.holder.nationality, lic.statuses, lic.points, lic.photo_compliant) == (
        "CHN",
        frozenset({Status.NORMAL}),
        None,
        False,
    )


INVALID_ROWS: list[tuple[dict[str, str], str]] = [
    ({"number": row()["number"][:17] + "0"}, "校验位"),
    ({"number": "51010419900230123X"}, "impossible birth date"),
    ({"birth_date": "2023-02-30"}, "not a real calendar date"),
    ({"first_issue": "2023-02-30"}, "first_issue: 2023-02-30 is not a real calendar date"),
    ({"valid_from": "2018/06/01"}, "YYYY-MM-DD"),
    ({"birth_date": "1990-05-04"}, "birth date does not match"),
    ({"sex": "2"}, "contradicts the licence number"),
    ({"sex": "x"}, "sex:"),
    ({"file_number": "12345"}, "file_number:"),
    ({"classes": "Z9"}, "classes:"),
    ({"statuses": "Q"}, "statuses:"),
    ({"validity_term": "7"}, "validity_term:"),
    ({"valid_until": "2028-06-02"}, "ends on 2028-06-01"),
    ({"validity_term": "long"}, "long-term licence has no end date"),
    ({"first_issue": "2027-01-01"}, "in the future"),
    ({"valid_from": "2011-01-01", "valid_until": "2021-01-01"}, "before the first issue date"),
    ({"authority_code": "51A100"}, "6 digits"),
    ({"name": ""}, "name is required"),
    ({"address": " "}, "address:"),
    ({"nationality": "CN"}, "alpha-3"),
    ({"points": "-1"}, "points:"),
    ({"points": "5", "points_cycle_start": ""}, "required when points > 0"),
    ({"points_cycle_start": "2026-06-02"}, "not an anniversary"),
    ({"photo_sha256": "abc"}, "photo_sha256"),
    ({"photo_compliant": "maybe"}, "photo_compliant"),
]
"""Rows the rules reject, and a part of the reason (tests/unit/registry/test_columnar.py runs them through the
import's batches too)."""


@pytest.mark.parametrize(("overrides", "expected"), INVALID_ROWS)
def test_invalid_rows_are_rejected_with_the_field_and_reason(overrides: dict[str, str], expected: str) -> None:
    assert expected in reject_reason(**overrides)


def test_missing_required_field_is_a_rejection_not_a_crash() -> None:
    fields = row()
    del fields["address"]
    with pytest.raises(RowRejected, match="missing field 'address'"):
        parser.licence(fields)


def test_columns_cover_every_licence_column_but_version_and_timestamp() -> None:
    assert set(DB_COLUMNS) | {"version", "updated_at"} == set(LicenceRow.__table__.columns.keys())
    assert len(COLUMNS) == len(DB_COLUMNS)


@st.composite
def licences(draw: st.DrawFn) -> Licence:
    birth = draw(st.dates(date(1951, 1, 1), date(2008, 1, 1)))
    number = make_id_number(draw(st.sampled_from(["110105", "510104", "320508"])), birth, draw(st.integers(0, 999)))
    first = draw(st.dates(add_years(birth, 18), TODAY))
    term = draw(st.sampled_from(list(ValidityTerm)))
    start = draw(st.dates(first, TODAY))
    statuses = draw(st.frozensets(st.sampled_from(list(Status)), max_size=3))
    return Licence(
        number=number,
        file_number=f"{draw(st.integers(0, 10**12 - 1)):012d}",
        holder=Holder(
            draw(st.sampled_from(["王芳", "欧阳娜娜", "李"])), number.sex, "CHN", birth, "北京市朝阳区建国路1号"
        ),
        classes=tuple(draw(st.sets(st.sampled_from(list(VehicleClass)), min_size=1, max_size=3))),
        first_issue=first,
        validity=Validity.of(term, start),
        authority=draw(st.sampled_from(PILOT_AUTHORITIES)),
        statuses=statuses,
        points=None,
        photo_ref=draw(st.one_of(st.none(), st.text("0123456789abcdef", min_size=64, max_size=64))),
        photo_compliant=draw(st.booleans()),
    )


def as_row(lic: Licence) -> dict[str, str]:
    values = dict(zip(DB_COLUMNS, db_values(lic), strict=True))
    values["photo_sha256"] = values.pop("photo_ref")
    return {k: "" if v is None else str(v).lower() if isinstance(v, bool) else str(v) for k, v in values.items()}


@settings(max_examples=200, deadline=None)
@given(licences())
def test_any_domain_licence_survives_the_row_format(lic: Licence) -> None:
    assert parser.licence(as_row(lic)) == lic


@settings(max_examples=100, deadline=None)
@given(licences(), st.sampled_from(CHECK_CHARS))
def test_a_wrong_check_character_is_always_rejected(lic: Licence, wrong: str) -> None:
    fields = as_row(lic)
    if fields["number"][-1] == wrong:
        return
    fields["number"] = fields["number"][:17] + wrong
    with pytest.raises(RowRejected, match=r"^number:"):
        parser.licence(fields)
