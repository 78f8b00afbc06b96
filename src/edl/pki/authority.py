"""The issuing authority: its IACA root, its document signers, rotation and trust export.

Layout of the data directory (public material apart from private keys)::

    DATA_DIR/keys/            0700  private keys (see `FileKeyStore`), never printed or logged
    DATA_DIR/pki/iaca.pem           the IACA root certificate: the trust anchor
    DATA_DIR/pki/signers/*.pem      every document-signer certificate ever issued
    DATA_DIR/pki/signers.json       which key belongs to which certificate, oldest first
    DATA_DIR/pki/services/ROLE.N.json  service signer N of ROLE (status-list, trust-list): key name + certificate

Rotation adds a signer and never removes one: credentials signed by an older key keep verifying
for as long as its certificate is valid, and the trust export carries every DS certificate.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from edl.pki.errors import AuthorityExistsError, AuthorityNotInitialisedError, NoUsableSignerError, PkiError
from edl.pki.files import PUBLIC_DIR_MODE, PUBLIC_FILE_MODE, ensure_dir, write_atomic
from edl.pki.keystore import FileKeyStore, KeyStore
from edl.pki.profiles import (
    SERVICE_EKUS,
    AuthorityProfile,
    ds_builder,
    iaca_builder,
    key_id_of,
    may_sign_at,
    service_builder,
)
from edl.pki.signer import Signer

IACA_KEY_NAME = "iaca"
_SERVICE_FILE = re.compile(r"^(?P<role>[a-z-]+)\.(?P<n>[1-9][0-9]{0,8})\.json$")


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
        self._service_cache: dict[str, tuple[int, Signer]] = {}

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

    # -- service signers (status list, trust list) ------------------------------------------

    @property
    def _services_dir(self) -> Path:
        return self._dir / "services"

    def _service_generations(self, role: str) -> list[int]:
        try:
            names = [p.name for p in self._services_dir.iterdir()]
        except FileNotFoundError:
            return []
        found = (_SERVICE_FILE.match(name) for name in names)
        return sorted(int(m["n"]) for m in found if m and m["role"] == role)

    def _load_service(self, role: str, generation: int) -> tuple[str, x509.Certificate]:
        path = self._services_dir / f"{role}.{generation}.json"
        entry = json.loads(path.read_text("utf-8"))
        cert = x509.load_pem_x509_certificate(entry["certificate"].encode("ascii"))
        if entry.get("role") != role or key_id_of(cert) != entry.get("key_id"):
            raise PkiError(f"service signer record {path} does not match its certificate")
        return str(entry["key_name"]), cert

    def service_certificates(self, role: str) -> list[x509.Certificate]:
        """Every certificate of service signer `role` on record, oldest first."""
        if role not in SERVICE_EKUS:
            raise PkiError(f"unknown service signer role {role!r}")
        return [self._load_service(role, n)[1] for n in self._service_generations(role)]

    def service_signer(self, role: str, at: datetime) -> Signer:
        """The signer of service `role` (``status-list`` or ``trust-list``) that may sign at `at`.

        A dedicated P-256 key with a certificate from the IACA carrying only that role's EKU; created on
        first use, and again when the newest one is outside its validity or key usage period. Two processes
        racing to create one are safe: records are written with ``replace=False`` and the loser uses the
        winner's (its own new key stays unused in the key store). Service certificates are not in the trust
        export: verifiers get them in the x5chain of what they sign.
        """
        if role not in SERVICE_EKUS:
            raise PkiError(f"unknown service signer role {role!r} (one of {', '.join(sorted(SERVICE_EKUS))})")
        for _attempt in range(3):
            generations = self._service_generations(role)
            cached = self._service_cache.get(role)
            fresh = cached is not None and generations and cached[0] == generations[-1]
            if cached is not None and fresh and may_sign_at(cached[1].certificate, at):
                return cached[1]
            for generation in reversed(generations):  # the newest that may sign then
                key_name, cert = self._load_service(role, generation)
                if may_sign_at(cert, at):
                    signer = self._keys.signer(key_name, [cert], key_id_of(cert))
                    if generation == generations[-1]:
                        self._service_cache[role] = (generation, signer)
                    return signer
            try:
                self._create_service(role, (generations[-1] if generations else 0) + 1, at)
            except FileExistsError:
                continue  # another process made this generation first: use theirs
        raise NoUsableSignerError(f"no {role} signer may sign at {at.isoformat()}")

    def _create_service(self, role: str, generation: int, at: datetime) -> None:
        root = self.root_certificate()
        if self._keys.public_key(IACA_KEY_NAME) != root.public_key():
            raise PkiError("the IACA key in the key store does not match the root certificate")
        key_name = f"{role}-{at:%Y%m%d%H%M%S}-{secrets.token_hex(4)}"
        public_key = self._keys.generate_key(key_name)
        builder = service_builder(public_key, root, self._profile, at, role, str(generation))
        cert = self._keys.sign_certificate(IACA_KEY_NAME, builder)
        if not may_sign_at(cert, at):
            raise NoUsableSignerError(f"a new {role} signer could not sign at {at.isoformat()} (IACA validity)")
        entry = {
            "role": role,
            "key_id": key_id_of(cert),
            "key_name": key_name,
            "certificate": cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        }
        ensure_dir(self._services_dir, PUBLIC_DIR_MODE)
        data = json.dumps(entry, indent=2).encode("utf-8")
        write_atomic(self._services_dir / f"{role}.{generation}.json", data, mode=PUBLIC_FILE_MODE, replace=False)

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
