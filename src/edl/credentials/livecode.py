"""The 亮码 (live code): a short-lived signed code a holder shows, checked offline by any verifier.

Design of the EU Digital COVID Certificate: ``"EDL1:" + Base45(zlib(COSE_Sign1(CBOR claims)))``, signed ES256
by the document signer, with a ``kid`` naming its certificate. The exact wire format is in docs/code-format.md.

`verify_code` is a staged pipeline; the first stage that fails names itself in `CodeResult.stage` with its own
error code: ``prefix`` → ``base45`` → ``compression`` (size-capped: a decompression bomb is refused) → ``cose`` →
``claims`` → ``signature`` (every certificate whose kid matches is tried, so a kid collision cannot break
verification) → ``signer`` (chain to a trusted root at the verification time; signed inside the certificate's
validity) → ``time`` (expired, not yet valid). The status of the e-licence is not judged here
(`edl.verification.offline` adds it). Nothing is ever accepted on an unexpected error.

Cached across calls, always keyed by exact bytes or by the identity of the caller's certificate objects: parsed
protected headers, the kid index of a signer list, parsed x5chain certificates, and (inside `TrustStore`) chains
that passed path validation. Nothing of a code itself is cached.
"""

from __future__ import annotations

import base64
import hashlib
import operator
import re
import threading
import zlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final, NamedTuple

import base45
import cbor2
from cbor2 import CBORTag
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.x509.oid import NameOID

from edl.credentials import cbor
from edl.credentials.cose import (
    COSE_SIGN1_TAG,
    ES256,
    HEADER_ALG,
    HEADER_CRIT,
    HEADER_KID,
    HEADER_X5CHAIN,
    sig_structure,
)
from edl.credentials.errors import ErrorCode, IssuanceError, VerificationError
from edl.credentials.result import SignerInfo
from edl.credentials.structure import Refusal, parse_certificates
from edl.domain.classes import VehicleClass
from edl.domain.status import Status
from edl.pki.errors import ChainValidationError
from edl.pki.signer import Signer
from edl.pki.trust import TrustStore, trust_store

PREFIX: Final = "EDL1:"
CODE_DOCTYPE: Final = "cn.edl.code.1"
MAX_LIFETIME: Final = timedelta(seconds=180)
MAX_LIFETIME_SECONDS: Final = 180
DEFAULT_LEEWAY: Final = timedelta(seconds=60)

KID_BYTES: Final = 8
NONCE_MIN, NONCE_MAX = 8, 16
MAX_CLASSES: Final = 8
MAX_STATUSES: Final = 6
MAX_INDEX: Final = 2**32 - 1
MAX_TIME: Final = 253402300799  # 9999-12-31T23:59:59Z
MAX_QR_TEXT: Final = 311
"""Characters of a QR code of version 10 at error correction M in alphanumeric mode: what `make_code` may make."""
MAX_TEXT: Final = 4096
"""The longest text `verify_code` reads (a code carrying an x5chain is longer than a QR v10 holds)."""
MAX_COSE_BYTES: Final = 4096
"""The most bytes decompression may produce: past it the code is refused (`code_too_large`)."""

CLAIM_ISS, CLAIM_EXP, CLAIM_IAT, CLAIM_CTI = 1, 4, 6, 7
_CLAIM_KEYS: Final = frozenset({CLAIM_ISS, CLAIM_EXP, CLAIM_IAT, CLAIM_CTI, "eid", "cls", "st", "sli", "vu"})
_CLASS_CODES: Final = frozenset(c.value for c in VehicleClass)
_STATUS_CODES: Final = frozenset(s.value for s in Status)
_HEX32_RE = re.compile(r"[0-9a-f]{32}\Z", re.ASCII)
_FULL_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}\Z", re.ASCII)

STAGES: Final = ("prefix", "base45", "compression", "cose", "claims", "signature", "signer", "time")


@dataclass(frozen=True)
class CodeClaims:
    """What a 亮码 says: which e-licence, its classes and status snapshot, and when the code was made."""

    elicence_id: str
    classes: tuple[str, ...]
    status: str
    status_index: int
    licence_valid_until: date | None
    """None = 长期 (long-term)."""
    issued_at: datetime
    expires_at: datetime
    nonce: bytes
    issuer: str = "CN"

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "elicence_id": self.elicence_id,
            "classes": list(self.classes),
            "status": self.status,
            "status_index": self.status_index,
            "licence_valid_until": self.licence_valid_until.isoformat() if self.licence_valid_until else None,
            "issued_at": _iso(self.issued_at),
            "expires_at": _iso(self.expires_at),
            "nonce": base64.b64encode(self.nonce).decode("ascii"),
            "issuer": self.issuer,
        }


@dataclass(frozen=True)
class CodeResult:
    """The verdict on a code: `valid` only when signature, signer chain and time all passed (status not judged)."""

    valid: bool
    errors: tuple[VerificationError, ...]
    claims: CodeClaims | None
    """Only when `valid`: data of a refused code is never handed out."""
    signer: SignerInfo | None
    stage: str | None
    """The stage that failed (one of `STAGES`), None when valid."""

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "doctype": CODE_DOCTYPE,
            "errors": [e.to_json_dict() for e in self.errors],
            "claims": self.claims.to_json_dict() if self.claims else {},
            "signer": self.signer.to_json_dict() if self.signer else None,
            "stage": self.stage,
        }


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


def kid_of(certificate: x509.Certificate) -> bytes:
    """The code's ``kid`` for a signer certificate: the first 8 bytes of SHA-256 of its DER (as EU DCC)."""
    return _kid_of_der(certificate.public_bytes(serialization.Encoding.DER))


def _kid_of_der(der: bytes) -> bytes:
    return hashlib.sha256(der).digest()[:KID_BYTES]


# --- making ---------------------------------------------------------------------------------------------------


def _epoch(value: datetime, name: str) -> int:
    if value.tzinfo is None:
        raise IssuanceError(f"{name} must be timezone-aware")
    if value.microsecond:
        raise IssuanceError(f"{name} must be whole seconds")
    return int(value.timestamp())


def claims_map(claims: CodeClaims) -> dict[Any, Any]:
    """The CBOR claims map of `claims` (CWT keys 1/4/6/7 and eDL's text keys)."""
    if not _HEX32_RE.match(claims.elicence_id):
        raise IssuanceError("elicence_id must be 32 lowercase hex digits")
    return {
        CLAIM_ISS: claims.issuer,
        CLAIM_EXP: _epoch(claims.expires_at, "expires_at"),
        CLAIM_IAT: _epoch(claims.issued_at, "issued_at"),
        CLAIM_CTI: bytes(claims.nonce),
        "eid": bytes.fromhex(claims.elicence_id),
        "cls": list(claims.classes),
        "st": claims.status,
        "sli": claims.status_index,
        "vu": claims.licence_valid_until.isoformat() if claims.licence_valid_until else None,
    }


def make_code(claims: CodeClaims, signer: Signer, *, with_chain: bool = False) -> str:
    """Sign `claims` into a code text ``"EDL1:" + Base45(zlib(COSE_Sign1))``.

    The claims are checked by the verifier's own rules first (a code that would be refused is never made). The
    code must fit a QR code of version 10 at error correction M; `with_chain` also puts the signer's certificate
    chain in the unprotected header (``x5chain``): longer than a QR v10, for verifiers without the DS list.
    Raises `IssuanceError`.
    """
    if signer.algorithm != ES256.name or not isinstance(signer.certificate.public_key(), ec.EllipticCurvePublicKey):
        raise IssuanceError("a live code is signed ES256 with a P-256 document-signer key")
    payload = cbor2.dumps(claims_map(claims), canonical=True)
    try:
        _parse_claims(payload)
    except _Refused as refused:
        raise IssuanceError(f"claims the verifier would refuse: {refused.message}") from None
    kid = kid_of(signer.certificate)
    protected = cbor2.dumps({HEADER_ALG: ES256.cose_id, HEADER_KID: kid}, canonical=True)
    signature = signer.sign(sig_structure(protected, payload))
    if len(signature) != 2 * ES256.size:
        raise IssuanceError("the signer did not return a raw 64-byte ES256 signature")
    unprotected: dict[int, Any] = {}
    if with_chain:
        ders = [c.public_bytes(serialization.Encoding.DER) for c in signer.certificate_chain]
        unprotected[HEADER_X5CHAIN] = ders[0] if len(ders) == 1 else ders
    cose = cbor2.dumps(CBORTag(COSE_SIGN1_TAG, [protected, unprotected, payload, signature]))
    encoded: bytes = base45.b45encode(zlib.compress(cose, 9))
    text = PREFIX + encoded.decode("ascii")
    limit = MAX_TEXT if with_chain else MAX_QR_TEXT
    if len(text) > limit:
        raise IssuanceError(f"the code would be {len(text)} characters, more than the {limit} it may have")
    return text


# --- verifying ------------------------------------------------------------------------------------------------


class _Refused(Exception):
    def __init__(self, stage: str, code: ErrorCode, message: str, signer: SignerInfo | None = None) -> None:
        super().__init__(message)
        self.stage = stage
        self.code = code
        self.message = message
        self.signer = signer


class _Cose(NamedTuple):
    protected: bytes
    kid: bytes
    x5chain: tuple[bytes, ...]
    payload: bytes
    signature: bytes
    to_be_signed: bytes
    """The Sig_structure ``["Signature1", protected, h'', payload]`` the signature covers."""


class _Candidate(NamedTuple):
    """A certificate that may have signed a code, with what checking it needs (built once per DER)."""

    chain: tuple[x509.Certificate, ...]
    ders: tuple[bytes, ...]
    public_key: ec.EllipticCurvePublicKey | None
    """None when the certificate's key is not P-256 (it cannot have signed a code)."""
    info: SignerInfo
    not_before: datetime
    not_after: datetime
    country: str | None
    validated: dict[int, tuple[TrustStore, datetime, datetime]]
    """Trust stores (by id; the entry keeps the store alive) that validated this chain, with the instants between
    which every certificate of the path they found is valid: at such an instant the store would answer the same."""


def verify_code(
    text: str,
    trust: TrustStore | Sequence[x509.Certificate],
    signers: Sequence[x509.Certificate],
    *,
    at: datetime | None = None,
    leeway: timedelta = DEFAULT_LEEWAY,
) -> CodeResult:
    """Verify a code text against the trusted roots `trust` and the candidate DS certificates `signers`.

    `at` (default now, UTC) is the verification time; `leeway` tolerates clock skew on ``iat`` in the future only:
    a code is expired from its ``exp`` on, with no leeway. Bad input gives a result with errors, never an exception.
    """
    moment = datetime.now(UTC) if at is None else at
    if moment.tzinfo is None:
        raise ValueError("`at` must be timezone-aware")
    stage = STAGES[0]
    signer: SignerInfo | None = None
    try:
        body = _strip_prefix(text)
        stage = "base45"
        compressed = _base45(body)
        stage = "compression"
        cose_bytes = _decompress(compressed)
        stage = "cose"
        cose = _parse_cose(cose_bytes)
        stage = "claims"
        claims = _parse_claims(cose.payload)
        stage = "signature"
        chosen = _check_signature(cose, claims, trust_store(trust), signers, moment)
        signer = chosen.info
        stage = "time"
        _check_time(claims, moment, leeway, signer)
    except _Refused as refused:
        return CodeResult(
            False, (VerificationError(refused.code, refused.message),), None, refused.signer, refused.stage
        )
    except Exception as exc:  # a bug must never turn into an acceptance, nor into a crash
        error = VerificationError(ErrorCode.MALFORMED, f"unexpected error while verifying: {type(exc).__name__}")
        return CodeResult(False, (error,), None, signer, stage)
    result = _new(CodeResult)  # (the fields of a frozen dataclass, set once, as its __init__ would)
    result.__dict__.update(valid=True, errors=(), claims=claims, signer=signer, stage=None)
    return result


def _strip_prefix(text: object) -> str:
    if type(text) is not str:
        raise _Refused("prefix", ErrorCode.CODE_PREFIX, "a code is a text string")
    if not text.startswith(PREFIX):
        raise _Refused("prefix", ErrorCode.CODE_PREFIX, f"not an eDL code: it must start with {PREFIX!r}")
    return text[len(PREFIX) :]


def _base45(body: str) -> bytes:
    if len(body) > MAX_TEXT:
        raise _Refused("base45", ErrorCode.CODE_TOO_LARGE, f"the code is longer than {MAX_TEXT} characters")
    try:
        ascii_ = body.encode("ascii")
    except UnicodeEncodeError:
        ascii_ = b""
    if not ascii_ or ascii_.translate(None, _BASE45_ALPHABET):  # (what is left after deleting the alphabet)
        raise _Refused("base45", ErrorCode.CODE_BASE45, "the code has characters outside the Base45 alphabet")
    decoded = _b45decode_ascii(ascii_)
    if decoded is None:
        raise _Refused("base45", ErrorCode.CODE_BASE45, "the code is not valid Base45 (RFC 9285)")
    return decoded


_BASE45_ALPHABET: Final = base45.BASE45_CHARSET.encode("ascii")
_BASE45_VALUES: Final = bytes.maketrans(_BASE45_ALPHABET, bytes(range(45)))
_triple_masks: dict[int, tuple[int, int, int]] = {}


def b45decode(body: str) -> bytes | None:
    """RFC 9285 decoding of a text already known to be in the Base45 alphabet; None when it is not Base45.

    The `base45` package defines the codec here (codes are encoded with it, and a property test holds this
    decoder to its `b45decode`, valid and invalid input alike). Its decoder walks the text one character at a
    time in Python, costing about as much as the ECDSA verification itself; this one does the whole text in a
    few big-integer operations (see `_b45decode_ascii`). (It also never forgives a trailing newline, which
    `base45.b45decode` strips.)
    """
    return _b45decode_ascii(body.encode("ascii"))


def _b45decode_ascii(text: bytes) -> bytes | None:
    """`b45decode` of ASCII bytes in the Base45 alphabet.

    Each triple ``c d e`` of character values stands for ``c + 45 d + 2025 e``, two bytes big-endian, and must be
    at most 0xFFFF. The values of all triples are read as one big integer of 3-byte slots (``c``, ``d``, ``e``
    one byte each): masking out each column, shifting it to the slot's low byte and summing with its weight gives
    every triple's value in its own slot at once (at most 44 * 2071 = 91124 < 2**24, so no slot carries into the
    next). A triple above 0xFFFF is one whose slot's top byte is not 0; the output is every slot's two low bytes.
    """
    values = text.translate(_BASE45_VALUES)
    size = len(values)
    rest = size % 3
    if rest == 1:
        return None
    end = size - rest
    triples = end // 3
    masks = _triple_masks.get(triples)
    if masks is None:
        masks = (
            int.from_bytes(b"\xff\0\0" * triples, "big"),
            int.from_bytes(b"\0\xff\0" * triples, "big"),
            int.from_bytes(b"\0\0\xff" * triples, "big"),
        )
        if len(_triple_masks) >= 64:
            _triple_masks.clear()
        _triple_masks[triples] = masks
    first, second, third = masks
    number = int.from_bytes(values[:end] if rest else values, "big")
    total = ((number & first) >> 16) + 45 * ((number & second) >> 8) + 2025 * (number & third)
    if total & first:  # a triple above 0xFFFF: its slot's top byte is not 0
        return None
    slots = bytearray(total.to_bytes(end, "big"))
    del slots[0::3]
    if rest:
        last = values[end] + 45 * values[end + 1]
        if last > 0xFF:
            return None
        slots.append(last)
    return bytes(slots)


def _decompress(data: bytes) -> bytes:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, MAX_COSE_BYTES)
        if inflater.unconsumed_tail or (not inflater.eof and len(out) >= MAX_COSE_BYTES):
            raise _Refused(
                "compression", ErrorCode.CODE_TOO_LARGE, f"the code decompresses to more than {MAX_COSE_BYTES} bytes"
            )
    except zlib.error as exc:
        raise _Refused("compression", ErrorCode.CODE_COMPRESSION, f"the code is not zlib data: {exc}") from None
    if not inflater.eof:
        raise _Refused("compression", ErrorCode.CODE_COMPRESSION, "the zlib data is truncated")
    if inflater.unused_data:
        raise _Refused("compression", ErrorCode.CODE_COMPRESSION, "bytes follow the end of the zlib data")
    return out


_protected_cache: dict[bytes, bytes] = {}
_ARRAYS: Final = (list, tuple)
_MAPS: Final = (dict, cbor2.frozendict)


def _cose_error(message: str) -> _Refused:
    return _Refused("cose", ErrorCode.CODE_COSE, message)


def _protected_kid(protected: bytes) -> bytes:
    """The kid of a protected header that is exactly ``{1: -7, 4: kid}`` (cached by its bytes)."""
    kid = _protected_cache.get(protected)
    if kid is not None:
        return kid
    try:
        header = cbor.decode_envelope(protected)
    except cbor.CborError as exc:
        raise _cose_error(f"protected header: {exc}") from None
    if type(header) is not dict or not all(type(label) is int for label in header):
        raise _cose_error("the protected header is not a map with integer labels")
    if HEADER_CRIT in header:
        raise _cose_error("critical COSE headers are not supported")
    alg = header.get(HEADER_ALG)
    if type(alg) is not int or alg != ES256.cose_id:
        raise _Refused("cose", ErrorCode.UNSUPPORTED_ALGORITHM, f"COSE algorithm {alg!r} is not ES256 (-7)")
    kid = header.get(HEADER_KID)
    if type(kid) is not bytes or len(kid) != KID_BYTES:
        raise _cose_error(f"the protected header has no kid of {KID_BYTES} bytes")
    if header.keys() != {HEADER_ALG, HEADER_KID}:
        raise _cose_error("the protected header has labels other than alg (1) and kid (4)")
    if len(_protected_cache) >= 256:
        _protected_cache.clear()
    _protected_cache[protected] = kid
    return kid


_PLAIN_HEAD: Final = b"\xd2\x84\x4d"
"""Tag 18, an array of 4, and a 13-byte string: how a code without x5chain starts (the protected header
``{1: -7, 4: kid}`` is 13 bytes)."""
_PLAIN_END: Final = 2 + 1 + 13
_SIGNATURE_HEAD: Final = b"\x58\x40"
_TBS_HEAD: Final = b"\x84\x6aSignature1"
"""An array of 4 and the text "Signature1": how every Sig_structure starts."""


def _parse_plain_cose(data: bytes) -> _Cose | None:
    """The envelope of a code without x5chain in preferred serialization, read by its layout; None for any other
    bytes (`_parse_cose` then reads them with cbor2 and decides).

    The layout: ``d2`` (tag 18) ``84`` (array of 4) ``4d`` + 13 bytes (protected), ``a0`` (empty map), a byte
    string in its shortest head (payload), ``58 40`` + 64 bytes (signature), nothing after. Every head here is
    checked to be the shortest for its length and the lengths to add up to exactly `data`, so these bytes are the
    one preferred serialization of what cbor2 would decode; a test holds this reader to the cbor2 one. The
    Sig_structure is built from the received items themselves (each a byte string in its only preferred form).
    """
    if not data.startswith(_PLAIN_HEAD) or len(data) < _PLAIN_END + 1 + 1 + 66 or data[_PLAIN_END] != 0xA0:
        return None
    head = data[_PLAIN_END + 1]
    start = _PLAIN_END + 2
    if 0x40 <= head <= 0x57:
        length = head - 0x40
    elif head == 0x58:
        length = data[start]
        start += 1
        if length < 24:
            return None
    elif head == 0x59:
        length = int.from_bytes(data[start : start + 2], "big")
        start += 2
        if length < 256:
            return None
    else:
        return None
    end = start + length
    if len(data) != end + 66 or data[end : end + 2] != _SIGNATURE_HEAD:
        return None
    protected = data[3:_PLAIN_END]
    payload = data[start:end]
    to_be_signed = b"".join((_TBS_HEAD, data[2:_PLAIN_END], b"\x40", data[_PLAIN_END + 1 : end]))
    return _Cose(protected, _protected_kid(protected), (), payload, data[end + 2 :], to_be_signed)


def _parse_cose(data: bytes) -> _Cose:
    plain = _parse_plain_cose(data)
    return plain if plain is not None else _parse_cose_cbor(data)


def _parse_cose_cbor(data: bytes) -> _Cose:
    """The envelope read by cbor2 (any layout: an x5chain, or bytes `_parse_plain_cose` does not take)."""
    try:  # preferred serialization only: the envelope is not signed, so it must have one encoding
        value = _loads(data)
        canonical = cbor2.dumps(value) == data
    except Exception as exc:  # cbor2 raises CBORDecodeError, and ValueError/TypeError from its tag decoders
        raise _cose_error(f"not a COSE_Sign1: {type(exc).__name__}") from None
    if not canonical:
        raise _cose_error("the COSE_Sign1 is not in preferred CBOR serialization (one encoding only)")
    if type(value) is not CBORTag or value.tag != COSE_SIGN1_TAG:
        raise _cose_error("not a COSE_Sign1 (tag 18)")
    parts = value.value  # (cbor2 decodes the content of a tag as immutable: tuple and frozendict)
    if type(parts) not in _ARRAYS or len(parts) != 4:
        raise _cose_error("a COSE_Sign1 is an array of 4 elements")
    protected, unprotected, payload, signature = parts
    if type(protected) is not bytes or type(unprotected) not in _MAPS:
        raise _cose_error("COSE_Sign1 headers are not a byte string and a map")
    if type(payload) is not bytes or type(signature) is not bytes:
        raise _cose_error("COSE_Sign1 payload and signature must be byte strings (no detached payload)")
    kid = _protected_kid(protected)
    chain: tuple[bytes, ...] = ()
    if unprotected:
        if unprotected.keys() != {HEADER_X5CHAIN} or type(next(iter(unprotected))) is not int:
            raise _cose_error("the unprotected header may hold only an x5chain (33)")
        found = unprotected[HEADER_X5CHAIN]
        if type(found) is bytes:
            chain = (found,)
        elif type(found) in _ARRAYS and 0 < len(found) <= 4 and all(type(c) is bytes for c in found):
            chain = tuple(found)
        else:
            raise _cose_error("x5chain (33) is not a certificate (bstr) or an array of up to 4 certificates")
        if _kid_of_der(chain[0]) != kid:
            raise _cose_error("the kid does not name the x5chain certificate")
    return _Cose(protected, kid, chain, payload, signature, sig_structure(protected, payload))


def _claims_error(message: str) -> _Refused:
    return _Refused("claims", ErrorCode.CODE_CLAIMS, message)


def _loads(data: bytes) -> Any:
    """One definite-length CBOR item without duplicate map keys (cbor2 refuses trailing bytes)."""
    return cbor2.loads(data, allow_indefinite=False, allow_duplicate_keys=False, max_depth=8)


def _parse_claims(payload: bytes) -> CodeClaims:
    # (signed bytes: any definite-length, duplicate-free encoding the signer chose is taken; tags, floats and
    # other types never pass the type checks below)
    try:
        claims = cbor2.loads(payload, allow_indefinite=False, allow_duplicate_keys=False, max_depth=8)
    except Exception as exc:  # cbor2 raises CBORDecodeError, and ValueError/TypeError from its tag decoders
        raise _claims_error(f"the claims are not CBOR: {type(exc).__name__}") from None
    if type(claims) is not dict or claims.keys() != _CLAIM_KEYS:
        found = claims.keys() if type(claims) is dict else set()
        raise _claims_error(
            f"claims must be exactly the keys {sorted(map(str, _CLAIM_KEYS))} "
            f"(unknown: {sorted(map(repr, found - _CLAIM_KEYS))}, missing: {sorted(map(str, _CLAIM_KEYS - found))})"
        )
    if not _KEY_TYPES.issuperset(map(type, claims)):  # (True == 1 in Python: a key must be an int or a text)
        key = next(k for k in claims if type(k) not in _KEY_TYPES)
        raise _claims_error(f"claim key {key!r} is not an integer or a text string")
    iss, exp, iat, nonce = claims[CLAIM_ISS], claims[CLAIM_EXP], claims[CLAIM_IAT], claims[CLAIM_CTI]
    eid, classes, status, index, until = claims["eid"], claims["cls"], claims["st"], claims["sli"], claims["vu"]
    if type(iss) is not str or len(iss) != 2 or not (iss.isascii() and iss.isalpha() and iss.isupper()):
        raise _claims_error("claim iss (1) is not a two-letter country code")
    if type(exp) is not int or type(iat) is not int or not (0 <= iat <= MAX_TIME and 0 <= exp <= MAX_TIME):
        raise _claims_error("claims exp (4) and iat (6) must be NumericDates (unsigned integer seconds)")
    if type(nonce) is not bytes or not NONCE_MIN <= len(nonce) <= NONCE_MAX:
        raise _claims_error(f"claim cti (7) is not a nonce of {NONCE_MIN} to {NONCE_MAX} bytes")
    if type(eid) is not bytes or len(eid) != 16:
        raise _claims_error("claim eid is not a 16-byte e-licence id")
    if type(classes) is not list or _classes_of(classes) is None:
        raise _claims_error(f"claim cls is not 1 to {MAX_CLASSES} distinct vehicle class codes")
    if type(status) is not str or not _statuses_known(status):
        raise _claims_error(f"claim st is not 1 to {MAX_STATUSES} distinct licence status codes")
    if type(index) is not int or not 0 <= index <= MAX_INDEX:
        raise _claims_error("claim sli is not a status list index (unsigned 32-bit)")
    valid_until = None if until is None else _full_date(until)
    if not 0 < exp - iat <= MAX_LIFETIME_SECONDS:
        raise _Refused(
            "claims",
            ErrorCode.CODE_LIFETIME,
            f"a code must expire after it is made and at most {MAX_LIFETIME_SECONDS} s later "
            f"(iat {datetime.fromtimestamp(iat, UTC).isoformat()}, exp {datetime.fromtimestamp(exp, UTC).isoformat()})",
        )
    made = _new(CodeClaims)
    made.__dict__.update(
        elicence_id=eid.hex(),
        classes=_classes_of(classes),
        status=status,
        status_index=index,
        licence_valid_until=valid_until,
        issued_at=datetime.fromtimestamp(iat, UTC),
        expires_at=datetime.fromtimestamp(exp, UTC),
        nonce=nonce,
        issuer=iss,
    )
    return made


_new: Final = object.__new__
"""Builds a frozen dataclass without its ``__init__`` (one ``object.__setattr__`` per field costs more than the
checks of a whole claim set): used only where every field is set right after, from values already checked."""
_KEY_TYPES: Final = frozenset({int, str})
_known_classes: dict[tuple[Any, ...], tuple[str, ...]] = {}
_known_statuses: set[str] = set()
_known_dates: dict[str, date] = {}
_KNOWN_CACHE_SIZE: Final = 4096


def _classes_of(classes: list[Any]) -> tuple[str, ...] | None:
    """`classes` as a tuple when they are 1 to `MAX_CLASSES` distinct vehicle class codes, else None (answers for
    lists of texts are remembered: a pure function of a few values, not a verdict on a code)."""
    key = tuple(classes)
    try:
        if key in _known_classes:
            return key
    except TypeError:  # an unhashable value (an array or a map)
        return None
    if not (0 < len(key) <= MAX_CLASSES and _known(_CLASS_CODES, classes)):
        return None
    if len(_known_classes) >= _KNOWN_CACHE_SIZE:
        _known_classes.clear()
    _known_classes[key] = key
    return key


def _statuses_known(status: str) -> bool:
    """`status` is 1 to `MAX_STATUSES` distinct licence status codes (remembered like `_classes_of`)."""
    if status in _known_statuses:
        return True
    if not (0 < len(status) <= MAX_STATUSES and _known(_STATUS_CODES, status)):
        return False
    if len(_known_statuses) >= _KNOWN_CACHE_SIZE:
        _known_statuses.clear()
    _known_statuses.add(status)
    return True


def _full_date(until: object) -> date:
    """The date of a full-date text ``YYYY-MM-DD`` (remembered like `_classes_of`); raises `_Refused`."""
    if type(until) is str:
        found = _known_dates.get(until)
        if found is not None:
            return found
    if type(until) is not str or not _FULL_DATE_RE.match(until):
        raise _claims_error("claim vu is not a full-date YYYY-MM-DD or null")
    try:
        found = date.fromisoformat(until)
    except ValueError:
        raise _claims_error("claim vu is not a real date") from None
    if len(_known_dates) >= _KNOWN_CACHE_SIZE:
        _known_dates.clear()
    _known_dates[until] = found
    return found


def _known(codes: frozenset[str], values: list[Any] | str) -> bool:
    """Every value is one of `codes` (texts only: other types are never members), and none repeats."""
    try:
        return codes.issuperset(values) and len(set(values)) == len(values)
    except TypeError:  # an unhashable value (an array or a map)
        return False


# The kid index of a signer list, keyed by the identity of its certificate objects (the entry keeps them alive,
# so an id cannot be reused while cached); candidates are built once per DER.
_indexes: OrderedDict[tuple[int, ...], tuple[tuple[x509.Certificate, ...], dict[bytes, tuple[_Candidate, ...]]]] = (
    OrderedDict()
)
_candidates: dict[tuple[bytes, ...], _Candidate] = {}
_lock = threading.Lock()


def _candidate(chain: tuple[x509.Certificate, ...], ders: tuple[bytes, ...]) -> _Candidate:
    found = _candidates.get(ders)
    if found is None:
        leaf = chain[0]
        public_key = leaf.public_key()
        countries = leaf.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)
        found = _Candidate(
            chain,
            ders,
            public_key if isinstance(public_key, ec.EllipticCurvePublicKey) and _is_p256(public_key) else None,
            SignerInfo.of(leaf),
            leaf.not_valid_before_utc,
            leaf.not_valid_after_utc,
            str(countries[0].value) if len(countries) == 1 else None,
            {},
        )
        if len(_candidates) >= 512:
            _candidates.clear()
        _candidates[ders] = found
    return found


def _is_p256(key: ec.EllipticCurvePublicKey) -> bool:
    return isinstance(key.curve, ec.SECP256R1)


def _kid_index(signers: Sequence[x509.Certificate]) -> dict[bytes, tuple[_Candidate, ...]]:
    certs = tuple(signers)
    key = tuple(map(id, certs))
    hit = _indexes.get(key)
    if hit is not None and all(map(operator.is_, hit[0], certs)):
        return hit[1]
    index: dict[bytes, list[_Candidate]] = {}
    for cert in certs:
        der = cert.public_bytes(serialization.Encoding.DER)
        index.setdefault(_kid_of_der(der), []).append(_candidate((cert,), (der,)))
    frozen = {kid: tuple(found) for kid, found in index.items()}
    with _lock:
        _indexes[key] = (certs, frozen)
        while len(_indexes) > 32:
            _indexes.popitem(last=False)
    return frozen


def clear_caches() -> None:
    """Forget cached headers, kid indexes and candidates (a cold verifier, as at start-up)."""
    with _lock:
        _indexes.clear()
    _candidates.clear()
    _protected_cache.clear()


def _candidates_of(cose: _Cose, signers: Sequence[x509.Certificate]) -> tuple[_Candidate, ...]:
    found = _kid_index(signers).get(cose.kid, ())
    if cose.x5chain:
        try:
            chain = parse_certificates(cose.x5chain)
        except Refusal as refusal:
            raise _cose_error(refusal.message) from None
        found = (*found, _candidate(chain, cose.x5chain))
    return found


def _check_signature(
    cose: _Cose, claims: CodeClaims, trust: TrustStore, signers: Sequence[x509.Certificate], at: datetime
) -> _Candidate:
    """The first candidate whose key verifies the signature, whose chain is trusted at `at`, that was valid when
    the code was made and whose country is the code's issuer; or the most telling reason none is."""
    candidates = _candidates_of(cose, signers)
    if not candidates:
        raise _Refused("signature", ErrorCode.SIGNER_UNKNOWN, f"no known signer certificate has kid {cose.kid.hex()}")
    signature, size = cose.signature, ES256.size
    der_signature = (  # (raw r || s, as COSE has it, to the DER cryptography takes: once, not per candidate)
        encode_dss_signature(int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big"))
        if len(signature) == 2 * size
        else None
    )
    signer_refusal: _Refused | None = None
    wrong_key = False
    for candidate in candidates:
        if candidate.public_key is None:  # (only P-256 keys are kept: ES256 as RFC 9053 pairs it)
            wrong_key = True
            continue
        if der_signature is None:
            continue
        try:
            candidate.public_key.verify(der_signature, cose.to_be_signed, ES256.ecdsa)
        except InvalidSignature:
            continue
        known = candidate.validated.get(id(trust))
        if known is None or known[0] is not trust or not known[1] <= at <= known[2]:
            try:
                path = trust.validate(candidate.chain, candidate.ders, at)
            except ChainValidationError as exc:
                signer_refusal = signer_refusal or _Refused("signer", ErrorCode(exc.code), exc.message, candidate.info)
                continue
            _remember_validation(candidate, trust, path)
        if not candidate.not_before <= claims.issued_at <= candidate.not_after:
            signer_refusal = signer_refusal or _Refused(
                "signer",
                ErrorCode.SIGNED_OUTSIDE_CERTIFICATE,
                f"code made at {claims.issued_at.isoformat()}, outside the signer certificate's validity",
                candidate.info,
            )
            continue
        if candidate.country != claims.issuer:
            signer_refusal = signer_refusal or _Refused(
                "signer",
                ErrorCode.ISSUER_MISMATCH,
                f"issuer {claims.issuer!r} differs from the signer certificate's country {candidate.country!r}",
                candidate.info,
            )
            continue
        return candidate
    if signer_refusal is not None:
        raise signer_refusal
    if wrong_key and len(candidates) == 1:
        raise _Refused("signature", ErrorCode.UNSUPPORTED_ALGORITHM, "the signer key is not a P-256 key (ES256)")
    raise _Refused("signature", ErrorCode.SIGNATURE_INVALID, "the code's signature does not verify")


def _remember_validation(candidate: _Candidate, trust: TrustStore, path: Sequence[x509.Certificate]) -> None:
    window = (max(c.not_valid_before_utc for c in path), min(c.not_valid_after_utc for c in path))
    with _lock:
        if len(candidate.validated) >= 8:
            candidate.validated.clear()
        candidate.validated[id(trust)] = (trust, *window)


def _check_time(claims: CodeClaims, at: datetime, leeway: timedelta, signer: SignerInfo) -> None:
    if at >= claims.expires_at:
        raise _Refused("time", ErrorCode.EXPIRED, f"the code expired at {claims.expires_at.isoformat()}", signer)
    if claims.issued_at > at + leeway:
        raise _Refused(
            "time", ErrorCode.NOT_YET_VALID, f"the code was made in the future ({claims.issued_at.isoformat()})", signer
        )
