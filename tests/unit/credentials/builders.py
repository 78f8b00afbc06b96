"""Small factories for credential tests: an in-memory PKI, sample mDL data, and a re-signer.

The PKI here never touches the disk (the file store has its own tests); it is built with the
same certificate profiles as the real authority.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import cbor2
from cbor2 import CBORTag
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from edl.credentials import MDL_DOCTYPE, MDL_NAMESPACE, device_response, issue_mdoc
from edl.credentials.cose import sig_structure
from edl.pki import AuthorityProfile, PrivateKeySigner
from edl.pki.profiles import ds_builder, iaca_builder, key_id_of

NOW = datetime(2026, 3, 15, 12, 0, 0, tzinfo=UTC)
"""The fixed 'current time' of credential tests."""


@dataclass(frozen=True)
class Pki:
    """An IACA root and one document signer, in memory."""

    root: x509.Certificate
    root_key: ec.EllipticCurvePrivateKey
    ds: x509.Certificate
    ds_key: ec.EllipticCurvePrivateKey

    @property
    def signer(self) -> PrivateKeySigner:
        return PrivateKeySigner(self.ds_key, [self.ds], key_id_of(self.ds))

    @property
    def ds_der(self) -> bytes:
        return self.ds.public_bytes(serialization.Encoding.DER)

    def new_signer(self, at: datetime = NOW) -> PrivateKeySigner:
        """Another DS under the same root (as after a rotation)."""
        key = ec.generate_private_key(ec.SECP256R1())
        builder = ds_builder(key.public_key(), self.root, AuthorityProfile(), at - timedelta(days=1), "2")
        cert = builder.sign(self.root_key, hashes.SHA256())
        return PrivateKeySigner(key, [cert], key_id_of(cert))


def make_pki(at: datetime = NOW, common_name: str = "Test IACA") -> Pki:
    profile = AuthorityProfile(common_name=common_name)
    start = at - timedelta(days=1)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = iaca_builder(root_key.public_key(), profile, start).sign(root_key, hashes.SHA256())
    ds_key = ec.generate_private_key(ec.SECP256R1())
    ds = ds_builder(ds_key.public_key(), root, profile, start, "1").sign(root_key, hashes.SHA256())
    return Pki(root, root_key, ds, ds_key)


def jpeg(size: int = 20_000) -> bytes:
    """Random bytes in a JPEG wrapper (SOI ... EOI), like a portrait of `size` bytes."""
    return b"\xff\xd8\xff\xe0" + os.urandom(size - 6) + b"\xff\xd9"


def mdl_namespaces(portrait_size: int = 2_000) -> dict[str, dict[str, object]]:
    """A realistic mDL (15 elements) in the ISO namespace."""
    return {
        MDL_NAMESPACE: {
            "family_name": "张",
            "given_name": "三",
            "birth_date": date(1990, 5, 17),
            "issue_date": date(2021, 3, 1),
            "expiry_date": date(2031, 3, 1),
            "issuing_country": "CN",
            "issuing_authority": "天津市公安局交通警察总队",
            "document_number": "120101199005171234",
            "portrait": jpeg(portrait_size),
            "driving_privileges": [
                {"vehicle_category_code": "C1", "issue_date": date(2015, 3, 1), "expiry_date": date(2031, 3, 1)}
            ],
            "un_distinguishing_sign": "CHN",
            "sex": 1,
            "age_over_18": True,
            "nationality": "CN",
            "resident_address": "天津市和平区南京路100号",
        }
    }


def issue(
    pki: Pki,
    namespaces: dict[str, dict[str, object]] | None = None,
    *,
    at: datetime = NOW,
    days: float = 30,
    doctype: str = MDL_DOCTYPE,
) -> bytes:
    """An IssuerSigned signed by `pki`, valid from `at` for `days`."""
    return issue_mdoc(
        doctype,
        namespaces or mdl_namespaces(),
        pki.signer,
        ec.generate_private_key(ec.SECP256R1()).public_key(),
        valid_from=at,
        valid_until=at + timedelta(days=days),
        signed_at=at,
    )


def response(pki: Pki, **kwargs: Any) -> bytes:
    """A DeviceResponse with one document issued by `pki`."""
    return device_response([(kwargs.get("doctype", MDL_DOCTYPE), issue(pki, **kwargs))])


def raw_signature(key: ec.EllipticCurvePrivateKey, data: bytes, hash_alg: hashes.HashAlgorithm | None = None) -> bytes:
    size = (key.curve.key_size + 7) // 8
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hash_alg or hashes.SHA256())))
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def resign(
    issuer_signed: bytes,
    key: ec.EllipticCurvePrivateKey,
    *,
    mso: Callable[[dict[Any, Any]], None] | None = None,
    protected: bytes | None = None,
    unprotected: Callable[[dict[Any, Any]], None] | None = None,
    mso_bytes: Callable[[bytes], bytes] | None = None,
) -> bytes:
    """Decode an IssuerSigned, let callbacks change its MSO or headers, and sign it again with `key`.

    This is how tests reach checks that sit behind a valid signature (an issuer's own mistakes).
    """
    doc = cbor2.loads(issuer_signed)
    prot, unprot, payload, _sig = doc["issuerAuth"]
    inner = cbor2.loads(payload).value
    if mso is not None:
        decoded = cbor2.loads(
            inner, semantic_decoders={0: lambda v, i: CBORTag(0, v), 1004: lambda v, i: CBORTag(1004, v)}
        )
        mso(decoded)
        inner = cbor2.dumps(decoded)
    if mso_bytes is not None:
        inner = mso_bytes(inner)
    payload = cbor2.dumps(CBORTag(24, inner))
    if protected is not None:
        prot = protected
    if unprotected is not None:
        unprotected(unprot)
    hash_alg = {32: hashes.SHA256(), 48: hashes.SHA384(), 66: hashes.SHA512()}[(key.curve.key_size + 7) // 8]
    signature = raw_signature(key, sig_structure(prot, payload), hash_alg)
    doc["issuerAuth"] = [prot, unprot, payload, signature]
    return cbor2.dumps(doc)


def item_digest(tagged_item_bytes: bytes) -> bytes:
    return hashlib.sha256(tagged_item_bytes).digest()


def reissue(
    template: x509.Certificate,
    issuer: x509.Certificate,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    not_after: datetime | None = None,
    public_key: ec.EllipticCurvePublicKey | None = None,
    subject: x509.Name | None = None,
) -> x509.Certificate:
    """A copy of `template` (subject, serial, validity, key and extensions unless given) issued by `issuer`
    with `issuer_key`: the look-alikes and variants the trust tests need."""
    key = public_key or template.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject or template.subject)
        .issuer_name(issuer.subject)
        .public_key(key)
        .serial_number(template.serial_number)
        .not_valid_before(template.not_valid_before_utc)
        .not_valid_after(not_after or template.not_valid_after_utc)
    )
    for extension in template.extensions:
        value = extension.value
        if isinstance(value, x509.AuthorityKeyIdentifier):
            value = x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key())
        elif isinstance(value, x509.SubjectKeyIdentifier):
            value = x509.SubjectKeyIdentifier.from_public_key(key)
        builder = builder.add_extension(value, extension.critical)
    return builder.sign(issuer_key, hashes.SHA256())
