"""The parts of COSE (RFC 9052/9053) that ISO/IEC 18013-5 issuer authentication uses.

Done directly with cbor2 and cryptography rather than pycose: the verifier must control every
check (algorithm from the protected header only, key type matching the algorithm, exact bytes)
and it is several times faster.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, x448, x25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

HEADER_ALG: Final = 1
HEADER_CRIT: Final = 2
HEADER_KID: Final = 4
HEADER_X5CHAIN: Final = 33
COSE_SIGN1_TAG: Final = 18

KTY_EC2: Final = 2
KEY_KTY: Final = 1
KEY_CRV: Final = -1
KEY_X: Final = -2
KEY_Y: Final = -3
KEY_D: Final = -4


@dataclass(frozen=True)
class EcdsaAlgorithm:
    """A COSE ECDSA algorithm, the curve eDL signs with, and every curve ISO/IEC 18013-5 allows with it.

    18013-5 (9.1.3.6) pairs ES256 with P-256 and brainpoolP256r1, ES384 with P-384, brainpoolP320r1 and
    brainpoolP384r1, ES512 with P-521 and brainpoolP512r1 (`cryptography` has no brainpoolP320r1, so that one
    is refused). The ``r || s`` signature size follows the key's curve, not the algorithm.
    """

    cose_id: int
    name: str
    curve: type[ec.EllipticCurve]
    hash: type[hashes.HashAlgorithm]
    cose_curve: int
    other_curves: tuple[type[ec.EllipticCurve], ...] = ()
    size: int = field(init=False)
    """Bytes in each of r and s (and in a coordinate) on `curve`."""
    ecdsa: ec.ECDSA = field(init=False, repr=False, compare=False)
    """The `cryptography` signature algorithm (built once: it holds no state)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "size", (self.curve().key_size + 7) // 8)
        object.__setattr__(self, "ecdsa", ec.ECDSA(self.hash()))

    def accepts(self, curve: ec.EllipticCurve) -> bool:
        return isinstance(curve, (self.curve, *self.other_curves))


ES256 = EcdsaAlgorithm(-7, "ES256", ec.SECP256R1, hashes.SHA256, 1, (ec.BrainpoolP256R1,))
ES384 = EcdsaAlgorithm(-35, "ES384", ec.SECP384R1, hashes.SHA384, 2, (ec.BrainpoolP384R1,))
ES512 = EcdsaAlgorithm(-36, "ES512", ec.SECP521R1, hashes.SHA512, 3, (ec.BrainpoolP512R1,))
EDDSA: Final = -8
"""COSE EdDSA (Ed25519 or Ed448 by the key), which 18013-5 also allows for issuer authentication."""
ALGORITHMS_BY_ID: Final[Mapping[int, EcdsaAlgorithm]] = {a.cose_id: a for a in (ES256, ES384, ES512)}
ALGORITHMS_BY_NAME: Final[Mapping[str, EcdsaAlgorithm]] = {a.name: a for a in (ES256, ES384, ES512)}
SIGNATURE_ALGORITHMS: Final = frozenset({*ALGORITHMS_BY_ID, EDDSA})

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


class AlgorithmMismatch(ValueError):
    """The signature algorithm is unknown or does not fit the key (an algorithm confusion)."""


def protected_header(algorithm: EcdsaAlgorithm) -> bytes:
    """The encoded protected header ``{1: alg}`` (a single key: deterministic by construction)."""
    return cbor2.dumps({HEADER_ALG: algorithm.cose_id}, canonical=True)


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    """``["Signature1", protected, h'', payload]``: the bytes a COSE_Sign1 signature covers."""
    return cbor2.dumps(["Signature1", protected, b"", payload])


def verify_signature(
    public_key: ec.EllipticCurvePublicKey, algorithm: EcdsaAlgorithm, to_be_signed: bytes, signature: bytes
) -> None:
    """Check a raw ``r || s`` COSE ECDSA signature; raise `InvalidSignature` if it does not verify.

    Raises `AlgorithmMismatch` when the key's curve does not go with the algorithm.
    """
    if not algorithm.accepts(public_key.curve):
        raise AlgorithmMismatch(f"{algorithm.name} does not go with a {public_key.curve.name} key")
    size = (public_key.curve.key_size + 7) // 8
    if len(signature) != 2 * size:
        raise InvalidSignature(f"{algorithm.name} signature must be {2 * size} bytes, got {len(signature)}")
    r = int.from_bytes(signature[:size], "big")
    s = int.from_bytes(signature[size:], "big")
    public_key.verify(encode_dss_signature(r, s), to_be_signed, algorithm.ecdsa)


def verify_cose_signature(public_key: object, alg: object, to_be_signed: bytes, signature: bytes) -> None:
    """Check a COSE_Sign1 signature made with COSE algorithm `alg` (ES256/384/512 or EdDSA) by `public_key`.

    Raises `AlgorithmMismatch` for an algorithm that is not allowed or does not fit the key, and
    `InvalidSignature` for a signature that does not verify.
    """
    if alg == EDDSA and type(alg) is int:
        if not isinstance(public_key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            raise AlgorithmMismatch("EdDSA needs an Ed25519 or Ed448 document-signer key")
        public_key.verify(signature, to_be_signed)
        return
    algorithm = ALGORITHMS_BY_ID.get(alg) if type(alg) is int else None
    if algorithm is None:
        raise AlgorithmMismatch(f"COSE algorithm {alg!r} is not ES256, ES384, ES512 or EdDSA")
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        raise AlgorithmMismatch(f"{algorithm.name} needs an EC document-signer key")
    verify_signature(public_key, algorithm, to_be_signed, signature)


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
