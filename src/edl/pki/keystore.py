"""Where the authority's private keys live: the `KeyStore` interface and its file implementation.

The interface never hands a private key out: callers ask the store to sign a certificate or to
give them a `Signer`. That is the seam a PKCS#11 HSM implementation plugs into later.

`FileKeyStore` keeps one PEM (PKCS#8) file per key in a folder that only its owner may enter
(0700), each file 0600 from creation. It refuses to load a key that group or others could read.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from edl.pki.errors import InsecureKeyFileError, KeyExistsError, KeyNotFoundError, KeyStoreError
from edl.pki.files import PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, ensure_dir, write_atomic
from edl.pki.signer import PrivateKeySigner, Signer

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


class KeyStore(Protocol):
    """Creates and uses named P-256 keys without exposing them."""

    def has_key(self, name: str) -> bool:
        """Whether a key called `name` exists."""
        ...

    def generate_key(self, name: str) -> ec.EllipticCurvePublicKey:
        """Create and persist a new P-256 key; refuses (`KeyExistsError`) to replace one."""
        ...

    def public_key(self, name: str) -> ec.EllipticCurvePublicKey:
        """The public half of key `name`."""
        ...

    def sign_certificate(self, name: str, builder: x509.CertificateBuilder) -> x509.Certificate:
        """Sign a prepared certificate with key `name` (ECDSA with SHA-256)."""
        ...

    def signer(self, name: str, chain: Sequence[x509.Certificate], key_id: str) -> Signer:
        """A `Signer` that signs with key `name` and presents `chain` (leaf first)."""
        ...


class FileKeyStore:
    """A `KeyStore` over a folder of owner-only PEM files.

    `passphrase`, when given, encrypts keys at rest (PKCS#8 with the best available cipher).
    """

    def __init__(self, directory: Path, *, passphrase: bytes | None = None) -> None:
        self._dir = Path(directory)
        self._passphrase = passphrase

    @property
    def directory(self) -> Path:
        return self._dir

    def _path(self, name: str) -> Path:
        if not _NAME.match(name):
            raise KeyStoreError(f"invalid key name {name!r}")
        return self._dir / f"{name}.key.pem"

    def has_key(self, name: str) -> bool:
        return self._path(name).exists()

    def generate_key(self, name: str) -> ec.EllipticCurvePublicKey:
        path = self._path(name)
        ensure_dir(self._dir, PRIVATE_DIR_MODE)
        self._check_dir()
        key = ec.generate_private_key(ec.SECP256R1())
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(self._passphrase)
            if self._passphrase
            else serialization.NoEncryption()
        )
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
        try:
            write_atomic(path, pem, mode=PRIVATE_FILE_MODE, replace=False)
        except FileExistsError:
            raise KeyExistsError(f"key {name!r} already exists in {self._dir}") from None
        return key.public_key()

    def public_key(self, name: str) -> ec.EllipticCurvePublicKey:
        return self._load(name).public_key()

    def sign_certificate(self, name: str, builder: x509.CertificateBuilder) -> x509.Certificate:
        return builder.sign(self._load(name), hashes.SHA256())

    def signer(self, name: str, chain: Sequence[x509.Certificate], key_id: str) -> Signer:
        return PrivateKeySigner(self._load(name), chain, key_id)

    def _check_dir(self) -> None:
        try:
            st = os.stat(self._dir)
        except FileNotFoundError:
            raise KeyNotFoundError(f"no key folder at {self._dir}") from None
        if st.st_mode & 0o077:
            raise InsecureKeyFileError(
                f"key folder {self._dir} is accessible to group or others "
                f"(mode {stat.S_IMODE(st.st_mode):o}); run: chmod 700 {self._dir}"
            )

    def _load(self, name: str) -> ec.EllipticCurvePrivateKey:
        """Read a key, refusing files that are not regular, not ours, or readable by others."""
        path = self._path(name)
        self._check_dir()
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(path, flags)
        except FileNotFoundError:
            raise KeyNotFoundError(f"no key {name!r} in {self._dir}") from None
        except OSError as exc:  # e.g. ELOOP: a symbolic link where a key should be
            raise KeyStoreError(f"cannot open key file {path}: {exc.strerror}") from None
        with os.fdopen(fd, "rb") as handle:
            st = os.fstat(handle.fileno())  # checked on the open file: no race with a swap
            if not stat.S_ISREG(st.st_mode):
                raise KeyStoreError(f"key file {path} is not a regular file")
            if st.st_mode & 0o077:
                raise InsecureKeyFileError(
                    f"key file {path} is readable or writable by group or others "
                    f"(mode {stat.S_IMODE(st.st_mode):o}); refusing to use it. "
                    f"Check who could have copied it, then run: chmod 600 {path}"
                )
            if st.st_uid != os.geteuid():
                raise InsecureKeyFileError(f"key file {path} is not owned by the current user")
            pem = handle.read()
        try:
            key = serialization.load_pem_private_key(pem, password=self._passphrase)
        except (ValueError, TypeError):
            # The message of the underlying error could echo key bytes: say only what is wrong.
            raise KeyStoreError(f"key file {path} is not a readable PEM private key") from None
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
            raise KeyStoreError(f"key file {path} does not hold a P-256 key")
        return key

    def __repr__(self) -> str:
        return f"FileKeyStore({str(self._dir)!r})"
