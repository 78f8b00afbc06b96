"""The signed trust bundle (``GET /.well-known/edl/trust``): build and verify.

One COSE_Sign1 (tag 18) signed ES256 by the trust-list signer (its own key, certified by the IACA
with the trust-list EKU), protected ``{1: -7, 16: TYP, 33: x5chain}``, whose payload is a CBOR map::

    {"version": uint,            monotonic: a verifier never installs a lower one
     "iat": uint,                seconds since the epoch
     "max_age": uint,            seconds (at most 86400): older than iat + max_age is refused
     "root": bstr,               DER of the IACA root (the trust anchor; must equal the installed one)
     "signers": [{"certificate": bstr DER, "kid": bstr 8, "not_before": uint, "not_after": uint}, ...],
     "status_list": {"uri": tstr}}

``kid`` is the first 8 bytes of SHA-256 of the certificate's DER (the 亮码's kid). The bundle is
checked against a root the verifier already has (`verify_trust_bundle`): a bundle cannot install a
new root. See docs/status-and-trust.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from edl.credentials.errors import IssuanceError
from edl.credentials.result import SignerInfo
from edl.credentials.service_object import ServiceObjectError, sign_service_object, verify_service_object
from edl.credentials.structure import Refusal, parse_certificates
from edl.pki.errors import ChainValidationError
from edl.pki.profiles import TRUST_LIST_SIGNING_EKU
from edl.pki.signer import Signer
from edl.pki.trust import trust_store

TYP: Final = "application/edl-trust+cbor"
"""COSE ``typ`` (16) of a trust bundle (so no other signed object of ours can pass for one)."""
CONTENT_TYPE: Final = "application/cose"
MAX_AGE: Final = 86400
MAX_BUNDLE_BYTES: Final = 4 * 1024 * 1024
KID_BYTES: Final = 8
DEFAULT_LEEWAY: Final = timedelta(seconds=60)

_KEYS: Final = frozenset({"version", "iat", "max_age", "root", "signers", "status_list"})
_SIGNER_KEYS: Final = frozenset({"certificate", "kid", "not_before", "not_after"})


class TrustBundleError(Exception):
    """A trust bundle was refused; the message says why in words a person can act on."""


@dataclass(frozen=True)
class BundleSigner:
    """A document-signer certificate listed in a bundle."""

    certificate: x509.Certificate
    der: bytes
    kid: bytes
    not_before: datetime
    not_after: datetime


@dataclass(frozen=True)
class TrustBundle:
    """A verified trust bundle."""

    version: int
    iat: datetime
    max_age: int
    root: x509.Certificate
    signers: tuple[BundleSigner, ...]
    status_list_uri: str
    signed_by: SignerInfo

    @property
    def expires_at(self) -> datetime:
        return self.iat + timedelta(seconds=self.max_age)


def kid_of_der(der: bytes) -> bytes:
    """First 8 bytes of SHA-256 of a certificate's DER (the same rule as the 亮码's kid)."""
    return hashlib.sha256(der).digest()[:KID_BYTES]


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def build_trust_bundle(
    *,
    version: int,
    root: x509.Certificate,
    signers: Sequence[x509.Certificate],
    status_list_uri: str,
    signer: Signer,
    iat: datetime,
    max_age: int = MAX_AGE,
) -> bytes:
    """Sign a trust bundle with the trust-list `signer`. Raises `IssuanceError`."""
    if type(version) is not int or version < 1:
        raise IssuanceError("the bundle version is a positive integer")
    if type(max_age) is not int or not 0 < max_age <= MAX_AGE:
        raise IssuanceError(f"max_age must be 1..{MAX_AGE} seconds")
    if iat.tzinfo is None:
        raise IssuanceError("iat must be timezone-aware")
    entries = []
    for cert in signers:
        der = _der(cert)
        entries.append(
            {
                "certificate": der,
                "kid": kid_of_der(der),
                "not_before": int(cert.not_valid_before_utc.timestamp()),
                "not_after": int(cert.not_valid_after_utc.timestamp()),
            }
        )
    payload = {
        "version": version,
        "iat": int(iat.timestamp()),
        "max_age": max_age,
        "root": _der(root),
        "signers": entries,
        "status_list": {"uri": status_list_uri},
    }
    return sign_service_object(payload, signer, typ=TYP)


def _uint(value: object, name: str) -> int:
    if type(value) is not int or value < 0:
        raise TrustBundleError(f"trust bundle {name} is missing or not an unsigned integer")
    return value


def _epoch(seconds: int, name: str) -> datetime:
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise TrustBundleError(f"trust bundle {name} is out of range") from None


def _signer_entry(entry: object, root: x509.Certificate, position: int) -> BundleSigner:
    if not isinstance(entry, Mapping) or set(entry) != _SIGNER_KEYS:
        raise TrustBundleError(f"trust bundle signers[{position}] is not a map of {sorted(_SIGNER_KEYS)}")
    der, kid = entry["certificate"], entry["kid"]
    if type(der) is not bytes or type(kid) is not bytes:
        raise TrustBundleError(f"trust bundle signers[{position}] certificate and kid must be byte strings")
    try:
        (cert,) = parse_certificates((der,))
    except Refusal as refusal:
        raise TrustBundleError(f"trust bundle signers[{position}]: {refusal.message}") from None
    except (ValueError, x509.InvalidVersion):
        raise TrustBundleError(f"trust bundle signers[{position}] is not a DER X.509 certificate") from None
    if kid != kid_of_der(der):
        raise TrustBundleError(f"trust bundle signers[{position}] kid is not SHA-256(certificate)[:8]")
    not_before = _epoch(_uint(entry["not_before"], "not_before"), "not_before")
    not_after = _epoch(_uint(entry["not_after"], "not_after"), "not_after")
    if (not_before, not_after) != (cert.not_valid_before_utc, cert.not_valid_after_utc):
        raise TrustBundleError(f"trust bundle signers[{position}] validity differs from its certificate")
    try:  # a listed signer must be a document signer of this root (judged inside its own validity)
        trust_store([root]).validate([cert], [der], cert.not_valid_before_utc)
    except ChainValidationError as exc:
        raise TrustBundleError(
            f"trust bundle signers[{position}] is not a document signer of the root: {exc}"
        ) from None
    return BundleSigner(cert, der, kid, not_before, not_after)


def parse_bundle_payload(payload: object, installed_root: x509.Certificate) -> dict[str, Any]:
    """The checked fields of a bundle payload (`TrustBundle` without who signed it)."""
    if not isinstance(payload, Mapping) or set(payload) != _KEYS:
        raise TrustBundleError(f"trust bundle payload is not a map of exactly {sorted(_KEYS)}")
    version = _uint(payload["version"], "version")
    if version < 1:
        raise TrustBundleError("trust bundle version must be at least 1")
    iat = _epoch(_uint(payload["iat"], "iat"), "iat")
    max_age = _uint(payload["max_age"], "max_age")
    if not 0 < max_age <= MAX_AGE:
        raise TrustBundleError(f"trust bundle max_age must be 1..{MAX_AGE} seconds")
    if type(payload["root"]) is not bytes:
        raise TrustBundleError("trust bundle root is not a byte string")
    if payload["root"] != _der(installed_root):
        raise TrustBundleError("the bundle's root differs from the installed root; a bundle never replaces a root")
    signers = payload["signers"]
    if not isinstance(signers, list | tuple):
        raise TrustBundleError("trust bundle signers is not an array")
    entries = tuple(_signer_entry(e, installed_root, i) for i, e in enumerate(signers))
    status_list = payload["status_list"]
    if not isinstance(status_list, Mapping) or set(status_list) != {"uri"} or type(status_list["uri"]) is not str:
        raise TrustBundleError('trust bundle status_list is not {"uri": text}')
    return {
        "version": version,
        "iat": iat,
        "max_age": max_age,
        "signers": entries,
        "status_list_uri": status_list["uri"],
    }


def verify_trust_bundle(
    data: bytes, installed_root: x509.Certificate, *, at: datetime, leeway: timedelta = DEFAULT_LEEWAY
) -> TrustBundle:
    """Verify a trust bundle against the root the verifier already has installed, at `at`.

    Refuses (`TrustBundleError`) a bundle that is not exactly the format above, not signed by a trust-list
    signer of `installed_root`, whose root differs from it, issued in the future, or older than its max age.
    The caller also refuses a version lower than the one it has installed.
    """
    if at.tzinfo is None:
        raise ValueError("the verification time must be timezone-aware")
    try:
        signed = verify_service_object(
            data, [installed_root], eku=TRUST_LIST_SIGNING_EKU, typ=TYP, at=at, max_bytes=MAX_BUNDLE_BYTES
        )
    except ServiceObjectError as exc:
        raise TrustBundleError(f"trust bundle refused: {exc.message}") from None
    fields = parse_bundle_payload(signed.payload, installed_root)
    iat: datetime = fields["iat"]
    if iat > at + leeway:
        raise TrustBundleError(f"trust bundle issued in the future ({iat.isoformat()}); check the clock")
    if at > iat + timedelta(seconds=fields["max_age"]):
        raise TrustBundleError(
            f"trust bundle issued at {iat.isoformat()} is older than its max age of {fields['max_age']} s"
        )
    return TrustBundle(root=installed_root, signed_by=signed.signer_info, **fields)
