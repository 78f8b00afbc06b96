"""Stable error codes of credential verification, and the errors issuing can raise.

The codes are part of the public contract (CLI JSON, web API, audit logs): never rename one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ErrorCode(StrEnum):
    """Why a credential was refused. `VerificationResult.valid` is true only with none of these."""

    MALFORMED = "malformed"
    """Not a DeviceResponse/IssuerSigned, or a structure, type or CBOR encoding is wrong."""
    UNSUPPORTED_VERSION = "unsupported_version"
    """A version field other than "1.0"."""
    UNSUPPORTED_ALGORITHM = "unsupported_algorithm"
    """COSE algorithm unknown, missing, or not matching the signer key; digest algorithm not SHA-2."""
    CHAIN_UNTRUSTED = "chain_untrusted"
    """The DS certificate chain does not lead to a trusted IACA root under the 18013-5 profile."""
    CERTIFICATE_EXPIRED = "certificate_expired"
    """The DS certificate had expired at the verification time."""
    CERTIFICATE_NOT_YET_VALID = "certificate_not_yet_valid"
    """The DS certificate was not yet valid at the verification time."""
    SIGNATURE_INVALID = "signature_invalid"
    """The issuer signature (COSE_Sign1 over the MSO) does not verify with the DS key."""
    DIGEST_MISMATCH = "digest_mismatch"
    """A disclosed item does not hash to the digest the MSO holds for it."""
    DIGEST_MISSING = "digest_missing"
    """A disclosed item (or its namespace) has no digest in the MSO."""
    DOCTYPE_MISMATCH = "doctype_mismatch"
    """The MSO docType differs from the document's docType (or from the expected one)."""
    EXPIRED = "expired"
    """The MSO validUntil is before the verification time."""
    NOT_YET_VALID = "not_yet_valid"
    """The MSO signed or validFrom is after the verification time (plus leeway)."""
    INVALID_DATE = "invalid_date"
    """A tdate or full-date is not exactly in its standard form, or validity dates contradict."""
    SIGNED_OUTSIDE_CERTIFICATE = "signed_outside_certificate"
    """The MSO `signed` time lies outside the DS certificate's validity (18013-5 9.3.1)."""
    ISSUER_MISMATCH = "issuer_mismatch"
    """issuing_country / issuing_jurisdiction differ from the DS certificate's countryName / stateOrProvinceName."""


@dataclass(frozen=True)
class VerificationError:
    """One failed check: a stable `code` and a message a person can act on."""

    code: ErrorCode
    message: str

    def to_json_dict(self) -> dict[str, str]:
        return {"code": self.code.value, "message": self.message}


class IssuanceError(ValueError):
    """Issuing was refused: the input or the signer cannot produce a credential that verifies."""
