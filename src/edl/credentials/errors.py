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

    # --- holder binding: device authentication over a session transcript (edl.credentials.device_auth) ---
    DEVICE_AUTH_MISSING = "device_auth_missing"
    """A session transcript was given and the document has no deviceSigned / deviceAuth."""
    DEVICE_AUTH_INVALID = "device_auth_invalid"
    """The device signature or MAC does not verify over DeviceAuthentication for the transcript given (another
    request's transcript, or another key: an ECDSA signature cannot tell which)."""
    DEVICE_KEY_MISMATCH = "device_key_mismatch"
    """The device proof names or needs a key other than the MSO's device key (a certificate of its own in a header,
    an algorithm that does not fit the key, a reader key that is not the transcript's EReaderKey)."""
    DEVICE_ELEMENT_UNAUTHORIZED = "device_element_unauthorized"
    """A device-signed data element the MSO's keyAuthorizations does not allow."""

    # --- the 亮码 (live code, docs/code-format.md) and status ---
    CODE_PREFIX = "code_prefix"
    """The text is not a string starting with ``EDL1:``."""
    CODE_BASE45 = "code_base45"
    """The text after the prefix is not Base45 (RFC 9285) in its exact alphabet."""
    CODE_COMPRESSION = "code_compression"
    """The Base45 bytes are not one complete zlib stream (truncated, corrupt, or bytes after its end)."""
    CODE_TOO_LARGE = "code_too_large"
    """The text, or what it decompresses to, is over its size cap (a decompression bomb is refused)."""
    CODE_COSE = "code_cose"
    """Not a tagged COSE_Sign1 with exactly the headers a code may have (protected ``{1: -7, 4: kid}``)."""
    CODE_CLAIMS = "code_claims"
    """The claims map has an unknown or missing key, or a value of the wrong type or range."""
    CODE_LIFETIME = "code_lifetime"
    """``exp`` is not after ``iat``, or more than 180 s after it."""
    SIGNER_UNKNOWN = "signer_unknown"
    """No candidate signer certificate (known DS list or x5chain) matches the code's kid."""
    STATUS_SUSPENDED = "status_suspended"
    """The e-licence is suspended (status list, or the code's own status snapshot)."""
    STATUS_REVOKED = "status_revoked"
    """The e-licence is revoked (status list, or the code's own status snapshot)."""
    STATUS_UNKNOWN = "status_unknown"
    """The status could not be learnt (no list, a stale or unverifiable list, an index outside it)."""
    STATUS_LIST_INVALID = "status_list_invalid"
    """The status list token does not verify (signature, signer chain, structure)."""
    STATUS_LIST_STALE = "status_list_stale"
    """The status list is past its ``exp``."""
    NO_CODE = "no_code"
    """No QR code (or no eDL code) was found in the image."""

    # --- the number under the Code 128 barcode (online only, edl.credentials.barcode) ---
    BARCODE_EXPIRED = "barcode_expired"
    """A genuine barcode number from a step older than the previous one: the page it was read from is out of date."""
    BARCODE_INVALID = "barcode_invalid"
    """A barcode number whose tag is wrong (guessed, mistyped, or older than the expiry horizon)."""
    BARCODE_STATIC_ID = "barcode_static_id"
    """The fixed 32-hex e-licence id, which barcodes carried before they expired: never accepted."""


@dataclass(frozen=True)
class VerificationError:
    """One failed check: a stable `code` and a message a person can act on."""

    code: ErrorCode
    message: str

    def to_json_dict(self) -> dict[str, str]:
        return {"code": self.code.value, "message": self.message}


class IssuanceError(ValueError):
    """Issuing was refused: the input or the signer cannot produce a credential that verifies."""
