"""What verification returns: a result object that is valid only when every check passed."""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from cbor2 import CBORTag
from cryptography import x509

from edl.credentials.cose_key import CoseKey, DevicePublicKey
from edl.credentials.errors import VerificationError

Claims = Mapping[str, Mapping[str, object]]
HOLDER_VERIFIED = "verified"
"""Device authentication verified for the session transcript given: the presenter holds the mdoc's device key."""
HOLDER_FAILED = "failed"
"""A session transcript was given and device authentication is missing or does not verify."""
HOLDER_NOT_CHECKED = "not_checked"
"""No session transcript was given: only the issuer's data was verified; a copied file would pass."""
HOLDER_NOT_CHECKED_NOTE = (
    "holder binding not checked: no session transcript was given, so only the issuer's data is verified "
    "(a copied credential file would pass)"
)


@dataclass(frozen=True)
class SignerInfo:
    """Public facts about the document-signer certificate (shown whether or not it is trusted)."""

    subject: str
    serial: str
    not_after: datetime

    @classmethod
    def of(cls, certificate: x509.Certificate) -> SignerInfo:
        return cls(
            subject=certificate.subject.rfc4514_string(),
            serial=format(certificate.serial_number, "x"),
            not_after=certificate.not_valid_after_utc,
        )

    def to_json_dict(self) -> dict[str, str]:
        return {"subject": self.subject, "serial": self.serial, "not_after": _iso(self.not_after)}


@dataclass(frozen=True)
class DocumentResult:
    """The verdict on one document. `claims` is empty unless `valid`."""

    valid: bool
    doctype: str | None
    errors: tuple[VerificationError, ...]
    claims: Claims
    signer: SignerInfo | None
    valid_until: datetime | None = None
    device_cose_key: CoseKey | None = field(default=None, repr=False, compare=False)
    """The holder's device key from the MSO, checked (None unless `valid`)."""
    holder_binding: str = HOLDER_NOT_CHECKED
    """HOLDER_VERIFIED, HOLDER_FAILED or HOLDER_NOT_CHECKED (no session transcript given)."""
    device_claims: Claims = field(default_factory=dict)
    """Device-signed data elements that keyAuthorizations allows (empty unless `valid` with holder binding)."""

    @property
    def device_key(self) -> DevicePublicKey | None:
        """The holder's device key from the MSO (None unless `valid`), built on first use."""
        return self.device_cose_key.public_key() if self.device_cose_key is not None else None

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "doctype": self.doctype,
            "errors": [e.to_json_dict() for e in self.errors],
            "claims": json_value(self.claims),
            "signer": self.signer.to_json_dict() if self.signer else None,
            **_holder_json(self.holder_binding, self.device_claims),
        }


def _holder_json(holder_binding: str, device_claims: Claims) -> dict[str, Any]:
    out: dict[str, Any] = {"holder_binding": holder_binding}
    if holder_binding == HOLDER_NOT_CHECKED:
        out["holder_binding_note"] = HOLDER_NOT_CHECKED_NOTE
    if device_claims:
        out["device_claims"] = json_value(device_claims)
    return out


@dataclass(frozen=True)
class VerificationResult:
    """The verdict on a DeviceResponse or IssuerSigned.

    `valid` is true only when the input held at least one document and every check of every
    document passed. `doctype`, `claims` and `signer` are those of the first document; `errors`
    gathers the errors of all documents (prefixed with ``document[i]:`` when there are several);
    `documents` has the per-document results. `claims` is empty unless `valid`: data from a
    refused credential is never handed out.
    """

    valid: bool
    doctype: str | None
    errors: tuple[VerificationError, ...]
    claims: Claims
    signer: SignerInfo | None
    documents: tuple[DocumentResult, ...] = ()
    transcript_given: bool = False
    """Whether holder binding was asked for (a session transcript was given)."""

    @property
    def holder_binding(self) -> str:
        """HOLDER_VERIFIED only when every document's device authentication verified; HOLDER_NOT_CHECKED when no
        transcript was given; else HOLDER_FAILED (also when the input could not be read at all)."""
        verdicts = {d.holder_binding for d in self.documents}
        if not verdicts or verdicts == {HOLDER_NOT_CHECKED}:
            return HOLDER_FAILED if self.transcript_given else HOLDER_NOT_CHECKED
        return HOLDER_VERIFIED if verdicts == {HOLDER_VERIFIED} else HOLDER_FAILED

    def to_json_dict(self) -> dict[str, Any]:
        """JSON-ready: byte strings as base64, dates and times as ISO-8601 strings."""
        out: dict[str, Any] = {
            "valid": self.valid,
            "doctype": self.doctype,
            "errors": [e.to_json_dict() for e in self.errors],
            "claims": json_value(self.claims),
            "signer": self.signer.to_json_dict() if self.signer else None,
            **_holder_json(
                self.holder_binding, self.documents[0].device_claims if self.valid and self.documents else {}
            ),
        }
        if len(self.documents) > 1:
            out["documents"] = [d.to_json_dict() for d in self.documents]
        return out


def _iso(value: datetime) -> str:
    utc = value.astimezone(UTC).replace(tzinfo=None)
    return utc.isoformat() + "Z"


def json_value(value: object) -> Any:
    """Convert a decoded claim value to JSON types (bytes → base64, date/datetime → ISO-8601)."""
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, CBORTag):
        return {"tag": value.tag, "value": json_value(value.value)}
    return str(value)
