"""The file key store: owner-only files from the first byte, and refusal of exposed keys."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.x509.oid import NameOID

from edl.pki import FileKeyStore, InsecureKeyFileError, KeyExistsError, KeyNotFoundError, KeyStoreError


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _self_signed(store: FileKeyStore, name: str) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(store.public_key(name))
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
    )
    return store.sign_certificate(name, builder)


@pytest.fixture
def store(tmp_path: Path) -> FileKeyStore:
    return FileKeyStore(tmp_path / "keys")


def test_new_key_is_owner_only_even_with_a_permissive_umask(store: FileKeyStore) -> None:
    previous = os.umask(0)
    try:
        store.generate_key("iaca")
    finally:
        os.umask(previous)
    assert _mode(store.directory) == 0o700
    assert _mode(store.directory / "iaca.key.pem") == 0o600
    assert not [p for p in store.directory.iterdir() if p.name.startswith(".")]  # no temporary left


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o606, 0o644])
def test_key_readable_by_group_or_others_is_refused(store: FileKeyStore, mode: int) -> None:
    store.generate_key("ds")
    (store.directory / "ds.key.pem").chmod(mode)
    with pytest.raises(InsecureKeyFileError, match="refusing"):
        store.public_key("ds")
    with pytest.raises(InsecureKeyFileError):
        store.signer("ds", [], "kid")


def test_key_folder_open_to_others_is_refused(store: FileKeyStore) -> None:
    store.generate_key("ds")
    store.directory.chmod(0o755)
    with pytest.raises(InsecureKeyFileError, match="folder"):
        store.public_key("ds")


def test_symbolic_link_instead_of_a_key_is_refused(store: FileKeyStore, tmp_path: Path) -> None:
    store.generate_key("real")
    (store.directory / "link.key.pem").symlink_to(store.directory / "real.key.pem")
    with pytest.raises(KeyStoreError):
        store.public_key("link")


def test_existing_key_is_never_overwritten(store: FileKeyStore) -> None:
    first = store.generate_key("iaca")
    with pytest.raises(KeyExistsError):
        store.generate_key("iaca")
    assert store.public_key("iaca") == first


@pytest.mark.parametrize("name", ["../evil", "a/b", "", ".hidden", "UPPER", "x" * 65])
def test_key_names_cannot_escape_the_folder(store: FileKeyStore, name: str) -> None:
    with pytest.raises(KeyStoreError, match="invalid key name"):
        store.generate_key(name)


def test_missing_key_is_key_not_found(store: FileKeyStore) -> None:
    store.generate_key("iaca")
    with pytest.raises(KeyNotFoundError):
        store.public_key("ds")


def test_signer_signs_raw_r_s_with_the_stored_key(store: FileKeyStore) -> None:
    store.generate_key("ds")
    cert = _self_signed(store, "ds")
    signer = store.signer("ds", [cert], "kid-1")
    signature = signer.sign(b"payload")
    assert len(signature) == 64 and signer.algorithm == "ES256" and signer.key_id == "kid-1"
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    cert.public_key().verify(encode_dss_signature(r, s), b"payload", ec.ECDSA(hashes.SHA256()))  # type: ignore[call-arg]


def test_key_material_never_appears_in_reprs_or_errors(store: FileKeyStore) -> None:
    store.generate_key("ds")
    pem = (store.directory / "ds.key.pem").read_text()
    body = "".join(pem.splitlines()[1:-1])
    cert = _self_signed(store, "ds")
    signer = store.signer("ds", [cert], "kid")
    assert body[:40] not in repr(signer) and body[:40] not in repr(store)
    (store.directory / "ds.key.pem").write_text(pem.replace(body[10:20], "AAAAAAAAAA"))
    with pytest.raises(KeyStoreError) as info:
        store.public_key("ds")
    assert body[:40] not in str(info.value) and info.value.__cause__ is None


def test_passphrase_encrypts_keys_at_rest(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path / "keys", passphrase=b"correct horse")
    public = store.generate_key("iaca")
    assert "ENCRYPTED" in (tmp_path / "keys" / "iaca.key.pem").read_text()
    assert store.public_key("iaca") == public
    with pytest.raises(KeyStoreError):
        FileKeyStore(tmp_path / "keys").public_key("iaca")


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_key_owned_by_someone_else_is_refused(store: FileKeyStore) -> None:
    store.generate_key("ds")
    os.chown(store.directory / "ds.key.pem", 65534, -1)
    with pytest.raises(InsecureKeyFileError, match="not owned"):
        store.public_key("ds")
