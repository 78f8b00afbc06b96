"""Signed service objects (the status list, the trust bundle): a COSE_Sign1 by a service signer, made and checked.

A service object is a tagged COSE_Sign1 (tag 18, no CWT tag 61) signed ES256 by a service signer (its own key,
certified by the IACA with the EKU of its role, `edl.pki.profiles`), protected ``{1: -7, 16: typ, 33: x5chain}``,
with a CBOR payload. `verify_service_object` reads it with the one COSE_Sign1 reader (`edl.credentials.cose`,
`SERVICE_RULES`), checks the signature with the x5chain leaf's P-256 key, the leaf's chain to a trusted root with
the role's EKU (`TrustStore.validate_service`), and decodes the payload strictly. See docs/status-and-trust.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import cbor2
from cbor2 import CBORTag
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ObjectIdentifier

import edl.credentials.cbor as cbor
from edl.credentials.cache import VerificationCache
from edl.credentials.cose import (
    COSE_SIGN1_TAG,
    ES256,
    HEADER_ALG,
    HEADER_TYP,
    HEADER_X5CHAIN,
    SERVICE_RULES,
    CoseFormatError,
    decode_sign1,
    sig_structure,
    verify_signature,
)
from edl.credentials.errors import IssuanceError
from edl.credentials.result import SignerInfo
from edl.credentials.structure import Refusal, parse_certificates
from edl.pki.errors import ChainValidationError
from edl.pki.signer import Signer
from edl.pki.trust import TrustStore, trust_store

MAX_SERVICE_OBJECT_BYTES: Final = 8 * 1024 * 1024
"""Largest service object accepted by default (before anything is decoded)."""


def sign_service_object(payload: object, signer: Signer, *, typ: str) -> bytes:
    """A tagged COSE_Sign1 over CBOR `payload` with protected ``{1: -7, 16: typ, 33: x5chain}``.

    The x5chain is the signer's chain (leaf first; one certificate as a byte string, RFC 9360).
    """
    ders = [c.public_bytes(serialization.Encoding.DER) for c in signer.certificate_chain]
    protected = cbor2.dumps(
        {HEADER_ALG: ES256.cose_id, HEADER_TYP: typ, HEADER_X5CHAIN: ders[0] if len(ders) == 1 else ders},
        canonical=True,
    )
    body = cbor2.dumps(payload, canonical=True)
    signature = signer.sign(sig_structure(protected, body))
    if len(signature) != 2 * ES256.size:
        raise IssuanceError("the signer did not return a raw 64-byte ES256 signature")
    return cbor2.dumps(CBORTag(COSE_SIGN1_TAG, [protected, {}, body, signature]))


class ServiceObjectError(Exception):
    """A signed service object (status list, trust bundle) was refused; the message says why."""

    def __init__(self, message: str, *, signer: SignerInfo | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.signer = signer


@dataclass(frozen=True)
class ServiceObject:
    """A verified COSE_Sign1 of a service signer: its decoded payload and who signed it."""

    payload: Any
    signer: x509.Certificate
    signer_info: SignerInfo
    chain: tuple[x509.Certificate, ...] = ()
    """The x5chain certificates (leaf first) the signer was validated with."""
    chain_der: tuple[bytes, ...] = ()
    """Their exact DER bytes."""


def verify_service_object(
    data: bytes,
    trust: TrustStore | Sequence[x509.Certificate],
    *,
    eku: ObjectIdentifier,
    typ: str,
    at: datetime,
    max_bytes: int = MAX_SERVICE_OBJECT_BYTES,
    cache: VerificationCache | None = None,
) -> ServiceObject:
    """Check a tagged COSE_Sign1 made by `sign_service_object`: shape, ``typ``, ES256, an x5chain whose leaf
    chains to a root of `trust` with `eku`, and the signature. Raises `ServiceObjectError`.

    `cache` keeps parsed certificates and headers between calls (default: the one of the `TrustStore`).
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ServiceObjectError("not bytes")
    data = bytes(data)
    if len(data) > max_bytes:
        raise ServiceObjectError(f"over {max_bytes} bytes")
    store = trust_store(trust)
    owned = cache if cache is not None else VerificationCache.of(store)
    try:
        sign1 = decode_sign1(data, SERVICE_RULES, typ=typ, cache=owned.protected)
    except CoseFormatError as exc:
        raise ServiceObjectError(exc.message) from None
    ders = sign1.x5chain
    try:
        chain = parse_certificates(ders, owned)
    except Refusal as refusal:
        raise ServiceObjectError(refusal.message) from None
    except (ValueError, x509.InvalidVersion):  # (InvalidVersion is not a ValueError)
        raise ServiceObjectError("an x5chain certificate is not a valid DER X.509 certificate") from None
    leaf = chain[0]
    try:  # (cryptography parses some fields lazily: a damaged certificate fails here, not at parse time)
        key = leaf.public_key()
        if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
            raise ServiceObjectError("the signer key is not a P-256 key (ES256)")
        verify_signature(key, ES256, sign1.to_be_signed, sign1.signature)
        info = SignerInfo.of(leaf)
    except InvalidSignature:
        raise ServiceObjectError("the signature does not verify") from None
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ServiceObjectError("the x5chain certificate cannot be read") from None
    try:
        store.validate_service(chain, ders, at, eku=eku)
    except ChainValidationError as exc:
        raise ServiceObjectError(f"signer not trusted for this role: {exc.message}", signer=info) from None
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:  # a certificate field the path builder cannot read
        raise ServiceObjectError(f"signer certificate chain cannot be read: {exc}", signer=info) from None
    try:
        decoded = cbor.decode(sign1.payload)
    except cbor.CborError as exc:
        raise ServiceObjectError(f"payload is not CBOR: {exc}", signer=info) from None
    return ServiceObject(decoded, leaf, info, chain, ders)
