"""Every fast path of verification gives exactly what the path it shortcuts gives: same value, same refusal.

The fast paths (issue 14): `cbor.plain_preferred` proves an envelope preferred from its heads instead of
re-encoding it; `structure.matched_items` takes a namespace whose items are all in order in one pass; the MSO
wrapper is read by its layout; a device key is checked on its curve by arithmetic and built on demand; a DS
certificate's ECDSA algorithms are known once per DER. Each test here holds one of them to the slow path it
replaces (kept in the code for every other input), on valid input and on damaged input alike.
"""

from __future__ import annotations

import hashlib
import os
import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from unittest import mock

import cbor2
import pytest
from cbor2 import CBORTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from edl.credentials import MDL_NAMESPACE, ErrorCode, structure, verify_mdoc
from edl.credentials import cbor as strict
from edl.credentials.cache import SignerFacts, VerificationCache
from edl.credentials.cose_key import EC2_CURVES, CoseKeyError, cose_key, on_curve, read_cose_key
from edl.credentials.verify import DEFAULT_LEEWAY, _Document
from edl.pki import TrustStore
from tests.unit.credentials.builders import NOW, Pki, issue, make_pki, resign, response

_PKI = make_pki()
_RESPONSE = response(_PKI)
_ISSUED = issue(_PKI)

# --- the envelope: heads instead of re-encoding -------------------------------------------------------------------


def _reference_envelope(data: bytes) -> Any:
    """`decode_envelope` as it was: decode with tags kept raw, re-encode, compare byte for byte."""
    try:
        value = cbor2.loads(
            data,
            semantic_decoders=strict._ENVELOPE_DECODERS,
            max_depth=strict.MAX_DEPTH,
            allow_indefinite=False,
            allow_duplicate_keys=False,
        )
        again = cbor2.dumps(value)
    except (cbor2.CBORError, ValueError, TypeError, RecursionError) as exc:
        raise strict.CborError(f"malformed CBOR: {exc}") from None
    if again != data:
        raise strict.CborError("not in preferred CBOR serialization (non-shortest heads, or trailing bytes)")
    return value


def _outcome(decode: Callable[[bytes], Any], data: bytes) -> object:
    try:
        return ("value", decode(data))
    except strict.CborError as exc:
        return (type(exc), str(exc))


def _head(major: int, argument: int, width: int) -> bytes:
    """A CBOR head of `major` carrying `argument` in `width` extra bytes (0: in the initial byte)."""
    if width == 0:
        return bytes([major << 5 | argument])
    return bytes([major << 5 | {1: 24, 2: 25, 4: 26, 8: 27}[width]]) + argument.to_bytes(width, "big")


def _widths(argument: int) -> list[int]:
    """The head widths that can carry `argument`, shortest first."""
    return [w for w in (0, 1, 2, 4, 8) if argument < (24 if w == 0 else 2 ** (8 * w))]


def _encode(value: Any, rng: random.Random, wide: float) -> bytes:
    """Encode like cbor2 does, except that each head is, with probability `wide`, wider than it needs to be."""

    def head(major: int, argument: int) -> bytes:
        widths = _widths(argument)
        return _head(major, argument, rng.choice(widths) if rng.random() < wide else widths[0])

    if isinstance(value, bool) or value is None or isinstance(value, float | cbor2.CBORSimpleValue):
        return cbor2.dumps(value)
    if isinstance(value, int):
        return head(0, value) if value >= 0 else head(1, -1 - value)
    if isinstance(value, bytes):
        return head(2, len(value)) + value
    if isinstance(value, str):
        raw = value.encode()
        return head(3, len(raw)) + raw
    if isinstance(value, list):
        return head(4, len(value)) + b"".join(_encode(v, rng, wide) for v in value)
    if isinstance(value, dict):
        return head(5, len(value)) + b"".join(_encode(k, rng, wide) + _encode(v, rng, wide) for k, v in value.items())
    assert isinstance(value, CBORTag)
    return head(6, value.tag) + _encode(value.value, rng, wide)


_scalars = st.one_of(
    st.integers(min_value=-(2**64), max_value=2**64 - 1),
    st.binary(max_size=300),
    st.text(max_size=30),
    st.booleans(),
    st.none(),
    st.sampled_from([cbor2.CBORSimpleValue(0), cbor2.CBORSimpleValue(19), 1.5, float("inf")]),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(st.one_of(st.integers(-30, 300), st.text(max_size=8)), inner, max_size=5),
        st.builds(CBORTag, st.sampled_from([24, 24, 24, 0, 1, 18, 1004, 55799]), inner),
    ),
    max_leaves=25,
)


@settings(max_examples=400, deadline=None)
@given(_values, st.integers(0, 2**32), st.sampled_from([0.0, 0.05, 0.5]))
def test_the_envelope_reads_any_cbor_as_the_re_encoding_comparison_does(value: Any, seed: int, wide: float) -> None:
    data = _encode(value, random.Random(seed), wide)
    assert _outcome(strict.decode_envelope, data) == _outcome(_reference_envelope, data)
    if strict.plain_preferred(data):
        assert cbor2.dumps(cbor2.loads(data)) == data


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_the_envelope_of_a_damaged_response_is_judged_as_by_re_encoding(data: st.DataObject) -> None:
    good = _RESPONSE
    position = data.draw(st.integers(0, len(good) - 1))
    kind = data.draw(st.sampled_from(["flip", "delete", "insert", "truncate", "append"]))
    byte = data.draw(st.integers(0, 255))
    damaged = {
        "flip": good[:position] + bytes([good[position] ^ (byte or 1)]) + good[position + 1 :],
        "delete": good[:position] + good[position + 1 :],
        "insert": good[:position] + bytes([byte]) + good[position:],
        "truncate": good[:position],
        "append": good + bytes([byte]),
    }[kind]
    assert _outcome(strict.decode_envelope, damaged) == _outcome(_reference_envelope, damaged)


@pytest.mark.parametrize(
    "hex_data",
    [
        "d81841a0",  # tag 24 around a short byte string
        "d8185818" + "00" * 24,  # tag 24 with a one-byte length
        "d818590100" + "00" * 256,  # tag 24 with a two-byte length
        "a26161d81841a0616282f4f5",  # maps, arrays, simple values
    ],
)
def test_plain_preferred_takes_the_layouts_of_a_device_response(hex_data: str) -> None:
    data = bytes.fromhex(hex_data)
    assert strict.plain_preferred(data)
    assert strict.decode_envelope(data) == _reference_envelope(data)


@pytest.mark.parametrize(
    "hex_data",
    [
        "d8185801" + "00",  # a one-byte length below 24 after tag 24
        "d90018" + "41a0",  # tag 24 written in three bytes
        "c041a0",  # another tag (0)
        "f93e00",  # a half float (cbor2 writes floats in 8 bytes: refused by re-encoding too)
        "5f41a0ff",  # an indefinite length
        "1800",  # a one-byte argument below 24
        "8201",  # missing bytes
        "0000",  # trailing bytes
        "",
    ],
)
def test_plain_preferred_leaves_everything_else_to_the_re_encoding(hex_data: str) -> None:
    data = bytes.fromhex(hex_data)
    assert not strict.plain_preferred(data)
    assert _outcome(strict.decode_envelope, data) == _outcome(_reference_envelope, data)


# --- the items of a namespace: one pass when all are in order ------------------------------------------------------


def _slow_check_items(name_spaces: Any, mso: structure.Mso) -> tuple[dict[str, Any], list[Any]]:
    """`_Document.check_items` with the fast path switched off: every item judged by `parse_items`."""
    with mock.patch("edl.credentials.verify.matched_items", lambda *_args: None):
        check = _Document(NOW, DEFAULT_LEEWAY)
        claims = check.check_items(name_spaces, mso)
    return claims, check.errors


def _fast_check_items(name_spaces: Any, mso: structure.Mso) -> tuple[dict[str, Any], list[Any]]:
    check = _Document(NOW, DEFAULT_LEEWAY)
    return check.check_items(name_spaces, mso), check.errors


def _parts(issuer_signed: bytes) -> tuple[dict[str, Any], structure.Mso]:
    decoded = strict.decode_envelope(issuer_signed)
    return decoded, structure.parse_mso(decoded["issuerAuth"][2])


def _flip_one(items: list[Any], rng: random.Random) -> None:
    k = rng.randrange(len(items))
    items[k] = CBORTag(24, _flip(items[k].value, rng))


def _untag_one(items: list[Any], rng: random.Random) -> None:
    k = rng.randrange(len(items))
    items[k] = items[k].value


def _retag_one(items: list[Any], rng: random.Random) -> None:
    k = rng.randrange(len(items))
    items[k] = CBORTag(25, items[k].value)


def _text_in_one(items: list[Any], rng: random.Random) -> None:
    items[rng.randrange(len(items))] = CBORTag(24, "text")


def _trailing_byte_in_one(items: list[Any], rng: random.Random) -> None:
    k = rng.randrange(len(items))
    items[k] = CBORTag(24, items[k].value + b"\0")


_ITEM_CHANGES: dict[str, Callable[[list[Any], random.Random], None]] = {
    "flip a byte": _flip_one,
    "duplicate": lambda items, rng: items.append(items[rng.randrange(len(items))]),
    "reverse": lambda items, _rng: items.reverse(),
    "drop some": lambda items, rng: items.__delitem__(slice(0, rng.randrange(1, len(items)))),
    "untag one": _untag_one,
    "retag one": _retag_one,
    "text inside": _text_in_one,
    "trailing byte": _trailing_byte_in_one,
}


def _flip(data: bytes, rng: random.Random) -> bytes:
    position = rng.randrange(len(data))
    return data[:position] + bytes([data[position] ^ (1 << rng.randrange(8))]) + data[position + 1 :]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(_ITEM_CHANGES)), st.integers(0, 2**32))
def test_items_are_judged_alike_by_the_fast_and_the_item_by_item_path(change: str, seed: int) -> None:
    decoded, mso = _parts(_ISSUED)
    items = list(decoded["nameSpaces"][MDL_NAMESPACE])
    _ITEM_CHANGES[change](items, random.Random(seed))
    name_spaces = {MDL_NAMESPACE: items}
    assert _fast_check_items(name_spaces, mso) == _slow_check_items(name_spaces, mso)


def test_untouched_items_are_taken_by_the_fast_path_with_the_same_claims() -> None:
    decoded, mso = _parts(_ISSUED)
    items = decoded["nameSpaces"][MDL_NAMESPACE]
    matched = structure.matched_items(items, mso.value_digests[MDL_NAMESPACE], hashlib.sha256)
    assert matched is not None and len(matched) == len(items)
    assert _fast_check_items(decoded["nameSpaces"], mso) == _slow_check_items(decoded["nameSpaces"], mso)
    assert _slow_check_items(decoded["nameSpaces"], mso)[0] == {MDL_NAMESPACE: matched}


def test_an_item_whose_digest_differs_is_never_taken_by_the_fast_path() -> None:
    decoded, mso = _parts(_ISSUED)
    items = list(decoded["nameSpaces"][MDL_NAMESPACE])
    other, _ = _parts(issue(_PKI))  # the same element, another salt: a well-formed item the MSO does not sign
    items[0] = other["nameSpaces"][MDL_NAMESPACE][0]
    assert structure.matched_items(items, mso.value_digests[MDL_NAMESPACE], hashlib.sha256) is None
    _claims, errors = _fast_check_items({MDL_NAMESPACE: items}, mso)
    assert ErrorCode.DIGEST_MISMATCH in {e.code for e in errors}


# --- the MSO wrapper, read by its layout ---------------------------------------------------------------------------


def _strict_mso_bytes(payload: bytes) -> object:
    try:
        wrapped = structure.decode_strict(payload, "MSO payload")
    except structure.Refusal as refusal:
        return ("refused", refusal.code)
    if not isinstance(wrapped, CBORTag) or wrapped.tag != 24 or not isinstance(wrapped.value, bytes):
        return ("refused", ErrorCode.MALFORMED)
    return wrapped.value


def _layout_mso_bytes(payload: bytes) -> object:
    try:
        return structure._mso_bytes(payload)
    except structure.Refusal as refusal:
        return ("refused", refusal.code)


@pytest.mark.parametrize(
    ("size", "width"),
    [(0, 1), (23, 1), (24, 1), (255, 1), (0, 2), (255, 2), (256, 2), (833, 2), (65535, 2), (833, 4), (65536, 4)],
)
@pytest.mark.parametrize("tail", [b"", b"\x00"])
def test_the_mso_wrapper_is_read_by_its_layout_as_strict_decoding_reads_it(size: int, width: int, tail: bytes) -> None:
    payload = b"\xd8\x18" + _head(2, size, width) + os.urandom(size) + tail
    assert _layout_mso_bytes(payload) == _strict_mso_bytes(payload)
    assert _layout_mso_bytes(payload[:-1]) == _strict_mso_bytes(payload[:-1])


def test_a_payload_that_is_not_tag_24_is_still_refused() -> None:
    for payload in (b"\xd8\x19\x41\x00", b"\x41\x00", b"\xd8\x18\x61\x00", b"\xd8", b""):
        assert _layout_mso_bytes(payload) == _strict_mso_bytes(payload) == ("refused", ErrorCode.MALFORMED)


# --- the device key: checked on its curve, built on demand ----------------------------------------------------------


@pytest.mark.parametrize("crv", sorted(EC2_CURVES))
def test_the_curve_check_agrees_with_openssl_on_points_on_and_off_the_curve(crv: int) -> None:
    curve = EC2_CURVES[crv]()
    size = (curve.key_size + 7) // 8
    for _ in range(10):
        key = cose_key(ec.generate_private_key(curve).public_key())
        x, y = key[-2], key[-3]
        assert isinstance(x, bytes) and isinstance(y, bytes)
        bumped = ((int.from_bytes(y, "big") + 1) % 2 ** (8 * size)).to_bytes(size, "big")
        for point_x, point_y in (
            (x, y),
            (x, bumped),
            (y, x),
            (bytes(size), y),
            (b"\xff" * size, y),
            (x, b"\xff" * size),
        ):
            try:
                ec.EllipticCurvePublicKey.from_encoded_point(curve, b"\x04" + point_x + point_y)
                openssl = True
            except ValueError:
                openssl = False
            assert on_curve(crv, point_x, point_y) is openssl


def test_a_coordinate_at_or_above_the_field_prime_is_refused() -> None:
    """P-521 coordinates have 7 spare bits: x + p names the same residue, and is still refused (as by OpenSSL)."""
    key = cose_key(ec.generate_private_key(ec.SECP521R1()).public_key())
    x, y = key[-2], key[-3]
    assert isinstance(x, bytes) and isinstance(y, bytes)
    shifted = (int.from_bytes(x, "big") + 2**521 - 1).to_bytes(66, "big")
    with pytest.raises(ValueError):
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP521R1(), b"\x04" + shifted + y)
    assert not on_curve(3, shifted, y)
    with pytest.raises(CoseKeyError, match="not on its curve"):
        read_cose_key({**key, -2: shifted})


def test_an_off_curve_device_key_is_refused_although_the_key_is_never_built(pki: Pki) -> None:
    bad = cose_key(ec.generate_private_key(ec.SECP256R1()).public_key())
    bad[-2] = bytes(32)
    signed = resign(issue(pki), pki.ds_key, mso=lambda m: m.update({"deviceKeyInfo": {"deviceKey": bad}}))
    result = verify_mdoc(signed, [pki.root], at=NOW)
    assert {e.code for e in result.errors} == {ErrorCode.MALFORMED} and result.documents[0].device_key is None


# --- the signer's algorithms, known per certificate -----------------------------------------------------------------


def test_signer_facts_name_the_algorithms_of_the_key_curve_only(pki: Pki) -> None:
    facts = SignerFacts.of(pki.ds)
    assert sorted(facts.ecdsa) == [-7] and facts.signature_size == 32


@pytest.mark.parametrize("alg", [-35, -36, -8, 0, "ES256"])
def test_an_algorithm_the_cached_signer_cannot_use_is_refused_after_a_valid_one(pki: Pki, alg: object) -> None:
    store = TrustStore([pki.root])
    assert verify_mdoc(issue(pki), store, at=NOW).valid  # (the signer's facts are now cached)
    assert VerificationCache.of(store).signers
    other = resign(issue(pki), pki.ds_key, protected=cbor2.dumps({1: alg}))
    assert ErrorCode.UNSUPPORTED_ALGORITHM in {e.code for e in verify_mdoc(other, store, at=NOW).errors}


def test_a_signature_of_another_size_is_refused_after_a_valid_one(pki: Pki) -> None:
    store = TrustStore([pki.root])
    good = issue(pki)
    assert verify_mdoc(good, store, at=NOW).valid
    doc = cbor2.loads(good)
    for signature in (doc["issuerAuth"][3][:-1], doc["issuerAuth"][3] + b"\0", b""):
        doc["issuerAuth"][3] = signature
        result = verify_mdoc(cbor2.dumps(doc), store, at=NOW)
        assert {e.code for e in result.errors} == {ErrorCode.SIGNATURE_INVALID}


def test_a_cached_signer_refuses_an_mso_signed_after_its_certificate_expired(pki: Pki) -> None:
    store = TrustStore([pki.root])
    assert verify_mdoc(issue(pki), store, at=NOW).valid
    late = pki.ds.not_valid_after_utc + timedelta(seconds=1)
    result = verify_mdoc(issue(pki), store, at=late)
    assert ErrorCode.CERTIFICATE_EXPIRED in {e.code for e in result.errors}


def test_altered_bytes_never_reach_a_cached_positive_result(pki: Pki) -> None:
    store = TrustStore([pki.root])
    good = response(pki)
    assert verify_mdoc(good, store, at=NOW).valid
    rng = random.Random(14)
    for _ in range(200):
        damaged = _flip(good, rng)
        assert not verify_mdoc(damaged, store, at=NOW).valid
    ds_der = pki.ds.public_bytes(serialization.Encoding.DER)
    assert good.count(ds_der) == 1
    position = good.index(ds_der) + len(ds_der) // 2  # a byte inside the DS certificate (its cache key)
    damaged = good[:position] + bytes([good[position] ^ 1]) + good[position + 1 :]
    assert not verify_mdoc(damaged, store, at=NOW).valid
