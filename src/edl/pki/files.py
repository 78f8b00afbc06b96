"""Atomic file writes with the right permissions from the first byte, and reads bounded by size.

A file is written to a fresh temporary name opened with ``O_CREAT | O_EXCL`` and the final mode,
flushed to disk, then renamed over the target, so readers never see a half-written key or
certificate and a private key is never, even briefly, readable by group or others. `read_at_most` reads outside
input (a PEM file, a token, a device such as /dev/zero) without ever holding more than its limit plus one byte.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700
PUBLIC_FILE_MODE = 0o644
PUBLIC_DIR_MODE = 0o755


class FileTooLarge(ValueError):
    """`read_at_most` found more than `limit` bytes (and read no further)."""

    def __init__(self, path: Path, limit: int) -> None:
        super().__init__(f"{path} is larger than {limit:,} bytes")
        self.path = path
        self.limit = limit


def read_at_most(path: Path, limit: int) -> bytes:
    """The bytes of `path`; `FileTooLarge` when it holds more than `limit` (at most `limit + 1` bytes are read).

    Raises `OSError` as `open` does (missing, a folder, no permission).
    """
    with Path(path).open("rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise FileTooLarge(Path(path), limit)
    return data


def ensure_dir(path: Path, mode: int) -> Path:
    """Create `path` (and parents) with `mode` if missing; an existing folder is left as it is."""
    path.mkdir(mode=mode, parents=True, exist_ok=True)
    return path


def write_atomic(path: Path, data: bytes, *, mode: int, replace: bool = True) -> None:
    """Write `data` to `path` atomically; the file has `mode` from creation (umask may only narrow it).

    With ``replace=False`` an existing target is an error (``FileExistsError``), checked atomically
    by linking instead of renaming.
    """
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(tmp, flags, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def _fsync_dir(path: Path) -> None:
    """Make the rename durable (best effort: some filesystems refuse to open folders)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
