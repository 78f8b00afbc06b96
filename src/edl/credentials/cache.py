"""What verifications reuse from one call to the next, and who owns it.

A `VerificationCache` holds only what a signer repeats, always keyed by exact bytes (or by the identity of the
caller's certificate objects, which the entry keeps alive): parsed x5chain certificates (by DER), protected headers
that passed their rules (by bytes), the facts of a signer certificate (its key, the ECDSA algorithms its curve goes
with, validity and names, by DER), the candidates and kid index of the 亮码's signer list. Nothing of a credential or
a code itself (items, digests, MSO, claims, signature) is cached, and every table is bounded.

The owner is passed in: `verify_mdoc`, `verify_code` and `verify_offline` take ``cache=``; without one they use
the cache of their `TrustStore` (`VerificationCache.of(store)`), so a verifier that keeps its store keeps its
cache, and a new store (or a new `VerificationCache`) starts cold. There is no module-level cache.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from datetime import datetime
from typing import Final, NamedTuple

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from edl.credentials.cose import ALGORITHMS_BY_ID, EcdsaAlgorithm, ProtectedCache
from edl.credentials.result import SignerInfo
from edl.pki.trust import TrustStore

CERTIFICATES_CACHED: Final = 256
SIGNERS_CACHED: Final = 256
CANDIDATES_CACHED: Final = 512
KID_INDEXES_CACHED: Final = 32
VALIDATIONS_CACHED: Final = 8


class SignerFacts(NamedTuple):
    """What verification needs of a signer certificate: its summary, key, validity and subject names."""

    info: SignerInfo
    public_key: object
    not_before: datetime
    not_after: datetime
    country: str | None
    """The subject's countryName (an mdoc's issuing_country, a code's iss must equal it)."""
    state: str | None
    """The subject's stateOrProvinceName, if any (an mdoc's issuing_jurisdiction must equal it)."""
    ecdsa: Mapping[int, EcdsaAlgorithm]
    """The COSE ECDSA algorithms an EC key's curve goes with, by COSE id (empty for any other key)."""
    signature_size: int
    """Bytes in each of r and s of an ECDSA signature by this key (its curve's size; 0 for any other key)."""

    @classmethod
    def of(cls, cert: x509.Certificate) -> SignerFacts:
        """Read `cert` (cryptography parses subject and key lazily: a damaged certificate raises ValueError,
        TypeError or UnsupportedAlgorithm here)."""
        key = cert.public_key()
        ecdsa: dict[int, EcdsaAlgorithm] = {}
        size = 0
        if isinstance(key, ec.EllipticCurvePublicKey):
            ecdsa = {a.cose_id: a for a in ALGORITHMS_BY_ID.values() if a.accepts(key.curve)}
            size = (key.curve.key_size + 7) // 8
        return cls(
            SignerInfo.of(cert),
            key,
            cert.not_valid_before_utc,
            cert.not_valid_after_utc,
            _subject(cert, NameOID.COUNTRY_NAME),
            _subject(cert, NameOID.STATE_OR_PROVINCE_NAME),
            ecdsa,
            size,
        )


def _subject(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> str | None:
    values = cert.subject.get_attributes_for_oid(oid)
    return str(values[0].value) if len(values) == 1 else None


class CodeCandidate(NamedTuple):
    """A certificate that may have signed a 亮码, with what checking it needs (built once per DER chain)."""

    chain: tuple[x509.Certificate, ...]
    ders: tuple[bytes, ...]
    public_key: ec.EllipticCurvePublicKey | None
    """None when the certificate's key is not P-256 (it cannot have signed a code)."""
    facts: SignerFacts
    validated: dict[int, tuple[TrustStore, datetime, datetime]]
    """Trust stores (by id; the entry keeps the store alive) that validated this chain, with the instants between
    which every certificate of the path they found is valid: at such an instant the store would answer the same."""


KidIndex = dict[bytes, tuple[CodeCandidate, ...]]


class VerificationCache:
    """The caches of the credential core for one owner (module docstring). Safe to share between threads."""

    __slots__ = ("candidates", "certificates", "kid_indexes", "lock", "protected", "signers")

    def __init__(self) -> None:
        self.certificates: dict[bytes, tuple[x509.Certificate, bool]] = {}
        """Parsed x5chain certificates and whether their signature BIT STRING has no unused bits, by DER."""
        self.protected: ProtectedCache = {}
        """Protected headers that passed, by `Sign1Rules` and exact bytes."""
        self.signers: dict[bytes, SignerFacts] = {}
        """Facts of mdoc signer certificates, by DER."""
        self.candidates: dict[tuple[bytes, ...], CodeCandidate] = {}
        """Candidate signers of codes, by the DER of their chain."""
        self.kid_indexes: OrderedDict[tuple[int, ...], tuple[tuple[x509.Certificate, ...], KidIndex]] = OrderedDict()
        """The kid index of a signer list, by the identity of its certificate objects (the entry keeps them)."""
        self.lock = threading.Lock()

    @classmethod
    def of(cls, store: TrustStore) -> VerificationCache:
        """The cache `store` owns (one per store, made on first use)."""
        return store.cache(cls)
