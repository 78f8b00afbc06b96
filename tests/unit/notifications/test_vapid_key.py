"""The VAPID key: made at run time owner-only, made once and reused, refused when others could read it."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.orm import sessionmaker

from edl.notifications.push import (
    InsecureVapidKey,
    InvalidVapidKey,
    WebPushNotifier,
    load_or_create_vapid_key,
    load_vapid_key,
    vapid_key_path,
    vapid_public_key_b64url,
)
from edl.pki.files import PRIVATE_FILE_MODE, write_atomic


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _public(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def test_key_is_created_owner_only_in_an_owner_only_folder(tmp_path: Path) -> None:
    key = load_or_create_vapid_key(tmp_path)
    path = vapid_key_path(tmp_path)
    assert path == tmp_path / "secrets" / "vapid.pem"
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700
    assert isinstance(key.curve, ec.SECP256R1)
    stored = serialization.load_pem_private_key(path.read_bytes(), password=None)  # PKCS#8 PEM, made at run time
    assert isinstance(stored, ec.EllipticCurvePrivateKey) and _public(stored) == _public(key)


def test_key_is_created_once_and_reused(tmp_path: Path) -> None:
    first = load_or_create_vapid_key(tmp_path)
    before = vapid_key_path(tmp_path).read_bytes()
    second = load_or_create_vapid_key(tmp_path)
    assert _public(first) == _public(second)
    assert vapid_key_path(tmp_path).read_bytes() == before


def test_group_or_world_readable_key_is_refused(tmp_path: Path) -> None:
    load_or_create_vapid_key(tmp_path)
    path = vapid_key_path(tmp_path)
    for mode in (0o640, 0o604, 0o644):
        os.chmod(path, mode)
        with pytest.raises(InsecureVapidKey, match="chmod 600"):
            load_or_create_vapid_key(tmp_path)


def test_notifier_refuses_an_insecure_key_file(tmp_path: Path) -> None:
    load_or_create_vapid_key(tmp_path)
    path = vapid_key_path(tmp_path)
    os.chmod(path, 0o644)
    with pytest.raises(InsecureVapidKey):
        WebPushNotifier(sessionmaker(), path, "mailto:ops@example.org")


def test_symlinked_key_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "elsewhere.pem"
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    write_atomic(real, pem, mode=PRIVATE_FILE_MODE)
    link = tmp_path / "vapid.pem"
    link.symlink_to(real)
    with pytest.raises(InsecureVapidKey):
        load_vapid_key(link)


def test_key_on_another_curve_is_refused(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path = tmp_path / "p384.pem"
    write_atomic(path, pem, mode=PRIVATE_FILE_MODE)
    with pytest.raises(InvalidVapidKey, match="P-256"):
        load_vapid_key(path)


def test_garbage_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "junk.pem"
    write_atomic(path, b"not a key", mode=PRIVATE_FILE_MODE)
    with pytest.raises(InvalidVapidKey):
        load_vapid_key(path)


def test_application_server_key_is_the_uncompressed_point_in_base64url(tmp_path: Path) -> None:
    key = load_or_create_vapid_key(tmp_path)
    text = vapid_public_key_b64url(key)
    assert "=" not in text and "+" not in text and "/" not in text
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    assert len(raw) == 65 and raw[0] == 0x04
    assert raw == _public(key)
    assert vapid_public_key_b64url(key.public_key()) == text


def test_notifier_refuses_a_subject_that_is_not_a_contact_url() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(ValueError, match="mailto"):
        WebPushNotifier(sessionmaker(), key, "ops@example.org")
