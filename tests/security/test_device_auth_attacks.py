"""Attacks on holder binding (ISO/IEC 18013-5 §9.1.3 device authentication) that `verify_mdoc` refuses.

Each test builds a presentation the way an attacker would (a copied IssuerSigned, a key other than the MSO's, a
mixed DeviceResponse, another encoding of the signed bytes, a confused algorithm, a bad MAC) and checks that the
result is refused with its error code, `holder_binding` is "failed" and no claim is handed out.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import cbor2
import pytest
from cbor2 import CBORTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, x25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from edl.credentials import MDL_DOCTYPE, MDL_NAMESPACE, ErrorCode, issue_mdoc, verify_mdoc
from edl.credentials.cose_key import cose_key
from edl.credentials.device_auth import (
    Transcript,
    TranscriptError,
    device_authentication_bytes,
    openid4vp_handover,
    session_transcript,
)
from edl.credentials.presentation import present
from tests.unit.credentials.builders import NOW, Pki, make_pki, mdl_namespaces, resign

NS = MDL_NAMESPACE
P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
P521_N = int(
    "01FF" + "FFFFFFFF" * 7 + "FFFFFFFA" + "51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409", 16
)
ES256, ES384, ES512, EDDSA = -7, -35, -36, -8


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki()


def transcript(nonce: str = "nonce-1") -> Transcript:
    return session_transcript(openid4vp_handover("x509_san_dns:rp.example", nonce, "https://rp.example/post"))


def issued(pki: Pki, device_public: Any, doctype: str = MDL_DOCTYPE) -> bytes:
    return issue_mdoc(
        doctype,
        mdl_namespaces(200),
        pki.signer,
        device_public,
        valid_from=NOW,
        valid_until=NOW + timedelta(days=30),
        signed_at=NOW,
    )


def with_mso(pki: Pki, issuer_signed: bytes, edit: Callable[[dict[Any, Any]], None]) -> bytes:
    return resign(issuer_signed, pki.ds_key, mso=edit)


def raw_ecdsa(key: ec.EllipticCurvePrivateKey, data: bytes, hash_alg: hashes.HashAlgorithm | None = None) -> bytes:
    size = (key.curve.key_size + 7) // 8
    chosen = hash_alg or {32: hashes.SHA256(), 48: hashes.SHA384(), 66: hashes.SHA512()}[size]
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(chosen)))
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    return cbor2.dumps(["Signature1", protected, b"", payload])


def signed(
    key: Any,
    t: Transcript,
    doctype: str = MDL_DOCTYPE,
    *,
    namespaces: bytes = b"\xa0",
    alg: int = ES256,
    protected: bytes | None = None,
    signature: bytes | None = None,
    hash_alg: hashes.HashAlgorithm | None = None,
) -> dict[str, Any]:
    """A deviceSigned whose deviceSignature covers DeviceAuthentication(t, doctype, 24(<<namespaces>>))."""
    wrapped = CBORTag(24, namespaces)
    payload = device_authentication_bytes(t, doctype, cbor2.dumps(wrapped))
    header = protected if protected is not None else cbor2.dumps({1: alg})
    if signature is None:
        data = sig_structure(header, payload)
        signature = key.sign(data) if isinstance(key, ed25519.Ed25519PrivateKey) else raw_ecdsa(key, data, hash_alg)
    return {"nameSpaces": wrapped, "deviceAuth": {"deviceSignature": [header, {}, None, signature]}}


def document(doctype: str, issuer_signed: bytes, device_signed: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {"docType": doctype, "issuerSigned": cbor2.loads(issuer_signed)}
    if device_signed is not None:
        out["deviceSigned"] = device_signed
    return out


def response(*documents: dict[str, Any]) -> bytes:
    return cbor2.dumps({"version": "1.0", "documents": list(documents), "status": 0})


def assert_refused(pki: Pki, data: bytes, t: Transcript | bytes, *codes: ErrorCode, **kwargs: Any) -> None:
    result = verify_mdoc(data, [pki.root], at=NOW, session_transcript=t, **kwargs)
    assert not result.valid
    assert result.holder_binding == "failed"
    assert result.claims == {}
    assert all(d.device_claims == {} for d in result.documents)
    assert {e.code for e in result.errors} == set(codes), result.errors


def assert_accepted(pki: Pki, data: bytes, t: Transcript | bytes, **kwargs: Any) -> None:
    result = verify_mdoc(data, [pki.root], at=NOW, session_transcript=t, **kwargs)
    assert result.valid, result.errors
    assert result.holder_binding == "verified"


@pytest.fixture
def holder(pki: Pki) -> tuple[ec.EllipticCurvePrivateKey, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    return key, issued(pki, key.public_key())


# --- several documents ---


def test_every_document_of_a_response_must_be_device_authenticated(
    pki: Pki, holder: tuple[ec.EllipticCurvePrivateKey, bytes]
) -> None:
    key, own = holder
    stolen = issued(pki, ec.generate_private_key(ec.SECP256R1()).public_key())
    thief_key = ec.generate_private_key(ec.SECP256R1())
    t = transcript()
    mine = signed(key, t)
    assert_accepted(pki, response(document(MDL_DOCTYPE, own, mine)), t)
    # the stolen credential rides along without a proof, with the thief's proof, or with the other document's proof
    assert_refused(
        pki, response(document(MDL_DOCTYPE, own, mine), document(MDL_DOCTYPE, stolen)), t, ErrorCode.DEVICE_AUTH_MISSING
    )
    assert_refused(
        pki, response(document(MDL_DOCTYPE, stolen), document(MDL_DOCTYPE, own, mine)), t, ErrorCode.DEVICE_AUTH_MISSING
    )
    assert_refused(
        pki,
        response(document(MDL_DOCTYPE, own, mine), document(MDL_DOCTYPE, stolen, signed(thief_key, t))),
        t,
        ErrorCode.DEVICE_AUTH_INVALID,
    )
    assert_refused(
        pki,
        response(document(MDL_DOCTYPE, own, mine), document(MDL_DOCTYPE, stolen, mine)),
        t,
        ErrorCode.DEVICE_AUTH_INVALID,
    )


def test_the_doctype_signed_must_be_the_documents_and_the_msos(
    pki: Pki, holder: tuple[ec.EllipticCurvePrivateKey, bytes]
) -> None:
    key, own = holder
    t = transcript()
    other = "org.example.other.1"
    # signed for another docType than the document states
    assert_refused(pki, response(document(MDL_DOCTYPE, own, signed(key, t, other))), t, ErrorCode.DEVICE_AUTH_INVALID)
    # the document states (and the device signs) a docType other than the MSO's
    result = verify_mdoc(
        response(document(other, own, signed(key, t, other))), [pki.root], at=NOW, session_transcript=t
    )
    assert not result.valid and result.claims == {}
    assert {e.code for e in result.errors} == {ErrorCode.DOCTYPE_MISMATCH}


def test_an_issuer_signed_alone_or_a_response_without_device_auth_is_refused(
    pki: Pki, holder: tuple[ec.EllipticCurvePrivateKey, bytes]
) -> None:
    key, own = holder
    t = transcript()
    assert_refused(pki, own, t, ErrorCode.DEVICE_AUTH_MISSING)
    with_null = response(document(MDL_DOCTYPE, own) | {"deviceSigned": None})
    assert_refused(pki, with_null, t, ErrorCode.DEVICE_AUTH_MISSING)
    no_auth = signed(key, t)
    del no_auth["deviceAuth"]
    assert_refused(pki, response(document(MDL_DOCTYPE, own, no_auth)), t, ErrorCode.DEVICE_AUTH_MISSING)


# --- the transcript ---


def test_a_proof_over_the_tagged_transcript_bytes_is_not_one_over_the_transcript(
    pki: Pki, holder: tuple[ec.EllipticCurvePrivateKey, bytes]
) -> None:
    key, own = holder
    t = transcript()
    data = present(own, MDL_DOCTYPE, key, t)
    for given in (t, t.tagged, t.encoded):  # the same transcript, however the verifier passes it
        assert_accepted(pki, data, given)
    confused = Transcript(t.value, t.tagged)  # the device put SessionTranscriptBytes where the array belongs
    assert_refused(pki, response(document(MDL_DOCTYPE, own, signed(key, confused))), t, ErrorCode.DEVICE_AUTH_INVALID)
    assert_refused(pki, data, transcript("nonce-2"), ErrorCode.DEVICE_AUTH_INVALID)
    # a non-preferred encoding of the same array is another transcript (the exact bytes are signed)
    assert_refused(pki, data, b"\x98\x03" + t.encoded[1:], ErrorCode.DEVICE_AUTH_INVALID)


@pytest.mark.parametrize(
    "junk",
    [
        b"",
        b"\x00",
        b"\x83\xf6\xf6\x80\x00",  # trailing byte after the array
        b"\x9f\xf6\xf6\x80\xff",  # indefinite-length array
        cbor2.dumps(CBORTag(24, b"\x83\xf6\xf6\x80\x00")),  # trailing byte inside tag 24
        cbor2.dumps(CBORTag(24, cbor2.dumps(CBORTag(24, b"\x83\xf6\xf6\x80")))),  # tag 24 twice
        cbor2.dumps(CBORTag(24, [None, None, []])),  # tag 24 around an array, not a byte string
        cbor2.dumps([None, None, "handover"]),
        cbor2.dumps([None, None, [], None]),
        b"\x83\xf6\xf6" + b"\x81" * 100 + b"\xf6",  # nested beyond the decoder's depth
    ],
)
def test_transcript_bytes_that_are_not_a_transcript_raise_transcript_error(
    pki: Pki, holder: tuple[ec.EllipticCurvePrivateKey, bytes], junk: bytes
) -> None:
    key, own = holder
    data = present(own, MDL_DOCTYPE, key, transcript())
    with pytest.raises(TranscriptError):
        verify_mdoc(data, [pki.root], at=NOW, session_transcript=junk)


@pytest.mark.parametrize("wrong", ["text", 1, [None, None, []]], ids=["str", "int", "list"])
def test_a_transcript_of_the_wrong_type_is_the_callers_error(
    pki: Pki, holder: tuple[ec.EllipticCurvePrivateKey, bytes], wrong: Any
) -> None:
    key, own = holder
    data = present(own, MDL_DOCTYPE, key, transcript())
    with pytest.raises(TranscriptError):  # not blamed on the presentation as "malformed"
        verify_mdoc(data, [pki.root], at=NOW, session_transcript=wrong)


@pytest.mark.parametrize("kind", [bytearray, memoryview], ids=["bytearray", "memoryview"])
def test_transcript_bytes_of_any_bytes_like_type_are_read(
    pki: Pki, holder: tuple[ec.EllipticCurvePrivateKey, bytes], kind: Any
) -> None:
    key, own = holder
    t = transcript()
    assert_accepted(pki, present(own, MDL_DOCTYPE, key, t), kind(t.encoded))


# --- found by the attack review and fixed (2026-12-04) ---


SMALL_ORDER_ED25519 = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
]


@pytest.mark.parametrize("point", SMALL_ORDER_ED25519)
@pytest.mark.parametrize("sign_bit", [False, True])
def test_a_small_order_ed25519_device_key_is_no_ones_key(pki: Pki, point: str, sign_bit: bool) -> None:
    """Under a small-order Ed25519 key, R = identity and S = 0 verify for every message, so a trusted issuer that
    signed one (a foreign IACA, a holder-supplied COSE_Key) would let any copy pass holder binding. The key is
    refused when read (the MSO: malformed) and when issued."""
    from edl.credentials import IssuanceError
    from edl.credentials.cose_key import CoseKeyError, read_cose_key

    raw = bytearray(bytes.fromhex(point))
    if sign_bit:
        raw[31] |= 0x80
    key = {1: 1, -1: 6, -2: bytes(raw)}
    with pytest.raises(CoseKeyError):
        read_cose_key(key)
    with pytest.raises((IssuanceError, CoseKeyError)):
        issued(pki, key)
    base = issued(pki, ec.generate_private_key(ec.SECP256R1()).public_key())
    mso_with_it = with_mso(pki, base, lambda m: m["deviceKeyInfo"].update(deviceKey=key))
    identity = bytes.fromhex(SMALL_ORDER_ED25519[1])
    proof = {
        "nameSpaces": CBORTag(24, b"\xa0"),
        "deviceAuth": {"deviceSignature": [cbor2.dumps({1: EDDSA}), {}, None, identity + b"\x00" * 32]},
    }
    assert_refused(pki, response(document(MDL_DOCTYPE, mso_with_it, proof)), transcript(), ErrorCode.MALFORMED)


def test_a_genuine_ed25519_device_key_still_works(pki: Pki) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    own = issued(pki, key.public_key())
    t = transcript()
    assert_accepted(pki, response(document(MDL_DOCTYPE, own, signed(key, t, alg=EDDSA))), t)


def test_holder_binding_is_never_verified_for_a_credential_the_issuer_checks_refuse(
    holder: tuple[ec.EllipticCurvePrivateKey, bytes],
) -> None:
    """An attacker's own IACA and device key: the device proof is genuine, the credential is not; the result must
    not say "verified" anywhere."""
    key, own = holder
    t = transcript()
    other = make_pki(common_name="Attacker IACA")
    result = verify_mdoc(present(own, MDL_DOCTYPE, key, t), [other.root], at=NOW, session_transcript=t)
    assert not result.valid and result.holder_binding == "failed"
    assert all(d.holder_binding == "failed" for d in result.documents)
    assert result.to_json_dict()["holder_binding"] == "failed"


@pytest.mark.parametrize(
    ("protected", "unprotected"),
    [
        ({1: ES256, 2: [99]}, {}),  # a critical parameter no one here understands
        ({1: ES256}, {2: [1]}),  # crit outside the protected header
        ({1.0: ES256}, {}),  # cbor2 makes 1.0 equal to 1
        ({True: ES256}, {}),  # and True
        ({1: ES256}, {1.0: ES256}),
    ],
    ids=["crit-unknown", "crit-unprotected", "alg-label-float", "alg-label-true", "alg-float-unprotected"],
)
def test_crit_and_labels_that_only_look_like_alg_are_refused(
    pki: Pki, holder: tuple[ec.EllipticCurvePrivateKey, bytes], protected: dict[Any, Any], unprotected: dict[Any, Any]
) -> None:
    key, own = holder
    t = transcript()
    header = cbor2.dumps(protected)
    proof = signed(key, t, protected=header)
    proof["deviceAuth"]["deviceSignature"][1] = unprotected
    assert_refused(pki, response(document(MDL_DOCTYPE, own, proof)), t, ErrorCode.MALFORMED)


# --- the device signature ---


def _resigned(key: ec.EllipticCurvePrivateKey, t: Transcript, rs: Callable[[int, int], tuple[int, int]]) -> bytes:
    size = (key.curve.key_size + 7) // 8
    genuine = signed(key, t, alg={32: ES256, 66: ES512}[size])["deviceAuth"]["deviceSignature"][3]
    r, s = rs(int.from_bytes(genuine[:size], "big"), int.from_bytes(genuine[size:], "big"))
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


@pytest.mark.parametrize(
    "signature",
    [b"", b"\x00" * 64, b"\xff" * 64, b"\x01" * 65, P256_N.to_bytes(32, "big") * 2, b"\x00" * 32 + b"\x01" * 32],
    ids=["empty", "zeros", "ones", "65-bytes", "r=s=n", "r=0"],
)
def test_degenerate_ecdsa_signatures_are_refused(
    pki: Pki, holder: tuple[ec.EllipticCurvePrivateKey, bytes], signature: bytes
) -> None:
    key, own = holder
    t = transcript()
    assert_refused(
        pki, response(document(MDL_DOCTYPE, own, signed(key, t, signature=signature))), t, ErrorCode.DEVICE_AUTH_INVALID
    )


def test_p521_signatures_with_r_or_s_not_below_the_order_are_refused(pki: Pki) -> None:
    """The 66-byte fields of P-521 leave room above n: (r, s + n) and (r + n, s) fit, and must not verify."""
    key = ec.generate_private_key(ec.SECP521R1())
    own = issued(pki, key.public_key())
    t = transcript()
    assert_accepted(pki, present(own, MDL_DOCTYPE, key, t), t)
    for change in (lambda r, s: (r, s + P521_N), lambda r, s: (r + P521_N, s), lambda r, s: (r, 0)):
        bad = signed(key, t, alg=ES512, signature=_resigned(key, t, change))
        assert_refused(pki, response(document(MDL_DOCTYPE, own, bad)), t, ErrorCode.DEVICE_AUTH_INVALID)


@pytest.mark.parametrize("alg", [EDDSA, ES384, ES512], ids=["EdDSA", "ES384", "ES512"])
def test_an_algorithm_that_does_not_go_with_a_p256_device_key_is_refused(
    pki: Pki, holder: tuple[ec.EllipticCurvePrivateKey, bytes], alg: int
) -> None:
    key, own = holder
    t = transcript()
    hash_alg = {ES384: hashes.SHA384(), ES512: hashes.SHA512()}.get(alg)
    proof = signed(key, t, alg=alg, signature=b"\x00" * 64 if alg == EDDSA else None, hash_alg=hash_alg)
    assert_refused(pki, response(document(MDL_DOCTYPE, own, proof)), t, ErrorCode.DEVICE_KEY_MISMATCH)


@pytest.mark.parametrize("alg", [ES256, ES512, EDDSA], ids=["ES256", "ES512", "EdDSA"])
def test_an_algorithm_that_does_not_go_with_a_p384_device_key_is_refused(pki: Pki, alg: int) -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    own = issued(pki, key.public_key())
    t = transcript()
    assert_accepted(pki, present(own, MDL_DOCTYPE, key, t), t)
    hash_alg = {ES256: hashes.SHA256(), ES512: hashes.SHA512()}.get(alg)
    proof = signed(key, t, alg=alg, signature=b"\x00" * 64 if alg == EDDSA else None, hash_alg=hash_alg)
    assert_refused(pki, response(document(MDL_DOCTYPE, own, proof)), t, ErrorCode.DEVICE_KEY_MISMATCH)


def test_eddsa_device_keys_refuse_ecdsa_and_bad_signatures(pki: Pki) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    base = issued(pki, ec.generate_private_key(ec.SECP256R1()).public_key())
    own = with_mso(pki, base, lambda m: m["deviceKeyInfo"].update(deviceKey=cose_key(key.public_key())))
    t = transcript()
    assert_accepted(pki, response(document(MDL_DOCTYPE, own, signed(key, t, alg=EDDSA))), t)
    thief = ed25519.Ed25519PrivateKey.generate()
    genuine = signed(key, t, alg=EDDSA)["deviceAuth"]["deviceSignature"][3]
    for proof, code in [
        (signed(thief, t, alg=EDDSA), ErrorCode.DEVICE_AUTH_INVALID),
        (signed(key, t, alg=EDDSA, signature=b"\x00" * 64), ErrorCode.DEVICE_AUTH_INVALID),
        (signed(key, t, alg=EDDSA, signature=b""), ErrorCode.DEVICE_AUTH_INVALID),
        (signed(key, t, alg=EDDSA, signature=genuine + b"\x00"), ErrorCode.DEVICE_AUTH_INVALID),
        (signed(key, t, alg=ES256, signature=b"\x01" * 64), ErrorCode.DEVICE_KEY_MISMATCH),
    ]:
        assert_refused(pki, response(document(MDL_DOCTYPE, own, proof)), t, code)


@pytest.mark.parametrize(
    ("protected", "unprotected", "code"),
    [
        (cbor2.dumps({1: True}), {}, ErrorCode.UNSUPPORTED_ALGORITHM),
        (cbor2.dumps({1: -7.0}), {}, ErrorCode.UNSUPPORTED_ALGORITHM),
        (cbor2.dumps({"alg": -7}), {}, ErrorCode.UNSUPPORTED_ALGORITHM),
        (b"", {}, ErrorCode.UNSUPPORTED_ALGORITHM),
        (cbor2.dumps([1, -7]), {}, ErrorCode.MALFORMED),
        (b"\xa2\x01\x26\x01\x26", {}, ErrorCode.MALFORMED),  # duplicate label
        (cbor2.dumps({1: -7}), {1: -7}, ErrorCode.MALFORMED),  # alg also unprotected
        (cbor2.dumps({1: -7}), {33.0: b"cert"}, ErrorCode.MALFORMED),  # a label that only equals 33
        (cbor2.dumps({1: -7}), {34: [-16, b"thumb"]}, ErrorCode.DEVICE_KEY_MISMATCH),
        (cbor2.dumps({1: -7, 35: "https://attacker.example/cert"}), {}, ErrorCode.DEVICE_KEY_MISMATCH),
        (cbor2.dumps({1: -7}), {32: [b"cert"]}, ErrorCode.DEVICE_KEY_MISMATCH),
    ],
)
def test_headers_that_confuse_the_algorithm_or_name_a_key_are_refused(
    pki: Pki,
    holder: tuple[ec.EllipticCurvePrivateKey, bytes],
    protected: bytes,
    unprotected: dict[Any, Any],
    code: ErrorCode,
) -> None:
    key, own = holder
    t = transcript()
    proof = signed(key, t, protected=protected)  # signed by the genuine key over the header given
    proof["deviceAuth"]["deviceSignature"][1] = unprotected
    assert_refused(pki, response(document(MDL_DOCTYPE, own, proof)), t, code)


# --- the encoding of DeviceNameSpacesBytes ---


def _by_hand(issuer_signed: bytes, namespaces_item: bytes, device_auth: bytes) -> bytes:
    device_signed = b"\xa2" + cbor2.dumps("nameSpaces") + namespaces_item + cbor2.dumps("deviceAuth") + device_auth
    doc = (
        b"\xa3"
        + cbor2.dumps("docType")
        + cbor2.dumps(MDL_DOCTYPE)
        + cbor2.dumps("issuerSigned")
        + issuer_signed
        + cbor2.dumps("deviceSigned")
        + device_signed
    )
    return (
        b"\xa3"
        + cbor2.dumps("version")
        + cbor2.dumps("1.0")
        + cbor2.dumps("documents")
        + b"\x81"
        + doc
        + cbor2.dumps("status")
        + b"\x00"
    )


@pytest.mark.parametrize(
    "item",
    [
        b"\xd8\x18\x58\x01\xa0",  # byte string with a non-preferred length head
        b"\xd9\x00\x18\x41\xa0",  # tag 24 with a non-preferred head
        b"\xd8\x18\x5f\x41\xa0\xff",  # indefinite-length byte string
    ],
    ids=["bstr-head", "tag-head", "indefinite-bstr"],
)
@pytest.mark.parametrize("signed_over", ["received", "canonical"])
def test_another_encoding_of_the_namespaces_item_is_refused(
    pki: Pki, holder: tuple[ec.EllipticCurvePrivateKey, bytes], item: bytes, signed_over: str
) -> None:
    key, own = holder
    t = transcript()
    covered = item if signed_over == "received" else cbor2.dumps(CBORTag(24, b"\xa0"))
    header = cbor2.dumps({1: ES256})
    payload = device_authentication_bytes(t, MDL_DOCTYPE, covered)
    auth = cbor2.dumps({"deviceSignature": [header, {}, None, raw_ecdsa(key, sig_structure(header, payload))]})
    genuine = _by_hand(own, cbor2.dumps(CBORTag(24, b"\xa0")), auth)
    if signed_over == "canonical":
        assert_accepted(pki, genuine, t)
    assert_refused(pki, _by_hand(own, item, auth), t, ErrorCode.MALFORMED)


@pytest.mark.parametrize(
    "inner",
    [
        b"\xbf\xff",  # indefinite-length map
        b"\xa0\x00",  # trailing bytes
        b"\xa1"
        + cbor2.dumps(NS)
        + b"\xa2"
        + cbor2.dumps("family_name")
        + b"\x61A"
        + cbor2.dumps("family_name")
        + b"\x61B",
        cbor2.dumps([NS]),
        cbor2.dumps({1: {"family_name": "X"}}),
        cbor2.dumps({NS: {1: "X"}}),
        cbor2.dumps({NS: ["family_name"]}),
    ],
    ids=["indefinite", "trailing", "duplicate-element", "array", "int-namespace", "int-element", "element-list"],
)
def test_device_namespaces_that_are_not_one_strict_map_are_refused_even_when_signed(
    pki: Pki, holder: tuple[ec.EllipticCurvePrivateKey, bytes], inner: bytes
) -> None:
    key, own = holder
    authorized = with_mso(pki, own, lambda m: m["deviceKeyInfo"].update(keyAuthorizations={"nameSpaces": [NS]}))
    t = transcript()
    proof = signed(key, t, namespaces=inner)
    assert_refused(pki, response(document(MDL_DOCTYPE, authorized, proof)), t, ErrorCode.MALFORMED)


@pytest.mark.parametrize(
    "namespaces",
    [{}, b"\xa0", CBORTag(24, CBORTag(24, b"\xa0")), CBORTag(25, 0)],
    ids=["bare-map", "untagged-bstr", "tag24-of-tag", "tag25"],
)
def test_device_namespaces_not_in_tag_24_are_refused(
    pki: Pki, holder: tuple[ec.EllipticCurvePrivateKey, bytes], namespaces: Any
) -> None:
    key, own = holder
    t = transcript()
    proof = signed(key, t)
    proof["nameSpaces"] = namespaces
    assert_refused(pki, response(document(MDL_DOCTYPE, own, proof)), t, ErrorCode.MALFORMED)


# --- keyAuthorizations ---


ELEMENT = {NS: {"family_name": "X"}}


@pytest.mark.parametrize(
    ("authorizations", "elements", "codes"),
    [
        (None, ELEMENT, {ErrorCode.DEVICE_ELEMENT_UNAUTHORIZED}),
        ({}, ELEMENT, {ErrorCode.DEVICE_ELEMENT_UNAUTHORIZED}),
        ({"nameSpaces": []}, ELEMENT, {ErrorCode.DEVICE_ELEMENT_UNAUTHORIZED}),
        ({"dataElements": {NS: []}}, ELEMENT, {ErrorCode.DEVICE_ELEMENT_UNAUTHORIZED}),
        ({"dataElements": {"org.example": ["family_name"]}}, ELEMENT, {ErrorCode.DEVICE_ELEMENT_UNAUTHORIZED}),
        ({"nameSpaces": [NS[:-1]]}, ELEMENT, {ErrorCode.DEVICE_ELEMENT_UNAUTHORIZED}),
        ({"dataElements": {NS: ["family"]}}, ELEMENT, {ErrorCode.DEVICE_ELEMENT_UNAUTHORIZED}),
        (
            {"dataElements": {NS: ["family_name"]}},
            {NS: {"family_name": "X", "given_name": "Y"}},
            {ErrorCode.DEVICE_ELEMENT_UNAUTHORIZED},
        ),
        (
            {"nameSpaces": [NS]},
            {NS: {"family_name": "X"}, "org.example": {"a": 1}},
            {ErrorCode.DEVICE_ELEMENT_UNAUTHORIZED},
        ),
        (
            {"dataElements": {NS: [1, "family_name"]}},
            ELEMENT,
            {ErrorCode.DEVICE_ELEMENT_UNAUTHORIZED, ErrorCode.MALFORMED},
        ),
        ({"nameSpaces": [NS, 1]}, ELEMENT, {ErrorCode.DEVICE_ELEMENT_UNAUTHORIZED, ErrorCode.MALFORMED}),
        ({"nameSpaces": NS}, ELEMENT, {ErrorCode.DEVICE_ELEMENT_UNAUTHORIZED, ErrorCode.MALFORMED}),
        ({"nameSpaces": {NS: True}}, ELEMENT, {ErrorCode.DEVICE_ELEMENT_UNAUTHORIZED, ErrorCode.MALFORMED}),
        ({"dataElements": [NS]}, ELEMENT, {ErrorCode.DEVICE_ELEMENT_UNAUTHORIZED, ErrorCode.MALFORMED}),
        ({"dataElements": {NS: "family_name"}}, ELEMENT, {ErrorCode.DEVICE_ELEMENT_UNAUTHORIZED, ErrorCode.MALFORMED}),
        (
            {"dataElements": {NS: {"family_name": 1}}},
            ELEMENT,
            {ErrorCode.DEVICE_ELEMENT_UNAUTHORIZED, ErrorCode.MALFORMED},
        ),
        ({"nameSpaces": [NS], "other": 1}, ELEMENT, {ErrorCode.DEVICE_ELEMENT_UNAUTHORIZED, ErrorCode.MALFORMED}),
        ([NS], ELEMENT, {ErrorCode.DEVICE_ELEMENT_UNAUTHORIZED, ErrorCode.MALFORMED}),
    ],
)
def test_device_signed_elements_outside_key_authorizations_are_refused(
    pki: Pki,
    holder: tuple[ec.EllipticCurvePrivateKey, bytes],
    authorizations: Any,
    elements: dict[str, Any],
    codes: set[ErrorCode],
) -> None:
    key, own = holder
    if authorizations is not None:
        own = with_mso(pki, own, lambda m: m["deviceKeyInfo"].update(keyAuthorizations=authorizations))
    t = transcript()
    proof = signed(key, t, namespaces=cbor2.dumps(elements))
    assert_refused(pki, response(document(MDL_DOCTYPE, own, proof)), t, *codes)


# --- deviceMac ---


def _reader_transcript(reader_public: Any) -> Transcript:
    value = [None, CBORTag(24, cbor2.dumps(cose_key(reader_public))), ["handover"]]
    return Transcript(value, cbor2.dumps(value))


def _mac(
    secret: bytes, t: Transcript, *, header: bytes = b"\xa1\x01\x05", salt_from: bytes | None = None
) -> dict[str, Any]:
    wrapped = CBORTag(24, b"\xa0")
    payload = device_authentication_bytes(t, MDL_DOCTYPE, cbor2.dumps(wrapped))
    salt = hashlib.sha256(t.tagged if salt_from is None else salt_from).digest()
    mac_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"EMacKey").derive(secret)
    tag = hmac.new(mac_key, cbor2.dumps(["MAC0", header, b"", payload]), hashlib.sha256).digest()
    return {"nameSpaces": wrapped, "deviceAuth": {"deviceMac": [header, {}, None, tag]}}


def test_device_mac_attacks_are_refused(pki: Pki, holder: tuple[ec.EllipticCurvePrivateKey, bytes]) -> None:
    key, own = holder
    reader = ec.generate_private_key(ec.SECP256R1())
    t = _reader_transcript(reader.public_key())
    secret = key.exchange(ec.ECDH(), reader.public_key())
    genuine = _mac(secret, t)
    assert_accepted(pki, response(document(MDL_DOCTYPE, own, genuine)), t, reader_key=reader)

    def tag_replaced(tag: bytes) -> dict[str, Any]:
        proof = _mac(secret, t)
        proof["deviceAuth"]["deviceMac"][3] = tag
        return proof

    thief = ec.generate_private_key(ec.SECP256R1())
    refusals = [
        (genuine, t, None, ErrorCode.DEVICE_AUTH_INVALID),  # no reader key: never waved through
        (genuine, transcript(), reader, ErrorCode.DEVICE_KEY_MISMATCH),  # OpenID4VP transcript: no EReaderKey
        (genuine, t, ec.generate_private_key(ec.SECP256R1()), ErrorCode.DEVICE_KEY_MISMATCH),
        (_mac(thief.exchange(ec.ECDH(), reader.public_key()), t), t, reader, ErrorCode.DEVICE_AUTH_INVALID),
        (_mac(b"\x00" * 32, t), t, reader, ErrorCode.DEVICE_AUTH_INVALID),
        (_mac(secret, t, salt_from=t.encoded), t, reader, ErrorCode.DEVICE_AUTH_INVALID),
        (tag_replaced(b""), t, reader, ErrorCode.DEVICE_AUTH_INVALID),
        (tag_replaced(b"\x00" * 32), t, reader, ErrorCode.DEVICE_AUTH_INVALID),
        (tag_replaced(genuine["deviceAuth"]["deviceMac"][3][:16]), t, reader, ErrorCode.DEVICE_AUTH_INVALID),
        (_mac(secret, t, header=b"\xa1\x01\x04"), t, reader, ErrorCode.UNSUPPORTED_ALGORITHM),  # HMAC 256/64
        (_mac(secret, t, header=cbor2.dumps({1: 5.0})), t, reader, ErrorCode.UNSUPPORTED_ALGORITHM),
    ]
    for proof, given, reader_key, code in refusals:
        assert_refused(pki, response(document(MDL_DOCTYPE, own, proof)), given, code, reader_key=reader_key)


def test_device_mac_with_keys_of_different_kinds_or_curves_is_refused(
    pki: Pki, holder: tuple[ec.EllipticCurvePrivateKey, bytes]
) -> None:
    _, own = holder
    reader_384 = ec.generate_private_key(ec.SECP384R1())
    t_384 = _reader_transcript(reader_384.public_key())
    assert_refused(
        pki,
        response(document(MDL_DOCTYPE, own, _mac(b"\x00" * 32, t_384))),
        t_384,
        ErrorCode.DEVICE_KEY_MISMATCH,
        reader_key=reader_384,
    )
    reader_x = x25519.X25519PrivateKey.generate()
    t_x = _reader_transcript(reader_x.public_key())
    assert_refused(
        pki,
        response(document(MDL_DOCTYPE, own, _mac(b"\x00" * 32, t_x))),
        t_x,
        ErrorCode.DEVICE_KEY_MISMATCH,
        reader_key=reader_x,
    )
    # an X25519 device key of low order (all zeros) agrees no secret: refused, not an all-zero MAC key
    low = with_mso(pki, own, lambda m: m["deviceKeyInfo"].update(deviceKey={1: 1, -1: 4, -2: b"\x00" * 32}))
    assert_refused(
        pki,
        response(document(MDL_DOCTYPE, low, _mac(b"\x00" * 32, t_x))),
        t_x,
        ErrorCode.DEVICE_KEY_MISMATCH,
        reader_key=reader_x,
    )
