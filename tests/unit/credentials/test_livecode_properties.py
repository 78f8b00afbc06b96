"""Properties of the 亮码 verifier: no mutated code verifies, an untrusted signer is refused, an expired code
replayed later is refused; the fast Base45 decoder is the `base45` package's decoder."""

from __future__ import annotations

import os
import uuid
import zlib
from collections.abc import Callable
from datetime import date, timedelta

import base45
import cbor2
import pytest
from cbor2 import CBORTag
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edl.credentials import livecode
from edl.credentials.cose import (
    CODE_RULES,
    CoseFormatError,
    Sign1,
    decode_preferred_sign1,
    read_plain_sign1,
    sig_structure,
)
from edl.credentials.livecode import PREFIX, CodeClaims, b45decode, make_code, verify_code
from edl.credentials.livecode_claims import CodeRefused
from edl.domain import Status, VehicleClass
from tests.unit.credentials.builders import NOW, Pki

FIXTURES = settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
AT = NOW + timedelta(seconds=30)
ALPHABET = base45.BASE45_CHARSET


@st.composite
def code_claims(draw: st.DrawFn) -> CodeClaims:
    lifetime = draw(st.integers(1, 180))
    return CodeClaims(
        elicence_id=uuid.UUID(int=draw(st.integers(0, 2**128 - 1))).hex,
        classes=tuple(
            draw(st.lists(st.sampled_from([c.value for c in VehicleClass]), min_size=1, max_size=4, unique=True))
        ),
        status="".join(draw(st.lists(st.sampled_from([s.value for s in Status]), min_size=1, max_size=3, unique=True))),
        status_index=draw(st.integers(0, 2**32 - 1)),
        licence_valid_until=draw(st.none() | st.dates(date(2020, 1, 1), date(2099, 12, 31))),
        issued_at=NOW,
        expires_at=NOW + timedelta(seconds=lifetime),
        nonce=draw(st.binary(min_size=8, max_size=8)),
    )


@pytest.fixture(scope="module")
def code(pki: Pki) -> str:
    made = CodeClaims(uuid.uuid4().hex, ("A2", "D"), "AH", 7, None, NOW, NOW + timedelta(seconds=180), os.urandom(8))
    text = make_code(made, pki.signer)
    assert verify_code(text, [pki.root], [pki.ds], at=AT).valid
    return text


_TEXT_CHARS = st.sampled_from(ALPHABET + "abcxyz\n\t!~" + "\u00e9")


@st.composite
def text_mutation(draw: st.DrawFn, text: str) -> str:
    """The code text with 1-3 characters substituted, inserted or deleted (anywhere, prefix included)."""
    out = text
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["substitute", "insert", "delete"]))
        i = draw(st.integers(0, len(out) - (0 if kind == "insert" else 1)))
        if kind == "substitute":
            out = out[:i] + draw(_TEXT_CHARS.filter(lambda c, old=out[i]: c != old)) + out[i + 1 :]
        elif kind == "insert":
            out = out[:i] + draw(_TEXT_CHARS) + out[i:]
        else:
            out = out[:i] + out[i + 1 :]
    return out


@FIXTURES
@given(data=st.data())
def test_no_mutated_code_text_verifies(pki: Pki, code: str, data: st.DataObject) -> None:
    mutated = data.draw(text_mutation(code))
    if mutated == code:
        return
    result = verify_code(mutated, [pki.root], [pki.ds], at=AT)
    assert not result.valid, mutated
    assert result.claims is None and result.errors


@st.composite
def byte_mutation(draw: st.DrawFn, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["flip", "replace", "insert", "delete"]))
        i = draw(st.integers(0, len(out) - (0 if kind == "insert" else 1)))
        if kind == "flip":
            out[i] ^= 1 << draw(st.integers(0, 7))
        elif kind == "replace":
            out[i] = draw(st.integers(0, 255))
        elif kind == "insert":
            out.insert(i, draw(st.integers(0, 255)))
        else:
            del out[i]
    return bytes(out)


@FIXTURES
@given(data=st.data())
def test_no_mutated_cose_verifies_even_when_transported_correctly(pki: Pki, code: str, data: st.DataObject) -> None:
    cose = zlib.decompress(base45.b45decode(code[len(PREFIX) :]))
    mutated = data.draw(byte_mutation(cose))
    if mutated == cose:
        return
    text = PREFIX + base45.b45encode(zlib.compress(mutated, 9)).decode("ascii")
    result = verify_code(text, [pki.root], [pki.ds], at=AT)
    assert not result.valid
    assert result.stage in {"cose", "claims", "signature", "signer", "time"}


@FIXTURES
@given(claims=code_claims(), listed=st.booleans())
def test_a_code_signed_by_an_untrusted_authority_is_refused(
    pki: Pki, other_pki: Pki, claims: CodeClaims, listed: bool
) -> None:
    """Its own root and DS, correctly made: refused whether or not the verifier was handed its DS certificate."""
    text = make_code(claims, other_pki.signer)
    signers = [pki.ds, other_pki.ds] if listed else [pki.ds]
    result = verify_code(text, [pki.root], signers, at=NOW)
    assert not result.valid and result.claims is None
    assert {e.code.value for e in result.errors} == ({"chain_untrusted"} if listed else {"signer_unknown"})
    assert verify_code(make_code(claims, pki.signer), [pki.root], signers, at=NOW).valid  # (the claims are fine)


@FIXTURES
@given(claims=code_claims(), delay=st.integers(0, 400 * 86400))
def test_an_expired_code_replayed_later_is_refused(pki: Pki, claims: CodeClaims, delay: int) -> None:
    text = make_code(claims, pki.signer)
    later = claims.expires_at + timedelta(seconds=delay)
    result = verify_code(text, [pki.root], [pki.ds], at=later)
    assert not result.valid
    codes = {e.code.value for e in result.errors}
    assert codes == {"expired"} or (codes == {"certificate_expired"} and later > pki.ds.not_valid_after_utc)


@given(data=st.binary(max_size=400))
def test_fast_base45_decoder_inverts_the_package_encoder(data: bytes) -> None:
    assert b45decode(base45.b45encode(data).decode("ascii")) == data


@given(text=st.text(alphabet=ALPHABET, max_size=60))
def test_fast_base45_decoder_refuses_exactly_what_the_package_refuses(text: str) -> None:
    try:
        expected: bytes | None = base45.b45decode(text)
    except ValueError:
        expected = None
    assert b45decode(text) == expected


def _cose_verdict(read: Callable[[bytes], object], data: bytes) -> object:
    try:
        return read(data)
    except CoseFormatError as refused:
        return (refused.kind, refused.message)


def _plain(data: bytes) -> Sign1 | None:
    return read_plain_sign1(data, CODE_RULES)


def _cbor(data: bytes) -> Sign1:
    return decode_preferred_sign1(data, CODE_RULES)


@FIXTURES
@given(data=st.data())
def test_the_layout_reader_of_the_envelope_agrees_with_cbor2(pki: Pki, code: str, data: st.DataObject) -> None:
    """`read_plain_sign1` (the fast path of the one COSE_Sign1 reader) reads only bytes the cbor2 reader reads the
    same (including the Sig_structure), and refuses what it refuses with the same words."""
    cose = zlib.decompress(base45.b45decode(code[len(PREFIX) :]))
    assert _plain(cose) is not None  # (a code as made takes the fast way)
    mutated = data.draw(byte_mutation(cose) | st.just(cose))
    plain = _cose_verdict(_plain, mutated)
    if plain is not None:
        assert plain == _cose_verdict(_cbor, mutated)
    if isinstance(plain, Sign1):
        assert plain.to_be_signed == sig_structure(plain.protected, plain.payload)


@given(payload=st.binary(max_size=600), head=st.sampled_from(["minimal", "one longer", "indefinite"]))
def test_an_envelope_with_a_longer_or_indefinite_payload_head_is_refused(payload: bytes, head: str) -> None:
    """Only the shortest head is preferred serialization: a payload string with a longer length head, or as an
    indefinite-length string of chunks, is a different encoding of the same envelope and is refused."""
    protected = cbor2.dumps({1: -7, 4: b"\x01" * 8})
    good = cbor2.dumps(CBORTag(18, [protected, {}, payload, b"\x00" * 64]))
    prefix = good[: 2 + len(cbor2.dumps(protected)) + 1]
    if head == "minimal":
        assert livecode.read_cose(good).payload == payload
        return
    if head == "one longer":
        size = len(payload)
        longer = {0: b"\x58" + bytes((size,)), 1: b"\x59" + size.to_bytes(2, "big")}
        item = longer.get((size >= 24) + (size >= 256), b"\x5a" + size.to_bytes(4, "big")) + payload
    else:
        item = b"\x5f" + cbor2.dumps(payload[:1]) + cbor2.dumps(payload[1:]) + b"\xff"
    envelope = prefix + item + cbor2.dumps(b"\x00" * 64)
    assert _plain(envelope) is None
    with pytest.raises(CodeRefused) as refused:
        livecode.read_cose(envelope)
    assert refused.value.code.value == "code_cose"
