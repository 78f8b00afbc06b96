from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edl.domain import IdNumber, InvalidFileNumber, InvalidIdNumber, make_id_number, parse_file_number
from edl.domain.idcard import CHECK_CHARS, check_char


def test_standard_example_is_valid_and_decodes_birth_date_and_sex() -> None:
    n = IdNumber.parse("11010519491231002X")
    assert n.birth_date == date(1949, 12, 31)
    assert n.sex == 2
    assert n.area_code == "110105"


def test_lower_case_x_is_accepted_and_normalised() -> None:
    assert str(IdNumber.parse("11010519491231002x")) == "11010519491231002X"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("110105194912310021", "校验位"),
        ("1101051949123100", "18"),
        ("11010519491331002X", "出生日期"),
        ("11010519490230002X", "出生日期"),
        ("01010519491231002X", "格式"),
        ("11010518991231002X", "出生日期"),
        ("1101051949123100２X", "格式"),
    ],
)
def test_malformed_numbers_are_refused_with_reason(text: str, fragment: str) -> None:
    with pytest.raises(InvalidIdNumber, match=fragment):
        IdNumber.parse(text)


def test_future_birth_date_is_refused_when_today_is_given() -> None:
    n = make_id_number("110105", date(2030, 1, 1), 1)
    with pytest.raises(InvalidIdNumber):
        IdNumber.parse(str(n), today=date(2026, 1, 1))


digits17 = st.text(alphabet="0123456789", min_size=17, max_size=17)


@given(
    area=st.integers(100000, 999999),
    birth=st.dates(min_value=date(1900, 1, 1), max_value=date(2026, 12, 31)),
    seq=st.integers(0, 999),
)
def test_any_generated_number_round_trips(area: int, birth: date, seq: int) -> None:
    n = make_id_number(str(area), birth, seq)
    assert IdNumber.parse(str(n)) == n
    assert n.birth_date == birth
    assert n.sex == (1 if seq % 2 else 2)


@given(first17=digits17)
def test_check_char_makes_weighted_sum_congruent_to_one(first17: str) -> None:
    # ISO 7064 MOD 11-2: sum(a_i * 2^(i-1)) over all 18 positions ≡ 1 (mod 11), with X = 10.
    full = first17 + check_char(first17)
    values = [10 if c == "X" else int(c) for c in full]
    assert sum(v * pow(2, 17 - i, 11) for i, v in enumerate(values)) % 11 == 1


@given(
    birth=st.dates(min_value=date(1930, 1, 1), max_value=date(2008, 1, 1)),
    seq=st.integers(0, 999),
    pos=st.integers(0, 17),
    data=st.data(),
)
def test_any_single_character_change_is_detected(birth: date, seq: int, pos: int, data: st.DataObject) -> None:
    good = str(make_id_number("320501", birth, seq))
    alphabet = "0123456789X" if pos == 17 else "0123456789"
    new = data.draw(st.sampled_from([c for c in alphabet if c != good[pos]]))
    bad = good[:pos] + new + good[pos + 1 :]
    with pytest.raises(InvalidIdNumber):
        IdNumber.parse(bad)


def test_check_chars_table_is_iso_7064() -> None:
    assert CHECK_CHARS == "10X98765432"


@pytest.mark.parametrize("bad", ["12345678901", "1234567890123", "12345678901a", ""])
def test_file_number_must_be_twelve_digits(bad: str) -> None:
    with pytest.raises(InvalidFileNumber):
        parse_file_number(bad)


def test_file_number_ok() -> None:
    assert parse_file_number(" 120100123456 ") == "120100123456"
