"""The 亮码: round trip, each pipeline stage failing with its own code, size, kid collisions, x5chain."""

from __future__ import annotations

import os
import uuid
import zlib
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import base45
import cbor2
import pytest
import segno
from cbor2 import CBORTag
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from edl.credentials import IssuanceError
from edl.credentials.cose import sig_structure
from edl.credentials.livecode import (
    MAX_COSE_BYTES,
    MAX_QR_TEXT,
    PREFIX,
    CodeClaims,
    b45decode,
    claims_map,
    kid_of,
    make_code,
    verify_code,
)
from edl.pki import AuthorityProfile, PrivateKeySigner
from edl.pki.profiles import ds_builder, key_id_of
from tests.unit.credentials.builders import NOW, Pki

AT = NOW + timedelta(seconds=30)


def claims(**kw: Any) -> CodeClaims:
    base = CodeClaims(
        elicence_id=uuid.uuid4().hex,
        classes=("C1",),
        status="A",
        status_index=42,
        licence_valid_until=date(2031, 3, 1),
        issued_at=NOW,
        expires_at=NOW + timedelta(seconds=180),
        nonce=os.urandom(8),
    )
    return replace(base, **kw)


def raw_sign(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def forge(
    payload: object,
    key: ec.EllipticCurvePrivateKey,
    *,
    kid: bytes,
    protected: dict[int, Any] | None = None,
    unprotected: dict[int, Any] | None = None,
    tag: bool = True,
) -> str:
    """A code built by hand (any claims, headers, key): what a careless or hostile maker could send."""
    payload_bytes = payload if isinstance(payload, bytes) else cbor2.dumps(payload)
    prot = cbor2.dumps(protected if protected is not None else {1: -7, 4: kid})
    signature = raw_sign(key, sig_structure(prot, payload_bytes))
    parts = [prot, unprotected or {}, payload_bytes, signature]
    cose = cbor2.dumps(CBORTag(18, parts) if tag else parts)
    return wrap(cose)


def wrap(cose: bytes) -> str:
    return PREFIX + base45.b45encode(zlib.compress(cose, 9)).decode("ascii")


def unwrap(text: str) -> bytes:
    return zlib.decompress(base45.b45decode(text[len(PREFIX) :]))


def check(text: str, pki: Pki, **kw: Any) -> Any:
    return verify_code(text, [pki.root], [pki.ds], at=kw.pop("at", AT), **kw)


def codes(result: Any) -> set[str]:
    return {e.code.value for e in result.errors}


# --- round trip ------------------------------------------------------------------------------------------------


def test_a_code_round_trips_and_names_its_signer(pki: Pki) -> None:
    made = claims(classes=("A2", "D"), status="DH", licence_valid_until=None)
    result = check(make_code(made, pki.signer), pki)
    assert result.valid, result.errors
    assert result.claims == made and result.stage is None
    assert result.signer is not None and "Document Signer" in result.signer.subject
    out = result.to_json_dict()
    assert out["claims"]["classes"] == ["A2", "D"] and out["claims"]["licence_valid_until"] is None


def test_the_wire_format_is_the_documented_one(pki: Pki) -> None:
    made = claims()
    text = make_code(made, pki.signer)
    assert text.startswith("EDL1:") and set(text[5:]) <= set(base45.BASE45_CHARSET)
    cose = cbor2.loads(unwrap(text))
    assert cose.tag == 18
    protected, unprotected, payload, _signature = cose.value
    assert cbor2.loads(protected) == {1: -7, 4: kid_of(pki.ds)}
    assert kid_of(pki.ds) == __import__("hashlib").sha256(der(pki.ds)).digest()[:8]
    assert unprotected == {}
    assert cbor2.loads(payload) == {
        1: "CN",
        4: int(made.expires_at.timestamp()),
        6: int(made.issued_at.timestamp()),
        7: made.nonce,
        "eid": bytes.fromhex(made.elicence_id),
        "cls": ["C1"],
        "st": "A",
        "sli": 42,
        "vu": "2031-03-01",
    }


@pytest.mark.parametrize("valid_until", [None, date(2032, 12, 31)])
def test_worst_case_code_fits_a_version_10_qr_at_level_m(pki: Pki, valid_until: date | None) -> None:
    from edl.issuance.livecodes import NONCE_BYTES

    worst = claims(
        classes=("A1", "A2", "B1", "B2", "C1", "C5", "C6", "N"),
        status="AHI",
        status_index=2**32 - 1,
        licence_valid_until=valid_until,
        nonce=os.urandom(NONCE_BYTES),
    )
    for _ in range(20):  # (the random nonce, id and signature change how well zlib does)
        text = make_code(replace(worst, nonce=os.urandom(NONCE_BYTES), elicence_id=uuid.uuid4().hex), pki.signer)
        assert len(text) <= MAX_QR_TEXT
        assert segno.make(text, error="m", boost_error=False).version <= 10


def test_a_code_too_big_for_a_version_10_qr_is_not_made(pki: Pki) -> None:
    big = claims(classes=("A1", "A2", "B1", "B2", "C1", "C2", "C3", "C4"), status="BDHIJM", nonce=os.urandom(16))
    with pytest.raises(IssuanceError, match="characters"):
        make_code(big, pki.signer)


@pytest.mark.parametrize(
    "change",
    [
        {"expires_at": NOW + timedelta(seconds=181)},
        {"expires_at": NOW},
        {"elicence_id": "ABC"},
        {"classes": ("Z9",)},
        {"classes": ()},
        {"status": "A!"},
        {"nonce": b"short"},
        {"status_index": -1},
        {"issued_at": NOW.replace(tzinfo=None)},
    ],
)
def test_claims_the_verifier_would_refuse_are_never_signed(pki: Pki, change: dict[str, Any]) -> None:
    with pytest.raises(IssuanceError):
        make_code(claims(**change), pki.signer)


# --- each stage its own error -----------------------------------------------------------------------------------


def test_prefix_stage(pki: Pki) -> None:
    text = make_code(claims(), pki.signer)
    for bad in ("edl1:" + text[5:], text[5:], "HC1:" + text[5:], ""):
        result = check(bad, pki)
        assert (result.valid, codes(result), result.stage) == (False, {"code_prefix"}, "prefix")
    assert check(b"EDL1:x", pki).stage == "prefix"  # type: ignore[arg-type]


def test_base45_stage(pki: Pki) -> None:
    text = make_code(claims(), pki.signer)
    one_over = text + "0" * ((1 - len(text[5:])) % 3)  # a length of 3k+1 is never Base45
    for bad in (text + "\n", text[:-1] + "a", PREFIX, one_over, PREFIX + "GGW", text + " "):  # GGW > 0xFFFF
        result = check(bad, pki)
        assert (codes(result), result.stage) == ({"code_base45"}, "base45"), bad[-5:]


def test_compression_stage(pki: Pki) -> None:
    cose = unwrap(make_code(claims(), pki.signer))
    compressed = zlib.compress(cose)
    for bad in (cose, compressed[:-3], compressed + b"\x00", zlib.compress(cose, wbits=31)):
        result = check(PREFIX + base45.b45encode(bad).decode(), pki)
        assert (codes(result), result.stage) == ({"code_compression"}, "compression")


def test_decompression_bomb_is_refused_without_inflating_it(pki: Pki) -> None:
    bomb = zlib.compress(b"\x00" * (50 * 1024 * 1024), 9)  # 50 MB from ~50 kB
    result = check(PREFIX + base45.b45encode(bomb[:2700]).decode(), pki)  # (fits the text cap)
    assert (codes(result), result.stage) == ({"code_too_large"}, "compression")
    just_over = zlib.compress(b"\x00" * (MAX_COSE_BYTES + 1))
    assert codes(check(PREFIX + base45.b45encode(just_over).decode(), pki)) == {"code_too_large"}
    assert codes(check(PREFIX + "0" * 9000, pki)) == {"code_too_large"}


def test_cose_stage(pki: Pki) -> None:
    key, kid = pki.ds_key, kid_of(pki.ds)
    payload = claims_map(claims())
    cases = {
        "untagged": forge(payload, key, kid=kid, tag=False),
        "kid missing": forge(payload, key, kid=kid, protected={1: -7}),
        "short kid": forge(payload, key, kid=kid, protected={1: -7, 4: kid[:4]}),
        "crit": forge(payload, key, kid=kid, protected={1: -7, 4: kid, 2: [4]}),
        "extra protected": forge(payload, key, kid=kid, protected={1: -7, 4: kid, 3: 0}),
        "unprotected kid": forge(payload, key, kid=kid, unprotected={4: kid}),
        "x5chain not naming the kid": forge(payload, key, kid=kid, unprotected={33: b"\x30\x00"}),
        "not cbor": wrap(b"\xff\xff"),
        "three elements": wrap(cbor2.dumps(CBORTag(18, [b"", {}, b""]))),
        "detached payload": wrap(cbor2.dumps(CBORTag(18, [cbor2.dumps({1: -7, 4: kid}), {}, None, b"\x00" * 64]))),
        "trailing bytes": wrap(unwrap(make_code(claims(), pki.signer)) + b"\x00"),
        "non-shortest head": wrap(b"\xd2\x98\x04" + unwrap(make_code(claims(), pki.signer))[2:]),
    }
    for name, text in cases.items():
        result = check(text, pki)
        assert (codes(result), result.stage) == ({"code_cose"}, "cose"), name


@pytest.mark.parametrize("alg", [-35, -8, "ES256", None])
def test_only_es256_is_accepted(pki: Pki, alg: object) -> None:
    kid = kid_of(pki.ds)
    text = forge(claims_map(claims()), pki.ds_key, kid=kid, protected={1: alg, 4: kid})
    result = check(text, pki)
    assert (codes(result), result.stage) == ({"unsupported_algorithm"}, "cose")


def _claims_with(**changes: Any) -> dict[Any, Any]:
    payload = claims_map(claims())
    for key, value in changes.items():
        label: Any = {"iss": 1, "exp": 4, "iat": 6, "cti": 7}.get(key, key)
        if value is _DROP:
            del payload[label]
        else:
            payload[label] = value
    return payload


_DROP = object()


@pytest.mark.parametrize(
    "changes",
    [
        {"extra": 1},
        {"eid": _DROP},
        {"vu": _DROP},
        {"iss": "China"},
        {"iss": 86},
        {"exp": "soon"},
        {"iat": -5},
        {"iat": True},
        {"cti": b"1234567"},
        {"cti": b"x" * 17},
        {"eid": uuid.uuid4().hex},
        {"cls": "C1"},
        {"cls": ["C1", "C1"]},
        {"cls": ["X"]},
        {"cls": [["C1"]]},
        {"cls": []},
        {"st": "AZ"},
        {"st": "AA"},
        {"st": ""},
        {"sli": -1},
        {"sli": 2**32},
        {"sli": 1.0},
        {"vu": "2031-02-30"},
        {"vu": "31-03-01"},
        {"vu": CBORTag(1004, "2031-03-01")},
    ],
)
def test_claims_stage(pki: Pki, changes: dict[str, Any]) -> None:
    text = forge(_claims_with(**changes), pki.ds_key, kid=kid_of(pki.ds))
    result = check(text, pki)
    assert (codes(result), result.stage) == ({"code_claims"}, "claims")


def test_a_boolean_key_is_not_a_claim_label(pki: Pki) -> None:
    payload = _claims_with(iss=_DROP)
    payload[True] = "CN"  # cbor `true`, which Python's dict takes for 1
    result = check(forge(payload, pki.ds_key, kid=kid_of(pki.ds)), pki)
    assert codes(result) == {"code_claims"}


def test_payload_that_is_not_cbor_is_a_claims_error(pki: Pki) -> None:
    result = check(forge(b"\xff", pki.ds_key, kid=kid_of(pki.ds)), pki)
    assert (codes(result), result.stage) == ({"code_claims"}, "claims")


@pytest.mark.parametrize("tail", [b"\x00", b"\xf6", b"\xa0", cbor2.dumps({"eid": b"x" * 16})])
def test_bytes_after_the_claims_map_are_refused_even_when_signed(pki: Pki, tail: bytes) -> None:
    """cbor2 stops after the first data item; the claims map must be the whole payload (one encoding of it)."""
    payload = cbor2.dumps(claims_map(claims()), canonical=True)
    assert check(forge(payload, pki.ds_key, kid=kid_of(pki.ds)), pki).valid
    result = check(forge(payload + tail, pki.ds_key, kid=kid_of(pki.ds)), pki)
    assert (codes(result), result.stage) == ({"code_claims"}, "claims")
    assert "follow the claims map" in result.errors[0].message


@pytest.mark.parametrize("lifetime", [0, -1, 181, 3600])
def test_lifetime_over_three_minutes_or_not_positive_is_refused(pki: Pki, lifetime: int) -> None:
    iat = int(NOW.timestamp())
    text = forge(_claims_with(iat=iat, exp=iat + lifetime), pki.ds_key, kid=kid_of(pki.ds))
    result = check(text, pki)
    assert (codes(result), result.stage) == ({"code_lifetime"}, "claims")


def test_unknown_kid_is_signer_unknown(pki: Pki) -> None:
    text = forge(claims_map(claims()), pki.ds_key, kid=b"\x00" * 8)
    result = check(text, pki)
    assert (codes(result), result.stage) == ({"signer_unknown"}, "signature")
    assert codes(verify_code(make_code(claims(), pki.signer), [pki.root], [], at=AT)) == {"signer_unknown"}


def test_wrong_key_under_the_right_kid_is_signature_invalid(pki: Pki) -> None:
    text = forge(claims_map(claims()), ec.generate_private_key(ec.SECP256R1()), kid=kid_of(pki.ds))
    result = check(text, pki)
    assert (codes(result), result.stage) == ({"signature_invalid"}, "signature")
    assert result.claims is None


def test_signer_from_another_root_is_untrusted(pki: Pki, other_pki: Pki) -> None:
    text = make_code(claims(), other_pki.signer)
    result = verify_code(text, [pki.root], [pki.ds, other_pki.ds], at=AT)
    assert (codes(result), result.stage) == ({"chain_untrusted"}, "signer")
    assert result.signer is not None and result.claims is None


def test_signer_certificate_expired_at_verification_time(pki: Pki) -> None:
    text = make_code(claims(), pki.signer)
    late = pki.ds.not_valid_after_utc + timedelta(days=1)
    result = check(text, pki, at=late)
    assert (codes(result), result.stage) == ({"certificate_expired"}, "signer")


def test_code_signed_outside_the_certificate_validity_is_refused(pki: Pki) -> None:
    before = pki.ds.not_valid_before_utc - timedelta(hours=1)
    text = make_code(claims(issued_at=before, expires_at=before + timedelta(seconds=60)), pki.signer)
    result = check(text, pki, at=before + timedelta(days=2))
    assert (codes(result), result.stage) == ({"signed_outside_certificate"}, "signer")


def test_issuer_must_be_the_signer_country(pki: Pki) -> None:
    result = check(make_code(claims(issuer="US"), pki.signer), pki)
    assert (codes(result), result.stage) == ({"issuer_mismatch"}, "signer")


def test_time_stage_expired_and_not_yet_valid(pki: Pki) -> None:
    text = make_code(claims(), pki.signer)
    exp = NOW + timedelta(seconds=180)
    assert check(text, pki, at=exp - timedelta(seconds=1)).valid
    for at in (exp, exp + timedelta(days=1)):  # no leeway on exp
        result = check(text, pki, at=at)
        assert (codes(result), result.stage) == ({"expired"}, "time")
        assert result.signer is not None and result.claims is None
    assert check(text, pki, at=NOW - timedelta(seconds=60)).valid  # iat within the leeway
    early = check(text, pki, at=NOW - timedelta(seconds=61))
    assert (codes(early), early.stage) == ({"not_yet_valid"}, "time")
    assert check(text, pki, at=NOW - timedelta(seconds=61), leeway=timedelta(seconds=120)).valid


def test_naive_time_is_a_programming_error(pki: Pki) -> None:
    with pytest.raises(ValueError):
        check(make_code(claims(), pki.signer), pki, at=AT.replace(tzinfo=None))


def test_an_unexpected_error_refuses(pki: Pki, monkeypatch: pytest.MonkeyPatch) -> None:
    import edl.credentials.livecode as livecode

    def boom(*_a: object) -> None:
        raise RuntimeError("bug")

    text = make_code(claims(), pki.signer)
    monkeypatch.setattr(livecode, "der_signature", boom)
    result = check(text, pki)
    assert not result.valid and codes(result) == {"malformed"} and result.stage == "signature"


# --- candidates: kid collisions and x5chain ---------------------------------------------------------------------


def test_kid_collision_tries_every_matching_certificate(pki: Pki, monkeypatch: pytest.MonkeyPatch) -> None:
    import edl.credentials.livecode as livecode
    import edl.credentials.livecode_claims as livecode_claims

    other = pki.new_signer()
    same_kid = lambda _der: b"\x01" * 8  # noqa: E731 (every certificate: the same kid)
    monkeypatch.setattr(livecode, "kid_of_der", same_kid)
    monkeypatch.setattr(livecode_claims, "kid_of_der", same_kid)
    text = make_code(claims(), pki.signer)  # (each call below makes a new trust store: a cold cache)
    result = verify_code(text, [pki.root], [other.certificate, pki.ds], at=AT)  # the wrong one first
    assert result.valid, result.errors
    assert result.signer is not None and result.signer.serial == format(pki.ds.serial_number, "x")
    alone = verify_code(text, [pki.root], [other.certificate], at=AT)
    assert codes(alone) == {"signature_invalid"}


def test_a_colliding_untrusted_certificate_with_the_same_key_does_not_hide_the_trusted_one(
    pki: Pki, other_pki: Pki
) -> None:
    # The same DS key certified by an unrelated root: its signature verifies but its chain does not.
    rogue = ds_builder(pki.ds_key.public_key(), other_pki.root, AuthorityProfile(), NOW - timedelta(days=1), "9")
    rogue_cert = rogue.sign(other_pki.root_key, hashes.SHA256())
    text = make_code(claims(), pki.signer)
    result = verify_code(text, [pki.root], [rogue_cert, pki.ds], at=AT)
    assert result.valid, result.errors


def test_x5chain_leaf_is_a_candidate_still_checked_against_the_roots(pki: Pki, other_pki: Pki) -> None:
    with_chain = make_code(claims(), pki.signer, with_chain=True)
    result = verify_code(with_chain, [pki.root], [], at=AT)
    assert result.valid, result.errors
    untrusted = make_code(claims(), other_pki.signer, with_chain=True)
    result = verify_code(untrusted, [pki.root], [], at=AT)
    assert (codes(result), result.stage) == ({"chain_untrusted"}, "signer")


def test_rotated_signer_codes_verify_with_the_whole_signer_list(pki: Pki) -> None:
    newer = pki.new_signer()
    text = make_code(claims(), newer)
    assert verify_code(text, [pki.root], [pki.ds, newer.certificate], at=AT).valid
    assert key_id_of(newer.certificate) != key_id_of(pki.ds)


def test_a_p384_key_cannot_sign_a_code(pki: Pki) -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    with pytest.raises(ValueError):
        PrivateKeySigner(key, [pki.ds], "x")


def test_fast_base45_decoder_agrees_with_the_package_on_examples() -> None:
    for data in (b"", b"\x00", b"\xff", b"\xff\xff", b"Hello!!", os.urandom(101)):
        assert b45decode(base45.b45encode(data).decode()) == data
    for text in ("GGW", "0", "ZZ", ":::"):
        with pytest.raises(ValueError):
            base45.b45decode(text)
        assert b45decode(text) is None
