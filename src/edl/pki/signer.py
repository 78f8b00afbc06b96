"""The one interface every credential signature goes through.

A `Signer` holds a document-signer (DS) key and its certificate chain. The credential core only
ever calls `sign(data)`, so a PKCS#11 HSM (or a remote signing service) can replace the file key
without touching the issuing code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Protocol, runtime_checkable

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

ES256: Final = "ES256"
"""ECDSA with P-256 and SHA-256 (COSE algorithm -7): the only algorithm eDL issues with."""


@runtime_checkable
class Signer(Protocol):
    """Signs credential payloads with a document-signer key.

    `sign` returns the raw COSE form of an ECDSA signature: ``r || s``, each as a fixed-size
    big-endian integer (64 bytes for ES256), never DER.
    """

    @property
    def algorithm(self) -> str:
        """COSE algorithm name, e.g. ``"ES256"``."""
        ...

    @property
    def key_id(self) -> str:
        """A stable, public identifier of the key (never secret)."""
        ...

    @property
    def certificate(self) -> x509.Certificate:
        """The document-signer (leaf) certificate."""
        ...

    @property
    def certificate_chain(self) -> Sequence[x509.Certificate]:
        """Leaf first, then any intermediates; the trusted root is not included."""
        ...

    def sign(self, data: bytes) -> bytes:
        """Sign `data` (the COSE Sig_structure) and return raw ``r || s``."""
        ...


class PrivateKeySigner:
    """A `Signer` over an in-process P-256 private key (the file key store hands these out)."""

    __slots__ = ("_chain", "_key", "_key_id")

    def __init__(self, private_key: ec.EllipticCurvePrivateKey, chain: Sequence[x509.Certificate], key_id: str) -> None:
        if not chain:
            raise ValueError("a signer needs at least its own certificate")
        if not isinstance(private_key.curve, ec.SECP256R1):
            raise ValueError("document-signer keys must be P-256 (ES256)")
        if chain[0].public_key() != private_key.public_key():
            raise ValueError("the leaf certificate does not belong to this key")
        self._key = private_key
        self._chain = tuple(chain)
        self._key_id = key_id

    @property
    def algorithm(self) -> str:
        return ES256

    @property
    def key_id(self) -> str:
        return self._key_id

    @property
    def certificate(self) -> x509.Certificate:
        return self._chain[0]

    @property
    def certificate_chain(self) -> Sequence[x509.Certificate]:
        return self._chain

    def sign(self, data: bytes) -> bytes:
        der = self._key.sign(data, ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def __repr__(self) -> str:
        # Never show key material; the key id and certificate subject are public.
        return f"PrivateKeySigner(key_id={self._key_id!r}, subject={self.certificate.subject.rfc4514_string()!r})"
