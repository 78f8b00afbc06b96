"""Holder binding (issue 15 item 1): device authentication over a session transcript, verified strictly.

Vectors: ISO/IEC 18013-5 Annex D (a deviceMac over the NFC session's transcript, with the reader's ephemeral key)
and OpenID4VP 1.0 Appendix B.2.6.1 / B.2.6.2 (the worked examples' session transcripts). Own presentations are made
by `edl.credentials.presentation.present` with the device key the MSO names; each attack refuses with its code.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cbor2
import pytest
from cbor2 import CBORTag
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edl.credentials import MDL_DOCTYPE, MDL_NAMESPACE, ErrorCode, device_response, issue_mdoc, verify_mdoc
from edl.credentials.device_auth import (
    Transcript,
    TranscriptError,
    device_authentication_bytes,
    iso_18013_7_handover,
    openid4vp_dc_api_handover,
    openid4vp_handover,
    read_session_transcript,
    session_transcript,
)
from edl.credentials.presentation import present
from tests.unit.credentials.builders import NOW, Pki, mdl_namespaces, resign
from tests.vectors.annexd import DEVICE_RESPONSE, IACA_ROOT_PEM, vector_bytes, vector_certificate

ANNEX_D_TIME = datetime(2021, 6, 1, tzinfo=UTC)
KEYS = json.loads((Path(__file__).resolve().parents[2] / "vectors" / "annexd" / "annexd_keys.json").read_text())

# OpenID4VP 1.0, Appendix B.2.6.1 and B.2.6.2: the worked examples' inputs and session transcripts.
SPEC_JWK = {
    "kty": "EC",
    "crv": "P-256",
    "x": "DxiH5Q4Yx3UrukE2lWCErq8N8bqC9CHLLrAwLz5BmE0",
    "y": "XtLM4-3h5o3HUH0MHVJV0kyq0iBlrBwlh8qEDMZ4-Pc",
}
SPEC_NONCE = "exc7gBkxjx1rdc9udRrveKvSsJIq80avlXeLHhGwqtA"
SPEC_REDIRECT_TRANSCRIPT = (
    "83f6f682714f70656e494434565048616e646f7665725820048bc053c00442af9b8eed494cefdd9d95240d254b046b11b68013722aad38ac"
)
SPEC_DC_API_TRANSCRIPT = (
    "83f6f682764f70656e4944345650444341504948616e646f7665725820"
    "fbece366f4212f9762c74cfdbf83b8c69e371d5d68cea09cb4c48ca6daab761a"
)


def thumbprint(jwk: dict[str, str]) -> bytes:
    """RFC 7638 JWK Thumbprint (SHA-256) of an EC key: the required members, sorted, no whitespace."""
    members = {k: jwk[k] for k in ("crv", "kty", "x", "y")}
    return hashlib.sha256(json.dumps(members, separators=(",", ":"), sort_keys=True).encode()).digest()


def private_key(name: str) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int(KEYS[name]["d"], 16), ec.SECP256R1())


def codes(result: Any) -> set[str]:
    return {e.code for e in result.errors}


# --- the session transcripts a verifier rebuilds -----------------------------------------------------------------


def test_openid4vp_redirect_transcript_is_the_specifications_example() -> None:
    assert thumbprint(SPEC_JWK).hex().startswith("4283ec92")
    handover = openid4vp_handover(
        "x509_san_dns:example.com", SPEC_NONCE, "https://example.com/response", thumbprint(SPEC_JWK)
    )
    assert handover[1].hex().startswith("048bc053")  # the HandoverInfo hash the specification prints
    assert session_transcript(handover).encoded.hex() == SPEC_REDIRECT_TRANSCRIPT


def test_openid4vp_dc_api_transcript_is_the_specifications_example() -> None:
    handover = openid4vp_dc_api_handover("https://example.com", SPEC_NONCE, thumbprint(SPEC_JWK))
    assert session_transcript(handover).encoded.hex() == SPEC_DC_API_TRANSCRIPT


def test_an_unencrypted_response_puts_null_for_the_thumbprint() -> None:
    handover = openid4vp_handover("x509_san_dns:example.com", SPEC_NONCE, "https://example.com/response")
    expected = hashlib.sha256(
        cbor2.dumps(["x509_san_dns:example.com", SPEC_NONCE, None, "https://example.com/response"])
    ).digest()
    assert handover == ["OpenID4VPHandover", expected]


def test_the_18013_7_annex_b_handover_hashes_client_and_response_uri_with_the_mdoc_nonce() -> None:
    handover = iso_18013_7_handover("client", "https://rp.example/response", "n-1", "mdoc-nonce")
    assert handover == [
        hashlib.sha256(cbor2.dumps(["client", "mdoc-nonce"])).digest(),
        hashlib.sha256(cbor2.dumps(["https://rp.example/response", "mdoc-nonce"])).digest(),
        "n-1",
    ]


def test_a_transcript_is_read_tagged_or_bare_and_anything_else_is_refused() -> None:
    bare = bytes.fromhex(SPEC_REDIRECT_TRANSCRIPT)
    tagged = cbor2.dumps(CBORTag(24, bare))
    assert read_session_transcript(bare) == read_session_transcript(tagged)
    assert read_session_transcript(bare).tagged == tagged
    for junk in (
        b"",
        b"\xff",
        cbor2.dumps([None, None]),
        cbor2.dumps({"a": 1}),
        cbor2.dumps(CBORTag(25, bare)),
        cbor2.dumps([None, None, "text"]),
        bare + b"\x00",
    ):
        with pytest.raises(TranscriptError):
            read_session_transcript(junk)


# --- ISO/IEC 18013-5 Annex D: a deviceMac ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def annex_d() -> tuple[bytes, Transcript]:
    transcript = read_session_transcript(vector_bytes("annexd_session_transcript_bytes.hex"))
    return vector_bytes(DEVICE_RESPONSE), transcript


def test_annex_d_device_mac_verifies_with_the_readers_ephemeral_key(annex_d: tuple[bytes, Transcript]) -> None:
    data, transcript = annex_d
    root = [vector_certificate(IACA_ROOT_PEM)]
    result = verify_mdoc(
        data, root, at=ANNEX_D_TIME, session_transcript=transcript, reader_key=private_key("ephemeral_reader_key")
    )
    assert result.valid, result.errors
    assert result.holder_binding == "verified"
    assert result.to_json_dict()["holder_binding"] == "verified"


def test_annex_d_without_a_transcript_says_holder_binding_was_not_checked(annex_d: tuple[bytes, Transcript]) -> None:
    result = verify_mdoc(annex_d[0], [vector_certificate(IACA_ROOT_PEM)], at=ANNEX_D_TIME)
    assert result.valid and result.holder_binding == "not_checked"
    assert "not checked" in result.to_json_dict()["holder_binding_note"]


def test_annex_d_refusals(annex_d: tuple[bytes, Transcript]) -> None:
    data, transcript = annex_d
    root = [vector_certificate(IACA_ROOT_PEM)]
    reader = private_key("ephemeral_reader_key")
    # another session (the same reader key, another handover): the MAC key's salt and the payload differ
    other = Transcript(
        [transcript.value[0], transcript.value[1], ["other"]],
        cbor2.dumps([transcript.value[0], transcript.value[1], ["other"]]),
    )
    assert codes(verify_mdoc(data, root, at=ANNEX_D_TIME, session_transcript=other, reader_key=reader)) == {
        ErrorCode.DEVICE_AUTH_INVALID
    }
    # a reader key that is not the transcript's EReaderKey
    wrong = ec.generate_private_key(ec.SECP256R1())
    assert codes(verify_mdoc(data, root, at=ANNEX_D_TIME, session_transcript=transcript, reader_key=wrong)) == {
        ErrorCode.DEVICE_KEY_MISMATCH
    }
    # a MAC cannot be checked without the reader's key: refused, never waved through
    refused = verify_mdoc(data, root, at=ANNEX_D_TIME, session_transcript=transcript)
    assert codes(refused) == {ErrorCode.DEVICE_AUTH_INVALID} and refused.holder_binding == "failed"


# --- own presentations: a device signature ---------------------------------------------------------------------


def issued_with(pki: Pki, device_key: ec.EllipticCurvePrivateKey) -> bytes:
    issuer_signed = issue_mdoc(
        MDL_DOCTYPE,
        mdl_namespaces(),
        pki.signer,
        device_key.public_key(),
        valid_from=NOW,
        valid_until=NOW + timedelta(days=30),
        signed_at=NOW,
    )
    return issuer_signed


def redirect(
    nonce: str, client: str = "x509_san_dns:rental.example", uri: str = "https://rental.example/post"
) -> Transcript:
    return session_transcript(openid4vp_handover(client, nonce, uri))


@pytest.fixture
def holder(pki: Pki) -> tuple[ec.EllipticCurvePrivateKey, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    return key, issued_with(pki, key)


def test_a_device_signed_presentation_verifies_for_its_own_transcript(
    pki: Pki, holder: tuple[ec.EllipticCurvePrivateKey, bytes]
) -> None:
    key, issuer_signed = holder
    transcript = redirect("nonce-1")
    data = present(issuer_signed, MDL_DOCTYPE, key, transcript)
    result = verify_mdoc(data, [pki.root], at=NOW, session_transcript=transcript)
    assert result.valid, result.errors
    assert result.holder_binding == "verified"
    assert result.claims[MDL_NAMESPACE]["family_name"] == "张"
    # the transcript as bytes, tagged or bare, is the same transcript
    assert verify_mdoc(data, [pki.root], at=NOW, session_transcript=transcript.tagged).valid
    assert verify_mdoc(data, [pki.root], at=NOW, session_transcript=transcript.encoded).valid


@pytest.mark.parametrize(
    "other",
    [
        redirect("nonce-2"),  # another request's nonce: a replay
        redirect("nonce-1", client="x509_san_dns:attacker.example"),  # another verifier
        redirect("nonce-1", uri="https://attacker.example/post"),  # another response_uri
        session_transcript(openid4vp_dc_api_handover("https://rental.example", "nonce-1")),  # another origin and flow
        session_transcript(
            iso_18013_7_handover("x509_san_dns:rental.example", "https://rental.example/post", "nonce-1", "m")
        ),
    ],
)
def test_a_presentation_for_another_transcript_is_refused(
    pki: Pki, holder: tuple[ec.EllipticCurvePrivateKey, bytes], other: Transcript
) -> None:
    key, issuer_signed = holder
    data = present(issuer_signed, MDL_DOCTYPE, key, redirect("nonce-1"))
    result = verify_mdoc(data, [pki.root], at=NOW, session_transcript=other)
    assert not result.valid and codes(result) == {ErrorCode.DEVICE_AUTH_INVALID}
    assert result.claims == {} and result.holder_binding == "failed"


def test_a_copied_credential_signed_with_another_device_key_is_refused(
    pki: Pki, holder: tuple[ec.EllipticCurvePrivateKey, bytes]
) -> None:
    _, issuer_signed = holder
    thief = ec.generate_private_key(ec.SECP256R1())
    transcript = redirect("nonce-1")
    result = verify_mdoc(
        present(issuer_signed, MDL_DOCTYPE, thief, transcript), [pki.root], at=NOW, session_transcript=transcript
    )
    assert codes(result) == {ErrorCode.DEVICE_AUTH_INVALID}


def test_missing_device_authentication_is_refused_when_a_transcript_is_given(
    pki: Pki, holder: tuple[ec.EllipticCurvePrivateKey, bytes]
) -> None:
    _, issuer_signed = holder
    transcript = redirect("nonce-1")
    exported = device_response([(MDL_DOCTYPE, issuer_signed)])  # the issuer-signed export: no deviceSigned
    assert verify_mdoc(exported, [pki.root], at=NOW).valid  # fine when holder binding is not asked for
    result = verify_mdoc(exported, [pki.root], at=NOW, session_transcript=transcript)
    assert codes(result) == {ErrorCode.DEVICE_AUTH_MISSING} and result.holder_binding == "failed"
    bare = verify_mdoc(issuer_signed, [pki.root], at=NOW, session_transcript=transcript)
    assert codes(bare) == {ErrorCode.DEVICE_AUTH_MISSING}


def _edit_device_signed(data: bytes, edit: Any) -> bytes:
    response = cbor2.loads(data)
    edit(response["documents"][0]["deviceSigned"])
    return cbor2.dumps(response)


def _sign(key: ec.EllipticCurvePrivateKey, protected: bytes, payload: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes

    r, s = decode_dss_signature(
        key.sign(cbor2.dumps(["Signature1", protected, b"", payload]), ec.ECDSA(hashes.SHA256()))
    )
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def test_malformed_or_keyed_device_proofs_are_refused_with_their_codes(
    pki: Pki, holder: tuple[ec.EllipticCurvePrivateKey, bytes]
) -> None:
    key, issuer_signed = holder
    transcript = redirect("nonce-1")
    data = present(issuer_signed, MDL_DOCTYPE, key, transcript)
    signature = cbor2.loads(data)["documents"][0]["deviceSigned"]["deviceAuth"]["deviceSignature"]
    namespaces = cbor2.loads(data)["documents"][0]["deviceSigned"]["nameSpaces"]
    payload = device_authentication_bytes(transcript, MDL_DOCTYPE, cbor2.dumps(namespaces))

    def check(edit: Any) -> set[str]:
        return codes(verify_mdoc(_edit_device_signed(data, edit), [pki.root], at=NOW, session_transcript=transcript))

    # a tagged COSE_Sign1, an attached payload, both auth kinds, an unknown key: not the standard's shape
    assert check(lambda d: d["deviceAuth"].update(deviceSignature=CBORTag(18, signature))) == {ErrorCode.MALFORMED}
    assert check(lambda d: d["deviceAuth"]["deviceSignature"].__setitem__(2, payload)) == {ErrorCode.MALFORMED}
    assert check(lambda d: d["deviceAuth"].update(deviceMac=[b"\xa1\x01\x05", {}, None, b"0" * 32])) == {
        ErrorCode.MALFORMED
    }
    assert check(lambda d: d.update(extra=1)) == {ErrorCode.MALFORMED}
    assert check(lambda d: d.pop("deviceAuth")) == {ErrorCode.DEVICE_AUTH_MISSING}
    # the signature names a key of its own (x5chain) or claims an algorithm the MSO's key does not go with
    assert check(lambda d: d["deviceAuth"]["deviceSignature"].__setitem__(1, {33: b"cert"})) == {
        ErrorCode.DEVICE_KEY_MISMATCH
    }
    es384 = cbor2.dumps({1: -35})
    assert check(lambda d: d["deviceAuth"].update(deviceSignature=[es384, {}, None, _sign(key, es384, payload)])) == {
        ErrorCode.DEVICE_KEY_MISMATCH
    }
    # no algorithm stated (what @animo-id/mdoc writes for a JWK without "alg": {1: undefined})
    for header in (cbor2.dumps({}), cbor2.dumps({1: cbor2.undefined}), cbor2.dumps({1: -999})):
        assert check(
            lambda d, h=header: d["deviceAuth"].update(deviceSignature=[h, {}, None, _sign(key, h, payload)])
        ) == {ErrorCode.UNSUPPORTED_ALGORITHM}
    # a kid is only a hint: ignored, the MSO's key decides
    assert check(lambda d: d["deviceAuth"]["deviceSignature"].__setitem__(1, {4: b"some-key"})) == set()
    # one flipped bit of the signature
    flipped = bytes([signature[3][0] ^ 1]) + signature[3][1:]
    assert check(lambda d: d["deviceAuth"]["deviceSignature"].__setitem__(3, flipped)) == {
        ErrorCode.DEVICE_AUTH_INVALID
    }


def test_device_signed_elements_need_the_msos_key_authorizations(
    pki: Pki, holder: tuple[ec.EllipticCurvePrivateKey, bytes]
) -> None:
    key, issuer_signed = holder  # issued without keyAuthorizations: no element may be device-signed
    transcript = redirect("nonce-1")
    data = present(
        issuer_signed, MDL_DOCTYPE, key, transcript, device_namespaces={MDL_NAMESPACE: {"family_name": "李"}}
    )
    result = verify_mdoc(data, [pki.root], at=NOW, session_transcript=transcript)
    assert codes(result) == {ErrorCode.DEVICE_ELEMENT_UNAUTHORIZED}
    assert result.claims == {}


def test_bytes_that_are_not_a_transcript_are_the_callers_error(
    pki: Pki, holder: tuple[ec.EllipticCurvePrivateKey, bytes]
) -> None:
    key, issuer_signed = holder
    data = present(issuer_signed, MDL_DOCTYPE, key, redirect("nonce-1"))
    with pytest.raises(TranscriptError):
        verify_mdoc(data, [pki.root], at=NOW, session_transcript=b"\x80")


@pytest.mark.parametrize(
    "authorizations",
    [{"nameSpaces": [MDL_NAMESPACE]}, {"dataElements": {MDL_NAMESPACE: ["family_name"]}}],
    ids=["whole-namespace", "listed-element"],
)
def test_an_authorized_device_signed_element_is_returned_beside_the_claims(
    pki: Pki, holder: tuple[ec.EllipticCurvePrivateKey, bytes], authorizations: dict[str, Any]
) -> None:
    key, issuer_signed = holder
    authorized = resign(
        issuer_signed, pki.ds_key, mso=lambda m: m["deviceKeyInfo"].update(keyAuthorizations=authorizations)
    )
    transcript = redirect("nonce-1")
    data = present(authorized, MDL_DOCTYPE, key, transcript, device_namespaces={MDL_NAMESPACE: {"family_name": "李"}})
    result = verify_mdoc(data, [pki.root], at=NOW, session_transcript=transcript)
    assert result.valid, result.errors
    assert result.documents[0].device_claims == {MDL_NAMESPACE: {"family_name": "李"}}
    assert result.to_json_dict()["device_claims"] == {MDL_NAMESPACE: {"family_name": "李"}}
    assert result.claims[MDL_NAMESPACE]["family_name"] == "张"  # the issuer's value stays the issuer's
    other = present(authorized, MDL_DOCTYPE, key, transcript, device_namespaces={MDL_NAMESPACE: {"given_name": "x"}})
    if "dataElements" in authorizations:  # only family_name is listed
        assert codes(verify_mdoc(other, [pki.root], at=NOW, session_transcript=transcript)) == {
            ErrorCode.DEVICE_ELEMENT_UNAUTHORIZED
        }


def test_key_authorizations_naming_a_namespace_both_ways_are_refused(
    pki: Pki, holder: tuple[ec.EllipticCurvePrivateKey, bytes]
) -> None:
    key, issuer_signed = holder
    both = {"nameSpaces": [MDL_NAMESPACE], "dataElements": {MDL_NAMESPACE: ["family_name"]}}
    authorized = resign(issuer_signed, pki.ds_key, mso=lambda m: m["deviceKeyInfo"].update(keyAuthorizations=both))
    transcript = redirect("nonce-1")
    data = present(authorized, MDL_DOCTYPE, key, transcript, device_namespaces={MDL_NAMESPACE: {"family_name": "李"}})
    assert ErrorCode.MALFORMED in codes(verify_mdoc(data, [pki.root], at=NOW, session_transcript=transcript))


_cbor_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**64), 2**64) | st.binary(max_size=40) | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.integers(-40, 40) | st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    where=st.sampled_from(["deviceAuth", "deviceSignature", "protected", "unprotected", "signature", "nameSpaces"]),
    value=_cbor_values,
)
def test_no_substituted_device_proof_is_ever_accepted(
    pki: Pki, holder: tuple[ec.EllipticCurvePrivateKey, bytes], where: str, value: Any
) -> None:
    key, issuer_signed = holder
    transcript = redirect("nonce-1")
    data = present(issuer_signed, MDL_DOCTYPE, key, transcript)

    def edit(device_signed: dict[str, Any]) -> None:
        sign1 = device_signed["deviceAuth"]["deviceSignature"]
        if where == "deviceAuth":
            device_signed["deviceAuth"] = value
        elif where == "deviceSignature":
            device_signed["deviceAuth"]["deviceSignature"] = value
        elif where == "nameSpaces":
            device_signed["nameSpaces"] = CBORTag(24, cbor2.dumps(value))
        else:
            sign1[["protected", "unprotected", "", "signature"].index(where)] = (
                cbor2.dumps(value) if where == "protected" else value
            )

    result = verify_mdoc(_edit_device_signed(data, edit), [pki.root], at=NOW, session_transcript=transcript)
    if where == "nameSpaces" and value == {}:
        return  # the same (empty) namespaces as signed: still the genuine proof
    if where == "unprotected" and isinstance(value, dict) and not value.keys() & {1, 32, 33, 34, 35}:
        return  # COSE: the unprotected header is not signed, and labels that name no key or algorithm are ignored
    assert not result.valid and result.holder_binding == "failed" and result.claims == {}
