"""The issuing authority: its IACA root, its document signers, rotation and trust export.

Layout of the data directory (public material apart from private keys)::

    DATA_DIR/keys/            0700  private keys (see `FileKeyStore`), never printed or logged
    DATA_DIR/pki/iaca.pem           the IACA root certificate: the trust anchor
    DATA_DIR/pki/signers/*.pem      every document-signer certificate ever issued
    DATA_DIR/pki/signers.json       which key belongs to which certificate, oldest first

Rotation adds a signer and never removes one: credentials signed by an older key keep verifying
for as long as its certificate is valid, and the trust export carries every DS certificate.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from edl.pki.errors import AuthorityExistsError, AuthorityNotInitialisedError, NoUsableSignerError, PkiError
from edl.pki.files import PUBLIC_DIR_MODE, PUBLIC_FILE_MODE, ensure_dir, write_atomic
from edl.pki.keystore import FileKeyStore, KeyStore
from edl.pki.profiles import AuthorityProfile, ds_builder, iaca_builder, key_id_of, may_sign_at
from edl.pki.signer import Signer

IACA_KEY_NAME = "iaca"


@dataclass(frozen=True)
class SignerRecord:
    """A document signer on record: its public key id, key name in the store and certificate."""

    key_id: str
    key_name: str
    certificate: x509.Certificate


@dataclass(frozen=True)
class TrustExport:
    """Files written by `Authority.export_trust`."""

    root: Path
    signers: tuple[Path, ...]


class Authority:
    """Creates and uses the authority PKI kept in a key store plus a folder of public records."""

    def __init__(self, keys: KeyStore, records_dir: Path, profile: AuthorityProfile | None = None) -> None:
        self._keys = keys
        self._dir = Path(records_dir)
        self._profile = profile or AuthorityProfile()
        self._signer_cache: tuple[str, Signer] | None = None
        self._records_cache: tuple[int, tuple[SignerRecord, ...]] | None = None

    @classmethod
    def open(
        cls, data_dir: Path, *, profile: AuthorityProfile | None = None, passphrase: bytes | None = None
    ) -> Authority:
        """The authority kept in `data_dir` with the file key store (``keys/``) and records (``pki/``)."""
        data_dir = Path(data_dir)
        return cls(FileKeyStore(data_dir / "keys", passphrase=passphrase), data_dir / "pki", profile)

    # -- records -----------------------------------------------------------------------------

    @property
    def records_dir(self) -> Path:
        """Where the public records (root, signer certificates, index) are kept."""
        return self._dir

    @property
    def _root_path(self) -> Path:
        return self._dir / "iaca.pem"

    @property
    def _index_path(self) -> Path:
        return self._dir / "signers.json"

    def is_initialised(self) -> bool:
        return self._root_path.exists()

    def root_certificate(self) -> x509.Certificate:
        """The IACA root certificate (the trust anchor)."""
        try:
            return x509.load_pem_x509_certificate(self._root_path.read_bytes())
        except FileNotFoundError:
            raise AuthorityNotInitialisedError(
                f"no issuing authority in {self._dir.parent} (run `edl keys init`)"
            ) from None

    def signers(self) -> list[SignerRecord]:
        """Every document signer on record, oldest first.

        Re-read only when the index file changes (a rotation by another process is seen at once).
        """
        try:
            stamp = self._index_path.stat().st_mtime_ns
        except FileNotFoundError:
            self.root_certificate()
            return []
        if self._records_cache is not None and self._records_cache[0] == stamp:
            return list(self._records_cache[1])
        self.root_certificate()
        index = json.loads(self._index_path.read_text("utf-8"))
        records = []
        for entry in index["signers"]:
            path = self._dir / "signers" / f"{entry['key_id']}.pem"
            cert = x509.load_pem_x509_certificate(path.read_bytes())
            if key_id_of(cert) != entry["key_id"]:
                raise PkiError(f"signer record {path} does not match its key id")
            records.append(SignerRecord(entry["key_id"], entry["key_name"], cert))
        self._records_cache = (stamp, tuple(records))
        return records

    # -- lifecycle ---------------------------------------------------------------------------

    def init(self, *, at: datetime) -> x509.Certificate:
        """Create the IACA root key and certificate, then a first document signer.

        Refuses (`AuthorityExistsError`) when a root already exists: a root is never replaced.
        """
        if self.is_initialised() or self._keys.has_key(IACA_KEY_NAME):
            raise AuthorityExistsError(
                f"an issuing authority already exists in {self._dir.parent}; a root is never replaced"
            )
        public_key = self._keys.generate_key(IACA_KEY_NAME)
        root = self._keys.sign_certificate(IACA_KEY_NAME, iaca_builder(public_key, self._profile, at))
        ensure_dir(self._dir / "signers", PUBLIC_DIR_MODE)
        write_atomic(self._root_path, root.public_bytes(serialization.Encoding.PEM), mode=PUBLIC_FILE_MODE)
        self.rotate_signer(at=at)
        return root

    def rotate_signer(self, *, at: datetime) -> SignerRecord:
        """Create a new document-signer key and certificate and make it the current signer.

        Older signers stay on record (and in trust exports) so what they signed still verifies.
        """
        root = self.root_certificate()
        existing = self.signers()
        if self._keys.public_key(IACA_KEY_NAME) != root.public_key():  # also refuses an unsafe key file
            raise PkiError("the IACA key in the key store does not match the root certificate")
        key_name = f"ds-{at:%Y%m%d%H%M%S}-{secrets.token_hex(4)}"
        public_key = self._keys.generate_key(key_name)
        builder = ds_builder(public_key, root, self._profile, at, serial_hint=str(len(existing) + 1))
        cert = self._keys.sign_certificate(IACA_KEY_NAME, builder)
        record = SignerRecord(key_id_of(cert), key_name, cert)
        write_atomic(
            self._dir / "signers" / f"{record.key_id}.pem",
            cert.public_bytes(serialization.Encoding.PEM),
            mode=PUBLIC_FILE_MODE,
        )
        entries = [{"key_id": r.key_id, "key_name": r.key_name} for r in [*existing, record]]
        index = json.dumps({"signers": entries}, indent=2).encode("utf-8")
        write_atomic(self._index_path, index, mode=PUBLIC_FILE_MODE)
        self._signer_cache = None
        self._records_cache = None
        return record

    def current_signer(self, at: datetime | None = None) -> Signer:
        """The newest document signer; with `at`, refuses one whose key may not sign then.

        A key may sign inside its certificate validity and its PrivateKeyUsagePeriod; when that
        has passed, run `rotate_signer`.
        """
        records = self.signers()
        if not records:
            raise NoUsableSignerError("no document signer on record (run `edl keys rotate-signer`)")
        record = records[-1]
        if at is not None and not may_sign_at(record.certificate, at):
            raise NoUsableSignerError(
                f"document signer {record.key_id} may not sign at {at.isoformat()} "
                "(outside its validity or key usage period); run `edl keys rotate-signer`"
            )
        if self._signer_cache is not None and self._signer_cache[0] == record.key_id:
            return self._signer_cache[1]
        signer = self._keys.signer(record.key_name, [record.certificate], record.key_id)
        self._signer_cache = (record.key_id, signer)
        return signer

    def export_trust(self, out_dir: Path) -> TrustExport:
        """Write the root (``iaca-root.pem``, the trust anchor) and every DS certificate to `out_dir`."""
        root = self.root_certificate()
        out_dir = ensure_dir(Path(out_dir), PUBLIC_DIR_MODE)
        root_path = out_dir / "iaca-root.pem"
        write_atomic(root_path, root.public_bytes(serialization.Encoding.PEM), mode=PUBLIC_FILE_MODE)
        signer_paths = []
        for record in self.signers():
            path = out_dir / f"ds-{record.key_id}.pem"
            write_atomic(path, record.certificate.public_bytes(serialization.Encoding.PEM), mode=PUBLIC_FILE_MODE)
            signer_paths.append(path)
        return TrustExport(root_path, tuple(signer_paths))
