"""Strict CBOR for ISO/IEC 18013-5: encoding of dates and embedded CBOR, and decoding that refuses
what a verifier must not guess about.

Encoding never lets cbor2 choose how a date looks: `datetime.date` becomes ``1004("YYYY-MM-DD")``
(full-date) and `datetime.datetime` becomes ``0("YYYY-MM-DDTHH:MM:SSZ")`` (tdate: UTC, no
fractional seconds, as 18013-5 §7.2.1 requires).

Decoding (`decode`, `decode_envelope`) is strict:

* exactly one data item: trailing bytes are an error;
* no indefinite-length strings, arrays or maps (the signed and hashed structures of 18013-5 need
  one encoding; we refuse the indefinite form everywhere);
* duplicate map keys are an error (cbor2 otherwise keeps the last value silently);
* value sharing and string references (tags 25, 28, 29, 256) are refused: they change the shape
  of the data after hashing;
* tags 0 and 1004 are parsed exactly (see `InvalidDateError`); other tags cbor2 would interpret
  are kept as raw `CBORTag` so nothing is silently converted;
* `decode_envelope` also requires the input to be in preferred serialization, by re-encoding the
  decoded value and comparing bytes (or, for the usual envelope, by `plain_preferred`, which proves
  the same from the heads). That is what lets a verifier hash the *received* bytes of a
  tag-24 item as ``cbor2.dumps(CBORTag(24, inner))``: the equality proves the two are identical.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any, Final, NoReturn

import cbor2
from cbor2 import CBORTag

TDATE: Final = 0
FULL_DATE: Final = 1004
ENCODED_CBOR: Final = 24
MAX_DEPTH: Final = 32

_TDATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z\Z", re.ASCII)
_FULL_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}\Z", re.ASCII)


class CborError(ValueError):
    """Input is not CBOR this module accepts (the message says why)."""


class InvalidDateError(CborError):
    """A tdate (tag 0) or full-date (tag 1004) whose content is not exactly the standard form."""


# --- encoding -------------------------------------------------------------------------------


def tdate(value: datetime) -> CBORTag:
    """``0("YYYY-MM-DDTHH:MM:SSZ")`` for an aware datetime with whole seconds."""
    if value.tzinfo is None:
        raise ValueError("tdate needs a timezone-aware datetime")
    if value.microsecond:
        raise ValueError("tdate cannot carry fractional seconds (ISO/IEC 18013-5 §7.2.1)")
    text = value.astimezone(UTC).isoformat(timespec="seconds")  # ends in "+00:00"
    return CBORTag(TDATE, text[:-6] + "Z")


def full_date(value: date) -> CBORTag:
    """``1004("YYYY-MM-DD")`` (RFC 8943) for a calendar date."""
    if isinstance(value, datetime):
        raise TypeError("full_date takes a date, not a datetime")
    return CBORTag(FULL_DATE, value.isoformat())


_SCALARS: Final = frozenset({str, bytes, int, bool, float, type(None)})


def to_cbor_value(value: object) -> object:
    """A copy of `value` ready for cbor2: dates and datetimes become their 18013-5 tags.

    Containers are copied (the caller's data is never mutated); tuples become lists.
    """
    if type(value) in _SCALARS:
        return value
    if isinstance(value, dict):  # concrete types first: ABC checks (Mapping) are slow
        return {k: to_cbor_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_cbor_value(v) for v in value]
    if isinstance(value, datetime):
        return tdate(value)
    if isinstance(value, date):
        return full_date(value)
    if isinstance(value, Mapping):
        return {k: to_cbor_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_cbor_value(v) for v in value]
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    return value


def encode(value: object) -> bytes:
    """Encode with cbor2 after `to_cbor_value` (dates as 18013-5 tags); maps keep their order."""
    return cbor2.dumps(to_cbor_value(value))


def embed(value: object) -> CBORTag:
    """``24(<< value >>)``: encoded CBOR carried as a byte string (18013-5 "Bytes" types)."""
    return CBORTag(ENCODED_CBOR, encode(value))


# --- decoding -------------------------------------------------------------------------------

_date_failure = threading.local()


def _fail_date(message: str) -> NoReturn:
    # cbor2 wraps exceptions raised here into CBORDecodeError and drops their type; remember why.
    _date_failure.message = message
    raise ValueError(message)


def _decode_tdate(value: Any, _immutable: bool) -> datetime:
    # The pattern pins the exact form; fromisoformat (C, fast) then checks it is a real instant.
    if type(value) is not str or _TDATE_RE.match(value) is None:
        _fail_date("a tdate (tag 0) is not a text string YYYY-MM-DDTHH:MM:SSZ (UTC, no fractions)")
    try:
        return datetime.fromisoformat(value)  # "Z" gives tzinfo=UTC
    except ValueError:
        _fail_date("a tdate (tag 0) is not a real date and time")


def _decode_full_date(value: Any, _immutable: bool) -> date:
    if type(value) is not str or _FULL_DATE_RE.match(value) is None:
        _fail_date("a full-date (tag 1004) is not a text string YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        _fail_date("a full-date (tag 1004) is not a real date")


def _refuse(tag: int) -> Callable[[Any, bool], Any]:
    def refuse(_value: Any, _immutable: bool) -> Any:
        raise ValueError(f"CBOR tag {tag} is not allowed")

    return refuse


def _keep(tag: int) -> Callable[[Any, bool], Any]:
    def keep(value: Any, _immutable: bool) -> Any:
        return CBORTag(tag, value)

    return keep


# Tags cbor2 interprets by itself (as of cbor2 6.x), other than 0/1004/2/3 handled explicitly.
_REFUSED = (25, 28, 29, 256)
_KEPT = (1, 4, 5, 30, 35, 36, 37, 52, 54, 100, 258, 260, 261, 43000, 55799)
_BASE: dict[int, Callable[[Any, bool], Any]] = {t: _refuse(t) for t in _REFUSED} | {t: _keep(t) for t in _KEPT}
_VALUE_DECODERS = _BASE | {TDATE: _decode_tdate, FULL_DATE: _decode_full_date}
_ENVELOPE_DECODERS = _BASE | {TDATE: _keep(TDATE), FULL_DATE: _keep(FULL_DATE), 2: _keep(2), 3: _keep(3)}


def _reraise(exc: Exception) -> CborError:
    message = getattr(_date_failure, "message", None)
    if message is not None:
        _date_failure.message = None
        return InvalidDateError(message)
    return CborError(f"malformed CBOR: {exc}")


_decoders = threading.local()
_READ_SIZE: Final = 512
"""Bytes the decoder reads ahead from its stream: an IssuerSignedItem is ~100 bytes, and more read ahead is copied
for nothing (the default, 4096, copied ~60 KB per mDL of 15 items)."""


def _decoder() -> cbor2.CBORDecoder:
    """This thread's strict decoder: built once, then pointed at each input (construction is costly)."""
    decoder: cbor2.CBORDecoder | None = getattr(_decoders, "decoder", None)
    if decoder is None:
        decoder = cbor2.CBORDecoder(
            io.BytesIO(b""),
            semantic_decoders=_VALUE_DECODERS,
            max_depth=MAX_DEPTH,
            allow_indefinite=False,
            allow_duplicate_keys=False,
            read_size=_READ_SIZE,
        )
        _decoders.decoder = decoder
    return decoder


def decode(data: bytes) -> Any:
    """Decode one strict CBOR data item; dates become `datetime` (UTC) / `date`.

    Raises `InvalidDateError` for a bad tag 0/1004 content, `CborError` for anything else.
    """
    if type(data) is not bytes:
        raise CborError("expected a byte string")
    stream = io.BytesIO(data)
    decoder = _decoder()
    decoder.fp = stream
    _date_failure.message = None
    try:
        value = decoder.decode()
    except (cbor2.CBORDecodeError, ValueError, TypeError, RecursionError) as exc:
        _decoders.decoder = None  # never reuse a decoder that stopped half-way
        raise _reraise(exc) from None
    if stream.tell() != len(data):
        raise CborError(f"{len(data) - stream.tell()} trailing bytes after the CBOR data item")
    return value


def _decode_or_error(data: bytes) -> Any:
    try:
        return decode(data)
    except CborError as exc:
        return exc


def decode_each(chunks: list[bytes]) -> list[Any]:
    """`decode` of each byte string of `chunks`, or the `CborError` it raises, in one pass.

    The chunks are decoded one after the other from a single stream, and after each the stream
    must stand exactly at the end of that chunk: the item was then read from its own bytes only,
    as `decode(chunk)` would read it, with no trailing bytes. At the first chunk that fails or
    ends elsewhere, the rest are decoded one by one with `decode`, so results and errors are
    always exactly those of `decode` (this is only a faster way to make the same calls).
    """
    for chunk in chunks:
        if type(chunk) is not bytes:
            return [_decode_or_error(c) for c in chunks]
    stream = io.BytesIO(b"".join(chunks))
    decoder = _decoder()
    decoder.fp = stream
    _date_failure.message = None
    values: list[Any] = []
    end = 0
    for index, chunk in enumerate(chunks):
        end += len(chunk)
        try:
            value = decoder.decode()
        except (cbor2.CBORDecodeError, ValueError, TypeError, RecursionError):
            _decoders.decoder = None
            _date_failure.message = None
            return values + [_decode_or_error(c) for c in chunks[index:]]
        if stream.tell() != end:
            return values + [_decode_or_error(c) for c in chunks[index:]]
        values.append(value)
    return values


def decode_envelope(data: bytes) -> Any:
    """Decode a structure that carries hashed or signed bytes (DeviceResponse, IssuerSigned, ...).

    On top of `decode`'s rules the input must be in preferred serialization (shortest heads, as
    cbor2 writes them): re-encoding the result must give back `data` byte for byte. Tags keep
    their raw form here (nothing inside is interpreted), so the comparison is exact.

    The usual envelope (integers, strings, arrays, maps, simple values and tag 24 only) is proved preferred by
    `plain_preferred` on its bytes instead of by re-encoding (cbor2 re-encodes tags slowly); anything else, and
    every refusal, goes through the re-encoding, so results and errors are those of the comparison.
    """
    if not isinstance(data, bytes):
        raise CborError("expected a byte string")
    if plain_preferred(data):
        try:  # (only tag 24, which cbor2 keeps raw, occurs: no tag decoder is needed)
            return cbor2.loads(data, max_depth=MAX_DEPTH, allow_indefinite=False, allow_duplicate_keys=False)
        except (cbor2.CBORError, ValueError, TypeError, RecursionError):
            pass  # (the full path below says what is wrong)
    try:
        value = cbor2.loads(
            data,
            semantic_decoders=_ENVELOPE_DECODERS,
            max_depth=MAX_DEPTH,
            allow_indefinite=False,
            allow_duplicate_keys=False,
        )
        again = cbor2.dumps(value)
    except (cbor2.CBORError, ValueError, TypeError, RecursionError) as exc:
        raise CborError(f"malformed CBOR: {exc}") from None
    if again != data:
        raise CborError("not in preferred CBOR serialization (non-shortest heads, or trailing bytes)")
    return value


_SHORTEST: Final = (24, 256, 65536, 2**32)
"""The smallest argument each head size (1, 2, 4, 8 bytes after the initial byte) may carry in preferred form."""


def _one_byte_heads() -> tuple[bytes, bytes]:
    """For each initial byte that is a whole head (argument below 24) of an integer, a string, an array, a map or
    a simple value: the bytes it spans (head and string content) and the items it adds (its elements, minus
    itself); 0 bytes for every other initial byte."""
    spans, adds = bytearray(256), bytearray(256)
    for head in range(256):
        major, info = head >> 5, head & 31
        if info >= 24 or major == 6:
            continue
        spans[head] = 1 + info if major in (2, 3) else 1
        adds[head] = {4: info, 5: 2 * info}.get(major, 0) + 1  # (stored +1: a byte holds no -1)
    return bytes(spans), bytes(adds)


_SPANS, _ADDS = _one_byte_heads()
_TAG24_HEAD: Final = 0xD8
_BYTES_HEAD_1: Final = 0x58


def plain_preferred(data: bytes) -> bool:
    """True when `data` is one CBOR item spanning all of it, every head of which is in its shortest form, made of
    integers, byte and text strings, arrays, maps, simple values below 24 and tag 24 only; False for anything else
    (another tag, a float, an indefinite length, a non-shortest head, trailing or missing bytes).

    Decoded by cbor2 (definite lengths, valid UTF-8, no duplicate keys), such bytes re-encode to themselves: each
    of those values is written back by cbor2 with its shortest head, its content unchanged and maps in their
    order, which is what `decode_envelope` compares. Only the heads are read (strings are skipped), one item at
    a time with a count of the items still due, so the walk is linear and bounded by ``len(data)``. A test holds
    it to the re-encoding comparison.
    """
    pos = 0
    due = 1
    spans, adds = _SPANS, _ADDS
    try:
        while due:
            head = data[pos]
            span = spans[head]
            if span:  # a whole one-byte head (the usual case)
                pos += span
                due += adds[head] - 2
                continue
            if head == _TAG24_HEAD:  # (tag 24 in its only preferred form: d8 18; its content is the next item)
                if data[pos + 1] != ENCODED_CBOR:
                    return False
                if data[pos + 2] == _BYTES_HEAD_1:  # (with a byte string of 24 to 255 bytes: an IssuerSignedItem)
                    size = data[pos + 3]
                    if size < 24:
                        return False
                    pos += 4 + size
                    due -= 1
                    continue
                pos += 2
                continue
            if head == _BYTES_HEAD_1:  # (a byte string of 24 to 255 bytes)
                size = data[pos + 1]
                if size < 24:
                    return False
                pos += 2 + size
                due -= 1
                continue
            info = head & 31
            if not 24 <= info <= 27:
                return False  # (another tag, an indefinite length, a break, or a reserved value)
            size = 1 << (info - 24)
            argument = int.from_bytes(data[pos + 1 : pos + 1 + size], "big")
            if argument < _SHORTEST[info - 24]:
                return False
            pos += 1 + size
            due -= 1
            major = head >> 5
            if major == 2 or major == 3:
                pos += argument
            elif major == 4:
                due += argument
            elif major == 5:
                due += 2 * argument
            elif major != 0 and major != 1:
                return False  # (another tag, a float, or a simple value in two bytes)
    except IndexError:
        return False
    return pos == len(data)
