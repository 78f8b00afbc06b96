"""Trust anchors and document-signer chain validation under the ISO/IEC 18013-5 profile.

Chains are validated by cryptography's own path builder (`PolicyBuilder`, an explicit `Store` and
an explicit time) with custom extension policies for the 18013-5 profile instead of the web-PKI
defaults:

* leaf (DS): KeyUsage with digitalSignature (critical), ExtendedKeyUsage containing
  1.0.18013.5.1.2 (critical), and not a CA;
* CA certificates: BasicConstraints cA (critical) and KeyUsage with keyCertSign (critical).

On top of that the chain must have at least two certificates (a DS cannot be its own anchor) and
the anchor must itself be a CA with keyCertSign; roots that are not are dropped from the store.

Service signers (status list, trust list: `TrustStore.validate_service`) have a policy of their
own: KeyUsage digitalSignature (critical), ExtendedKeyUsage containing the role's EKU (critical),
not a CA. A DS certificate is never accepted as a service signer, nor the reverse.

Successful validations are cached per (chain DER, store): a later call only re-checks the validity
windows of the cached path at its own time (the rest of path validation does not depend on time);
when that fails the full validation runs again and reports why. Failures are never cached. A hit
needs the byte-identical chain (DER is the key, and the leaf passed must equal the cached one), in
the same store: another store, even for the same roots, starts with its own empty cache.

A store is also the owner of what the layers above cache for verifications against it (`TrustStore.cache`: e.g.
`edl.credentials.cache.VerificationCache`, parsed signer certificates and headers): a verifier keeps one store for
as long as its roots do not change, and a new store starts cold. Nothing is cached at module level.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar, cast

from cryptography import x509
from cryptography.x509.oid import ObjectIdentifier
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    Policy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from edl.pki.errors import ChainValidationError
from edl.pki.files import read_at_most
from edl.pki.profiles import MDL_DS_EKU

CHAIN_UNTRUSTED = "chain_untrusted"
CERTIFICATE_EXPIRED = "certificate_expired"
CERTIFICATE_NOT_YET_VALID = "certificate_not_yet_valid"

_CACHE_SIZE = 256
_C = TypeVar("_C")
MAX_PEM_FILE_BYTES = 1024 * 1024
"""Largest PEM file `load_trust_roots` reads: a certificate is about 1 KB, so room for hundreds of them."""


def _ds_key_usage(_policy: Policy, _cert: x509.Certificate, ku: x509.KeyUsage) -> None:
    if not ku.digital_signature:
        raise ValueError("document signer KeyUsage lacks digitalSignature")


def _ds_eku(_policy: Policy, _cert: x509.Certificate, eku: x509.ExtendedKeyUsage) -> None:
    if MDL_DS_EKU not in eku:
        raise ValueError("document signer lacks ExtendedKeyUsage 1.0.18013.5.1.2 (mdlDS)")


def _ds_not_ca(_policy: Policy, _cert: x509.Certificate, bc: x509.BasicConstraints | None) -> None:
    if bc is not None and bc.ca:
        raise ValueError("a CA certificate cannot sign credentials")


def _ca_basic_constraints(_policy: Policy, _cert: x509.Certificate, bc: x509.BasicConstraints) -> None:
    if not bc.ca:
        raise ValueError("issuer certificate is not a CA")


def _ca_key_usage(_policy: Policy, _cert: x509.Certificate, ku: x509.KeyUsage) -> None:
    if not ku.key_cert_sign:
        raise ValueError("issuer certificate KeyUsage lacks keyCertSign")


def _ca_policy() -> ExtensionPolicy:
    return (
        ExtensionPolicy.permit_all()
        .require_present(x509.BasicConstraints, Criticality.CRITICAL, _ca_basic_constraints)
        .require_present(x509.KeyUsage, Criticality.CRITICAL, _ca_key_usage)
    )


def _ds_policy() -> ExtensionPolicy:
    return (
        ExtensionPolicy.permit_all()
        .require_present(x509.KeyUsage, Criticality.CRITICAL, _ds_key_usage)
        .require_present(x509.ExtendedKeyUsage, Criticality.CRITICAL, _ds_eku)
        .may_be_present(x509.BasicConstraints, Criticality.AGNOSTIC, _ds_not_ca)
    )


def _service_policy(eku_oid: ObjectIdentifier) -> ExtensionPolicy:
    def _service_key_usage(_policy: Policy, _cert: x509.Certificate, ku: x509.KeyUsage) -> None:
        if not ku.digital_signature:
            raise ValueError("service signer KeyUsage lacks digitalSignature")

    def _service_eku(_policy: Policy, _cert: x509.Certificate, eku: x509.ExtendedKeyUsage) -> None:
        if eku_oid not in eku:
            raise ValueError(f"signer lacks ExtendedKeyUsage {eku_oid.dotted_string} for this role")

    return (
        ExtensionPolicy.permit_all()
        .require_present(x509.KeyUsage, Criticality.CRITICAL, _service_key_usage)
        .require_present(x509.ExtendedKeyUsage, Criticality.CRITICAL, _service_eku)
        .may_be_present(x509.BasicConstraints, Criticality.AGNOSTIC, _ds_not_ca)
    )


def is_ca_anchor(cert: x509.Certificate) -> bool:
    """Whether `cert` may act as a trust anchor: a CA whose KeyUsage allows keyCertSign."""
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except (x509.ExtensionNotFound, ValueError):
        return False
    return bc.ca and ku.key_cert_sign


class _VerifiedPath:
    """A path that passed every time-independent check, with the validity window of each certificate."""

    __slots__ = ("path", "windows")

    def __init__(self, path: tuple[x509.Certificate, ...]) -> None:
        self.path = path
        self.windows = tuple((c.not_valid_before_utc, c.not_valid_after_utc) for c in path)

    def valid_at(self, at: datetime) -> bool:
        return all(not_before <= at <= not_after for not_before, not_after in self.windows)


def _same(a: x509.Certificate, b: x509.Certificate) -> bool:
    return a is b or a == b  # (certificates compare by their DER)


class TrustStore:
    """A fixed set of IACA roots, and validation of document-signer chains against them.

    Each store keeps its own cache of validated chains, keyed by the exact DER bytes of the
    presented chain: a hit needs byte-identical certificates, and another store (other roots)
    never sees this store's entries.
    """

    def __init__(self, roots: Sequence[x509.Certificate]) -> None:
        self._roots = tuple(r for r in roots if is_ca_anchor(r))
        self._store = Store(list(self._roots)) if self._roots else None
        self._ca_policy = _ca_policy()
        self._ds_policy = _ds_policy()
        self._verified: OrderedDict[tuple[bytes, ...], _VerifiedPath] = OrderedDict()
        self._lock = threading.Lock()
        self._service_policies: dict[ObjectIdentifier, ExtensionPolicy] = {}
        self._service_verified: OrderedDict[tuple[str, tuple[bytes, ...]], _VerifiedPath] = OrderedDict()
        self._caches: dict[Callable[[], object], object] = {}

    def cache(self, kind: Callable[[], _C]) -> _C:
        """This store's own `kind()` (made on first use, then the same object for the store's lifetime).

        Where the layers above keep what they cache for verifications against this store (the credential core's
        `VerificationCache`, the offline verifier's status lists): the store is their owner, so they live and die
        with it and another store never sees them.
        """
        found = self._caches.get(kind)
        if found is None:
            with self._lock:
                found = self._caches.get(kind)
                if found is None:
                    found = self._caches[kind] = kind()
        return cast(_C, found)

    @property
    def roots(self) -> tuple[x509.Certificate, ...]:
        return self._roots

    def validate(
        self, chain: Sequence[x509.Certificate], chain_der: Sequence[bytes], at: datetime
    ) -> tuple[x509.Certificate, ...]:
        """Validate `chain` (leaf first; `chain_der` its exact DER) at `at`; return the path to a root.

        Raises `ChainValidationError` with code ``chain_untrusted``, ``certificate_expired`` or
        ``certificate_not_yet_valid``.
        """
        if at.tzinfo is None:
            raise ValueError("validation time must be timezone-aware")
        key = tuple(chain_der)
        with self._lock:
            cached = self._verified.get(key)
            if cached is not None:
                self._verified.move_to_end(key)
        if cached is not None and _same(cached.path[0], chain[0]) and cached.valid_at(at):
            return cached.path
        path = self._validate_uncached(chain, at)
        with self._lock:
            self._verified[key] = _VerifiedPath(path)
            while len(self._verified) > _CACHE_SIZE:
                self._verified.popitem(last=False)
        return path

    def _validate_uncached(self, chain: Sequence[x509.Certificate], at: datetime) -> tuple[x509.Certificate, ...]:
        """Build and check the path; a leaf outside its validity is judged at its nearest valid
        instant first, so an untrusted certificate is reported untrusted rather than expired."""
        if not chain:
            raise ChainValidationError(CHAIN_UNTRUSTED, "no document-signer certificate")
        if self._store is None:
            raise ChainValidationError(
                CHAIN_UNTRUSTED, "no usable trust anchor (an IACA root is a CA with keyCertSign)"
            )
        leaf = chain[0]
        if at > leaf.not_valid_after_utc:
            self._path(chain, leaf.not_valid_after_utc)  # untrusted takes precedence over expired
            raise ChainValidationError(
                CERTIFICATE_EXPIRED,
                f"document-signer certificate expired at {leaf.not_valid_after_utc.isoformat()}",
            )
        if at < leaf.not_valid_before_utc:
            self._path(chain, leaf.not_valid_before_utc)
            raise ChainValidationError(
                CERTIFICATE_NOT_YET_VALID,
                f"document-signer certificate is valid only from {leaf.not_valid_before_utc.isoformat()}",
            )
        return self._path(chain, at)

    def validate_service(
        self, chain: Sequence[x509.Certificate], chain_der: Sequence[bytes], at: datetime, *, eku: ObjectIdentifier
    ) -> tuple[x509.Certificate, ...]:
        """Validate a service signer's chain (status list, trust list) at `at`: like `validate`, but the leaf
        must carry `eku` (critical) instead of mdlDS. Cached apart from DS validations, per EKU.

        Raises `ChainValidationError` with code ``chain_untrusted``, ``certificate_expired`` or
        ``certificate_not_yet_valid``.
        """
        if at.tzinfo is None:
            raise ValueError("validation time must be timezone-aware")
        key = (eku.dotted_string, tuple(chain_der))
        with self._lock:
            cached = self._service_verified.get(key)
            if cached is not None:
                self._service_verified.move_to_end(key)
            policy = self._service_policies.get(eku)
            if policy is None:
                policy = self._service_policies[eku] = _service_policy(eku)
        if cached is not None and chain and _same(cached.path[0], chain[0]) and cached.valid_at(at):
            return cached.path
        if not chain:
            raise ChainValidationError(CHAIN_UNTRUSTED, "no signer certificate")
        leaf = chain[0]
        when = min(max(at, leaf.not_valid_before_utc), leaf.not_valid_after_utc)
        path = self._path(chain, when, ee_policy=policy)  # untrusted takes precedence over expired
        if at > leaf.not_valid_after_utc:
            raise ChainValidationError(
                CERTIFICATE_EXPIRED, f"signer certificate expired at {leaf.not_valid_after_utc.isoformat()}"
            )
        if at < leaf.not_valid_before_utc:
            raise ChainValidationError(
                CERTIFICATE_NOT_YET_VALID,
                f"signer certificate is valid only from {leaf.not_valid_before_utc.isoformat()}",
            )
        with self._lock:
            self._service_verified[key] = _VerifiedPath(path)
            while len(self._service_verified) > _CACHE_SIZE:
                self._service_verified.popitem(last=False)
        return path

    def _path(
        self, chain: Sequence[x509.Certificate], at: datetime, *, ee_policy: ExtensionPolicy | None = None
    ) -> tuple[x509.Certificate, ...]:
        """cryptography's path validation at `at` with the 18013-5 policies (or `ee_policy` for the leaf),
        plus the anchor rules."""
        store = self._store
        if store is None:
            raise ChainValidationError(CHAIN_UNTRUSTED, "no usable trust anchor")
        verifier = (
            PolicyBuilder()
            .store(store)
            .time(at.astimezone(UTC))
            .max_chain_depth(2)
            .extension_policies(ca_policy=self._ca_policy, ee_policy=ee_policy or self._ds_policy)
            .build_client_verifier()
        )
        try:
            verified = verifier.verify(chain[0], list(chain[1:]))
        except VerificationError as exc:
            raise ChainValidationError(CHAIN_UNTRUSTED, f"certificate chain rejected: {exc}") from None
        path = tuple(verified.chain)
        if len(path) < 2 or not is_ca_anchor(path[-1]) or path[-1] not in self._roots:
            raise ChainValidationError(CHAIN_UNTRUSTED, "the chain does not end at a trusted IACA root")
        return path


def trust_store(roots: TrustStore | Sequence[x509.Certificate]) -> TrustStore:
    """`roots` when it is a `TrustStore`, else a new store of those roots.

    A new store starts cold (no validated chain, nothing cached): a verifier that checks more than once keeps its
    `TrustStore` and passes it in, so what it caches has that store as its owner.
    """
    if isinstance(roots, TrustStore):
        return roots
    return TrustStore(tuple(roots))


def load_trust_roots(path: Path) -> list[x509.Certificate]:
    """Read every certificate of a PEM file (or every ``*.pem`` of a folder) as trust roots.

    Raises `ValueError` when nothing readable is found, or a file is larger than `MAX_PEM_FILE_BYTES`.
    """
    path = Path(path)
    files = sorted(path.glob("*.pem")) if path.is_dir() else [path]
    certs: list[x509.Certificate] = []
    for file in files:
        data = read_at_most(file, MAX_PEM_FILE_BYTES)
        try:
            certs.extend(x509.load_pem_x509_certificates(data))
        except ValueError:
            raise ValueError(f"{file} is not a PEM certificate file") from None
    if not certs:
        raise ValueError(f"no certificate found in {path}")
    return certs
