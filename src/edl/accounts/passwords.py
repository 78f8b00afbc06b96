"""Staff passwords: scrypt hashes (cryptography's Scrypt KDF) and generated passwords.

Stored as `scrypt$n$r$p$salt_b64$hash_b64`, so the cost can be raised later without breaking old hashes.
"""

from __future__ import annotations

import base64
import binascii
import secrets

from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from edl.accounts.errors import InvalidStaffInput

N, R, P = 2**14, 8, 1
SALT_BYTES = 16
HASH_BYTES = 32
MIN_LENGTH = 12
MAX_LENGTH = 256
_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
"""No 0/O, 1/l/I: a generated password is read off a screen and typed once."""


def check_password_rules(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise InvalidStaffInput(
            f"密码至少需要 {MIN_LENGTH} 个字符 / the password must have at least {MIN_LENGTH} characters"
        )
    if len(password) > MAX_LENGTH:
        raise InvalidStaffInput(f"密码最多 {MAX_LENGTH} 个字符 / the password may have at most {MAX_LENGTH} characters")


def generate_password() -> str:
    """Four groups of five random characters (about 115 bits), e.g. 'k7Qmz-Xr4pa-…'."""
    return "-".join("".join(secrets.choice(_ALPHABET) for _ in range(5)) for _ in range(4))


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(SALT_BYTES)
    digest = Scrypt(salt=salt, length=HASH_BYTES, n=N, r=R, p=P).derive(password.encode())
    return f"scrypt${N}${R}${P}${_b64(salt)}${_b64(digest)}"


def password_matches(password: str, stored: str) -> bool:
    """True when `password` hashes to `stored` (constant-time comparison inside Scrypt.verify)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest, validate=True)
        kdf = Scrypt(salt=base64.b64decode(salt, validate=True), length=len(expected), n=int(n), r=int(r), p=int(p))
        kdf.verify(password.encode(), expected)
    except (ValueError, binascii.Error, InvalidKey):
        return False
    return True


DUMMY_HASH = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
"""Checked against for unknown usernames, so a wrong username takes as long as a wrong password."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
