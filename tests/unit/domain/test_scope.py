"""The authority-scope rule: which areas a code covers, and which scopes lie within others."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edl.accounts.errors import InvalidStaffInput
from edl.accounts.staff import parse_authorities
from edl.domain.scope import AuthorityScope, area_prefix, code_covers

SHANDONG, QINGDAO, JINAN, CHENGDU = "370000", "370200", "370100", "510100"


def test_a_province_covers_its_cities_and_a_city_its_districts() -> None:
    assert code_covers(SHANDONG, QINGDAO) and code_covers(SHANDONG, "370202")
    assert code_covers(QINGDAO, "370202") and not code_covers(QINGDAO, JINAN)
    assert not code_covers(SHANDONG, CHENGDU)
    assert code_covers("370202", "370202") and not code_covers("370202", "370203")
    assert area_prefix(SHANDONG) == "37" and area_prefix(QINGDAO) == "3702" and area_prefix("370202") == "370202"


def test_national_covers_everything_and_lies_within_nothing_narrower() -> None:
    national = AuthorityScope.national()
    assert national.covers(CHENGDU) and national.prefixes() is None
    assert not national.within(AuthorityScope.of([SHANDONG]))
    assert AuthorityScope.of([SHANDONG]).within(national)


def test_within_compares_areas_not_strings() -> None:
    shandong, qingdao = AuthorityScope.of([SHANDONG]), AuthorityScope.of([QINGDAO])
    assert qingdao.within(shandong) and not shandong.within(qingdao)
    assert not AuthorityScope.of([QINGDAO, CHENGDU]).within(shandong)
    assert AuthorityScope.of([QINGDAO, JINAN]).within(shandong)


@pytest.mark.parametrize("code", ["3702٠٠", "３７０２００", "37020", "3702000", "*", "", "37020x"])
def test_only_six_ascii_digits_are_an_area_code(code: str) -> None:
    with pytest.raises(ValueError):
        AuthorityScope.of([code])
    with pytest.raises(InvalidStaffInput):
        parse_authorities([code or "x"], all_authorities=False)


def test_an_empty_scope_is_an_error_never_national() -> None:
    with pytest.raises(ValueError):
        AuthorityScope.of([])
    with pytest.raises(ValueError):
        AuthorityScope.from_column("")
    assert AuthorityScope.from_column("*").is_national
    assert AuthorityScope.from_column(AuthorityScope.of([QINGDAO, SHANDONG]).column()).codes == {QINGDAO, SHANDONG}


codes = st.from_regex(r"\A[0-9]{6}\Z")


@given(st.lists(codes, min_size=1, max_size=3), st.lists(codes, min_size=1, max_size=3), codes)
def test_a_scope_within_another_covers_nothing_the_other_does_not(a: list[str], b: list[str], licence: str) -> None:
    inner, outer = AuthorityScope.of(a), AuthorityScope.of(b)
    if inner.within(outer) and inner.covers(licence):
        assert outer.covers(licence)
