"""Server secrets (HMAC keys for sign-in codes, sessions and CSRF): made at run time, kept owner-only.

A secret lives in `<data_dir>/secrets/<name>.key` (0600 in a 0700 folder). Several `edl serve` processes share
one by sharing that file (see docs/deploy.md). Never logged, never committed.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import stat
from pathlib import Path

from edl.pki.files import PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, ensure_dir, write_atomic

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
SECRET_BYTES = 32


class InsecureSecretFile(RuntimeError):
    pass


def load_or_create_secret(data_dir: Path, name: str) -> bytes:
    """The secret `name` (32 random bytes), created on first use."""
    if not _NAME.match(name):
        raise ValueError(f"bad secret name {name!r}")
    folder = ensure_dir(data_dir / "secrets", PRIVATE_DIR_MODE)
    path = folder / f"{name}.key"
    if not path.exists():
        with contextlib.suppress(FileExistsError):  # another process made it first: use theirs
            write_atomic(path, secrets.token_bytes(SECRET_BYTES), mode=PRIVATE_FILE_MODE, replace=False)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise InsecureSecretFile(f"{path} is readable by group or others (mode {mode:o}); chmod 600 it")
    data = path.read_bytes()
    if len(data) < SECRET_BYTES:
        raise InsecureSecretFile(f"{path} is too short to be a secret")
    return data
