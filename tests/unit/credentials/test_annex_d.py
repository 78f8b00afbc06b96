"""ISO/IEC 18013-5 Annex D (D.4.1.2): the standard's own example verifies, and its bytes are pinned."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime

import cbor2
import pytest
from cbor2 import CBORTag
from cryptography.hazmat.primitives import serialization

from edl.credentials import MDL_DOCTYPE, MDL_NAMESPACE, ErrorCode, verify_mdoc
from edl.credentials import cbor as strict
from tests.vectors.annexd import (
    DEVICE_RESPONSE,
    DEVICE_RESPONSE_VARIANT,
    DS_CERT_PEM,
    IACA_ROOT_PEM,
    PORTRAIT,
    READER_ROOT_PEM,
    vector_bytes,
    vector_certificate,
)

INSIDE_VALIDITY = datetime(2021, 6, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def response() -> bytes:
    return vector_bytes(DEVICE_RESPONSE)


def test_annex_d_response_verifies_inside_its_validity(response: bytes) -> None:
    result = verify_mdoc(response, [vector_certificate(IACA_ROOT_PEM)], at=INSIDE_VALIDITY)
    assert result.valid, result.errors
    assert result.doctype == MDL_DOCTYPE
    assert result.signer is not None
    assert result.signer.subject == "C=US,CN=utopia ds"
    assert result.signer.serial == "3c4416eed784f3b413e48f56f075abfa6d87eb84"
    claims = result.claims[MDL_NAMESPACE]
    assert claims["family_name"] == "Doe"
    assert claims["issue_date"] == date(2019, 10, 20)
    assert claims["expiry_date"] == date(2024, 10, 20)
    assert claims["document_number"] == "123456789"
    assert claims["portrait"] == vector_bytes(PORTRAIT)
    assert claims["driving_privileges"] == [
        {"vehicle_category_code": "A", "issue_date": date(2018, 8, 9), "expiry_date": date(2024, 10, 20)},
        {"vehicle_category_code": "B", "issue_date": date(2017, 2, 23), "expiry_date": date(2024, 10, 20)},
    ]
    assert "org.iso.18013.5.1.US" not in result.claims  # nothing disclosed from it


def test_annex_d_response_is_expired_today(response: bytes) -> None:
    result = verify_mdoc(response, [vector_certificate(IACA_ROOT_PEM)])
    assert not result.valid
    assert {e.code for e in result.errors} == {ErrorCode.EXPIRED, ErrorCode.CERTIFICATE_EXPIRED}


def test_annex_d_response_under_another_root_is_chain_untrusted(response: bytes) -> None:
    result = verify_mdoc(response, [vector_certificate(READER_ROOT_PEM)], at=INSIDE_VALIDITY)
    assert {e.code for e in result.errors} == {ErrorCode.CHAIN_UNTRUSTED}


def test_annex_d_response_before_signing_is_not_yet_valid(response: bytes) -> None:
    result = verify_mdoc(response, [vector_certificate(IACA_ROOT_PEM)], at=datetime(2020, 10, 1, 12, tzinfo=UTC))
    assert {e.code for e in result.errors} == {ErrorCode.NOT_YET_VALID}


def test_pymdoccbor_variant_of_the_example_verifies_too() -> None:
    data = vector_bytes(DEVICE_RESPONSE_VARIANT)
    assert verify_mdoc(data, [vector_certificate(IACA_ROOT_PEM)], at=INSIDE_VALIDITY).valid


# --- byte-for-byte: decode then re-encode gives the same bytes -----------------------------------


def test_the_vector_is_the_one_the_readme_describes(response: bytes) -> None:
    assert len(response) == 3562
    assert hashlib.sha256(response).hexdigest() == "a61b7e50d102b05e41df8ccb11d9cef91edbcea141b15a4a1e1a5742fbb99b62"


def test_device_response_reencodes_byte_for_byte(response: bytes) -> None:
    decoded = strict.decode_envelope(response)
    assert cbor2.dumps(decoded) == response
    plain = cbor2.loads(response)  # cbor2 on its own, no eDL helper in between
    assert cbor2.dumps(plain) == response


def test_signed_parts_reencode_byte_for_byte(response: bytes) -> None:
    issuer_signed = strict.decode_envelope(response)["documents"][0]["issuerSigned"]
    protected, unprotected, payload, signature = issuer_signed["issuerAuth"]
    assert protected == bytes.fromhex("a10126")  # {1: -7}: ES256
    assert len(signature) == 64
    ds_der = vector_certificate(DS_CERT_PEM).public_bytes(serialization.Encoding.DER)
    assert unprotected == {33: ds_der}
    # The MSO bytes, and every disclosed item, through cbor2 and back (tags kept as they are).
    mso_bytes = strict.decode_envelope(payload).value
    assert cbor2.dumps(strict.decode_envelope(payload)) == payload
    assert cbor2.dumps(strict.decode_envelope(mso_bytes)) == mso_bytes
    for tagged in issuer_signed["nameSpaces"][MDL_NAMESPACE]:
        assert cbor2.dumps(strict.decode_envelope(tagged.value)) == tagged.value


def test_annex_d_item_digests_are_over_the_received_tag24_bytes(response: bytes) -> None:
    issuer_signed = strict.decode_envelope(response)["documents"][0]["issuerSigned"]
    mso = strict.decode(strict.decode_envelope(issuer_signed["issuerAuth"][2]).value)
    assert mso["version"] == "1.0" and mso["digestAlgorithm"] == "SHA-256"
    assert sorted(mso["valueDigests"][MDL_NAMESPACE]) == list(range(13))
    assert sorted(mso["valueDigests"]["org.iso.18013.5.1.US"]) == list(range(4))
    disclosed = {}
    for tagged in issuer_signed["nameSpaces"][MDL_NAMESPACE]:
        item = cbor2.loads(tagged.value)
        received = cbor2.dumps(tagged)
        assert received in response  # the exact bytes that were sent
        assert mso["valueDigests"][MDL_NAMESPACE][item["digestID"]] == hashlib.sha256(received).digest()
        disclosed[item["digestID"]] = item["elementIdentifier"]
    assert disclosed == {
        0: "family_name",
        3: "issue_date",
        4: "expiry_date",
        7: "document_number",
        8: "portrait",
        9: "driving_privileges",
    }


def test_annex_d_validity_and_dates_are_standard_tags(response: bytes) -> None:
    issuer_signed = strict.decode_envelope(response)["documents"][0]["issuerSigned"]
    raw_mso = strict.decode_envelope(strict.decode_envelope(issuer_signed["issuerAuth"][2]).value)
    assert raw_mso["validityInfo"] == {
        "signed": CBORTag(0, "2020-10-01T13:30:02Z"),
        "validFrom": CBORTag(0, "2020-10-01T13:30:02Z"),
        "validUntil": CBORTag(0, "2021-10-01T13:30:02Z"),
    }
    items = {cbor2.loads(t.value)["elementIdentifier"]: t.value for t in issuer_signed["nameSpaces"][MDL_NAMESPACE]}
    assert strict.decode_envelope(items["issue_date"])["elementValue"] == CBORTag(1004, "2019-10-20")
