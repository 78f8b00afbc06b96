"""Holder binding: mdoc device authentication (ISO/IEC 18013-5 §9.1.3) over a session transcript.

An mdoc's MSO names the holder's device key (`deviceKeyInfo.deviceKey`). In a presentation the device proves it
holds that key by signing (`deviceSignature`, COSE_Sign1) or MACing (`deviceMac`, COSE_Mac0) the
`DeviceAuthentication` structure::

    DeviceAuthentication = ["DeviceAuthentication", SessionTranscript, DocType, DeviceNameSpacesBytes]
    DeviceAuthenticationBytes = #6.24(bstr .cbor DeviceAuthentication)     ; the detached payload

The `SessionTranscript` ties the proof to one session: `[DeviceEngagementBytes, EReaderKeyBytes, Handover]`, the
first two null over the internet. A copied DeviceResponse answers another session's transcript, so it is refused.

This module is the verifier's side (`check_device_signed`, called by `edl.credentials.verify.verify_mdoc` when a
transcript is given) and the session transcripts a verifier rebuilds from its own request:

- OpenID4VP 1.0, Appendix B.2.6.1 (redirects): `["OpenID4VPHandover", sha256(cbor [client_id, nonce,
  jwk_thumbprint or null, response_uri])]`;
- OpenID4VP 1.0, Appendix B.2.6.2 (Digital Credentials API): `["OpenID4VPDCAPIHandover", sha256(cbor [origin,
  nonce, jwk_thumbprint or null])]`;
- ISO/IEC TS 18013-7:2024 Annex B (the older OpenID4VP form): `[sha256(cbor [client_id, mdocGeneratedNonce]),
  sha256(cbor [response_uri, mdocGeneratedNonce]), nonce]`.

What is refused, each with its own code (`edl.credentials.errors.ErrorCode`):

- `device_auth_missing`: a transcript was given and the document has no `deviceSigned` (or no `deviceAuth`);
- `device_auth_invalid`: the signature or MAC does not verify over the `DeviceAuthentication` rebuilt from the
  transcript given. An ECDSA signature cannot tell *why*: made for another transcript (another request, nonce,
  client or origin) or with a key other than the MSO's, it fails the same way, and the message says both;
- `device_key_mismatch`: the proof names or needs a key other than the MSO's device key: an algorithm that does
  not go with the device key's curve, a certificate of its own in a header (`x5chain`, `x5bag`, `x5t`, `x5u`;
  a `kid` is only a hint and is ignored), a MAC whose reader key is not the transcript's `EReaderKey`;
- `device_element_unauthorized`: a device-signed data element that the MSO's `keyAuthorizations` does not allow;
- `malformed`: anything not in the standard's shape (tagged COSE objects, an attached payload, unknown keys).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, Final, NamedTuple

import cbor2
from cbor2 import CBORTag
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, x448, x25519
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

import edl.credentials.cbor as cbor
from edl.credentials.cose import SIGNATURE_ALGORITHMS, AlgorithmMismatch, verify_cose_signature
from edl.credentials.cose_key import CoseKey, CoseKeyError, DevicePublicKey, public_key_from_cose
from edl.credentials.errors import ErrorCode, VerificationError

HMAC_256_256: Final = 5
"""COSE algorithm 5: HMAC with SHA-256, 256-bit tag (the only one 18013-5 §9.1.3.5 allows for deviceMac)."""
_HEADER_ALG: Final = 1
_HEADER_CRIT: Final = 2
_KEY_HEADERS: Final = frozenset({32, 33, 34, 35})
"""x5bag, x5chain, x5t, x5u (RFC 9360): a device proof is made with the MSO's device key, never with a certified key
of its own, so a header that names a certificate is refused rather than ignored. A `kid` is only a hint and is
ignored (@auth0/mdl writes one, even `kid: undefined`): the key is always the MSO's."""
_DEVICE_SIGNED_KEYS: Final = frozenset({"nameSpaces", "deviceAuth"})
_DEVICE_AUTH_KEYS: Final = frozenset({"deviceSignature", "deviceMac"})
_KEY_AUTHORIZATION_KEYS: Final = frozenset({"nameSpaces", "dataElements"})
_ARRAY_OF_FOUR: Final = cbor2.dumps([0, 0, 0, 0])[:1]
"""The CBOR head of an array of four (0x84), as cbor2 writes it."""


class TranscriptError(ValueError):
    """Bytes that are not a SessionTranscript (the caller's input, not the presentation: say so, do not verify)."""


class Transcript(NamedTuple):
    """A session transcript: its decoded value and the exact CBOR of the `[.., .., Handover]` array."""

    value: list[Any]
    encoded: bytes

    @property
    def tagged(self) -> bytes:
        """`SessionTranscriptBytes`: #6.24(bstr .cbor SessionTranscript), the salt of a deviceMac's key."""
        return cbor2.dumps(CBORTag(cbor.ENCODED_CBOR, self.encoded))


def _sha256(value: object) -> bytes:
    return hashlib.sha256(cbor2.dumps(value)).digest()


def openid4vp_handover(client_id: str, nonce: str, response_uri: str, jwk_thumbprint: bytes | None = None) -> list[Any]:
    """OpenID4VP 1.0 Appendix B.2.6.1 (invocation by redirect; `jwk_thumbprint`: SHA-256 JWK Thumbprint of the
    verifier's response-encryption key, RFC 7638, or None when the response is not encrypted)."""
    return ["OpenID4VPHandover", _sha256([client_id, nonce, jwk_thumbprint, response_uri])]


def openid4vp_dc_api_handover(origin: str, nonce: str, jwk_thumbprint: bytes | None = None) -> list[Any]:
    """OpenID4VP 1.0 Appendix B.2.6.2 (the W3C Digital Credentials API; `origin` as the browser reports it)."""
    return ["OpenID4VPDCAPIHandover", _sha256([origin, nonce, jwk_thumbprint])]


def iso_18013_7_handover(client_id: str, response_uri: str, nonce: str, mdoc_generated_nonce: str) -> list[Any]:
    """ISO/IEC TS 18013-7:2024 Annex B (OID4VPHandover of the drafts before OpenID4VP 1.0)."""
    return [
        _sha256([client_id, mdoc_generated_nonce]),
        _sha256([response_uri, mdoc_generated_nonce]),
        nonce,
    ]


def session_transcript(handover: list[Any]) -> Transcript:
    """The internet presentation's SessionTranscript `[null, null, handover]`."""
    value = [None, None, handover]
    return Transcript(value, cbor2.dumps(value))


def read_session_transcript(data: bytes) -> Transcript:
    """A SessionTranscript from `SessionTranscriptBytes` (tag 24 around its CBOR) or from the bare array.

    Raises `TranscriptError` for anything else: not CBOR, bytes after it, not a three-element array, a Handover
    that is neither an array nor null."""
    try:
        top = cbor.decode(bytes(data))
    except cbor.CborError as exc:
        raise TranscriptError(f"not a session transcript: {exc}") from None
    encoded = bytes(data)
    if isinstance(top, CBORTag):
        if top.tag != cbor.ENCODED_CBOR or not isinstance(top.value, bytes):
            raise TranscriptError("a tagged session transcript must be tag 24 around a byte string")
        encoded = top.value
        try:
            top = cbor.decode(encoded)
        except cbor.CborError as exc:
            raise TranscriptError(f"the tag-24 content is not CBOR: {exc}") from None
    if not isinstance(top, list) or len(top) != 3:
        raise TranscriptError("a SessionTranscript is an array [DeviceEngagementBytes, EReaderKeyBytes, Handover]")
    if top[2] is not None and not isinstance(top[2], list):
        raise TranscriptError("the Handover of a SessionTranscript must be an array (or null)")
    return Transcript(top, encoded)


def device_authentication_bytes(transcript: Transcript, doctype: str, namespaces_bytes: bytes) -> bytes:
    """`DeviceAuthenticationBytes` for this transcript, docType and the received `DeviceNameSpacesBytes` (the exact
    tag-24 item received). The transcript and the namespaces enter as their exact bytes, as the device encoded
    them; cbor2 encodes the rest (an array of four, two text strings, the tag-24 wrapper)."""
    array = _ARRAY_OF_FOUR + cbor2.dumps("DeviceAuthentication") + transcript.encoded
    array += cbor2.dumps(doctype) + namespaces_bytes
    return cbor2.dumps(CBORTag(cbor.ENCODED_CBOR, array))


class DeviceSigned(NamedTuple):
    """What `check_device_signed` found: the errors (empty when holder binding holds) and the device-signed data
    elements it verified (empty unless the errors are)."""

    errors: tuple[VerificationError, ...]
    elements: dict[str, dict[str, object]]


def check_device_signed(
    device_signed: object,
    doctype: str,
    device_key: CoseKey,
    key_authorizations: object,
    transcript: Transcript,
    reader_key: ec.EllipticCurvePrivateKey | x25519.X25519PrivateKey | x448.X448PrivateKey | None = None,
) -> DeviceSigned:
    """Verify a document's `deviceSigned` (18013-5 §9.1.3) against the MSO's `device_key` and `transcript`.

    `reader_key` is the reader's ephemeral private key, needed only for a `deviceMac` (its public half must be the
    transcript's EReaderKey). Never raises for what the presentation holds: every problem is an error."""
    errors: list[VerificationError] = []

    def fail(code: ErrorCode, message: str) -> DeviceSigned:
        errors.append(VerificationError(code, message))
        return DeviceSigned(tuple(errors), {})

    if device_signed is None:
        return fail(ErrorCode.DEVICE_AUTH_MISSING, "no deviceSigned: the presentation does not prove the holder")
    if not isinstance(device_signed, dict) or not device_signed.keys() <= _DEVICE_SIGNED_KEYS:
        return fail(ErrorCode.MALFORMED, "deviceSigned must be a map of nameSpaces and deviceAuth")
    auth = device_signed.get("deviceAuth")
    if auth is None:
        return fail(ErrorCode.DEVICE_AUTH_MISSING, "deviceSigned has no deviceAuth: the holder is not proven")
    wrapped = device_signed.get("nameSpaces")
    if not isinstance(wrapped, CBORTag) or wrapped.tag != cbor.ENCODED_CBOR or not isinstance(wrapped.value, bytes):
        return fail(ErrorCode.MALFORMED, "deviceSigned nameSpaces must be DeviceNameSpacesBytes (tag 24)")
    try:
        namespaces = cbor.decode(wrapped.value)
    except cbor.CborError as exc:
        return fail(ErrorCode.MALFORMED, f"DeviceNameSpaces: {exc}")
    elements = _device_elements(namespaces, key_authorizations, errors)
    if not isinstance(auth, dict) or len(auth) != 1 or not auth.keys() <= _DEVICE_AUTH_KEYS:
        return fail(ErrorCode.MALFORMED, "deviceAuth must hold exactly one of deviceSignature and deviceMac")
    payload = device_authentication_bytes(transcript, doctype, cbor2.dumps(wrapped))
    try:
        public_key = device_key.public_key()
    except (ValueError, CoseKeyError):  # (the MSO's key was checked when the MSO was read)
        return fail(ErrorCode.MALFORMED, "the MSO's device key cannot be used")
    if "deviceSignature" in auth:
        _check_signature(auth["deviceSignature"], public_key, payload, errors)
    else:
        _check_mac(auth["deviceMac"], public_key, payload, transcript, reader_key, errors)
    return DeviceSigned(tuple(errors), {} if errors else elements)


def _device_elements(
    namespaces: object, key_authorizations: object, errors: list[VerificationError]
) -> dict[str, dict[str, object]]:
    """The device-signed elements, each checked against keyAuthorizations (18013-5 §9.1.3.1: an element is
    authorized when its namespace is in AuthorizedNameSpaces or it is listed in AuthorizedDataElements)."""
    if not isinstance(namespaces, dict):
        errors.append(VerificationError(ErrorCode.MALFORMED, "DeviceNameSpaces is not a map"))
        return {}
    whole, listed = _authorizations(key_authorizations, errors)
    out: dict[str, dict[str, object]] = {}
    for namespace, items in namespaces.items():
        if type(namespace) is not str or not isinstance(items, dict):
            errors.append(VerificationError(ErrorCode.MALFORMED, "DeviceNameSpaces must map names to element maps"))
            continue
        for identifier, value in items.items():
            if type(identifier) is not str:
                errors.append(VerificationError(ErrorCode.MALFORMED, f"{namespace}: an element name is not text"))
            elif namespace not in whole and identifier not in listed.get(namespace, frozenset()):
                errors.append(
                    VerificationError(
                        ErrorCode.DEVICE_ELEMENT_UNAUTHORIZED,
                        f"{namespace}/{identifier} is device-signed but the MSO's keyAuthorizations does not allow it",
                    )
                )
            else:
                out.setdefault(namespace, {})[identifier] = value
    return out


def _authorizations(value: object, errors: list[VerificationError]) -> tuple[frozenset[str], dict[str, frozenset[str]]]:
    if value is None:
        return frozenset(), {}
    malformed = VerificationError(ErrorCode.MALFORMED, "the MSO's keyAuthorizations is not in the standard's shape")
    if not isinstance(value, dict) or not value.keys() <= _KEY_AUTHORIZATION_KEYS:
        errors.append(malformed)
        return frozenset(), {}
    whole = value.get("nameSpaces", [])
    listed = value.get("dataElements", {})
    if not (isinstance(whole, list) and all(type(n) is str for n in whole)) or not isinstance(listed, dict):
        errors.append(malformed)
        return frozenset(), {}
    elements: dict[str, frozenset[str]] = {}
    for namespace, names in listed.items():
        if type(namespace) is not str or not isinstance(names, list) or not all(type(n) is str for n in names):
            errors.append(malformed)
            return frozenset(), {}
        if namespace in whole:  # 18013-5: a namespace authorized whole shall not also list elements
            errors.append(malformed)
            return frozenset(), {}
        elements[namespace] = frozenset(names)
    return frozenset(whole), elements


def _cose_parts(
    value: object, what: str, errors: list[VerificationError]
) -> tuple[bytes, dict[Any, Any], bytes] | None:
    """(protected bytes, its decoded map, the signature or tag) of an untagged, detached COSE_Sign1 / COSE_Mac0."""
    if isinstance(value, CBORTag):
        errors.append(VerificationError(ErrorCode.MALFORMED, f"{what} must be an untagged COSE structure"))
        return None
    if not isinstance(value, list) or len(value) != 4:
        errors.append(VerificationError(ErrorCode.MALFORMED, f"{what} is not a COSE structure of four elements"))
        return None
    protected, unprotected, payload, tag = value
    if not isinstance(protected, bytes) or not isinstance(unprotected, dict) or not isinstance(tag, bytes):
        errors.append(VerificationError(ErrorCode.MALFORMED, f"{what}: wrong types in the COSE structure"))
        return None
    if payload is not None:  # 18013-5 §9.1.3.4/5: the payload is DeviceAuthenticationBytes, detached (nil)
        errors.append(VerificationError(ErrorCode.MALFORMED, f"{what} must have a detached (null) payload"))
        return None
    try:
        header = cbor.decode(protected) if protected else {}
    except cbor.CborError:
        header = None
    if not isinstance(header, dict):
        errors.append(VerificationError(ErrorCode.MALFORMED, f"{what}: the protected header is not a map"))
        return None
    labels = [*header, *unprotected]
    if any(type(label) not in (int, str) for label in labels):  # (cbor2 makes 1.0, True and simple(1) equal 1)
        errors.append(VerificationError(ErrorCode.MALFORMED, f"{what}: a header label is not an integer or text"))
        return None
    if _HEADER_CRIT in labels:  # RFC 9052 §3.1: a verifier refuses critical parameters it does not understand
        errors.append(VerificationError(ErrorCode.MALFORMED, f"{what}: critical header parameters are not understood"))
        return None
    if _HEADER_ALG in unprotected or (header.keys() & unprotected.keys()):
        errors.append(VerificationError(ErrorCode.MALFORMED, f"{what}: the algorithm must be in the protected header"))
        return None
    if _KEY_HEADERS & (header.keys() | unprotected.keys()):
        errors.append(
            VerificationError(
                ErrorCode.DEVICE_KEY_MISMATCH,
                f"{what} names a certificate of its own (x5chain, x5bag, x5t or x5u): only the MSO's device key "
                "may authenticate the holder",
            )
        )
        return None
    return protected, header, tag


def _check_signature(value: object, key: DevicePublicKey, payload: bytes, errors: list[VerificationError]) -> None:
    parts = _cose_parts(value, "deviceSignature", errors)
    if parts is None:
        return
    protected, header, signature = parts
    to_be_signed = cbor2.dumps(["Signature1", protected, b"", payload])
    alg = header.get(_HEADER_ALG)
    if type(alg) is not int or alg not in SIGNATURE_ALGORITHMS:
        errors.append(
            VerificationError(
                ErrorCode.UNSUPPORTED_ALGORITHM,
                f"deviceSignature: COSE algorithm {alg!r} is not ES256, ES384, ES512 or EdDSA (protected header)",
            )
        )
        return
    try:
        verify_cose_signature(key, alg, to_be_signed, signature)
    except AlgorithmMismatch as exc:
        errors.append(
            VerificationError(ErrorCode.DEVICE_KEY_MISMATCH, f"deviceSignature: {exc} (the MSO's device key)")
        )
    except InvalidSignature:
        errors.append(
            VerificationError(
                ErrorCode.DEVICE_AUTH_INVALID,
                "the device signature does not verify for this session transcript: the response was made for "
                "another request (nonce, client, origin or session) or signed with a key other than the mdoc's",
            )
        )


def _check_mac(
    value: object,
    key: DevicePublicKey,
    payload: bytes,
    transcript: Transcript,
    reader_key: ec.EllipticCurvePrivateKey | x25519.X25519PrivateKey | x448.X448PrivateKey | None,
    errors: list[VerificationError],
) -> None:
    parts = _cose_parts(value, "deviceMac", errors)
    if parts is None:
        return
    protected, header, tag = parts
    alg = header.get(_HEADER_ALG)
    if alg != HMAC_256_256 or type(alg) is not int:
        errors.append(VerificationError(ErrorCode.UNSUPPORTED_ALGORITHM, "deviceMac must use HMAC 256/256 (alg 5)"))
        return
    if reader_key is None:
        errors.append(
            VerificationError(
                ErrorCode.DEVICE_AUTH_INVALID,
                "deviceMac can be checked only with the reader's ephemeral private key of this session",
            )
        )
        return
    if not _is_transcripts_reader_key(reader_key, transcript):
        errors.append(
            VerificationError(
                ErrorCode.DEVICE_KEY_MISMATCH, "the reader key given is not the EReaderKey of this session transcript"
            )
        )
        return
    secret = _shared_secret(reader_key, key)
    if secret is None:
        errors.append(
            VerificationError(
                ErrorCode.DEVICE_KEY_MISMATCH, "the MSO's device key cannot agree a key with the reader's"
            )
        )
        return
    salt = hashlib.sha256(transcript.tagged).digest()
    mac_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"EMacKey").derive(secret)
    expected = hmac.new(mac_key, cbor2.dumps(["MAC0", protected, b"", payload]), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, tag):
        errors.append(
            VerificationError(
                ErrorCode.DEVICE_AUTH_INVALID,
                "the device MAC does not verify for this session transcript: the response was made for another "
                "session, or with a key other than the mdoc's",
            )
        )


def _is_transcripts_reader_key(reader_key: object, transcript: Transcript) -> bool:
    """Whether `reader_key`'s public half is the transcript's EReaderKey (`EReaderKeyBytes`, tag 24 COSE_Key)."""
    wrapped = transcript.value[1]
    if not isinstance(wrapped, CBORTag) or wrapped.tag != cbor.ENCODED_CBOR or not isinstance(wrapped.value, bytes):
        return False
    try:
        named = public_key_from_cose(cbor.decode(wrapped.value))
    except (cbor.CborError, CoseKeyError):
        return False
    own = reader_key.public_key()  # type: ignore[attr-defined]
    return _same_public_key(named, own)


def _same_public_key(a: object, b: object) -> bool:
    from cryptography.hazmat.primitives import serialization

    try:
        return bool(
            a.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)  # type: ignore[attr-defined]
            == b.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)  # type: ignore[attr-defined]
        )
    except (AttributeError, ValueError):
        return False


def _shared_secret(reader_key: object, device_key: DevicePublicKey) -> bytes | None:
    """ECDH (or X25519 / X448) of the reader's private key with the MSO's device key; None when they differ in kind."""
    try:
        if isinstance(reader_key, ec.EllipticCurvePrivateKey) and isinstance(device_key, ec.EllipticCurvePublicKey):
            if reader_key.curve.name != device_key.curve.name:
                return None
            return reader_key.exchange(ec.ECDH(), device_key)
        if isinstance(reader_key, x25519.X25519PrivateKey) and isinstance(device_key, x25519.X25519PublicKey):
            return reader_key.exchange(device_key)
        if isinstance(reader_key, x448.X448PrivateKey) and isinstance(device_key, x448.X448PublicKey):
            return reader_key.exchange(device_key)
    except ValueError:
        return None
    return None


__all__ = [
    "DeviceSigned",
    "Transcript",
    "TranscriptError",
    "check_device_signed",
    "device_authentication_bytes",
    "iso_18013_7_handover",
    "openid4vp_dc_api_handover",
    "openid4vp_handover",
    "read_session_transcript",
    "session_transcript",
]
