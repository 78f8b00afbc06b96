"""The signed status list (Token Status List, CWT form): byte layout pinned to the draft, strict verification."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import cbor2
import pytest
from cbor2 import CBORTag
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edl.credentials import statuslist
from edl.credentials.cose import ES256, sig_structure, verify_signature
from edl.credentials.errors import ErrorCode
from edl.credentials.statuslist import (
    TYP,
    build_status_list_token,
    pack_values,
    parse_status_list_claims,
    verify_status_list_token,
)
from edl.domain.credential_status import CredentialStatus
from edl.pki import Authority
from edl.pki.signer import Signer

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
URI = "https://edl.example/status-lists/1"

# draft-ietf-oauth-status-list, section 5.2: the non-normative Status List Token in CWT format (its payload and
# protected header; the example's key is not published, so only its structure and list are checked here).
DRAFT_CWT_EXAMPLE = bytes.fromhex(
    "d2845820a2012610781a6170706c69636174696f6e2f7374617475736c6973742b63"
    "7774a1044231325850a502782168747470733a2f2f6578616d706c652e636f6d2f73"
    "74617475736c697374732f31061a648c5bea041a8898dfea19fffe19a8c019fffda2"
    "646269747301636c73744a78dadbb918000217015d584093fa4d01032b18c35e2fe1"
    "101b77fd6cc9440022caa4694450c4e4e9feab4e99d1fa6d9772ce2bf3a12e0323de"
    "d7c982c5e101a5e67f0cbc1e2b6f57ce99c279"
)


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    a = Authority.open(tmp_path_factory.mktemp("sl") / "data")
    a.init(at=NOW - timedelta(days=1))
    return a


@pytest.fixture(scope="module")
def other_authority(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    a = Authority.open(tmp_path_factory.mktemp("sl-other") / "data")
    a.init(at=NOW - timedelta(days=1))
    return a


def _token(signer: Signer, values: list[int] | bytes | None = None, **kw: Any) -> bytes:
    args: dict[str, Any] = {"uri": URI, "iat": NOW, "exp": NOW + timedelta(hours=24), "ttl": 300} | kw
    return build_status_list_token([0, 1, 2, 0] if values is None else values, signer=signer, **args)


def _verify(data: bytes, authority: Authority, **kw: Any) -> statuslist.StatusListResult:
    return verify_status_list_token(data, [authority.root_certificate()], at=kw.pop("at", NOW), **kw)


def _codes(result: statuslist.StatusListResult) -> set[str]:
    return {e.code.value for e in result.errors}


def _signed(signer: Signer, claims: object, *, typ: object = TYP, protected: dict[int, Any] | None = None) -> bytes:
    """A COSE_Sign1 over arbitrary claims with a correct signature (to test the claim checks)."""
    der = signer.certificate.public_bytes(serialization.Encoding.DER)
    header = protected if protected is not None else {1: -7, 16: typ, 33: der}
    prot = cbor2.dumps(header, canonical=True)
    body = cbor2.dumps(claims, canonical=True)
    return cbor2.dumps(CBORTag(18, [prot, {}, body, signer.sign(sig_structure(prot, body))]))


def _claims(**kw: Any) -> dict[int, Any]:
    base: dict[int, Any] = {
        2: URI,
        6: int(NOW.timestamp()),
        4: int((NOW + timedelta(hours=24)).timestamp()),
        65534: 300,
        65533: {"bits": 2, "lst": zlib.compress(bytes([0b10_01_00_00]))},
    }
    for key, value in kw.items():
        code = {"sub": 2, "iat": 6, "exp": 4, "ttl": 65534, "status_list": 65533}[key]
        if value is None:
            base.pop(code)
        else:
            base[code] = value
    return base


# --- the byte array, pinned to the draft's examples --------------------------------------------------------------


def test_two_bit_layout_is_the_drafts_example() -> None:
    # draft section 4.1: status[0..11] = 1,2,0,3,0,1,0,1,1,2,3,3 with bits=2 -> 0xC9 0x44 0xF9
    assert pack_values([1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3], 2) == bytes([0xC9, 0x44, 0xF9])


def test_one_bit_layout_is_the_drafts_example() -> None:
    values = [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]
    assert pack_values(values, 1) == bytes([0xB9, 0xA3])


def test_the_drafts_cwt_example_parses_with_its_claims_and_list() -> None:
    outer = cbor2.loads(DRAFT_CWT_EXAMPLE)
    assert outer.tag == 18
    protected = cbor2.loads(outer.value[0])
    assert protected == {1: -7, 16: TYP}
    sub, iat, exp, ttl, bits, lst = parse_status_list_claims(cbor2.loads(outer.value[2]))
    assert (sub, bits, ttl, lst) == ("https://example.com/statuslists/1", 1, 43200, bytes([0xB9, 0xA3]))
    assert exp > iat


def test_values_that_do_not_fit_the_bits_are_refused() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        pack_values([0, 4], 2)
    with pytest.raises(ValueError, match="bits"):
        pack_values([0], 3)


# --- round trip ---------------------------------------------------------------------------------------------------


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.sampled_from([0, 1, 2]), min_size=0, max_size=200))
def test_every_index_reads_back_as_built(authority: Authority, values: list[int]) -> None:
    signer = authority.service_signer("status-list", NOW)
    result = _verify(_token(signer, values), authority, expected_uri=URI)
    assert result.valid, result.errors
    expected = {0: CredentialStatus.VALID, 1: CredentialStatus.REVOKED, 2: CredentialStatus.SUSPENDED}
    assert [result.status_at(i) for i in range(len(values))] == [expected[v] for v in values]
    assert result.status_at(result.size) is CredentialStatus.UNKNOWN  # beyond the list
    assert result.size >= len(values) and result.size - len(values) < 4


def test_a_packed_byte_array_is_taken_as_is(authority: Authority) -> None:
    signer = authority.service_signer("status-list", NOW)
    result = _verify(_token(signer, bytes([0xC9, 0x44, 0xF9])), authority)
    assert [result.status_at(i).value for i in (0, 1, 2, 3)] == ["revoked", "suspended", "valid", "unknown"]
    assert (result.uri, result.bits, result.ttl, result.iat, result.exp) == (
        URI,
        2,
        300,
        NOW,
        NOW + timedelta(hours=24),
    )


def test_the_token_is_a_tagged_cose_sign1_with_the_drafts_headers_and_claims(authority: Authority) -> None:
    signer = authority.service_signer("status-list", NOW)
    outer = cbor2.loads(_token(signer))
    assert outer.tag == 18 and len(outer.value) == 4
    protected = cbor2.loads(outer.value[0])
    assert protected[1] == -7 and protected[16] == "application/statuslist+cwt"
    assert protected[33] == signer.certificate.public_bytes(serialization.Encoding.DER)
    claims = cbor2.loads(outer.value[2])
    assert set(claims) == {2, 4, 6, 65533, 65534}
    assert claims[65533]["bits"] == 2 and zlib.decompress(claims[65533]["lst"]) == bytes([0b00_10_01_00])


def test_negative_or_non_integer_indices_are_unknown(authority: Authority) -> None:
    result = _verify(_token(authority.service_signer("status-list", NOW)), authority)
    assert result.status_at(-1) is CredentialStatus.UNKNOWN
    assert result.status_at("1") is CredentialStatus.UNKNOWN  # type: ignore[arg-type]


# --- refusals -----------------------------------------------------------------------------------------------------


def test_a_list_past_exp_is_stale_and_every_index_unknown(authority: Authority) -> None:
    token = _token(authority.service_signer("status-list", NOW), [0, 0, 0])
    result = _verify(token, authority, at=NOW + timedelta(hours=24, seconds=1))
    assert not result.valid and _codes(result) == {ErrorCode.STATUS_LIST_STALE.value}
    assert result.status_at(0) is CredentialStatus.UNKNOWN


def test_a_list_for_another_uri_is_refused(authority: Authority) -> None:
    token = _token(authority.service_signer("status-list", NOW))
    result = _verify(token, authority, expected_uri="https://other.example/status-lists/1")
    assert not result.valid and _codes(result) == {"status_list_invalid"}


def test_a_list_signed_by_the_document_signer_is_refused(authority: Authority) -> None:
    result = _verify(_token(authority.current_signer(NOW), [0, 1]), authority)
    assert not result.valid and _codes(result) == {"status_list_invalid"}
    assert "ExtendedKeyUsage" in result.errors[0].message
    assert result.status_at(0) is CredentialStatus.UNKNOWN


def test_a_list_signed_by_the_trust_list_signer_is_refused(authority: Authority) -> None:
    result = _verify(_token(authority.service_signer("trust-list", NOW)), authority)
    assert not result.valid and _codes(result) == {"status_list_invalid"}


def test_a_list_of_another_root_is_refused(authority: Authority, other_authority: Authority) -> None:
    result = _verify(_token(other_authority.service_signer("status-list", NOW)), authority)
    assert not result.valid and _codes(result) == {"status_list_invalid"}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_tampered_token_verifies(authority: Authority, data: st.DataObject) -> None:
    token = bytearray(_token(authority.service_signer("status-list", NOW), [2, 0, 1, 0, 0, 2]))
    position = data.draw(st.integers(0, len(token) - 1))
    flip = data.draw(st.integers(1, 255))
    token[position] ^= flip
    result = _verify(bytes(token), authority)
    assert not result.valid
    assert result.status_at(0) is CredentialStatus.UNKNOWN


def test_a_cwt_tagged_or_untagged_token_is_refused(authority: Authority) -> None:
    token = _token(authority.service_signer("status-list", NOW))
    outer = cbor2.loads(token)
    assert not _verify(cbor2.dumps(CBORTag(61, outer)), authority).valid
    assert not _verify(cbor2.dumps(outer.value), authority).valid
    assert not _verify(token + b"\x00", authority).valid


@pytest.mark.parametrize(
    ("protected", "reason"),
    [
        ({1: -7, 16: "application/statuslist+jwt"}, "typ"),
        ({1: -35, 16: TYP}, "ES256"),
        ({1: -7}, "typ"),
        ({1: -7, 16: TYP}, "x5chain"),
        ({1: -7, 16: TYP, 2: [16]}, "critical"),
        ({1: -7, 16: TYP, 99: 1}, "unexpected"),
    ],
)
def test_wrong_headers_are_refused(authority: Authority, protected: dict[int, Any], reason: str) -> None:
    signer = authority.service_signer("status-list", NOW)
    der = signer.certificate.public_bytes(serialization.Encoding.DER)
    header = dict(protected)
    if reason != "x5chain":
        header[33] = der
    result = _verify(_signed(signer, _claims(), protected=header), authority)
    assert not result.valid and reason in result.errors[0].message


def test_x5chain_may_be_unprotected_as_a_bstr_or_an_array(authority: Authority) -> None:
    signer = authority.service_signer("status-list", NOW)
    der = signer.certificate.public_bytes(serialization.Encoding.DER)
    prot = cbor2.dumps({1: -7, 16: TYP}, canonical=True)
    body = cbor2.dumps(_claims(), canonical=True)
    signature = signer.sign(sig_structure(prot, body))
    for chain in (der, [der]):
        token = cbor2.dumps(CBORTag(18, [prot, {33: chain}, body, signature]))
        assert _verify(token, authority).valid
    both = cbor2.dumps({1: -7, 16: TYP, 33: der}, canonical=True)
    twice = cbor2.dumps(CBORTag(18, [both, {33: der}, body, signer.sign(sig_structure(both, body))]))
    assert not _verify(twice, authority).valid


def test_a_correctly_signed_well_formed_list_verifies(authority: Authority) -> None:
    # (the control for the claim refusals below: the same helper, nothing wrong)
    result = _verify(_signed(authority.service_signer("status-list", NOW), _claims()), authority)
    assert result.valid and result.status_at(2) is CredentialStatus.REVOKED and result.status_at(3).value == "suspended"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"sub": None}, "sub"),
        ({"sub": b"bytes"}, "sub"),
        ({"iat": None}, "iat"),
        ({"iat": "now"}, "iat"),
        ({"exp": None}, "exp"),
        ({"exp": int(NOW.timestamp())}, "exp is not after iat"),
        ({"ttl": 0}, "ttl"),
        ({"ttl": -5}, "ttl"),
        ({"ttl": 1.5}, "ttl"),
        ({"status_list": None}, "status_list"),
        ({"status_list": {"bits": 3, "lst": zlib.compress(b"\x00")}}, "bits"),
        ({"status_list": {"bits": True, "lst": zlib.compress(b"\x00")}}, "bits"),
        ({"status_list": {"bits": 2, "lst": b"not zlib"}}, "zlib"),
        ({"status_list": {"bits": 2, "lst": zlib.compress(b"\x00") + b"x"}}, "complete"),
        ({"status_list": {"bits": 2, "lst": zlib.compress(b"\x00")[:-2]}}, "complete"),
        ({"status_list": {"bits": 2, "lst": "text"}}, "lst"),
        ({"status_list": {"bits": 2, "lst": zlib.compress(b"\x00"), "x": 1}}, "unknown member"),
        ({"iat": int((NOW + timedelta(hours=1)).timestamp())}, "future"),
    ],
)
def test_wrong_claims_are_refused_as_invalid(authority: Authority, change: dict[str, Any], reason: str) -> None:
    result = _verify(_signed(authority.service_signer("status-list", NOW), _claims(**change)), authority)
    assert not result.valid and _codes(result) == {"status_list_invalid"}
    assert reason in result.errors[0].message


def test_a_decompression_bomb_is_refused(authority: Authority, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(statuslist, "MAX_LIST_BYTES", 64 * 1024)
    bomb = zlib.compress(bytes(10 * 1024 * 1024), 9)  # 10 MiB of zeros in ~10 KB
    claims = _claims(status_list={"bits": 2, "lst": bomb})
    result = _verify(_signed(authority.service_signer("status-list", NOW), claims), authority)
    assert not result.valid and "more than" in result.errors[0].message


def test_other_claims_are_allowed_as_the_draft_says(authority: Authority) -> None:
    claims = _claims() | {1: "https://edl.example", "x": [1, 2]}
    assert _verify(_signed(authority.service_signer("status-list", NOW), claims), authority).valid


def test_what_is_not_a_token_is_refused_without_raising(authority: Authority) -> None:
    for data in (b"", b"\xff", cbor2.dumps({"a": 1}), "text", bytes(100)):
        result = verify_status_list_token(data, [authority.root_certificate()], at=NOW)  # type: ignore[arg-type]
        assert not result.valid and _codes(result) == {"status_list_invalid"}


def test_building_refuses_what_a_verifier_would_refuse(authority: Authority) -> None:
    signer = authority.service_signer("status-list", NOW)
    with pytest.raises(ValueError, match="ttl"):
        _token(signer, ttl=0)
    with pytest.raises(ValueError, match="exp"):
        _token(signer, exp=NOW)
    with pytest.raises(ValueError, match="URI"):
        _token(signer, uri="")


def test_the_signature_is_es256_over_the_sig_structure(authority: Authority) -> None:
    signer = authority.service_signer("status-list", NOW)
    outer = cbor2.loads(_token(signer))
    prot, _, body, signature = outer.value
    verify_signature(signer.certificate.public_key(), ES256, sig_structure(prot, body), signature)  # type: ignore[arg-type]
