"""Issuing an ISO/IEC 18013-5 mdoc (domain-agnostic): IssuerSigned and DeviceResponse.

Issuing has a prepare → sign → complete shape so a hardware signer fits between the steps:

    prepared = prepare_mdoc(doctype, namespaces, device_key, validity)
    signature = signer.sign(prepared.to_be_signed())          # raw r||s, e.g. from an HSM
    issuer_signed = complete_mdoc(prepared, signature, signer.certificate_chain)

`issue_mdoc` does the three in one call. Each data element becomes an IssuerSignedItem
``{digestID, random, elementIdentifier, elementValue}`` with a fresh 32-byte salt, wrapped as
``24(<< item >>)``; the MSO holds SHA-256 of exactly those tag-24 bytes, computed once. Maps are
written in the key order of the CDDL (as Annex D does); nothing depends on a canonical order
because the verifier hashes and checks the bytes it receives.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import cbor2
from cbor2 import CBORTag
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

import edl.credentials.cbor as cbor
from edl.credentials.cose import (
    ALGORITHMS_BY_NAME,
    HEADER_X5CHAIN,
    EcdsaAlgorithm,
    protected_header,
    sig_structure,
    verify_signature,
)
from edl.credentials.cose_key import as_public_key, cose_key
from edl.credentials.errors import IssuanceError
from edl.credentials.structure import TAG24_HEAD
from edl.pki.profiles import may_sign_at
from edl.pki.signer import Signer

MSO_VERSION: Final = "1.0"
DEVICE_RESPONSE_VERSION: Final = "1.0"
DIGEST_ALGORITHM: Final = "SHA-256"
SALT_BYTES: Final = 32

RandomBytes = Callable[[int], bytes]
DeviceKey = ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey | Mapping[int, object]
Namespaces = Mapping[str, Mapping[str, object]]


@dataclass(frozen=True)
class Validity:
    """The MSO validityInfo. Times are aware; they are truncated to whole seconds (tdate form)."""

    signed: datetime
    valid_from: datetime
    valid_until: datetime
    expected_update: datetime | None = None

    def normalised(self) -> Validity:
        """UTC, whole seconds, and checked: signed <= validFrom < validUntil."""
        signed, valid_from, valid_until = (_whole_utc(t) for t in (self.signed, self.valid_from, self.valid_until))
        expected = _whole_utc(self.expected_update) if self.expected_update else None
        if not signed <= valid_from < valid_until:
            raise IssuanceError("validity must satisfy signed <= valid_from < valid_until")
        return Validity(signed, valid_from, valid_until, expected)


def _whole_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise IssuanceError("validity times must be timezone-aware")
    return value.astimezone(UTC).replace(microsecond=0)


@dataclass(frozen=True)
class PreparedMdoc:
    """Everything of an IssuerSigned except the signature and the signer's certificates."""

    doctype: str
    algorithm: EcdsaAlgorithm
    name_spaces: Mapping[str, Sequence[CBORTag]]
    protected: bytes
    payload: bytes

    def to_be_signed(self) -> bytes:
        """The COSE Sig_structure the issuer signature must cover."""
        return sig_structure(self.protected, self.payload)


def generate_device_key() -> ec.EllipticCurvePrivateKey:
    """A fresh P-256 device key for a holder who brings none (the caller keeps the private key)."""
    return ec.generate_private_key(ec.SECP256R1())


def _random(random_bytes: RandomBytes, size: int) -> bytes:
    data = random_bytes(size)
    if not isinstance(data, bytes) or len(data) != size:
        raise IssuanceError(f"the random source must return exactly the {size} bytes asked for")
    return data


def _digest_ids(count: int, random_bytes: RandomBytes) -> list[int]:
    """0..count-1 in a random order: digest IDs then reveal nothing about the order of elements."""
    keys = _random(random_bytes, 8 * count)
    return sorted(range(count), key=lambda i: keys[8 * i : 8 * i + 8])


def _issuer_signed_items(
    elements: Mapping[str, object], random_bytes: RandomBytes
) -> tuple[list[CBORTag], dict[int, bytes]]:
    """Tag-24 items of one namespace and the SHA-256 of each, keyed by (shuffled) digest ID.

    Each item is encoded once; its digest covers ``24(<< item >>)`` as it will be sent, i.e. the
    tag head followed by the encoded byte string (computed without encoding the tag again).
    """
    count = len(elements)
    ids = _digest_ids(count, random_bytes)
    salts = _random(random_bytes, SALT_BYTES * count)
    items: list[CBORTag] = []
    digests: dict[int, bytes] = {}
    for index, (identifier, value) in enumerate(elements.items()):
        if not isinstance(identifier, str) or not identifier:
            raise IssuanceError(f"element identifier {identifier!r} must be a non-empty string")
        digest_id = ids[index]
        try:
            item = {
                "digestID": digest_id,
                "random": salts[SALT_BYTES * index : SALT_BYTES * (index + 1)],
                "elementIdentifier": identifier,
                "elementValue": cbor.to_cbor_value(value),
            }
            item_bytes = cbor2.dumps(item)  # keys in CDDL order, as in Annex D
        except (cbor2.CBOREncodeError, TypeError, ValueError) as exc:
            raise IssuanceError(f"element {identifier!r} cannot be encoded: {exc}") from None
        items.append(CBORTag(cbor.ENCODED_CBOR, item_bytes))
        digest = hashlib.sha256(TAG24_HEAD)
        digest.update(cbor2.dumps(item_bytes))
        digests[digest_id] = digest.digest()
    return items, digests


def prepare_mdoc(
    doctype: str,
    namespaces: Namespaces,
    device_key: DeviceKey,
    validity: Validity,
    *,
    algorithm: str = "ES256",
    random_bytes: RandomBytes = os.urandom,
) -> PreparedMdoc:
    """Build the items and the MSO and return what must be signed (nothing is signed here)."""
    if not isinstance(doctype, str) or not doctype:
        raise IssuanceError("doctype must be a non-empty string")
    if not namespaces:
        raise IssuanceError("an mdoc needs at least one namespace with data elements")
    alg = ALGORITHMS_BY_NAME.get(algorithm)
    if alg is None:
        raise IssuanceError(f"unsupported signature algorithm {algorithm!r}")
    try:
        device_cose_key = cose_key(as_public_key(device_key))
    except ValueError as exc:
        raise IssuanceError(f"device key: {exc}") from None
    times = validity.normalised()
    name_spaces: dict[str, list[CBORTag]] = {}
    value_digests: dict[str, dict[int, bytes]] = {}
    for namespace, elements in namespaces.items():
        if not isinstance(namespace, str) or not namespace or not elements:
            raise IssuanceError(f"namespace {namespace!r} must be a non-empty string with elements")
        name_spaces[namespace], value_digests[namespace] = _issuer_signed_items(elements, random_bytes)
    validity_info: dict[str, object] = {
        "signed": cbor.tdate(times.signed),
        "validFrom": cbor.tdate(times.valid_from),
        "validUntil": cbor.tdate(times.valid_until),
    }
    if times.expected_update is not None:
        validity_info["expectedUpdate"] = cbor.tdate(times.expected_update)
    mso = {
        "version": MSO_VERSION,
        "digestAlgorithm": DIGEST_ALGORITHM,
        "valueDigests": value_digests,
        "deviceKeyInfo": {"deviceKey": device_cose_key},
        "docType": doctype,
        "validityInfo": validity_info,
    }
    payload = cbor2.dumps(CBORTag(cbor.ENCODED_CBOR, cbor2.dumps(mso)))
    return PreparedMdoc(doctype, alg, name_spaces, protected_header(alg), payload)


def complete_mdoc(prepared: PreparedMdoc, signature: bytes, certificate_chain: Sequence[x509.Certificate]) -> bytes:
    """Assemble the encoded IssuerSigned from a prepared mdoc, its signature and the DS chain.

    The chain (leaf first) goes in the unprotected header as x5chain (label 33): one byte string
    for a single certificate, an array when there are more.
    """
    if len(signature) != 2 * prepared.algorithm.size:
        raise IssuanceError(
            f"{prepared.algorithm.name} signature must be raw r||s of {2 * prepared.algorithm.size} bytes"
        )
    if not certificate_chain:
        raise IssuanceError("the document-signer certificate is required")
    ders = [_der(c) for c in certificate_chain]
    x5chain: bytes | list[bytes] = ders[0] if len(ders) == 1 else ders
    issuer_auth = [prepared.protected, {HEADER_X5CHAIN: x5chain}, prepared.payload, signature]
    return cbor2.dumps({"nameSpaces": prepared.name_spaces, "issuerAuth": issuer_auth})


def _der(certificate: x509.Certificate) -> bytes:
    """DER of a signer certificate."""
    return certificate.public_bytes(serialization.Encoding.DER)


def issue_mdoc(
    doctype: str,
    namespaces: Namespaces,
    signer: Signer,
    device_key: DeviceKey,
    *,
    valid_from: datetime,
    valid_until: datetime,
    signed_at: datetime,
    expected_update: datetime | None = None,
    random_bytes: RandomBytes = os.urandom,
) -> bytes:
    """Issue an mdoc and return its encoded IssuerSigned.

    `namespaces` maps namespace → element identifier → value (str, int, bool, bytes, `date` as
    full-date, aware `datetime` as tdate, lists and maps of those). The signer must be allowed to
    sign at `signed_at`, and its certificate must outlast `valid_until`: a credential that would
    outlive its signer cannot verify, so it is refused here rather than later.
    """
    certificate = signer.certificate
    if not may_sign_at(certificate, _whole_utc(signed_at)):
        raise IssuanceError(
            f"signer {signer.key_id} may not sign at {signed_at.isoformat()} "
            "(outside its certificate validity or key usage period)"
        )
    if _whole_utc(valid_until) > certificate.not_valid_after_utc:
        raise IssuanceError(
            f"valid_until {valid_until.isoformat()} is after the signer certificate expires "
            f"({certificate.not_valid_after_utc.isoformat()})"
        )
    validity = Validity(signed_at, valid_from, valid_until, expected_update)
    prepared = prepare_mdoc(
        doctype, namespaces, device_key, validity, algorithm=signer.algorithm, random_bytes=random_bytes
    )
    to_be_signed = prepared.to_be_signed()
    signature = signer.sign(to_be_signed)
    _check_own_signature(certificate, prepared.algorithm, to_be_signed, signature)
    return complete_mdoc(prepared, signature, signer.certificate_chain)


def _check_own_signature(
    certificate: x509.Certificate, algorithm: EcdsaAlgorithm, to_be_signed: bytes, signature: bytes
) -> None:
    """Verify a fresh signature before it leaves: catches a signer whose key does not match its
    certificate or algorithm, and faulty signatures (a faulted ECDSA signature can leak the key)."""
    public_key = certificate.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        raise IssuanceError("the signer certificate does not hold an EC key")
    try:
        verify_signature(public_key, algorithm, to_be_signed, signature)
    except (InvalidSignature, ValueError):
        raise IssuanceError(
            "the signer produced a signature its certificate does not verify; nothing was issued"
        ) from None


def issue_mdoc_with_new_device_key(
    doctype: str,
    namespaces: Namespaces,
    signer: Signer,
    *,
    valid_from: datetime,
    valid_until: datetime,
    signed_at: datetime,
    random_bytes: RandomBytes = os.urandom,
) -> tuple[bytes, ec.EllipticCurvePrivateKey]:
    """`issue_mdoc` for a holder without a device key: returns the IssuerSigned and the new key."""
    key = generate_device_key()
    issued = issue_mdoc(
        doctype,
        namespaces,
        signer,
        key.public_key(),
        valid_from=valid_from,
        valid_until=valid_until,
        signed_at=signed_at,
        random_bytes=random_bytes,
    )
    return issued, key


class EncodedCbor:
    """CBOR bytes already produced by cbor2 (and checked), written as they are into an enclosing item."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


def write_encoded(encoder: cbor2.CBOREncoder, value: EncodedCbor) -> None:
    encoder.write(value.data)


def check_issuer_signed(issuer_signed: bytes) -> None:
    """Refuse (`IssuanceError`) bytes that are not one strict CBOR map with an issuerAuth."""
    try:
        decoded = cbor.decode(issuer_signed)
    except cbor.CborError as exc:
        raise IssuanceError(f"not an encoded IssuerSigned: {exc}") from None
    if not isinstance(decoded, dict) or "issuerAuth" not in decoded:
        raise IssuanceError("not an encoded IssuerSigned: no issuerAuth")


def device_response(documents: Iterable[tuple[str, bytes]]) -> bytes:
    """A DeviceResponse ``{"version": "1.0", "documents": [...], "status": 0}`` for export.

    `documents` are ``(doctype, issuer_signed_bytes)`` pairs as `issue_mdoc` returns them. Each
    IssuerSigned is checked (one strict CBOR map with an issuerAuth) and then embedded byte for
    byte, so its hashed and signed parts are exactly what was issued.
    """
    docs = []
    for doctype, issuer_signed in documents:
        check_issuer_signed(issuer_signed)
        if not isinstance(doctype, str) or not doctype:
            raise IssuanceError("doctype must be a non-empty string")
        docs.append({"docType": doctype, "issuerSigned": EncodedCbor(issuer_signed)})
    if not docs:
        raise IssuanceError("a DeviceResponse needs at least one document")
    response = {"version": DEVICE_RESPONSE_VERSION, "documents": docs, "status": 0}
    return cbor2.dumps(response, encoders={EncodedCbor: write_encoded})
