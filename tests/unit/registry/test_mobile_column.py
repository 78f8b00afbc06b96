"""The registry's optional `mobile` column (登记手机号): normalised like the sign-in page, bad numbers rejected."""

from __future__ import annotations

from datetime import date

import pytest

from edl.domain.licence import mask_mobile
from edl.registry.formats import RowParser, RowRejected
from edl.registry.generator import registered_mobile
from tests.unit.registry.factories import row

PARSER = RowParser(date(2026, 12, 1))


@pytest.mark.parametrize("text", ["13800138000", "+86 138-0013-8000", "008613800138000", "１３８００１３８０００"])
def test_any_way_of_writing_a_mainland_number_is_kept_as_its_eleven_digits(text: str) -> None:
    assert PARSER.licence(row(0, mobile=text)).holder.mobile == "13800138000"


def test_an_absent_or_empty_mobile_means_none() -> None:
    assert PARSER.licence(row(0)).holder.mobile is None
    assert PARSER.licence(row(0, mobile="  ")).holder.mobile is None


@pytest.mark.parametrize("text", ["12345678901", "1380013800", "010-12345678", "=1+2", "138001380001"])
def test_a_number_that_is_not_a_mainland_mobile_rejects_the_row(text: str) -> None:
    with pytest.raises(RowRejected, match=r"^mobile: .*登记手机号"):
        PARSER.licence(row(0, mobile=text))


def test_synthetic_drivers_get_a_stable_valid_number_and_pages_show_it_masked() -> None:
    made = registered_mobile(123456789)
    assert made == registered_mobile(123456789) and len(made) == 11 and made[0] == "1"
    assert PARSER.licence(row(0, mobile=made)).holder.mobile == made
    assert mask_mobile("13800138000") == "138****8000"
