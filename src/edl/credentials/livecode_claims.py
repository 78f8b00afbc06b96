"""The 亮码 (live code)'s content: its claims, and the code text they are signed into and read back from.

Design of the EU Digital COVID Certificate: ``"EDL1:" + Base45(zlib(COSE_Sign1(CBOR claims)))``, signed ES256
by the document signer, with a ``kid`` naming its certificate. The exact wire format is in docs/code-format.md.

Here: `CodeClaims` and its CBOR claims map (`claims_map`, `parse_claims`), `make_code` (sign claims into a code
text), and the transport steps of reading one (`strip_prefix` → `base45` → `decompress`, size-capped: a
decompression bomb is refused). Each refusal is a `CodeRefused` naming its stage. The verifier (the COSE_Sign1,
the signer, the time) is `edl.credentials.livecode`.

Remembered across calls (`functools.lru_cache`, bounded): answers of pure functions of a few values against fixed
tables (which lists of vehicle class codes and which status texts are valid, the date of a full-date text, the
masks of the Base45 decoder for a length). None of them is a verdict on a code or holds verification state.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import threading
import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any, Final

import base45
import cbor2
from cbor2 import CBORTag
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from edl.credentials.cose import COSE_SIGN1_TAG, ES256, HEADER_ALG, HEADER_KID, HEADER_X5CHAIN, sig_structure
from edl.credentials.errors import ErrorCode, IssuanceError
from edl.credentials.result import SignerInfo
from edl.domain.classes import VehicleClass
from edl.domain.status import Status
from edl.pki.signer import Signer

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


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


def kid_of(certificate: x509.Certificate) -> bytes:
    """The code's ``kid`` for a signer certificate: the first 8 bytes of SHA-256 of its DER (as EU DCC)."""
    return kid_of_der(certificate.public_bytes(serialization.Encoding.DER))


def kid_of_der(der: bytes) -> bytes:
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
        parse_claims(payload)
    except CodeRefused as refused:
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


# --- reading ---------------------------------------------------------------------------------------------------


class CodeRefused(Exception):
    """A code refused at `stage` (one of `STAGES`) with its error `code`; `signer` when it was known by then."""

    def __init__(self, stage: str, code: ErrorCode, message: str, signer: SignerInfo | None = None) -> None:
        super().__init__(message)
        self.stage = stage
        self.code = code
        self.message = message
        self.signer = signer


def strip_prefix(text: object) -> str:
    if type(text) is not str:
        raise CodeRefused("prefix", ErrorCode.CODE_PREFIX, "a code is a text string")
    if not text.startswith(PREFIX):
        raise CodeRefused("prefix", ErrorCode.CODE_PREFIX, f"not an eDL code: it must start with {PREFIX!r}")
    return text[len(PREFIX) :]


def base45_bytes(body: str) -> bytes:
    if len(body) > MAX_TEXT:
        raise CodeRefused("base45", ErrorCode.CODE_TOO_LARGE, f"the code is longer than {MAX_TEXT} characters")
    try:
        ascii_ = body.encode("ascii")
    except UnicodeEncodeError:
        ascii_ = b""
    if not ascii_ or ascii_.translate(None, _BASE45_ALPHABET):  # (what is left after deleting the alphabet)
        raise CodeRefused("base45", ErrorCode.CODE_BASE45, "the code has characters outside the Base45 alphabet")
    decoded = _b45decode_ascii(ascii_)
    if decoded is None:
        raise CodeRefused("base45", ErrorCode.CODE_BASE45, "the code is not valid Base45 (RFC 9285)")
    return decoded


_BASE45_ALPHABET: Final = base45.BASE45_CHARSET.encode("ascii")
_BASE45_VALUES: Final = bytes.maketrans(_BASE45_ALPHABET, bytes(range(45)))


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
    first, second, third = _triple_masks(triples)
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


def decompress(data: bytes) -> bytes:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, MAX_COSE_BYTES)
        if inflater.unconsumed_tail or (not inflater.eof and len(out) >= MAX_COSE_BYTES):
            raise CodeRefused(
                "compression", ErrorCode.CODE_TOO_LARGE, f"the code decompresses to more than {MAX_COSE_BYTES} bytes"
            )
    except zlib.error as exc:
        raise CodeRefused("compression", ErrorCode.CODE_COMPRESSION, f"the code is not zlib data: {exc}") from None
    if not inflater.eof:
        raise CodeRefused("compression", ErrorCode.CODE_COMPRESSION, "the zlib data is truncated")
    if inflater.unused_data:
        raise CodeRefused("compression", ErrorCode.CODE_COMPRESSION, "bytes follow the end of the zlib data")
    return out


def _claims_error(message: str) -> CodeRefused:
    return CodeRefused("claims", ErrorCode.CODE_CLAIMS, message)


_decoders = threading.local()


def _one_item(data: bytes) -> Any:
    """The one definite-length CBOR item without duplicate map keys that `data` is, nothing after it.

    (`cbor2.loads` ignores bytes after the item: the item is read from a stream whose position must then be the
    end. This thread's decoder is built once and pointed at each input; one that failed half-way is not reused.)
    """
    decoder: cbor2.CBORDecoder | None = getattr(_decoders, "decoder", None)
    if decoder is None:
        decoder = _decoders.decoder = cbor2.CBORDecoder(
            io.BytesIO(b""), allow_indefinite=False, allow_duplicate_keys=False, max_depth=8
        )
    stream = io.BytesIO(data)
    decoder.fp = stream
    try:
        value = decoder.decode()
    except BaseException:
        _decoders.decoder = None
        raise
    if stream.tell() != len(data):
        raise _claims_error(f"{len(data) - stream.tell()} bytes follow the claims map")
    return value


def parse_claims(payload: bytes) -> CodeClaims:
    """The claims of a code's payload, checked by the verifier's rules (`make_code` checks by them too); raises
    `CodeRefused` at stage ``claims``."""
    # (signed bytes: any definite-length, duplicate-free encoding the signer chose is taken - but nothing after
    # it; tags, floats and other types never pass the type checks below)
    try:
        claims = _one_item(payload)
    except CodeRefused:
        raise
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
        raise CodeRefused(
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
_MEMO_SIZE: Final = 4096


def _classes_of(classes: list[Any]) -> tuple[str, ...] | None:
    """`classes` as a tuple when they are 1 to `MAX_CLASSES` distinct vehicle class codes, else None."""
    try:
        return _classes_tuple(tuple(classes))
    except TypeError:  # an unhashable value (an array or a map)
        return None


@lru_cache(maxsize=_MEMO_SIZE)
def _classes_tuple(key: tuple[Any, ...]) -> tuple[str, ...] | None:
    # (a pure function of a few values against the fixed class table: remembered, it holds no verdict on a code)
    return key if 0 < len(key) <= MAX_CLASSES and _known(_CLASS_CODES, key) else None


@lru_cache(maxsize=_MEMO_SIZE)
def _statuses_known(status: str) -> bool:
    """`status` is 1 to `MAX_STATUSES` distinct licence status codes (remembered like `_classes_tuple`)."""
    return 0 < len(status) <= MAX_STATUSES and _known(_STATUS_CODES, status)


def _full_date(until: object) -> date:
    """The date of a full-date text ``YYYY-MM-DD``; raises `CodeRefused`."""
    if type(until) is not str:
        raise _claims_error("claim vu is not a full-date YYYY-MM-DD or null")
    found = _date_of(until)
    if found is None:
        if not _FULL_DATE_RE.match(until):
            raise _claims_error("claim vu is not a full-date YYYY-MM-DD or null")
        raise _claims_error("claim vu is not a real date")
    return found


@lru_cache(maxsize=_MEMO_SIZE)
def _date_of(text: str) -> date | None:
    """The date of a full-date text, None when it is not one (a pure function: remembered)."""
    if not _FULL_DATE_RE.match(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


@lru_cache(maxsize=64)
def _triple_masks(triples: int) -> tuple[int, int, int]:
    """The column masks of `_b45decode_ascii` for `triples` triples (a pure function of the length)."""
    return (
        int.from_bytes(b"\xff\0\0" * triples, "big"),
        int.from_bytes(b"\0\xff\0" * triples, "big"),
        int.from_bytes(b"\0\0\xff" * triples, "big"),
    )


def _known(codes: frozenset[str], values: tuple[Any, ...] | str) -> bool:
    """Every value is one of `codes` (texts only: other types are never members), and none repeats."""
    try:
        return codes.issuperset(values) and len(set(values)) == len(values)
    except TypeError:  # an unhashable value (an array or a map)
        return False


# The kid index of a signer list, keyed by the identity of its certificate objects (the entry keeps them alive,
# so an id cannot be reused while cached); candidates are built once per DER.
