"""The signed status list (IETF Token Status List, draft-ietf-oauth-status-list, CWT form): build and verify.

A Status List is a byte array with `bits` bits per e-licence index: index ``i`` lives at bits
``(i*bits) .. (i*bits + bits - 1)`` of byte ``i*bits // 8``, counted from the least significant bit;
the array is DEFLATE-compressed in the ZLIB format. eDL uses ``bits = 2``: 0 valid, 1 invalid
(revoked), 2 suspended.

The Status List Token is a COSE_Sign1 (tag 18, no CWT tag 61) signed ES256 by the status-list signer
(a key of its own, certified by the IACA with the status-list EKU, `edl.pki.profiles`):

* protected header ``{1: -7, 16: "application/statuslist+cwt", 33: x5chain}``;
* payload, CWT claims: ``2`` sub (the list's URI), ``6`` iat, ``4`` exp, ``65534`` ttl (seconds),
  ``65533`` status_list ``{"bits": 2, "lst": zlib bytes}``.

Verification (`verify_status_list_token`) is strict and fails closed: a token that is not exactly
that, whose signer does not chain to a trusted root with the status-list EKU, or that is past its
``exp`` gives a result that is not valid, and `StatusListResult.status_at` then says UNKNOWN for every
index: never valid, never revoked. See docs/status-and-trust.md.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from edl.credentials.cose import ES256
from edl.credentials.errors import ErrorCode, IssuanceError, VerificationError
from edl.credentials.result import SignerInfo
from edl.credentials.service_object import (
    MAX_SERVICE_OBJECT_BYTES,
    ServiceObjectError,
    sign_service_object,
    verify_service_object,
)
from edl.domain.credential_status import CredentialStatus, from_list_value
from edl.pki.profiles import STATUS_LIST_SIGNING_EKU
from edl.pki.signer import Signer
from edl.pki.trust import TrustStore

TYP: Final = "application/statuslist+cwt"
"""Value of the COSE ``typ`` header (16) of a Status List Token, and the HTTP content type it is served with."""

CLAIM_SUB: Final = 2
CLAIM_EXP: Final = 4
CLAIM_IAT: Final = 6
CLAIM_TTL: Final = 65534
CLAIM_STATUS_LIST: Final = 65533
BITS: Final = frozenset({1, 2, 4, 8})

MAX_TOKEN_BYTES: Final = MAX_SERVICE_OBJECT_BYTES
"""Largest token accepted (before anything is decoded)."""
MAX_LIST_BYTES: Final = 32 * 1024 * 1024
"""Largest decompressed Status List accepted: 128 million entries at 2 bits. More is a decompression bomb."""
DEFAULT_LEEWAY: Final = timedelta(seconds=60)

# --- the byte array ---------------------------------------------------------------------------------------------


def pack_values(values: Sequence[int], bits: int = 2) -> bytearray:
    """The Status List byte array of one value per index (index 0 first), LSB first within each byte."""
    _check_bits(bits)
    limit = 1 << bits
    per_byte = 8 // bits
    out = bytearray((len(values) + per_byte - 1) // per_byte)
    for index, value in enumerate(values):
        if not isinstance(value, int):
            raise IssuanceError(f"status value at index {index} is not an integer")
        if not 0 <= value < limit:
            raise IssuanceError(f"status value {value} at index {index} does not fit in {bits} bits")
        if value:
            position = index * bits
            out[position >> 3] |= value << (position & 7)
    return out


def value_at(lst: bytes, index: int, bits: int) -> int | None:
    """The value of `index` in an uncompressed Status List, or None when the list does not reach it."""
    if index < 0:
        return None
    position = index * bits
    byte = position >> 3
    if byte >= len(lst):
        return None
    return (lst[byte] >> (position & 7)) & ((1 << bits) - 1)


def _check_bits(bits: object) -> None:
    if type(bits) is not int or bits not in BITS:
        raise IssuanceError(f"bits must be 1, 2, 4 or 8, not {bits!r}")


# --- building ---------------------------------------------------------------------------------------------------


def _epoch(value: datetime, name: str) -> int:
    if value.tzinfo is None:
        raise IssuanceError(f"{name} must be timezone-aware")
    return int(value.timestamp())


def build_status_list_token(
    values: Sequence[int] | bytes | bytearray | memoryview,
    *,
    bits: int = 2,
    uri: str,
    signer: Signer,
    iat: datetime,
    exp: datetime,
    ttl: int,
) -> bytes:
    """Sign a Status List Token for `values`.

    `values` is either one status value per index (a sequence of ints, e.g. a list) or, as
    ``bytes``/``bytearray``/``memoryview``, the already packed byte array (`pack_values`, or built in
    place by the caller for a million entries). Raises `IssuanceError` for what a verifier would refuse.
    """
    _check_bits(bits)
    packed = bytes(values if isinstance(values, bytes | bytearray | memoryview) else pack_values(values, bits))
    if not isinstance(uri, str) or not uri:
        raise IssuanceError("the status list needs its URI (sub)")
    if type(ttl) is not int or ttl <= 0:
        raise IssuanceError("ttl must be a positive number of seconds")
    issued, expires = _epoch(iat, "iat"), _epoch(exp, "exp")
    if expires <= issued:
        raise IssuanceError("exp must be after iat")
    if len(packed) > MAX_LIST_BYTES:
        raise IssuanceError(f"the status list is over {MAX_LIST_BYTES} bytes")
    if signer.algorithm != ES256.name or not isinstance(signer.certificate.public_key(), ec.EllipticCurvePublicKey):
        raise IssuanceError("a status list is signed ES256 with a P-256 key")
    claims = {
        CLAIM_SUB: uri,
        CLAIM_IAT: issued,
        CLAIM_EXP: expires,
        CLAIM_TTL: ttl,
        CLAIM_STATUS_LIST: {"bits": bits, "lst": zlib.compress(packed, 9)},
    }
    return sign_service_object(claims, signer, typ=TYP)


# --- verifying a Status List Token ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusListResult:
    """The verdict on a Status List Token. `status_at` is UNKNOWN for every index unless `valid`."""

    valid: bool
    errors: tuple[VerificationError, ...]
    uri: str | None
    iat: datetime | None
    exp: datetime | None
    ttl: int | None
    bits: int | None
    lst: bytes = field(default=b"", repr=False)
    """The decompressed byte array (empty unless the token verified)."""
    signer: SignerInfo | None = None

    @property
    def size(self) -> int:
        """How many indices the list covers (0 unless valid)."""
        return len(self.lst) * 8 // self.bits if self.valid and self.bits else 0

    def status_at(self, index: int) -> CredentialStatus:
        """The status of e-licence index `index`; UNKNOWN unless the list is valid and reaches the index."""
        if not self.valid or self.bits is None or type(index) is not int:
            return CredentialStatus.UNKNOWN
        value = value_at(self.lst, index, self.bits)
        return CredentialStatus.UNKNOWN if value is None else from_list_value(value)

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "errors": [e.to_json_dict() for e in self.errors],
            "uri": self.uri,
            "iat": _iso(self.iat),
            "exp": _iso(self.exp),
            "ttl": self.ttl,
            "bits": self.bits,
            "size": self.size,
            "signer": self.signer.to_json_dict() if self.signer else None,
        }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


def _refused(message: str, signer: SignerInfo | None = None) -> StatusListResult:
    error = VerificationError(ErrorCode.STATUS_LIST_INVALID, f"status list refused: {message}")
    return StatusListResult(False, (error,), None, None, None, None, None, signer=signer)


class _BadClaims(Exception):
    pass


def _uint(claims: Mapping[Any, Any], key: int, name: str) -> int:
    value = claims.get(key)
    if type(value) is not int or value < 0:
        raise _BadClaims(f"{name} ({key}) is missing or not an unsigned integer")
    return value


def _time(seconds: int, name: str) -> datetime:
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise _BadClaims(f"{name} is out of range") from None


def _decompress(lst: bytes) -> bytes:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(lst, MAX_LIST_BYTES)
    except zlib.error:
        raise _BadClaims("lst is not a zlib stream") from None
    if inflater.unconsumed_tail:
        raise _BadClaims(f"lst decompresses to more than {MAX_LIST_BYTES} bytes")
    if not inflater.eof or inflater.unused_data:
        raise _BadClaims("lst is not exactly one complete zlib stream")
    return out


def parse_status_list_claims(payload: object) -> tuple[str, int, int, int, int, bytes]:
    """(sub, iat, exp, ttl, bits, decompressed lst) of a decoded claims map; raises `ValueError` naming the fault.

    Other claims are allowed and ignored (the draft lets a CWT carry more); eDL's profile requires exp and ttl.
    """
    try:
        if not isinstance(payload, Mapping):
            raise _BadClaims("the claims are not a map")
        sub = payload.get(CLAIM_SUB)
        if type(sub) is not str or not sub:
            raise _BadClaims("sub (2) is missing or not a text string")
        iat = _uint(payload, CLAIM_IAT, "iat")
        exp = _uint(payload, CLAIM_EXP, "exp")
        ttl = _uint(payload, CLAIM_TTL, "ttl")
        if ttl == 0:
            raise _BadClaims("ttl must be positive")
        if exp <= iat:
            raise _BadClaims("exp is not after iat")
        status_list = payload.get(CLAIM_STATUS_LIST)
        if not isinstance(status_list, Mapping):
            raise _BadClaims("status_list (65533) is missing or not a map")
        if not set(status_list) <= {"bits", "lst", "aggregation_uri"}:
            raise _BadClaims("status_list has an unknown member")
        bits, lst = status_list.get("bits"), status_list.get("lst")
        if type(bits) is not int or bits not in BITS:
            raise _BadClaims("status_list bits must be 1, 2, 4 or 8")
        if type(lst) is not bytes:
            raise _BadClaims("status_list lst is missing or not a byte string")
        if "aggregation_uri" in status_list and type(status_list["aggregation_uri"]) is not str:
            raise _BadClaims("status_list aggregation_uri is not a text string")
        return sub, iat, exp, ttl, bits, _decompress(lst)
    except _BadClaims as exc:
        raise ValueError(str(exc)) from None


def verify_status_list_token(
    data: bytes,
    trust: TrustStore | Sequence[x509.Certificate],
    *,
    at: datetime | None = None,
    expected_uri: str | None = None,
    leeway: timedelta = DEFAULT_LEEWAY,
) -> StatusListResult:
    """Verify a Status List Token against the trusted IACA roots `trust` at `at` (default now).

    Valid only when the token is a tagged COSE_Sign1 with protected ``typ`` = `TYP` and ES256, its x5chain leaf
    is a status-list signer chaining to a trusted root, the signature verifies, the claims have the right
    types, ``sub`` equals `expected_uri` (when given), it was not issued in the future and is not past ``exp``.
    Past ``exp`` gives ``status_list_stale``; anything else wrong gives ``status_list_invalid``.
    """
    when = datetime.now(UTC) if at is None else at
    if when.tzinfo is None:
        raise ValueError("the verification time must be timezone-aware")
    try:
        signed = verify_service_object(
            data, trust, eku=STATUS_LIST_SIGNING_EKU, typ=TYP, at=when, max_bytes=MAX_TOKEN_BYTES
        )
    except ServiceObjectError as exc:
        return _refused(exc.message, exc.signer)
    try:
        sub, iat, exp, ttl, bits, lst = parse_status_list_claims(signed.payload)
        issued, expires = _time(iat, "iat"), _time(exp, "exp")
    except (ValueError, _BadClaims) as exc:
        return _refused(str(exc), signed.signer_info)
    if expected_uri is not None and sub != expected_uri:
        return _refused(f"sub {sub!r} is not the expected list {expected_uri!r}", signed.signer_info)
    if issued > when + leeway:
        return _refused(f"issued in the future ({issued.isoformat()})", signed.signer_info)
    if when > expires:
        stale = VerificationError(
            ErrorCode.STATUS_LIST_STALE, f"the status list expired at {expires.isoformat()}; fetch a fresh one"
        )
        return StatusListResult(False, (stale,), sub, issued, expires, ttl, bits, signer=signed.signer_info)
    return StatusListResult(True, (), sub, issued, expires, ttl, bits, lst, signed.signer_info)
