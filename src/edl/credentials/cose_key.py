"""COSE_Key (RFC 9052 7, RFC 9053): the device keys ISO/IEC 18013-5 allows, read strictly and written."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, x448, x25519

KTY_EC2: Final = 2
KEY_KTY: Final = 1
KEY_CRV: Final = -1
KEY_X: Final = -2
KEY_Y: Final = -3
KEY_D: Final = -4

KTY_OKP: Final = 1
EC2_CURVES: Final[Mapping[int, type[ec.EllipticCurve]]] = {
    1: ec.SECP256R1,
    2: ec.SECP384R1,
    3: ec.SECP521R1,
    256: ec.BrainpoolP256R1,
    258: ec.BrainpoolP384R1,
    259: ec.BrainpoolP512R1,
}
"""COSE curve identifiers (IANA) of the EC2 curves 18013-5 allows for device keys."""
_COSE_BY_CURVE: Final = {curve().name: cose_id for cose_id, curve in EC2_CURVES.items()}
OKP_CURVES: Final[Mapping[int, tuple[str, int, Callable[[bytes], DevicePublicKey]]]] = {
    4: ("X25519", 32, x25519.X25519PublicKey.from_public_bytes),
    5: ("X448", 56, x448.X448PublicKey.from_public_bytes),
    6: ("Ed25519", 32, ed25519.Ed25519PublicKey.from_public_bytes),
    7: ("Ed448", 57, ed448.Ed448PublicKey.from_public_bytes),
}
"""The OKP curves 18013-5 allows for device keys: (name, key length, loader)."""

DevicePublicKey = (
    ec.EllipticCurvePublicKey
    | ed25519.Ed25519PublicKey
    | ed448.Ed448PublicKey
    | x25519.X25519PublicKey
    | x448.X448PublicKey
)
IssuerPublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | ed448.Ed448PublicKey


class CoseKeyError(ValueError):
    """A COSE_Key that is not a valid public key on a curve 18013-5 allows."""


def cose_key(public_key: DevicePublicKey) -> dict[int, object]:
    """The COSE_Key (EC2 or OKP) of a public key on a curve 18013-5 allows for device keys."""
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        crv = _COSE_BY_CURVE.get(public_key.curve.name)
        if crv is None:
            raise CoseKeyError(f"unsupported curve {public_key.curve.name}")
        size = (public_key.curve.key_size + 7) // 8
        numbers = public_key.public_numbers()
        return {
            KEY_KTY: KTY_EC2,
            KEY_CRV: crv,
            KEY_X: numbers.x.to_bytes(size, "big"),
            KEY_Y: numbers.y.to_bytes(size, "big"),
        }
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    for crv, (_name, length, load) in OKP_CURVES.items():
        if len(raw) == length and type(load(raw)) is type(public_key):
            return {KEY_KTY: KTY_OKP, KEY_CRV: crv, KEY_X: raw}
    raise CoseKeyError(f"unsupported key type {type(public_key).__name__}")


def public_key_from_cose(key: object) -> DevicePublicKey:
    """Parse a COSE_Key strictly: EC2 on P-256/384/521 or brainpool with exact coordinate sizes and the point on
    the curve, or OKP on X25519/X448/Ed25519/Ed448 with the exact key length; a public key only (no ``d``)."""
    if not isinstance(key, Mapping):
        raise CoseKeyError("COSE_Key is not a map")
    if KEY_D in key:
        raise CoseKeyError("COSE_Key holds a private key")
    kty, crv = key.get(KEY_KTY), key.get(KEY_CRV)
    if type(kty) is not int or type(crv) is not int:
        raise CoseKeyError("COSE_Key kty and crv must be integers")
    x = key.get(KEY_X)
    if kty == KTY_EC2:
        curve_type = EC2_CURVES.get(crv)
        if curve_type is None:
            raise CoseKeyError(f"COSE_Key EC2 curve {crv!r} is not one 18013-5 allows")
        curve = curve_type()
        y = key.get(KEY_Y)
        size = (curve.key_size + 7) // 8
        if not (type(x) is bytes and type(y) is bytes and len(x) == size and len(y) == size):
            raise CoseKeyError(f"COSE_Key coordinates must be two {size}-byte strings")
        try:
            return ec.EllipticCurvePublicKey.from_encoded_point(curve, b"\x04" + x + y)
        except ValueError:
            raise CoseKeyError("COSE_Key point is not on its curve") from None
    if kty == KTY_OKP:
        found = OKP_CURVES.get(crv)
        if found is None:
            raise CoseKeyError(f"COSE_Key OKP curve {crv!r} is not one 18013-5 allows")
        name, length, load = found
        if KEY_Y in key or type(x) is not bytes or len(x) != length:
            raise CoseKeyError(f"COSE_Key {name} key must be one {length}-byte string")
        try:
            return load(x)
        except ValueError:
            raise CoseKeyError(f"COSE_Key is not a valid {name} key") from None
    raise CoseKeyError(f"COSE_Key kty {kty!r} is not EC2 or OKP")


DevicePrivateKey = (
    ec.EllipticCurvePrivateKey
    | ed25519.Ed25519PrivateKey
    | ed448.Ed448PrivateKey
    | x25519.X25519PrivateKey
    | x448.X448PrivateKey
)


def as_public_key(key: DevicePublicKey | DevicePrivateKey | Mapping[int, object]) -> DevicePublicKey:
    """Accept a device key as a public key, a private key (its public half) or a COSE_Key map."""
    if isinstance(key, DevicePrivateKey):
        return key.public_key()
    if isinstance(key, DevicePublicKey):
        return key
    return public_key_from_cose(key)
