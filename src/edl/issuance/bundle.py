"""The published trust bundle: the authority's root, its document-signer certificates and the status-list location,
signed by the trust-list signer, with a version that increases whenever that content changes."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization

from edl.config import Settings
from edl.credentials.trustbundle import MAX_AGE, build_trust_bundle
from edl.issuance.status import status_list_uri
from edl.pki import Authority
from edl.pki.files import PUBLIC_FILE_MODE, write_atomic

TRUST_PATH = "/.well-known/edl/trust"
RESIGN_SECONDS = 3600
"""A bundle whose content did not change is re-signed after this long (a fresh ``iat`` for verifiers' max age)."""


class TrustBundlePublisher:
    """Serves the signed trust bundle of one authority; owns this process's copy of the newest one."""

    def __init__(self, authority: Authority, settings: Settings) -> None:
        self._authority = authority
        self._settings = settings
        self._lock = threading.Lock()
        self._key: tuple[int, str] | None = None
        self._built: datetime | None = None
        self._data: bytes | None = None

    def version(self) -> tuple[int, str]:
        """(version, content digest) of the trust bundle: the stored version while the root, the DS set and the
        status-list location stay the same; one more (and at least the number of DS certificates) when they
        change. Kept in ``pki/trust-bundle.json`` beside the authority's records."""
        authority = self._authority
        digest = hashlib.sha256()
        digest.update(authority.root_certificate().public_bytes(serialization.Encoding.DER))
        signers = authority.signers()
        for record in signers:
            digest.update(hashlib.sha256(record.certificate.public_bytes(serialization.Encoding.DER)).digest())
        digest.update(status_list_uri(self._settings).encode("utf-8"))
        content = digest.hexdigest()
        path = authority.records_dir / "trust-bundle.json"
        try:
            stored: dict[str, Any] = json.loads(path.read_text("utf-8"))
            version, known = int(stored["version"]), str(stored["digest"])
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            version, known = 0, ""
        if known == content and version >= 1:
            return version, content
        version = max(version + 1, len(signers), 1)
        data = json.dumps({"version": version, "digest": content}, indent=2).encode("utf-8")
        write_atomic(path, data, mode=PUBLIC_FILE_MODE)
        return version, content

    def current(self, *, at: datetime) -> bytes:
        """The signed trust bundle; re-signed when its content changed or it is `RESIGN_SECONDS` old."""
        if at.tzinfo is None:
            raise ValueError("a timezone-aware datetime is required")
        now = at.astimezone(UTC)
        authority = self._authority
        with self._lock:
            key = self.version()
            built = self._built
            fresh = built is not None and timedelta(0) <= now - built < timedelta(seconds=RESIGN_SECONDS)
            if self._data is not None and self._key == key and fresh:
                return self._data
            data = build_trust_bundle(
                version=key[0],
                root=authority.root_certificate(),
                signers=[r.certificate for r in authority.signers()],
                status_list_uri=status_list_uri(self._settings),
                signer=authority.service_signer("trust-list", now),
                iat=now,
                max_age=min(self._settings.trust_bundle_max_age_seconds, MAX_AGE),
            )
            self._key, self._built, self._data = key, now, data
            return data
