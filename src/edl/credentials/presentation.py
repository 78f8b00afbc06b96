"""The holder's side of device authentication: a DeviceResponse whose document carries `deviceSigned` with a
device signature over DeviceAuthentication for one session transcript (ISO/IEC 18013-5 §9.1.3.4, ECDSA).

A wallet (the driver's app, a standard wallet) does this with its own key; here it serves the tests, the interop
fixtures and `edl credential present`. The private key is the caller's: nothing is stored.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import cbor2
from cbor2 import CBORTag
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

import edl.credentials.cbor as cbor
from edl.credentials.cose import ALGORITHMS_BY_ID, ES256, ES384, ES512, protected_header
from edl.credentials.device_auth import Transcript, device_authentication_bytes
from edl.credentials.errors import IssuanceError
from edl.credentials.mdoc import DEVICE_RESPONSE_VERSION, EncodedCbor, check_issuer_signed, write_encoded

_BY_CURVE = {"secp256r1": ES256, "secp384r1": ES384, "secp521r1": ES512}


def present(
    issuer_signed: bytes,
    doctype: str,
    device_key: ec.EllipticCurvePrivateKey,
    transcript: Transcript,
    *,
    device_namespaces: Mapping[str, Mapping[str, object]] | None = None,
    disclose: Collection[tuple[str, str]] | None = None,
) -> bytes:
    """A DeviceResponse of one document: `issuer_signed` (byte for byte, or with only the `disclose` elements:
    (namespace, identifier) pairs, selective disclosure), and `deviceSigned` signed by `device_key` (which must be
    the MSO's device key for any verifier to accept it) for `transcript`."""
    check_issuer_signed(issuer_signed)
    if disclose is not None:
        issuer_signed = disclosed(issuer_signed, disclose)
    algorithm = _BY_CURVE.get(device_key.curve.name)
    if algorithm is None or algorithm.cose_id not in ALGORITHMS_BY_ID:
        raise IssuanceError(f"device keys on {device_key.curve.name} are not supported for signing")
    namespaces_bytes = cbor2.dumps(CBORTag(cbor.ENCODED_CBOR, cbor.encode(dict(device_namespaces or {}))))
    payload = device_authentication_bytes(transcript, doctype, namespaces_bytes)
    protected = protected_header(algorithm)
    der = device_key.sign(cbor2.dumps(["Signature1", protected, b"", payload]), algorithm.ecdsa)
    r, s = decode_dss_signature(der)
    signature = r.to_bytes(algorithm.size, "big") + s.to_bytes(algorithm.size, "big")
    document = {
        "docType": doctype,
        "issuerSigned": EncodedCbor(issuer_signed),
        "deviceSigned": {
            "nameSpaces": EncodedCbor(namespaces_bytes),
            "deviceAuth": {"deviceSignature": [protected, {}, None, signature]},
        },
    }
    response = {"version": DEVICE_RESPONSE_VERSION, "documents": [document], "status": 0}
    return cbor2.dumps(response, encoders={EncodedCbor: write_encoded})


def disclosed(issuer_signed: bytes, elements: Collection[tuple[str, str]]) -> bytes:
    """`issuer_signed` with only the IssuerSignedItems of `elements`: each kept item's tag-24 bytes and the
    issuerAuth are written byte for byte (their digests and the MSO signature still hold); a namespace left with
    no item is dropped (18013-5: nameSpaces holds only namespaces with returned elements)."""
    check_issuer_signed(issuer_signed)
    decoded = cbor2.loads(issuer_signed)
    wanted = set(elements)
    namespaces: dict[str, list[EncodedCbor]] = {}
    for namespace, items in (decoded.get("nameSpaces") or {}).items():
        kept = []
        for item in items:
            if not isinstance(item, CBORTag) or item.tag != cbor.ENCODED_CBOR or not isinstance(item.value, bytes):
                raise IssuanceError("an IssuerSignedItem is not tag-24 bytes")
            inner = cbor2.loads(item.value)
            if (namespace, inner.get("elementIdentifier")) in wanted:
                kept.append(EncodedCbor(cbor2.dumps(item)))
        if kept:
            namespaces[namespace] = kept
    out: dict[str, object] = {"issuerAuth": decoded["issuerAuth"]}
    if namespaces:
        out = {"nameSpaces": namespaces, **out}
    return cbor2.dumps(out, encoders={EncodedCbor: write_encoded})
