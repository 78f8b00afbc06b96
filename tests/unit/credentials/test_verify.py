"""Verification: what is accepted, and every reason for refusing, with its stable error code."""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, date, datetime, timedelta
from typing import Any

import cbor2
import pytest
from cbor2 import CBORTag
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from edl.credentials import MDL_DOCTYPE, MDL_NAMESPACE, ErrorCode, device_response, verify_mdoc
from edl.credentials.cose import cose_key
from edl.pki import AuthorityProfile, PrivateKeySigner
from edl.pki.profiles import ds_builder, iaca_builder, key_id_of
from tests.unit.credentials.builders import (
    NOW,
    Pki,
    issue,
    make_pki,
    mdl_namespaces,
    raw_signature,
    reissue,
    resign,
    response,
)


def codes(result: Any) -> set[str]:
    return {e.code for e in result.errors}


def test_issued_credential_verifies_with_claims_and_signer(pki: Pki) -> None:
    result = verify_mdoc(response(pki), [pki.root], at=NOW)
    assert result.valid, result.errors
    assert result.errors == ()
    assert result.doctype == MDL_DOCTYPE
    assert result.claims[MDL_NAMESPACE]["family_name"] == "张"
    assert result.signer is not None
    assert result.signer.subject == pki.ds.subject.rfc4514_string()
    assert result.signer.serial == format(pki.ds.serial_number, "x")
    assert result.signer.not_after == pki.ds.not_valid_after_utc


def test_bare_issuer_signed_is_accepted_too(pki: Pki) -> None:
    assert verify_mdoc(issue(pki), [pki.root], at=NOW).valid


def test_json_form_has_base64_bytes_and_iso_dates(pki: Pki) -> None:
    data = mdl_namespaces()
    result = verify_mdoc(issue(pki, data), [pki.root], at=NOW).to_json_dict()
    json.dumps(result)  # serialisable as it is
    claims = result["claims"][MDL_NAMESPACE]
    assert base64.b64decode(claims["portrait"]) == data[MDL_NAMESPACE]["portrait"]
    assert claims["birth_date"] == "1990-05-17"
    assert claims["driving_privileges"][0]["expiry_date"] == "2031-03-01"
    assert set(result) == {"valid", "doctype", "errors", "claims", "signer", "holder_binding", "holder_binding_note"}
    assert result["holder_binding"] == "not_checked"  # no session transcript: said plainly
    assert result["signer"]["not_after"].endswith("Z")


def test_claims_are_withheld_when_not_valid(pki: Pki, other_pki: Pki) -> None:
    result = verify_mdoc(issue(pki), [other_pki.root], at=NOW)
    assert not result.valid
    assert result.claims == {}
    assert result.to_json_dict()["claims"] == {}


def test_untrusted_root_is_chain_untrusted(pki: Pki, other_pki: Pki) -> None:
    result = verify_mdoc(issue(pki), [other_pki.root], at=NOW)
    assert codes(result) == {ErrorCode.CHAIN_UNTRUSTED}


def test_no_trust_roots_is_chain_untrusted(pki: Pki) -> None:
    assert codes(verify_mdoc(issue(pki), [], at=NOW)) == {ErrorCode.CHAIN_UNTRUSTED}


def test_trusting_the_ds_certificate_itself_is_not_enough(pki: Pki) -> None:
    assert codes(verify_mdoc(issue(pki), [pki.ds], at=NOW)) == {ErrorCode.CHAIN_UNTRUSTED}


def test_validity_window_with_leeway_only_at_the_start(pki: Pki) -> None:
    issued = issue(pki, days=30)
    assert verify_mdoc(issued, [pki.root], at=NOW - timedelta(seconds=59)).valid
    early = verify_mdoc(issued, [pki.root], at=NOW - timedelta(seconds=61))
    assert codes(early) == {ErrorCode.NOT_YET_VALID}
    assert verify_mdoc(issued, [pki.root], at=NOW - timedelta(seconds=61), leeway=timedelta(minutes=5)).valid
    end = NOW + timedelta(days=30)
    assert verify_mdoc(issued, [pki.root], at=end).valid
    late = verify_mdoc(issued, [pki.root], at=end + timedelta(seconds=1), leeway=timedelta(days=1))
    assert codes(late) == {ErrorCode.EXPIRED}


def test_expired_signer_certificate_is_reported(pki: Pki) -> None:
    result = verify_mdoc(issue(pki), [pki.root], at=pki.ds.not_valid_after_utc + timedelta(seconds=1))
    assert ErrorCode.CERTIFICATE_EXPIRED in codes(result)
    assert ErrorCode.EXPIRED in codes(result)


def test_default_time_is_now() -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    current = make_pki(at=now)
    assert verify_mdoc(issue(current, at=now - timedelta(seconds=5), days=1), [current.root]).valid
    expired = issue(current, at=now - timedelta(hours=2), days=1 / 24)
    assert codes(verify_mdoc(expired, [current.root])) == {ErrorCode.EXPIRED}


def test_naive_verification_time_is_a_programming_error(pki: Pki) -> None:
    with pytest.raises(ValueError, match="timezone"):
        verify_mdoc(issue(pki), [pki.root], at=datetime(2026, 1, 1))


def test_expected_doctype_is_enforced(pki: Pki) -> None:
    result = verify_mdoc(issue(pki), [pki.root], at=NOW, expected_doctype="org.iso.23220.photoid.1")
    assert codes(result) == {ErrorCode.DOCTYPE_MISMATCH}


def test_document_doctype_must_match_the_mso(pki: Pki) -> None:
    data = device_response([("org.example.other", issue(pki))])
    assert codes(verify_mdoc(data, [pki.root], at=NOW)) == {ErrorCode.DOCTYPE_MISMATCH}


def test_every_document_is_verified_and_errors_name_the_document(pki: Pki, other_pki: Pki) -> None:
    good, bad = issue(pki), issue(other_pki)
    result = verify_mdoc(device_response([(MDL_DOCTYPE, good), (MDL_DOCTYPE, bad)]), [pki.root], at=NOW)
    assert not result.valid
    assert [d.valid for d in result.documents] == [True, False]
    assert [e.message.split(":")[0] for e in result.errors] == ["document[1]"]
    assert len(result.to_json_dict()["documents"]) == 2
    both = verify_mdoc(device_response([(MDL_DOCTYPE, good), (MDL_DOCTYPE, good)]), [pki.root], at=NOW)
    assert both.valid


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00",
        b"\xff" * 10,
        os.urandom(64),
        cbor2.dumps(1),
        cbor2.dumps([]),
        cbor2.dumps({}),
        cbor2.dumps({"documents": []}),
        cbor2.dumps({"version": "1.0", "documents": [], "status": 0}),
        cbor2.dumps({"version": "1.0", "documents": [{"docType": MDL_DOCTYPE}], "status": 0}),
        cbor2.dumps({"version": "1.0", "documents": [1], "status": 0}),
        cbor2.dumps({"issuerAuth": [1, 2, 3, 4]}),
        cbor2.dumps({"issuerAuth": [b"", {}, None, b""]}),
        cbor2.dumps({"issuerAuth": [b"\xa1\x01\x26", {}, b"", b""]}),
        cbor2.dumps({"issuerAuth": [b"\xa1\x01\x26", {33: b"not a certificate"}, b"", b""]}),
        "a string, not bytes",
    ],
)
def test_garbage_is_a_malformed_result_never_an_exception(pki: Pki, data: Any) -> None:
    result = verify_mdoc(data, [pki.root], at=NOW)
    assert not result.valid
    assert codes(result) == {ErrorCode.MALFORMED}
    json.dumps(result.to_json_dict())


def test_device_response_status_and_version_are_checked(pki: Pki) -> None:
    doc = cbor2.loads(response(pki))
    doc["status"] = 10
    assert codes(verify_mdoc(cbor2.dumps(doc), [pki.root], at=NOW)) == {ErrorCode.MALFORMED}
    doc["status"], doc["version"] = 0, "2.0"
    assert codes(verify_mdoc(cbor2.dumps(doc), [pki.root], at=NOW)) == {ErrorCode.UNSUPPORTED_VERSION}


def test_trailing_bytes_are_malformed(pki: Pki) -> None:
    assert codes(verify_mdoc(response(pki) + b"\x00", [pki.root], at=NOW)) == {ErrorCode.MALFORMED}


def test_duplicate_map_keys_are_malformed(pki: Pki) -> None:
    data = issue(pki)
    # Append a second "issuerAuth" entry: same key twice in the top-level map (count bumped 2 -> 3).
    doc = cbor2.loads(data)
    duplicated = b"\xa3" + data[1:] + cbor2.dumps("issuerAuth") + cbor2.dumps(doc["issuerAuth"])
    assert codes(verify_mdoc(duplicated, [pki.root], at=NOW)) == {ErrorCode.MALFORMED}


def test_non_preferred_item_header_is_malformed_not_silently_rehashed(pki: Pki) -> None:
    doc = cbor2.loads(issue(pki))
    items = doc["nameSpaces"][MDL_NAMESPACE]
    small = next(i for i, t in enumerate(items) if len(t.value) < 255)
    marker = cbor2.dumps(items[small])
    # The same item with a 2-byte length where 1 byte suffices (valid CBOR, other bytes than signed).
    longer = marker[:2] + b"\x59" + len(items[small].value).to_bytes(2, "big") + items[small].value
    data = cbor2.dumps(doc)
    assert data.count(marker) == 1
    tampered = data.replace(marker, longer)
    assert codes(verify_mdoc(tampered, [pki.root], at=NOW)) == {ErrorCode.MALFORMED}


def test_tag18_wrapped_issuer_auth_is_malformed(pki: Pki) -> None:
    """18013-5 puts an untagged COSE_Sign1 in IssuerSigned; one encoding only."""
    doc = cbor2.loads(issue(pki))
    doc["issuerAuth"] = CBORTag(18, doc["issuerAuth"])
    assert codes(verify_mdoc(cbor2.dumps(doc), [pki.root], at=NOW)) == {ErrorCode.MALFORMED}


def test_x5chain_as_an_array_of_one_certificate_is_taken_too(pki: Pki) -> None:
    """RFC 9360 writes one certificate as a byte string; issuers that send an array of one are accepted."""
    doc = cbor2.loads(issue(pki))
    doc["issuerAuth"][1][33] = [doc["issuerAuth"][1][33]]
    assert verify_mdoc(cbor2.dumps(doc), [pki.root], at=NOW).valid


@pytest.mark.parametrize("chain", [[], b"", [b""], ["text"], 5, None])
def test_x5chain_that_is_not_certificates_is_malformed(pki: Pki, chain: object) -> None:
    doc = cbor2.loads(issue(pki))
    doc["issuerAuth"][1][33] = chain
    assert codes(verify_mdoc(cbor2.dumps(doc), [pki.root], at=NOW)) == {ErrorCode.MALFORMED}


def test_kid_is_only_a_hint(pki: Pki, other_pki: Pki) -> None:
    signed = resign(issue(pki), pki.ds_key, unprotected=lambda h: h.update({4: key_id_of(other_pki.ds).encode()}))
    assert verify_mdoc(signed, [pki.root], at=NOW).valid


@pytest.mark.parametrize(
    ("protected", "unprotected"),
    [
        (cbor2.dumps({1: -8}), None),  # EdDSA: not an mdoc issuer algorithm here
        (cbor2.dumps({1: 0}), None),
        (cbor2.dumps({1: "none"}), None),
        (b"", None),  # no algorithm at all
        (cbor2.dumps({}), None),
        (b"", {1: -7}),  # algorithm only in the unprotected header
        (cbor2.dumps({1: -35}), None),  # ES384 claimed, but the DS key is P-256
    ],
)
def test_unknown_missing_or_mismatched_algorithm_is_refused(
    pki: Pki,
    protected: bytes,
    unprotected: dict[int, int] | None,
) -> None:
    signed = resign(issue(pki), pki.ds_key, protected=protected, unprotected=lambda h: h.update(unprotected or {}))
    assert codes(verify_mdoc(signed, [pki.root], at=NOW)) == {ErrorCode.UNSUPPORTED_ALGORITHM}


def test_es384_with_a_p384_signer_is_accepted() -> None:
    root_key = ec.generate_private_key(ec.SECP384R1())
    profile = AuthorityProfile()
    start = NOW - timedelta(days=1)
    root = iaca_builder(root_key.public_key(), profile, start).sign(root_key, hashes.SHA384())  # type: ignore[arg-type]
    ds_key = ec.generate_private_key(ec.SECP384R1())
    ds = ds_builder(ds_key.public_key(), root, profile, start, "1").sign(root_key, hashes.SHA384())  # type: ignore[arg-type]
    p256 = ec.generate_private_key(ec.SECP256R1())
    pki = Pki(root, p256, ds, p256)  # only the certificates matter to `issue` through a P-256 signer
    base = issue(Pki(*_p256_pki_for(root, root_key)))
    signed = resign(base, ds_key, protected=cbor2.dumps({1: -35}), unprotected=lambda h: h.update({33: _der(ds)}))
    assert verify_mdoc(signed, [pki.root], at=NOW).valid


def _p256_pki_for(root: Any, root_key: Any) -> tuple[Any, Any, Any, Any]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = ds_builder(key.public_key(), root, AuthorityProfile(), NOW - timedelta(days=1), "p256").sign(
        root_key, hashes.SHA384()
    )
    return root, root_key, cert, key


def _der(cert: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return bytes(cert.public_bytes(serialization.Encoding.DER))


@pytest.mark.parametrize("algorithm", ["SHA-1", "MD5", "sha-256", None])
def test_digest_algorithm_outside_sha2_is_refused(pki: Pki, algorithm: str | None) -> None:
    signed = resign(issue(pki), pki.ds_key, mso=lambda m: m.update({"digestAlgorithm": algorithm}))
    assert codes(verify_mdoc(signed, [pki.root], at=NOW)) == {ErrorCode.UNSUPPORTED_ALGORITHM}


def test_mso_version_is_checked(pki: Pki) -> None:
    signed = resign(issue(pki), pki.ds_key, mso=lambda m: m.update({"version": "2.0"}))
    assert codes(verify_mdoc(signed, [pki.root], at=NOW)) == {ErrorCode.UNSUPPORTED_VERSION}


def test_mso_doctype_must_match(pki: Pki) -> None:
    data = device_response([(MDL_DOCTYPE, resign(issue(pki), pki.ds_key, mso=lambda m: m.update({"docType": "x"})))])
    assert codes(verify_mdoc(data, [pki.root], at=NOW)) == {ErrorCode.DOCTYPE_MISMATCH}


@pytest.mark.parametrize(
    "validity",
    [
        {"signed": CBORTag(0, "2026-03-15T12:00:00.5Z")},
        {"validFrom": CBORTag(0, "2026-03-15T20:00:00+08:00")},
        {"validUntil": CBORTag(1004, "2026-04-01")},
        {"validUntil": "2026-04-14T12:00:00Z"},
        {"signed": CBORTag(0, "2026-03-15T12:00:01Z")},  # signed after validFrom
        {"validFrom": CBORTag(0, "2026-05-01T00:00:00Z")},  # validFrom after validUntil
    ],
)
def test_malformed_or_contradictory_validity_is_invalid_date(pki: Pki, validity: dict[str, Any]) -> None:
    signed = resign(issue(pki), pki.ds_key, mso=lambda m: m["validityInfo"].update(validity))
    assert ErrorCode.INVALID_DATE in codes(verify_mdoc(signed, [pki.root], at=NOW + timedelta(days=1)))
    assert not verify_mdoc(signed, [pki.root], at=NOW + timedelta(days=1)).valid


def test_invalid_full_date_in_a_claim_is_invalid_date(pki: Pki) -> None:
    """An issuer bug (a 31 February), correctly hashed and signed, is still refused."""
    doc = cbor2.loads(issue(pki))
    items = doc["nameSpaces"][MDL_NAMESPACE]
    for index, tagged in enumerate(items):
        item = cbor2.loads(tagged.value)
        if item["elementIdentifier"] == "birth_date":
            item["elementValue"] = CBORTag(1004, "1990-02-31")
            items[index] = CBORTag(24, cbor2.dumps(item))
            new_digest = _sha256(cbor2.dumps(items[index]))
            digest_id = item["digestID"]
    doc_bytes = cbor2.dumps(doc)
    signed = resign(
        doc_bytes, pki.ds_key, mso=lambda m: m["valueDigests"][MDL_NAMESPACE].update({digest_id: new_digest})
    )
    result = verify_mdoc(signed, [pki.root], at=NOW)
    assert codes(result) == {ErrorCode.INVALID_DATE}


def _sha256(data: bytes) -> bytes:
    import hashlib

    return hashlib.sha256(data).digest()


def test_item_without_digest_in_mso_is_digest_missing(pki: Pki) -> None:
    doc = cbor2.loads(issue(pki))
    items = doc["nameSpaces"][MDL_NAMESPACE]
    item = cbor2.loads(items[0].value)
    item["digestID"] = 9999
    items[0] = CBORTag(24, cbor2.dumps(item))
    assert codes(verify_mdoc(cbor2.dumps(doc), [pki.root], at=NOW)) == {ErrorCode.DIGEST_MISSING}


def test_namespace_without_digests_is_digest_missing(pki: Pki) -> None:
    doc = cbor2.loads(issue(pki))
    doc["nameSpaces"]["org.example.extra"] = doc["nameSpaces"][MDL_NAMESPACE][:1]
    assert codes(verify_mdoc(cbor2.dumps(doc), [pki.root], at=NOW)) == {ErrorCode.DIGEST_MISSING}


def test_same_item_disclosed_twice_is_malformed(pki: Pki) -> None:
    doc = cbor2.loads(issue(pki))
    doc["nameSpaces"][MDL_NAMESPACE].append(doc["nameSpaces"][MDL_NAMESPACE][0])
    assert codes(verify_mdoc(cbor2.dumps(doc), [pki.root], at=NOW)) == {ErrorCode.MALFORMED}


def test_selective_disclosure_of_fewer_items_still_verifies(pki: Pki) -> None:
    doc = cbor2.loads(issue(pki))
    doc["nameSpaces"][MDL_NAMESPACE] = doc["nameSpaces"][MDL_NAMESPACE][:3]
    result = verify_mdoc(cbor2.dumps(doc), [pki.root], at=NOW)
    assert result.valid and len(result.claims[MDL_NAMESPACE]) == 3


def test_invalid_device_key_is_malformed(pki: Pki) -> None:
    bad_key = cose_key(ec.generate_private_key(ec.SECP256R1()).public_key())
    bad_key[-3] = bytes(32)  # not on the curve
    signed = resign(issue(pki), pki.ds_key, mso=lambda m: m.update({"deviceKeyInfo": {"deviceKey": bad_key}}))
    assert codes(verify_mdoc(signed, [pki.root], at=NOW)) == {ErrorCode.MALFORMED}


def test_rotated_signer_credentials_verify_under_the_same_root(pki: Pki) -> None:
    second = pki.new_signer()
    issued = _issue_with(second)
    assert verify_mdoc(issued, [pki.root], at=NOW).valid
    assert verify_mdoc(issue(pki), [pki.root], at=NOW).valid


def _issue_with(signer: PrivateKeySigner) -> bytes:
    from edl.credentials import issue_mdoc

    return issue_mdoc(
        MDL_DOCTYPE,
        {MDL_NAMESPACE: {"family_name": "李", "birth_date": date(1980, 1, 1)}},
        signer,
        ec.generate_private_key(ec.SECP256R1()),
        valid_from=NOW,
        valid_until=NOW + timedelta(days=1),
        signed_at=NOW,
    )


def test_signature_length_other_than_raw_64_is_signature_invalid(pki: Pki) -> None:
    doc = cbor2.loads(issue(pki))
    protected, _unprotected, payload, signature = doc["issuerAuth"]
    der_signature = pki.ds_key.sign(cbor2.dumps(["Signature1", protected, b"", payload]), ec.ECDSA(hashes.SHA256()))
    doc["issuerAuth"][3] = der_signature  # a valid signature, but DER instead of COSE's raw r||s
    assert codes(verify_mdoc(cbor2.dumps(doc), [pki.root], at=NOW)) == {ErrorCode.SIGNATURE_INVALID}
    doc["issuerAuth"][3] = signature[:63]
    assert codes(verify_mdoc(cbor2.dumps(doc), [pki.root], at=NOW)) == {ErrorCode.SIGNATURE_INVALID}


def test_raw_signature_helper_matches_cose(pki: Pki) -> None:
    assert len(raw_signature(pki.ds_key, b"x")) == 64


@pytest.mark.parametrize(("name", "hash_fn"), [("SHA-384", "sha384"), ("SHA-512", "sha512")])
def test_sha384_and_sha512_digests_are_accepted(pki: Pki, name: str, hash_fn: str) -> None:
    import hashlib

    doc = cbor2.loads(issue(pki))
    digests = {
        cbor2.loads(t.value)["digestID"]: getattr(hashlib, hash_fn)(cbor2.dumps(t)).digest()
        for t in doc["nameSpaces"][MDL_NAMESPACE]
    }

    def rehash(mso: dict[str, Any]) -> None:
        mso["digestAlgorithm"] = name
        mso["valueDigests"][MDL_NAMESPACE] = digests

    signed = resign(cbor2.dumps(doc), pki.ds_key, mso=rehash)
    assert verify_mdoc(signed, [pki.root], at=NOW).valid


def _resigned_with_items(pki: Pki, change: Any) -> bytes:
    """An IssuerSigned whose item bytes `change` rewrites, digested and signed again by the issuer."""
    import hashlib

    doc = cbor2.loads(issue(pki))
    inners = [t.value for t in doc["nameSpaces"][MDL_NAMESPACE]]
    ids = [cbor2.loads(inner)["digestID"] for inner in inners]
    inners = change(inners)
    doc["nameSpaces"][MDL_NAMESPACE] = [CBORTag(24, inner) for inner in inners]
    digests = {
        i: hashlib.sha256(cbor2.dumps(CBORTag(24, inner))).digest() for i, inner in zip(ids, inners, strict=True)
    }
    return resign(cbor2.dumps(doc), pki.ds_key, mso=lambda m: m["valueDigests"].update({MDL_NAMESPACE: digests}))


def test_signed_items_that_are_not_exactly_one_data_item_are_malformed(pki: Pki) -> None:
    """Even hashed and signed by the issuer: trailing bytes, or one item running into the next."""
    trailing = _resigned_with_items(pki, lambda inners: [inners[0] + b"\xf6", *inners[1:]])
    assert codes(verify_mdoc(trailing, [pki.root], at=NOW)) == {ErrorCode.MALFORMED}
    split = _resigned_with_items(pki, lambda inners: [inners[0][:-2], inners[0][-2:] + inners[1], *inners[2:]])
    result = verify_mdoc(split, [pki.root], at=NOW)
    assert codes(result) == {ErrorCode.MALFORMED}
    assert len(result.errors) == 2  # each of the two chunks is refused on its own
    untouched = _resigned_with_items(pki, lambda inners: inners)
    assert verify_mdoc(untouched, [pki.root], at=NOW).valid


def test_an_mso_signed_before_the_signer_certificate_was_valid_is_refused(pki: Pki) -> None:
    # The DS certificate starts a day before NOW; an MSO claiming to be signed 10 days earlier was not
    # signed under it (a stolen key used to backdate credentials, or a forged date).
    early = NOW - timedelta(days=10)
    signed = resign(
        issue(pki),
        pki.ds_key,
        mso=lambda m: m["validityInfo"].update(signed=CBORTag(0, early.strftime("%Y-%m-%dT%H:%M:%SZ"))),
    )
    assert codes(verify_mdoc(signed, [pki.root], at=NOW)) == {ErrorCode.SIGNED_OUTSIDE_CERTIFICATE}


def test_issuing_country_must_be_the_signer_certificates_country(pki: Pki) -> None:
    namespaces = mdl_namespaces()
    namespaces[MDL_NAMESPACE]["issuing_country"] = "US"
    result = verify_mdoc(issue(pki, namespaces), [pki.root], at=NOW)
    assert codes(result) == {ErrorCode.ISSUER_MISMATCH}
    assert "countryName 'CN'" in result.errors[0].message


def test_issuing_jurisdiction_must_match_the_signer_certificates_state_when_it_names_one(pki: Pki) -> None:
    subject = x509.Name([*pki.ds.subject, x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "CN-12")])
    ds = reissue(pki.ds, pki.root, pki.root_key, subject=subject)
    state_pki = Pki(pki.root, pki.root_key, ds, pki.ds_key)
    for jurisdiction, ok in (("CN-12", True), ("CN-11", False)):
        namespaces = mdl_namespaces()
        namespaces[MDL_NAMESPACE]["issuing_jurisdiction"] = jurisdiction
        result = verify_mdoc(issue(state_pki, namespaces), [pki.root], at=NOW)
        assert result.valid is ok, result.errors
        if not ok:
            assert codes(result) == {ErrorCode.ISSUER_MISMATCH}
    # A signer certificate that names no state leaves issuing_jurisdiction unchecked.
    namespaces = mdl_namespaces()
    namespaces[MDL_NAMESPACE]["issuing_jurisdiction"] = "CN-11"
    assert verify_mdoc(issue(pki, namespaces), [pki.root], at=NOW).valid
