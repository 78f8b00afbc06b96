"""The barcode number (edl.credentials.barcode): its layout, its window of two steps, and every refusal."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edl.credentials.barcode import EXPIRED_HORIZON, LENGTH, TAG_DIGITS, BarcodeRefused, BarcodeScheme
from edl.credentials.errors import ErrorCode

KEY = bytes(range(32))
STEP_START = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # a multiple of 60 s since the epoch
SCHEME = BarcodeScheme(KEY, step_seconds=60, leeway_seconds=60)


def refusal(text: str, at: datetime, scheme: BarcodeScheme = SCHEME) -> ErrorCode:
    with pytest.raises(BarcodeRefused) as caught:
        scheme.read(text, at=at)
    return caught.value.code


def test_the_number_is_serial_step_digits_and_an_hmac_tag() -> None:
    made = SCHEME.number(4217, at=STEP_START + timedelta(seconds=30))
    step = int(STEP_START.timestamp()) // 60
    assert len(made.text) == LENGTH == 24 and made.text.isdigit()
    assert made.text[:10] == "0000004217" and made.text[10:12] == f"{step % 100:02d}"
    message = b"edl-barcode-1" + (4217).to_bytes(8, "big") + step.to_bytes(8, "big")
    tag = int.from_bytes(hmac.digest(KEY, message, "sha256")[:8], "big") % 10**TAG_DIGITS
    assert made.text[12:] == f"{tag:012d}", "the documented construction, so another implementation can check it"
    assert made.accepted_until == STEP_START + timedelta(seconds=120) - timedelta(microseconds=1)


def test_a_number_is_accepted_in_its_step_and_the_next_only() -> None:
    made = SCHEME.number(7, at=STEP_START)
    assert SCHEME.read(made.text, at=STEP_START) == 7
    assert SCHEME.read(made.text, at=STEP_START + timedelta(seconds=119)) == 7  # the previous step, seen from the next
    assert refusal(made.text, STEP_START + timedelta(seconds=120)) is ErrorCode.BARCODE_EXPIRED  # two steps later
    assert refusal(made.text, STEP_START + timedelta(hours=5)) is ErrorCode.BARCODE_EXPIRED
    assert refusal(made.text, STEP_START + EXPIRED_HORIZON - timedelta(minutes=2)) is ErrorCode.BARCODE_EXPIRED
    assert refusal(made.text, STEP_START + EXPIRED_HORIZON + timedelta(minutes=2)) is ErrorCode.BARCODE_INVALID


def test_the_clock_skew_leeway_reaches_forward_never_back() -> None:
    """A number made by a server whose clock is ahead is accepted; the leeway never lengthens the window."""
    made = SCHEME.number(7, at=STEP_START)
    assert SCHEME.read(made.text, at=STEP_START - timedelta(seconds=50)) == 7
    strict = BarcodeScheme(KEY, step_seconds=60, leeway_seconds=0)
    assert refusal(made.text, STEP_START - timedelta(seconds=50), strict) is ErrorCode.BARCODE_INVALID
    assert refusal(made.text, STEP_START + timedelta(seconds=120), strict) is ErrorCode.BARCODE_EXPIRED


def test_a_changed_digit_another_key_or_another_serial_is_invalid() -> None:
    made = SCHEME.number(7, at=STEP_START).text
    for i in (0, 9, 11, 12, 23):
        tampered = made[:i] + str((int(made[i]) + 1) % 10) + made[i + 1 :]
        assert refusal(tampered, STEP_START) in (ErrorCode.BARCODE_INVALID, ErrorCode.BARCODE_EXPIRED)
    assert refusal(made[:12] + "0" * 12, STEP_START) is ErrorCode.BARCODE_INVALID
    other = BarcodeScheme(b"\x01" * 32, step_seconds=60)
    assert refusal(made, STEP_START, other) is ErrorCode.BARCODE_INVALID


def test_the_static_elicence_id_and_other_text_are_refused_with_their_own_codes() -> None:
    eid = "3f9a0c1e5b7d4e2f8a6c0b1d2e3f4a5b"
    assert refusal(eid, STEP_START) is ErrorCode.BARCODE_STATIC_ID
    assert refusal("3F9A0C1E-5B7D-4E2F-8A6C-0B1D2E3F4A5B", STEP_START) is ErrorCode.BARCODE_STATIC_ID
    for text in ("", "12345", "1" * 23, "1" * 25, "１" * 24, "EDL1:ABC", "0x" + "0" * 22):
        assert refusal(text, STEP_START) is ErrorCode.MALFORMED


def test_spaces_and_dashes_as_typed_are_ignored() -> None:
    made = SCHEME.number(99, at=STEP_START).text
    grouped = " ".join(made[i : i + 4] for i in range(0, 24, 4))
    assert SCHEME.read(f" {grouped} ", at=STEP_START) == 99
    assert SCHEME.read(made[:12] + "-" + made[12:], at=STEP_START) == 99


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 10**8), st.integers(0, 59))
def test_every_number_names_its_serial_for_two_steps_then_expires(serial: int, minutes: int, second: int) -> None:
    at = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes, seconds=second)
    made = SCHEME.number(serial, at=at)
    assert SCHEME.read(made.text, at=at) == serial
    assert SCHEME.read(made.text, at=made.accepted_until) == serial
    assert refusal(made.text, made.accepted_until + timedelta(microseconds=1)) is ErrorCode.BARCODE_EXPIRED
