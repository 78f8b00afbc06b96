"""Content-addressed photo store: images are kept by the SHA-256 of their bytes, outside the licence rows."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

_SHA_RE = re.compile(r"^[0-9a-f]{64}$")


class PhotoNotFound(LookupError):
    pass


class PhotoStore(Protocol):
    """Where portraits live. `put` is idempotent: the same bytes always give the same reference."""

    def put(self, data: bytes) -> str: ...

    def get(self, ref: str) -> bytes: ...

    def exists(self, ref: str) -> bool: ...


def photo_ref(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class FilePhotoStore:
    """Files under `root/ab/cd/<sha256>`, written atomically and owner-only."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, ref: str) -> Path:
        if not _SHA_RE.match(ref):
            raise PhotoNotFound(f"not a photo reference: {ref!r}")
        return self.root / ref[:2] / ref[2:4] / ref

    def put(self, data: bytes) -> str:
        ref = photo_ref(data)
        path = self._path(ref)
        if path.exists():
            return ref
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return ref

    def get(self, ref: str) -> bytes:
        try:
            data = self._path(ref).read_bytes()
        except FileNotFoundError:
            raise PhotoNotFound(ref) from None
        if photo_ref(data) != ref:
            raise PhotoNotFound(f"photo {ref} is corrupt")
        return data

    def exists(self, ref: str) -> bool:
        try:
            return self._path(ref).exists()
        except PhotoNotFound:
            return False
