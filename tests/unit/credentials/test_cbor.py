"""Strict CBOR helpers: how dates are written, and what decoding refuses."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import cbor2
import pytest
from cbor2 import CBORTag

from edl.credentials import cbor


def test_date_is_written_as_tag_1004_full_date() -> None:
    assert cbor.encode(date(2020, 1, 2)) == bytes.fromhex("d903ec") + cbor2.dumps("2020-01-02")


def test_datetime_is_written_as_tag_0_utc_without_fractions() -> None:
    beijing = timezone(timedelta(hours=8))
    encoded = cbor.encode(datetime(2021, 6, 1, 8, 0, 0, tzinfo=beijing))
    assert encoded == b"\xc0" + cbor2.dumps("2021-06-01T00:00:00Z")


def test_naive_or_fractional_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        cbor.encode(datetime(2021, 6, 1))
    with pytest.raises(ValueError, match="fractional"):
        cbor.encode(datetime(2021, 6, 1, 0, 0, 0, 500, tzinfo=UTC))


def test_encoding_does_not_mutate_the_callers_data() -> None:
    data = {"privileges": [{"issue_date": date(2020, 1, 1)}]}
    cbor.encode(data)
    assert data == {"privileges": [{"issue_date": date(2020, 1, 1)}]}


def test_dates_round_trip_to_python_values() -> None:
    value = {"d": date(2019, 10, 20), "t": datetime(2020, 10, 1, 13, 30, 2, tzinfo=UTC)}
    assert cbor.decode(cbor.encode(value)) == value


@pytest.mark.parametrize(
    "tagged",
    [
        CBORTag(1004, "2020-02-30"),
        CBORTag(1004, "20200101"),
        CBORTag(1004, "2020-1-01"),
        CBORTag(1004, "2020-01-01 "),
        CBORTag(1004, "２０２０-01-01"),
        CBORTag(1004, 20200101),
        CBORTag(0, "2020-01-01T00:00:00.5Z"),
        CBORTag(0, "2020-01-01T00:00:00+08:00"),
        CBORTag(0, "2020-01-01T00:00:00"),
        CBORTag(0, "2020-01-01T24:00:00Z"),
        CBORTag(0, "2020-01-01"),
        CBORTag(0, 1577836800),
    ],
)
def test_malformed_dates_are_an_invalid_date_error(tagged: CBORTag) -> None:
    with pytest.raises(cbor.InvalidDateError):
        cbor.decode(cbor2.dumps({"elementValue": [tagged]}))


@pytest.mark.parametrize(
    ("hex_data", "reason"),
    [
        ("0000", "trailing"),
        ("a2616101616102", "duplicate"),
        ("9f0102ff", "indefinite"),
        ("5f4101ff", "indefinite"),
        ("d81c81d81d00", "tag 28"),
        ("d81d00", "tag 29"),
        ("d90100826161d81900", "tag 256"),
        ("", "empty"),
        ("a1", "truncated"),
    ],
)
def test_strict_decoding_refuses(hex_data: str, reason: str) -> None:
    data = bytes.fromhex(hex_data)
    with pytest.raises(cbor.CborError):
        cbor.decode(data)
    with pytest.raises(cbor.CborError):
        cbor.decode_envelope(data)


def test_other_interpreted_tags_are_kept_raw() -> None:
    # tag 1 (epoch time) and 37 (UUID) would be converted by cbor2; a verifier keeps them as sent.
    decoded = cbor.decode(cbor2.dumps([CBORTag(1, 0), CBORTag(37, b"\x00" * 16)]))
    assert decoded == [CBORTag(1, 0), CBORTag(37, b"\x00" * 16)]


@pytest.mark.parametrize("hex_data", ["1800", "5800", "d9001840", "7800", "980100", "a1190001f5"])
def test_envelope_refuses_non_preferred_serialization(hex_data: str) -> None:
    data = bytes.fromhex(hex_data)
    cbor.decode(data)  # well-formed CBOR ...
    with pytest.raises(cbor.CborError, match="preferred"):
        cbor.decode_envelope(data)  # ... but not the one encoding a verifier may hash


def test_envelope_keeps_tags_raw_so_it_round_trips() -> None:
    value = {"a": CBORTag(24, b"\xa0"), "b": CBORTag(1004, "2020-01-01"), "c": CBORTag(0, "x")}
    data = cbor2.dumps(value)
    assert cbor.decode_envelope(data) == value


def _outcome(data: bytes) -> object:
    try:
        return ("value", cbor.decode(data))
    except cbor.CborError as exc:
        return (type(exc), str(exc))


def _outcomes(chunks: list[bytes]) -> list[object]:
    return [(type(v), str(v)) if isinstance(v, cbor.CborError) else ("value", v) for v in cbor.decode_each(chunks)]


GOOD = cbor2.dumps({"a": 1, "d": CBORTag(1004, "2020-01-02")})


@pytest.mark.parametrize(
    "chunks",
    [
        [GOOD, GOOD, GOOD],
        [],
        [GOOD[:-3], GOOD[-3:] + GOOD],  # a truncated item whose end is the start of the next chunk
        [GOOD + b"\x00", GOOD],  # trailing bytes
        [GOOD, b"", GOOD],  # an empty chunk
        [b"\x82\x01", b"\x02", GOOD],  # an array split over two chunks
        [GOOD, cbor2.dumps(CBORTag(1004, "2020-02-30")), GOOD],  # an invalid date, then more
        [cbor2.dumps(CBORTag(0, "x")), cbor2.dumps(CBORTag(1004, "2020-02-30"))],
        [GOOD, bytes.fromhex("9f0102ff"), GOOD],  # indefinite length
        [bytes.fromhex("a2616101616102"), GOOD],  # duplicate keys
        [GOOD, bytes.fromhex("d81d00")],  # a refused tag
        [bytes.fromhex("1801"), GOOD],  # non-preferred but well-formed: accepted, as by `decode`
    ],
)
def test_decode_each_gives_exactly_what_decode_gives_for_each_chunk(chunks: list[bytes]) -> None:
    assert _outcomes(chunks) == [_outcome(c) for c in chunks]


def test_decode_each_refuses_what_is_not_bytes() -> None:
    outcomes = cbor.decode_each([GOOD, bytearray(GOOD)])  # type: ignore[list-item]
    assert outcomes[0] == cbor.decode(GOOD)
    assert isinstance(outcomes[1], cbor.CborError)


@pytest.mark.parametrize("length", [0, 1, 23, 24, 255, 256, 65535, 65536, 70000])
def test_tag24_prefix_is_what_cbor2_writes_before_the_content(length: int) -> None:
    from edl.credentials.structure import tag24_prefix

    content = bytes(range(256)) * (length // 256) + bytes(length % 256)
    assert tag24_prefix(length) + content == cbor2.dumps(CBORTag(24, content))
