"""Mobile numbers and sign-in codes as typed: normalised or refused with a message that says what to type."""

from __future__ import annotations

from datetime import timedelta

import pytest

from edl.accounts import InvalidMobile, MalformedCode, mask_mobile, normalise_mobile
from edl.accounts.otp import code_mac, normalise_code, sms_text


@pytest.mark.parametrize(
    "raw",
    [
        "13800138000",
        "+86 138 0013 8000",
        "+8613800138000",
        "008613800138000",
        "8613800138000",
        "138-0013-8000",
        "１３８００１３８０００",
        " 13800138000 ",
    ],
)
def test_mainland_numbers_are_normalised_to_eleven_digits(raw: str) -> None:
    assert normalise_mobile(raw) == "13800138000"


@pytest.mark.parametrize(
    "raw", ["", "1380013800", "138001380001", "12800138000", "23800138000", "+1 415 555 0100", "abc", "1380013800x"]
)
def test_other_numbers_are_refused_with_what_to_type(raw: str) -> None:
    with pytest.raises(InvalidMobile, match=r"11位中国大陆手机号码.* enter its 11 digits"):
        normalise_mobile(raw)


def test_codes_are_six_ascii_digits() -> None:
    assert normalise_code(" 123 456 ") == "123456"
    assert normalise_code("０１２３４５") == "012345"
    for bad in ("12345", "1234567", "abcdef", "", "١٢٣٤٥٦"):
        with pytest.raises(MalformedCode):
            normalise_code(bad)


def test_the_mac_binds_the_code_to_key_and_number() -> None:
    key = b"k" * 32
    mac = code_mac(key, "13800138000", "123456")
    assert len(mac) == 64 and "123456" not in mac
    assert mac != code_mac(key, "13900139000", "123456")
    assert mac != code_mac(b"x" * 32, "13800138000", "123456")


def test_the_text_says_the_code_and_how_long_it_lasts_in_both_languages() -> None:
    text = sms_text("042042", timedelta(seconds=300))
    assert "042042" in text and "5分钟内有效" in text and "valid for 5 minutes" in text


def test_masking_keeps_only_the_last_four_digits() -> None:
    assert mask_mobile("13800138000") == "*******8000"
