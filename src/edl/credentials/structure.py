"""Strict parsing of the signed parts of an mdoc: IssuerAuth (COSE_Sign1, read by `edl.credentials.cose`), x5chain
certificates and the MSO.

Parsing checks shapes and types only; the decisions (trust, signature, digests, validity) are in
`edl.credentials.verify`. A shape that is wrong raises `Refusal` with a stable error code.
"""

from __future__ import annotations

import hmac
import warnings
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any, Final, NamedTuple

import cbor2
from cbor2 import CBORTag
from cryptography import x509
from cryptography.utils import CryptographyDeprecationWarning

import edl.credentials.cbor as cbor
from edl.credentials.cache import CERTIFICATES_CACHED, VerificationCache
from edl.credentials.cose import MDOC_RULES, CoseFormatError, Sign1, read_sign1
from edl.credentials.cose_key import CoseKey, CoseKeyError, read_cose_key
from edl.credentials.errors import ErrorCode


class Refusal(Exception):
    """A check failed in a way that stops the current step; carries a stable code."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Mso(NamedTuple):
    """The fields of a MobileSecurityObject, decoded but not yet judged."""

    version: object
    digest_algorithm: object
    doctype: object
    value_digests: Mapping[str, Mapping[int, bytes]]
    device_key: CoseKey
    """Checked (a valid public key on a curve 18013-5 allows); the key object is built when asked for."""
    signed: datetime
    valid_from: datetime
    valid_until: datetime
    key_authorizations: object = None
    """deviceKeyInfo.keyAuthorizations as decoded (judged only when device-signed data is checked)."""


def _malformed(message: str) -> Refusal:
    return Refusal(ErrorCode.MALFORMED, message)


def decode_strict(data: bytes, what: str) -> Any:
    """`cbor.decode` with errors mapped to `Refusal` (``invalid_date`` or ``malformed``)."""
    try:
        return cbor.decode(data)
    except cbor.InvalidDateError as exc:
        raise Refusal(ErrorCode.INVALID_DATE, f"{what}: {exc}") from None
    except cbor.CborError as exc:
        raise _malformed(f"{what}: {exc}") from None


def parse_sign1(value: object, cache: VerificationCache | None = None) -> Sign1:
    """IssuerAuth: an *untagged* COSE_Sign1 array, as ISO/IEC 18013-5 specifies (tag 18 is refused: accepting both
    forms would let the same credential travel in two encodings), read by `edl.credentials.cose.read_sign1` under
    `MDOC_RULES`. The algorithm is judged when the signature is verified."""
    try:
        return read_sign1(value, MDOC_RULES, cache=cache.protected if cache is not None else None)
    except CoseFormatError as exc:
        code = _COSE_ERRORS.get(exc.kind, ErrorCode.MALFORMED)
        raise Refusal(code, f"issuerAuth: {exc.message}") from None


_COSE_ERRORS: Final = {"algorithm": ErrorCode.UNSUPPORTED_ALGORITHM, "date": ErrorCode.INVALID_DATE}


def _load_certificate(der: bytes) -> tuple[x509.Certificate, bool]:
    """The parsed certificate, and whether its signature BIT STRING declares no unused bits."""
    # cryptography still parses (with a deprecation warning) what RFC 5280 forbids, such as a
    # serial number <= 0: make that an error here.
    with warnings.catch_warnings():
        warnings.simplefilter("error", CryptographyDeprecationWarning)
        cert = x509.load_der_x509_certificate(der)
    signature = cert.signature
    return cert, der.endswith(signature) and der[-len(signature) - 1] == 0


def _certificate(der: bytes, cache: VerificationCache | None) -> tuple[x509.Certificate, bool]:
    """`_load_certificate`, cached by the exact DER bytes in `cache` (bounded; parse errors are not cached)."""
    if cache is None:
        return _load_certificate(der)
    table = cache.certificates
    facts = table.get(der)
    if facts is None:
        facts = _load_certificate(der)
        if len(table) >= CERTIFICATES_CACHED:
            table.clear()
        table[der] = facts
    return facts


def parse_certificates(ders: tuple[bytes, ...], cache: VerificationCache | None = None) -> tuple[x509.Certificate, ...]:
    """Parse x5chain certificates (leaf first); parsed objects are cached by their DER bytes in `cache`.

    The certificate signature is outside what the signature covers, so its encoding is pinned
    too: the BIT STRING that ends the certificate must declare no unused bits (cryptography
    ignores that count, which would let the same certificate travel in several encodings).
    """
    try:
        if len(ders) == 1:  # (the usual x5chain: the DS certificate alone)
            cert, whole_bytes = _certificate(ders[0], cache)
            if whole_bytes:
                return (cert,)
        facts = [_certificate(der, cache) for der in ders]
    except (ValueError, x509.InvalidVersion, CryptographyDeprecationWarning):
        raise _malformed("an x5chain certificate is not a valid DER X.509 certificate (RFC 5280)") from None
    for _cert, whole_bytes in facts:
        if not whole_bytes:
            raise _malformed("an x5chain certificate signature is not a whole-byte BIT STRING")
    return tuple(cert for cert, _ in facts)


def _tdate_field(info: Mapping[Any, Any], name: str) -> datetime:
    value = info.get(name)
    if not isinstance(value, datetime):
        raise Refusal(ErrorCode.INVALID_DATE, f"validityInfo.{name} is missing or not a tdate (tag 0)")
    return value


_INT_ONLY: Final = frozenset({int})
_BYTES_ONLY: Final = frozenset({bytes})


def _value_digests(value: object) -> dict[str, Mapping[int, bytes]]:
    if not isinstance(value, dict) or not value:
        raise _malformed("MSO valueDigests is missing or empty")
    for namespace, digests in value.items():
        if not isinstance(namespace, str) or not isinstance(digests, dict) or not digests:
            raise _malformed("MSO valueDigests must map namespaces to non-empty digest maps")
        # (types counted in C: an int subclass such as bool, or any other type, makes a second type)
        if set(map(type, digests)) != _INT_ONLY or min(digests) < 0 or set(map(type, digests.values())) != _BYTES_ONLY:
            raise _malformed(f"MSO valueDigests[{namespace!r}] must map unsigned digest IDs to byte strings")
    return value


def _mso_bytes(payload: bytes) -> bytes:
    """The MSO inside ``24(<< MobileSecurityObject >>)``: read by its layout when it has the usual one (tag 24 in
    two bytes, then a byte string whose head is 2 or 3 bytes long and whose content ends `payload` exactly: what
    `decode_strict` would give), else decoded strictly."""
    if payload[:2] == TAG24_HEAD and len(payload) > 4:
        head = payload[2]
        if head == 0x58 and len(payload) == 4 + payload[3]:
            return payload[4:]
        if head == 0x59 and len(payload) == 5 + int.from_bytes(payload[3:5], "big"):
            return payload[5:]
    wrapped = decode_strict(payload, "MSO payload")
    if not isinstance(wrapped, CBORTag) or wrapped.tag != cbor.ENCODED_CBOR or not isinstance(wrapped.value, bytes):
        raise _malformed("COSE_Sign1 payload is not MobileSecurityObjectBytes (tag 24)")
    return wrapped.value


def parse_mso(payload: bytes) -> Mso:
    """Decode ``24(<< MobileSecurityObject >>)`` strictly and check the shape of its fields."""
    mso = decode_strict(_mso_bytes(payload), "MSO")
    if not isinstance(mso, dict):
        raise _malformed("the MSO is not a map")
    key_info = mso.get("deviceKeyInfo")
    if not isinstance(key_info, dict):
        raise _malformed("MSO deviceKeyInfo is missing")
    try:
        device_key = read_cose_key(key_info.get("deviceKey"))
    except CoseKeyError as exc:
        raise _malformed(f"MSO deviceKey: {exc}") from None
    validity = mso.get("validityInfo")
    if not isinstance(validity, dict):
        raise _malformed("MSO validityInfo is missing")
    signed = _tdate_field(validity, "signed")
    valid_from = _tdate_field(validity, "validFrom")
    valid_until = _tdate_field(validity, "validUntil")
    if "expectedUpdate" in validity:
        _tdate_field(validity, "expectedUpdate")
    return Mso(
        mso.get("version"),
        mso.get("digestAlgorithm"),
        mso.get("docType"),
        _value_digests(mso.get("valueDigests")),
        device_key,
        signed,
        valid_from,
        valid_until,
        key_info.get("keyAuthorizations"),
    )


_ITEM_KEYS = frozenset({"digestID", "random", "elementIdentifier", "elementValue"})
TAG24_HEAD: Final = cbor2.dumps(CBORTag(cbor.ENCODED_CBOR, b""))[:-1]
"""The head of tag 24 as cbor2 writes it (preferred serialization: 0xd8 0x18)."""

# dumps(24(bstr)) is the tag head followed by dumps(bstr): the hashing below relies on it.
assert cbor2.dumps(CBORTag(cbor.ENCODED_CBOR, b"\x00" * 300)) == TAG24_HEAD + cbor2.dumps(b"\x00" * 300)


@lru_cache(maxsize=4096)
def tag24_prefix(length: int) -> bytes:
    """What cbor2 writes before the content of ``24(<< bstr >>)`` for content of `length` bytes (tag head and
    byte-string head, preferred serialization); cached by length, so hashing an item needs no copy of it."""
    return cbor2.dumps(CBORTag(cbor.ENCODED_CBOR, bytes(length)))[: -length or None]


def _item_refusal(item: object, namespace: str) -> Refusal:
    """Why a decoded value is not an IssuerSignedItem (the first rule it breaks)."""
    if type(item) is not dict or item.keys() != _ITEM_KEYS:
        return _malformed(f"an item of namespace {namespace!r} is not an IssuerSignedItem")
    digest_id, salt = item["digestID"], item["random"]
    if type(digest_id) is not int or digest_id < 0:
        return _malformed(f"an item of namespace {namespace!r} has an invalid digestID")
    if type(salt) is not bytes or len(salt) < 16:
        return _malformed(f"an item of namespace {namespace!r} has a random salt shorter than 16 bytes")
    return _malformed(f"an item of namespace {namespace!r} has a non-text elementIdentifier")


ParsedItem = tuple[int, str, object, bytes]
"""A disclosed IssuerSignedItem: ``(digestID, elementIdentifier, elementValue, digest)``, where
`digest` is the hash of the tag-24 bytes it was received as (a plain tuple: built once per item)."""


def parse_items(tagged_items: list[Any], namespace: str, hasher: Callable[[bytes], Any]) -> list[ParsedItem | Refusal]:
    """Decode the IssuerSignedItemBytes of one namespace and hash the bytes each was received as.

    Returns, in order, a `ParsedItem` or the `Refusal` for each element of `tagged_items`. An item
    was received as ``24(<< inner >>)`` in preferred serialization (`cbor.decode_envelope` proved
    the whole envelope is, byte for byte), so its received bytes are ``tag24_prefix(len(inner)) + inner``:
    the received byte string `inner` behind the heads cbor2 writes for it, never a re-encoding of the item.
    """
    inners: list[bytes] = []
    for tagged in tagged_items:
        if type(tagged) is not CBORTag or tagged.tag != cbor.ENCODED_CBOR or type(tagged.value) is not bytes:
            break
        inners.append(tagged.value)
    else:
        return [
            _parse_item(item, inner, namespace, hasher)
            for item, inner in zip(cbor.decode_each(inners), inners, strict=True)
        ]
    # Some element is not IssuerSignedItemBytes: judge each element on its own.
    return [_parse_tagged(tagged, namespace, hasher) for tagged in tagged_items]


def _parse_tagged(tagged: object, namespace: str, hasher: Callable[[bytes], Any]) -> ParsedItem | Refusal:
    if type(tagged) is not CBORTag or tagged.tag != cbor.ENCODED_CBOR or type(tagged.value) is not bytes:
        return _malformed(f"an item of namespace {namespace!r} is not IssuerSignedItemBytes (tag 24)")
    inner: bytes = tagged.value
    return _parse_item(cbor.decode_each([inner])[0], inner, namespace, hasher)


def _parse_item(item: Any, inner: bytes, namespace: str, hasher: Callable[[bytes], Any]) -> ParsedItem | Refusal:
    """Check one decoded item (or the `CborError` its decoding gave) and hash its received bytes."""
    if type(item) is dict and len(item) == 4 and "elementValue" in item:
        digest_id = item.get("digestID")
        salt = item.get("random")
        identifier = item.get("elementIdentifier")
        if (
            type(digest_id) is int
            and digest_id >= 0
            and type(salt) is bytes
            and len(salt) >= 16
            and type(identifier) is str
        ):
            hashing = hasher(tag24_prefix(len(inner)))
            hashing.update(inner)
            return digest_id, identifier, item["elementValue"], hashing.digest()
    if isinstance(item, cbor.CborError):
        code = ErrorCode.INVALID_DATE if isinstance(item, cbor.InvalidDateError) else ErrorCode.MALFORMED
        return Refusal(code, f"item of namespace {namespace!r}: {item}")
    return _item_refusal(item, namespace)


_JOINED_BELOW: Final = 2048


def matched_items(
    tagged_items: list[Any], expected: Mapping[int, bytes], hasher: Callable[[bytes], Any]
) -> dict[str, object] | None:
    """The elements of one namespace when every item is in order, else None (then `parse_items` and the caller's
    checks judge each item and name every problem).

    In order means what `parse_items` and the digest checks would accept, item by item: IssuerSignedItemBytes
    (tag 24 around a byte string) decoding by `cbor.decode_each` to an IssuerSignedItem (the four keys, an unsigned
    digestID, a salt of at least 16 bytes, a text elementIdentifier), whose digestID the MSO lists, not disclosed
    before (nor its identifier), and the hash of whose received tag-24 bytes equals that digest. One pass, with no
    per-item objects: the common case of a credential that verifies.
    """
    inners = [tagged.value for tagged in tagged_items if type(tagged) is CBORTag and tagged.tag == cbor.ENCODED_CBOR]
    if len(inners) != len(tagged_items) or set(map(type, inners)) != _BYTES_ONLY:
        return None
    elements: dict[str, object] = {}
    seen: set[int] = set()
    compare = hmac.compare_digest
    for item, inner in zip(cbor.decode_each(inners), inners, strict=True):
        if type(item) is not dict or len(item) != 4 or "elementValue" not in item:
            return None
        digest_id = item.get("digestID")
        salt = item.get("random")
        identifier = item.get("elementIdentifier")
        if (
            type(digest_id) is not int
            or type(salt) is not bytes
            or len(salt) < 16
            or type(identifier) is not str
            or digest_id in seen
            or identifier in elements
        ):
            return None
        want = expected.get(digest_id)  # (a negative digestID is never listed: `parse_mso` refuses them)
        if want is None:
            return None
        size = len(inner)
        if size < _JOINED_BELOW:  # (one call on a short copy costs less than a second call)
            digest = hasher(tag24_prefix(size) + inner).digest()
        else:
            hashing = hasher(tag24_prefix(size))
            hashing.update(inner)
            digest = hashing.digest()
        if not compare(digest, want):
            return None
        seen.add(digest_id)
        elements[identifier] = item["elementValue"]
    return elements
