"""Issuing: the IssuerSigned, MSO and DeviceResponse have exactly the ISO/IEC 18013-5 shape."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import cbor2
import pytest
from cbor2 import CBORTag
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from edl.credentials import (
    MDL_DOCTYPE,
    MDL_NAMESPACE,
    IssuanceError,
    Validity,
    complete_mdoc,
    device_response,
    issue_mdoc,
    issue_mdoc_with_new_device_key,
    prepare_mdoc,
    verify_mdoc,
)
from edl.credentials.cose import sig_structure
from tests.unit.credentials.builders import NOW, Pki, issue, mdl_namespaces, raw_signature

RAW = {0: lambda v, i: CBORTag(0, v), 1004: lambda v, i: CBORTag(1004, v)}


def _parts(issuer_signed: bytes) -> tuple[dict, list, dict]:  # type: ignore[type-arg]
    doc = cbor2.loads(issuer_signed)
    auth = doc["issuerAuth"]
    mso = cbor2.loads(cbor2.loads(auth[2]).value, semantic_decoders=RAW)
    return doc, auth, mso


def test_issuer_auth_is_an_untagged_cose_sign1_es256_with_the_ds_certificate(pki: Pki) -> None:
    _doc, auth, _mso = _parts(issue(pki))
    protected, unprotected, payload, signature = auth
    assert protected == bytes.fromhex("a10126")  # {1: -7}
    assert unprotected == {33: pki.ds_der}  # one certificate: a single byte string
    assert len(signature) == 64
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    pki.ds.public_key().verify(  # type: ignore[call-arg]
        encode_dss_signature(r, s),
        cbor2.dumps(["Signature1", protected, b"", payload]),
        ec.ECDSA(hashes.SHA256()),
    )
    assert cbor2.loads(payload).tag == 24


def test_mso_has_the_standard_fields_and_utc_tdates(pki: Pki) -> None:
    device_key = ec.generate_private_key(ec.SECP256R1())
    issued = issue_mdoc(
        MDL_DOCTYPE,
        mdl_namespaces(),
        pki.signer,
        device_key.public_key(),
        valid_from=NOW + timedelta(microseconds=700),
        valid_until=NOW + timedelta(days=30),
        signed_at=NOW,
    )
    _doc, _auth, mso = _parts(issued)
    assert mso["version"] == "1.0"
    assert mso["digestAlgorithm"] == "SHA-256"
    assert mso["docType"] == MDL_DOCTYPE
    assert mso["validityInfo"] == {
        "signed": CBORTag(0, "2026-03-15T12:00:00Z"),
        "validFrom": CBORTag(0, "2026-03-15T12:00:00Z"),
        "validUntil": CBORTag(0, "2026-04-14T12:00:00Z"),
    }
    numbers = device_key.public_key().public_numbers()
    assert mso["deviceKeyInfo"] == {
        "deviceKey": {1: 2, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")}
    }


def test_every_item_is_tag24_with_fresh_salt_and_its_digest_is_in_the_mso(pki: Pki) -> None:
    doc, _auth, mso = _parts(issue(pki))
    items = doc["nameSpaces"][MDL_NAMESPACE]
    digests = mso["valueDigests"][MDL_NAMESPACE]
    assert len(items) == len(digests) == 15
    salts, ids = set(), set()
    for tagged in items:
        assert isinstance(tagged, CBORTag) and tagged.tag == 24
        item = cbor2.loads(tagged.value, semantic_decoders=RAW)
        assert set(item) == {"digestID", "random", "elementIdentifier", "elementValue"}
        assert len(item["random"]) >= 16
        salts.add(item["random"])
        ids.add(item["digestID"])
        assert digests[item["digestID"]] == hashlib.sha256(cbor2.dumps(tagged)).digest()
    assert len(salts) == 15 and len(ids) == 15


def test_dates_are_full_date_tags_also_inside_driving_privileges(pki: Pki) -> None:
    doc, _auth, _mso = _parts(issue(pki))
    values = {}
    for tagged in doc["nameSpaces"][MDL_NAMESPACE]:
        item = cbor2.loads(tagged.value, semantic_decoders=RAW)
        values[item["elementIdentifier"]] = item["elementValue"]
    assert values["birth_date"] == CBORTag(1004, "1990-05-17")
    assert values["driving_privileges"][0]["issue_date"] == CBORTag(1004, "2015-03-01")
    assert values["portrait"][:2] == b"\xff\xd8"


def test_salts_differ_between_two_issuances_of_the_same_data(pki: Pki) -> None:
    data = mdl_namespaces()
    first, _a, _m = _parts(issue(pki, data))
    second, _b, _n = _parts(issue(pki, data))
    assert {t.value for t in first["nameSpaces"][MDL_NAMESPACE]}.isdisjoint(
        {t.value for t in second["nameSpaces"][MDL_NAMESPACE]}
    )


def test_issuing_does_not_mutate_the_callers_namespaces(pki: Pki) -> None:
    data = mdl_namespaces()
    before = copy.deepcopy(data)
    issue(pki, data)
    assert data == before


class RemoteSigner:
    """A Signer that is not a private key in this process (like an HSM): only `sign` is called."""

    def __init__(self, pki: Pki) -> None:
        self._pki = pki
        self.calls: list[bytes] = []

    algorithm = "ES256"
    key_id = "remote"

    @property
    def certificate(self) -> x509.Certificate:
        return self._pki.ds

    @property
    def certificate_chain(self) -> Sequence[x509.Certificate]:
        return [self._pki.ds]

    def sign(self, data: bytes) -> bytes:
        self.calls.append(data)
        return raw_signature(self._pki.ds_key, data)


def test_any_signer_implementation_can_sign(pki: Pki) -> None:
    signer = RemoteSigner(pki)
    issued = issue_mdoc(
        MDL_DOCTYPE,
        mdl_namespaces(),
        signer,
        ec.generate_private_key(ec.SECP256R1()).public_key(),
        valid_from=NOW,
        valid_until=NOW + timedelta(days=1),
        signed_at=NOW,
    )
    assert len(signer.calls) == 1
    assert verify_mdoc(issued, [pki.root], at=NOW).valid


def test_prepare_sign_complete_gives_a_verifiable_mdoc(pki: Pki) -> None:
    validity = Validity(NOW, NOW, NOW + timedelta(days=1))
    prepared = prepare_mdoc(MDL_DOCTYPE, mdl_namespaces(), ec.generate_private_key(ec.SECP256R1()), validity)
    assert prepared.to_be_signed() == sig_structure(bytes.fromhex("a10126"), prepared.payload)
    signature = raw_signature(pki.ds_key, prepared.to_be_signed())
    issued = complete_mdoc(prepared, signature, [pki.ds])
    assert verify_mdoc(issued, [pki.root], at=NOW).valid


def test_several_certificates_go_in_x5chain_as_an_array(pki: Pki) -> None:
    validity = Validity(NOW, NOW, NOW + timedelta(days=1))
    prepared = prepare_mdoc(MDL_DOCTYPE, mdl_namespaces(), ec.generate_private_key(ec.SECP256R1()), validity)
    issued = complete_mdoc(prepared, raw_signature(pki.ds_key, prepared.to_be_signed()), [pki.ds, pki.root])
    _doc, auth, _mso = _parts(issued)
    assert auth[1][33] == [pki.ds_der, pki.root.public_bytes(serialization.Encoding.DER)]
    assert verify_mdoc(issued, [pki.root], at=NOW).valid


def test_new_device_key_is_returned_and_bound_in_the_mso(pki: Pki) -> None:
    issued, key = issue_mdoc_with_new_device_key(
        MDL_DOCTYPE, mdl_namespaces(), pki.signer, valid_from=NOW, valid_until=NOW + timedelta(days=1), signed_at=NOW
    )
    result = verify_mdoc(issued, [pki.root], at=NOW)
    assert result.valid
    assert result.documents[0].device_key == key.public_key()


def test_device_response_wraps_documents_unchanged(pki: Pki) -> None:
    issued = issue(pki)
    response = cbor2.loads(device_response([(MDL_DOCTYPE, issued)]))
    assert response["version"] == "1.0" and response["status"] == 0
    assert response["documents"] == [{"docType": MDL_DOCTYPE, "issuerSigned": cbor2.loads(issued)}]
    assert cbor2.dumps(response["documents"][0]["issuerSigned"]) == issued


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"valid_until": NOW + timedelta(days=800)}, "after the signer certificate expires"),
        ({"signed_at": NOW - timedelta(days=30)}, "may not sign"),
        ({"signed_at": NOW + timedelta(days=200)}, "may not sign"),
        ({"valid_from": NOW - timedelta(hours=1)}, "signed <= valid_from"),
        ({"valid_until": NOW}, "valid_from < valid_until"),
        ({"valid_from": NOW.replace(tzinfo=None)}, "timezone-aware"),
    ],
)
def test_issuing_refuses_what_could_not_verify(pki: Pki, kwargs: dict, message: str) -> None:  # type: ignore[type-arg]
    args = {"valid_from": NOW, "valid_until": NOW + timedelta(days=30), "signed_at": NOW} | kwargs
    with pytest.raises(IssuanceError, match=message):
        issue_mdoc(MDL_DOCTYPE, mdl_namespaces(), pki.signer, ec.generate_private_key(ec.SECP256R1()), **args)


@pytest.mark.parametrize(
    "namespaces",
    [{}, {MDL_NAMESPACE: {}}, {"": {"a": 1}}, {MDL_NAMESPACE: {"": 1}}, {MDL_NAMESPACE: {"x": object()}}],
)
def test_issuing_refuses_bad_namespaces(pki: Pki, namespaces: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(IssuanceError):
        issue_mdoc(
            MDL_DOCTYPE,
            namespaces,
            pki.signer,
            ec.generate_private_key(ec.SECP256R1()),
            valid_from=NOW,
            valid_until=NOW + timedelta(days=1),
            signed_at=NOW,
        )


def test_issuing_refuses_a_weak_random_source(pki: Pki) -> None:
    with pytest.raises(IssuanceError, match="random source"):
        issue_mdoc(
            MDL_DOCTYPE,
            {MDL_NAMESPACE: {"family_name": "张"}},
            pki.signer,
            ec.generate_private_key(ec.SECP256R1()),
            valid_from=NOW,
            valid_until=NOW + timedelta(days=1),
            signed_at=NOW,
            random_bytes=lambda n: b"\x00" * 8,
        )


def test_date_values_survive_issue_and_verify(pki: Pki) -> None:
    result = verify_mdoc(issue(pki), [pki.root], at=NOW)
    claims = result.claims[MDL_NAMESPACE]
    assert claims["birth_date"] == date(1990, 5, 17)
    assert claims["driving_privileges"] == [
        {"vehicle_category_code": "C1", "issue_date": date(2015, 3, 1), "expiry_date": date(2031, 3, 1)}
    ]


class FaultySigner(RemoteSigner):
    """Signs with a key that is not the one in its certificate (a misconfigured or faulty HSM)."""

    def sign(self, data: bytes) -> bytes:
        return raw_signature(ec.generate_private_key(ec.SECP256R1()), data)


def test_a_signature_the_certificate_does_not_verify_is_never_issued(pki: Pki) -> None:
    with pytest.raises(IssuanceError, match="nothing was issued"):
        issue_mdoc(
            MDL_DOCTYPE,
            mdl_namespaces(),
            FaultySigner(pki),
            ec.generate_private_key(ec.SECP256R1()),
            valid_from=NOW,
            valid_until=NOW + timedelta(days=1),
            signed_at=NOW,
        )


@pytest.mark.parametrize("value", [datetime(2020, 1, 1), datetime(2020, 1, 1, 0, 0, 0, 5, tzinfo=UTC)])
def test_element_datetimes_must_be_aware_and_whole_seconds(pki: Pki, value: datetime) -> None:
    with pytest.raises(IssuanceError, match="portrait_capture_date"):
        issue(pki, {MDL_NAMESPACE: {"portrait_capture_date": value}})
