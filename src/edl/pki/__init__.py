"""The issuing authority's PKI: IACA root, document signers, key storage and trust anchors.

Needs only `cryptography`. The public surface:

* `Authority` — ``Authority.open(data_dir).init(at=...)``, ``.rotate_signer(at=...)``,
  ``.current_signer(at)``, ``.export_trust(out_dir)``;
* `Signer` — the one interface every credential signature goes through (HSM-replaceable);
* `KeyStore` / `FileKeyStore` — private keys, owner-only on disk;
* `TrustStore` / `load_trust_roots` — chain validation under the ISO/IEC 18013-5 profile.
"""

from edl.pki.authority import Authority, SignerRecord, TrustExport
from edl.pki.errors import (
    AuthorityExistsError,
    AuthorityNotInitialisedError,
    ChainValidationError,
    InsecureKeyFileError,
    KeyExistsError,
    KeyNotFoundError,
    KeyStoreError,
    NoUsableSignerError,
    PkiError,
)
from edl.pki.keystore import FileKeyStore, KeyStore
from edl.pki.profiles import MDL_DS_EKU, AuthorityProfile, key_id_of, may_sign_at
from edl.pki.signer import ES256, PrivateKeySigner, Signer
from edl.pki.trust import TrustStore, load_trust_roots, trust_store

__all__ = [
    "ES256",
    "MDL_DS_EKU",
    "Authority",
    "AuthorityExistsError",
    "AuthorityNotInitialisedError",
    "AuthorityProfile",
    "ChainValidationError",
    "FileKeyStore",
    "InsecureKeyFileError",
    "KeyExistsError",
    "KeyNotFoundError",
    "KeyStore",
    "KeyStoreError",
    "NoUsableSignerError",
    "PkiError",
    "PrivateKeySigner",
    "Signer",
    "SignerRecord",
    "TrustExport",
    "TrustStore",
    "key_id_of",
    "load_trust_roots",
    "may_sign_at",
    "trust_store",
]
