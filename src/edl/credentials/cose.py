"""The parts of COSE (RFC 9052/9053) that ISO/IEC 18013-5 issuer authentication uses.

Done directly with cbor2 and cryptography rather than pycose: the verifier must control every
check (algorithm from the protected header only, key type matching the algorithm, exact bytes)
and it is several times faster.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
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


@dataclass(frozen=True)
class EcdsaAlgorithm:
    """A COSE ECDSA algorithm and the curve its keys must be on."""

    cose_id: int
    name: str
    curve: type[ec.EllipticCurve]
    hash: type[hashes.HashAlgorithm]
    cose_curve: int

    @property
    def size(self) -> int:
        """Bytes in each of r and s (and in a coordinate)."""
        return (self.curve().key_size + 7) // 8


ES256 = EcdsaAlgorithm(-7, "ES256", ec.SECP256R1, hashes.SHA256, 1)
ES384 = EcdsaAlgorithm(-35, "ES384", ec.SECP384R1, hashes.SHA384, 2)
ES512 = EcdsaAlgorithm(-36, "ES512", ec.SECP521R1, hashes.SHA512, 3)
ALGORITHMS_BY_ID: Final[Mapping[int, EcdsaAlgorithm]] = {a.cose_id: a for a in (ES256, ES384, ES512)}
ALGORITHMS_BY_NAME: Final[Mapping[str, EcdsaAlgorithm]] = {a.name: a for a in (ES256, ES384, ES512)}
_CURVES_BY_COSE: Final[Mapping[int, EcdsaAlgorithm]] = {a.cose_curve: a for a in (ES256, ES384, ES512)}


class CoseKeyError(ValueError):
    """A COSE_Key that is not a valid EC2 public key on a supported curve."""


def protected_header(algorithm: EcdsaAlgorithm) -> bytes:
    """The encoded protected header ``{1: alg}`` (a single key: deterministic by construction)."""
    return cbor2.dumps({HEADER_ALG: algorithm.cose_id}, canonical=True)


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    """``["Signature1", protected, h'', payload]``: the bytes a COSE_Sign1 signature covers."""
    return cbor2.dumps(["Signature1", protected, b"", payload])


def verify_signature(
    public_key: ec.EllipticCurvePublicKey, algorithm: EcdsaAlgorithm, to_be_signed: bytes, signature: bytes
) -> None:
    """Check a raw ``r || s`` COSE signature; raise `InvalidSignature` if it does not verify.

    Raises `ValueError` when the key is not on the algorithm's curve (an algorithm confusion).
    """
    if not isinstance(public_key.curve, algorithm.curve):
        raise ValueError(f"{algorithm.name} needs a {algorithm.curve.name} key, not {public_key.curve.name}")
    size = algorithm.size
    if len(signature) != 2 * size:
        raise InvalidSignature(f"{algorithm.name} signature must be {2 * size} bytes, got {len(signature)}")
    r = int.from_bytes(signature[:size], "big")
    s = int.from_bytes(signature[size:], "big")
    public_key.verify(encode_dss_signature(r, s), to_be_signed, ec.ECDSA(algorithm.hash()))


def cose_key(public_key: ec.EllipticCurvePublicKey) -> dict[int, object]:
    """The EC2 COSE_Key ``{1: 2, -1: crv, -2: x, -3: y}`` of a P-256/384/521 public key."""
    for algorithm in ALGORITHMS_BY_ID.values():
        if isinstance(public_key.curve, algorithm.curve):
            numbers = public_key.public_numbers()
            size = algorithm.size
            return {
                KEY_KTY: KTY_EC2,
                KEY_CRV: algorithm.cose_curve,
                KEY_X: numbers.x.to_bytes(size, "big"),
                KEY_Y: numbers.y.to_bytes(size, "big"),
            }
    raise CoseKeyError(f"unsupported curve {public_key.curve.name}")


def public_key_from_cose(key: object) -> ec.EllipticCurvePublicKey:
    """Parse an EC2 COSE_Key strictly: known curve, exact coordinate sizes, point on the curve."""
    if not isinstance(key, Mapping):
        raise CoseKeyError("COSE_Key is not a map")
    if key.get(KEY_KTY) != KTY_EC2:
        raise CoseKeyError("COSE_Key kty is not EC2")
    curve_id = key.get(KEY_CRV)
    algorithm = _CURVES_BY_COSE.get(curve_id) if isinstance(curve_id, int) else None
    if algorithm is None:
        raise CoseKeyError(f"COSE_Key curve {curve_id!r} is not P-256, P-384 or P-521")
    x, y = key.get(KEY_X), key.get(KEY_Y)
    size = algorithm.size
    if not (isinstance(x, bytes) and isinstance(y, bytes) and len(x) == size and len(y) == size):
        raise CoseKeyError(f"COSE_Key coordinates must be two {size}-byte strings")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(algorithm.curve(), b"\x04" + x + y)
    except ValueError:
        raise CoseKeyError("COSE_Key point is not on its curve") from None


def as_public_key(
    key: ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey | Mapping[int, object],
) -> ec.EllipticCurvePublicKey:
    """Accept a device key as a public key, a private key (its public half) or a COSE_Key map."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        return key
    return public_key_from_cose(key)
