"""A forged or altered credential is always refused, with the code that names what was altered."""

from __future__ import annotations

import cbor2
import pytest
from cbor2 import CBORTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edl.credentials import MDL_DOCTYPE, MDL_NAMESPACE, ErrorCode, device_response, verify_mdoc
from edl.pki import AuthorityProfile
from edl.pki.profiles import ds_builder, iaca_builder
from tests.unit.credentials.builders import NOW, Pki, issue, make_pki, resign

_PKI = make_pki()
_ISSUED = issue(_PKI, {MDL_NAMESPACE: {"family_name": "王", "document_number": "1201", "age_over_18": True}})
_RESPONSE = device_response([(MDL_DOCTYPE, _ISSUED)])


def _codes(data: bytes, pki: Pki = _PKI) -> set[str]:
    return {e.code for e in verify_mdoc(data, [pki.root], at=NOW).errors}


def _items(doc: dict) -> list[CBORTag]:  # type: ignore[type-arg]
    items: list[CBORTag] = doc["nameSpaces"][MDL_NAMESPACE]
    return items


def test_untouched_credential_is_valid() -> None:
    assert verify_mdoc(_RESPONSE, [_PKI.root], at=NOW).valid


def test_changed_claim_value_is_digest_mismatch() -> None:
    doc = cbor2.loads(_ISSUED)
    for index, tagged in enumerate(_items(doc)):
        item = cbor2.loads(tagged.value)
        if item["elementIdentifier"] == "age_over_18":
            item["elementValue"] = False
            _items(doc)[index] = CBORTag(24, cbor2.dumps(item))
    assert _codes(cbor2.dumps(doc)) == {ErrorCode.DIGEST_MISMATCH}


def test_claim_moved_to_another_digest_id_is_refused() -> None:
    doc = cbor2.loads(_ISSUED)
    first, second = (cbor2.loads(t.value) for t in _items(doc)[:2])
    first["digestID"] = second["digestID"]
    _items(doc)[0] = CBORTag(24, cbor2.dumps(first))
    assert not verify_mdoc(cbor2.dumps(doc), [_PKI.root], at=NOW).valid


def test_changed_digest_in_mso_is_signature_invalid() -> None:
    doc = cbor2.loads(_ISSUED)
    payload = doc["issuerAuth"][2]
    mso = cbor2.loads(cbor2.loads(payload).value)
    digest_id = next(iter(mso["valueDigests"][MDL_NAMESPACE]))
    old = mso["valueDigests"][MDL_NAMESPACE][digest_id]
    doc["issuerAuth"][2] = payload.replace(old, bytes(b ^ 0xFF for b in old))
    # The signature no longer covers the MSO, and the item no longer matches the altered digest.
    assert _codes(cbor2.dumps(doc)) == {ErrorCode.SIGNATURE_INVALID, ErrorCode.DIGEST_MISMATCH}


def test_extended_validity_without_the_issuer_is_signature_invalid() -> None:
    doc = cbor2.loads(_ISSUED)
    doc["issuerAuth"][2] = doc["issuerAuth"][2].replace(b"2026-04-14T12:00:00Z", b"2036-04-14T12:00:00Z")
    assert _codes(cbor2.dumps(doc)) == {ErrorCode.SIGNATURE_INVALID}


def test_altered_signature_is_signature_invalid() -> None:
    doc = cbor2.loads(_ISSUED)
    signature = bytearray(doc["issuerAuth"][3])
    signature[10] ^= 0x01
    doc["issuerAuth"][3] = bytes(signature)
    assert _codes(cbor2.dumps(doc)) == {ErrorCode.SIGNATURE_INVALID}


def test_certificate_of_another_signer_is_signature_invalid() -> None:
    rotated = _PKI.new_signer()
    doc = cbor2.loads(_ISSUED)
    doc["issuerAuth"][1][33] = rotated.certificate.public_bytes(serialization.Encoding.DER)
    assert _codes(cbor2.dumps(doc)) == {ErrorCode.SIGNATURE_INVALID}


def test_self_made_signer_certificate_is_chain_untrusted() -> None:
    """A forger who copies the authority's names into their own CA and DS still fails."""
    forger_root_key = ec.generate_private_key(ec.SECP256R1())
    profile = AuthorityProfile(common_name="Test IACA")  # same subject as the real root
    root = iaca_builder(forger_root_key.public_key(), profile, NOW).sign(forger_root_key, hashes.SHA256())
    ds_key = ec.generate_private_key(ec.SECP256R1())
    ds = ds_builder(ds_key.public_key(), root, profile, NOW, "1").sign(forger_root_key, hashes.SHA256())
    forged = resign(_ISSUED, ds_key, unprotected=lambda h: h.update({33: ds.public_bytes(serialization.Encoding.DER)}))
    assert _codes(forged) == {ErrorCode.CHAIN_UNTRUSTED}


def test_corrupted_certificate_is_refused() -> None:
    doc = cbor2.loads(_ISSUED)
    cert = bytearray(doc["issuerAuth"][1][33])
    cert[len(cert) // 2] ^= 0x01
    doc["issuerAuth"][1][33] = bytes(cert)
    assert _codes(cbor2.dumps(doc)) & {ErrorCode.CHAIN_UNTRUSTED, ErrorCode.MALFORMED}
    assert not verify_mdoc(cbor2.dumps(doc), [_PKI.root], at=NOW).valid


def test_mso_from_another_credential_is_refused() -> None:
    other = cbor2.loads(
        issue(_PKI, {MDL_NAMESPACE: {"family_name": "赵", "document_number": "9", "age_over_18": False}})
    )
    doc = cbor2.loads(_ISSUED)
    doc["issuerAuth"] = other["issuerAuth"]  # validly signed, but for other items
    assert _codes(cbor2.dumps(doc)) == {ErrorCode.DIGEST_MISMATCH}


@pytest.mark.parametrize("target", [_ISSUED, _RESPONSE], ids=["issuer_signed", "device_response"])
@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_flipped_deleted_or_inserted_byte_is_never_valid(target: bytes, data: st.DataObject) -> None:
    operation = data.draw(st.sampled_from(["flip", "delete", "insert"]))
    position = data.draw(st.integers(min_value=0, max_value=len(target) - (0 if operation == "insert" else 1)))
    if operation == "flip":
        mask = data.draw(st.integers(min_value=1, max_value=255))
        altered = target[:position] + bytes([target[position] ^ mask]) + target[position + 1 :]
    elif operation == "delete":
        altered = target[:position] + target[position + 1 :]
    else:
        extra = data.draw(st.binary(min_size=1, max_size=3))
        altered = target[:position] + extra + target[position:]
    result = verify_mdoc(altered, [_PKI.root], at=NOW)
    assert not result.valid, (operation, position)
    assert result.errors
    assert result.claims == {}


def test_certificate_with_a_negative_serial_is_malformed() -> None:
    doc = cbor2.loads(_ISSUED)
    der = bytearray(doc["issuerAuth"][1][33])
    serial = _PKI.ds.serial_number.to_bytes((_PKI.ds.serial_number.bit_length() + 8) // 8, "big")
    at = der.index(b"\x02" + bytes([len(serial)]) + serial) + 2
    der[at] |= 0x80  # the DER INTEGER becomes negative: forbidden by RFC 5280
    doc["issuerAuth"][1][33] = bytes(der)
    assert _codes(cbor2.dumps(doc)) == {ErrorCode.MALFORMED}


def test_x5chain_label_written_as_a_simple_value_is_malformed() -> None:
    """cbor2 decodes simple(33) equal to 33; an altered header label must not name x5chain."""
    marker = b"\xa1\x18\x21"  # unprotected header {33: ...}
    assert _ISSUED.count(marker) == 1
    altered = _ISSUED.replace(marker, b"\xa1\xf8\x21")
    assert _codes(altered) == {ErrorCode.MALFORMED}


def test_certificate_signature_with_unused_bits_is_malformed() -> None:
    """Same signature bytes, but a BIT STRING declaring an unused bit: another encoding of the cert."""
    doc = cbor2.loads(_ISSUED)
    der = bytearray(doc["issuerAuth"][1][33])
    der[-len(_PKI.ds.signature) - 1] = 1  # (an odd last byte would even make it invalid DER: malformed too)
    doc["issuerAuth"][1][33] = bytes(der)
    assert _codes(cbor2.dumps(doc)) == {ErrorCode.MALFORMED}
