"""COSE_Key (RFC 9052 7, RFC 9053): the device keys ISO/IEC 18013-5 allows, read strictly and written."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final, NamedTuple

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
CRV_ED25519: Final = 6

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
    if isinstance(public_key, ed25519.Ed25519PublicKey) and _small_order_ed25519(raw):
        raise CoseKeyError("a small-order Ed25519 point is no one's key")
    for crv, (_name, length, load) in OKP_CURVES.items():
        if len(raw) == length and type(load(raw)) is type(public_key):
            return {KEY_KTY: KTY_OKP, KEY_CRV: crv, KEY_X: raw}
    raise CoseKeyError(f"unsupported key type {type(public_key).__name__}")


class CoseKey:
    """A device key read from a COSE_Key that passed every check of `read_cose_key`; the `cryptography` object is
    built when first asked for (`public_key`): verifying issuer data needs the key checked, not built."""

    __slots__ = ("_built", "_curve", "_point")

    def __init__(self, curve: ec.EllipticCurve | None, point: bytes, built: DevicePublicKey | None = None) -> None:
        self._curve = curve
        self._point = point
        self._built = built

    def public_key(self) -> DevicePublicKey:
        built = self._built
        if built is None:
            assert self._curve is not None  # (only EC2 keys are built late, from a point known to be on the curve)
            built = self._built = ec.EllipticCurvePublicKey.from_encoded_point(self._curve, self._point)
        return built


class _Equation(NamedTuple):
    """A short Weierstrass curve y^2 = x^3 + a x + b over the prime field of p."""

    p: int
    a: int
    b: int


_EQUATIONS: Final[Mapping[int, _Equation]] = {
    1: _Equation(  # P-256 (SEC 2)
        0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF,
        -3,
        0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B,
    ),
    2: _Equation(  # P-384
        2**384 - 2**128 - 2**96 + 2**32 - 1,
        -3,
        0xB3312FA7E23EE7E4988E056BE3F82D19181D9C6EFE8141120314088F5013875AC656398D8A2ED19D2A85C8EDD3EC2AEF,
    ),
    3: _Equation(  # P-521
        2**521 - 1,
        -3,
        0x051953EB9618E1C9A1F929A21A0B68540EEA2DA725B99B315F3B8B489918EF109E156193951EC7E937B1652C0BD3BB1BF073573DF883D2C34F1EF451FD46B503F00,
    ),
    256: _Equation(  # brainpoolP256r1 (RFC 5639)
        0xA9FB57DBA1EEA9BC3E660A909D838D726E3BF623D52620282013481D1F6E5377,
        0x7D5A0975FC2C3057EEF67530417AFFE7FB8055C126DC5C6CE94A4B44F330B5D9,
        0x26DC5C6CE94A4B44F330B5D9BBD77CBF958416295CF7E1CE6BCCDC18FF8C07B6,
    ),
    258: _Equation(  # brainpoolP384r1
        0x8CB91E82A3386D280F5D6F7E50E641DF152F7109ED5456B412B1DA197FB71123ACD3A729901D1A71874700133107EC53,
        0x7BC382C63D8C150C3C72080ACE05AFA0C2BEA28E4FB22787139165EFBA91F90F8AA5814A503AD4EB04A8C7DD22CE2826,
        0x04A8C7DD22CE28268B39B55416F0447C2FB77DE107DCD2A62E880EA53EEB62D57CB4390295DBC9943AB78696FA504C11,
    ),
    259: _Equation(  # brainpoolP512r1
        0xAADD9DB8DBE9C48B3FD4E6AE33C9FC07CB308DB3B3C9D20ED6639CCA703308717D4D9B009BC66842AECDA12AE6A380E62881FF2F2D82C68528AA6056583A48F3,
        0x7830A3318B603B89E2327145AC234CC594CBDD8D3DF91610A83441CAEA9863BC2DED5D5AA8253AA10A2EF1C98B9AC8B57F1117A72BF2C7B9E7C1AC4D77FC94CA,
        0x3DF91610A83441CAEA9863BC2DED5D5AA8253AA10A2EF1C98B9AC8B57F1117A72BF2C7B9E7C1AC4D77FC94CADC083E67984050B75EBAE5DD2809BD638016F723,
    ),
}
"""The equation of each curve of `EC2_CURVES` (every one of prime order: a point on it is a valid public key)."""
_CURVES: Final = {crv: curve() for crv, curve in EC2_CURVES.items()}


def on_curve(crv: int, x: bytes, y: bytes) -> bool:
    """Whether ``(x, y)`` (big-endian coordinates) is a point of the curve `crv` of `EC2_CURVES`: both coordinates
    below p and y^2 = x^3 + a x + b (mod p). What OpenSSL checks when it loads the point (tests hold the two
    together), done in a few big-integer operations instead of building a key object."""
    p, a, b = _EQUATIONS[crv]
    px = int.from_bytes(x, "big")
    py = int.from_bytes(y, "big")
    return px < p and py < p and (py * py - (px * px + a) * px - b) % p == 0


ED25519_SMALL_ORDER: Final = frozenset(
    bytes.fromhex(h)
    for h in (
        "0000000000000000000000000000000000000000000000000000000000000000",  # order 4
        "0100000000000000000000000000000000000000000000000000000000000000",  # the identity
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",  # order 8
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",  # order 8
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # p - 1: order 2
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # p: 0 again, not canonical
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # p + 1: 1 again, not canonical
    )
)
"""The encodings (sign bit cleared) of the eight small-order points of edwards25519, as libsodium blocks them. No one
holds a private key for such a point, and a signature with R = identity, S = 0 verifies under it for EVERY message
(OpenSSL's Ed25519 verify does not refuse it): as a device key it would let anyone pass holder binding."""


def _small_order_ed25519(x: bytes) -> bool:
    return x[:31] + bytes([x[31] & 0x7F]) in ED25519_SMALL_ORDER


def read_cose_key(key: object) -> CoseKey:
    """Read a COSE_Key strictly: EC2 on P-256/384/521 or brainpool with exact coordinate sizes and the point on
    the curve, or OKP on X25519/X448/Ed25519/Ed448 with the exact key length; a public key only (no ``d``).
    Raises `CoseKeyError`."""
    if type(key) is not dict and not isinstance(key, Mapping):
        raise CoseKeyError("COSE_Key is not a map")
    if KEY_D in key:
        raise CoseKeyError("COSE_Key holds a private key")
    kty, crv = key.get(KEY_KTY), key.get(KEY_CRV)
    if type(kty) is not int or type(crv) is not int:
        raise CoseKeyError("COSE_Key kty and crv must be integers")
    x = key.get(KEY_X)
    if kty == KTY_EC2:
        curve = _CURVES.get(crv)
        if curve is None:
            raise CoseKeyError(f"COSE_Key EC2 curve {crv!r} is not one 18013-5 allows")
        y = key.get(KEY_Y)
        size = (curve.key_size + 7) // 8
        if not (type(x) is bytes and type(y) is bytes and len(x) == size and len(y) == size):
            raise CoseKeyError(f"COSE_Key coordinates must be two {size}-byte strings")
        if not on_curve(crv, x, y):
            raise CoseKeyError("COSE_Key point is not on its curve")
        return CoseKey(curve, b"\x04" + x + y)
    if kty == KTY_OKP:
        found = OKP_CURVES.get(crv)
        if found is None:
            raise CoseKeyError(f"COSE_Key OKP curve {crv!r} is not one 18013-5 allows")
        name, length, load = found
        if KEY_Y in key or type(x) is not bytes or len(x) != length:
            raise CoseKeyError(f"COSE_Key {name} key must be one {length}-byte string")
        if crv == CRV_ED25519 and _small_order_ed25519(x):
            raise CoseKeyError("COSE_Key is a small-order Ed25519 point: no one holds its private key")
        try:
            return CoseKey(None, x, load(x))
        except ValueError:
            raise CoseKeyError(f"COSE_Key is not a valid {name} key") from None
    raise CoseKeyError(f"COSE_Key kty {kty!r} is not EC2 or OKP")


def public_key_from_cose(key: object) -> DevicePublicKey:
    """The public key of a COSE_Key read by `read_cose_key` (same checks). Raises `CoseKeyError`."""
    checked = read_cose_key(key)
    try:
        return checked.public_key()
    except ValueError:  # (never seen: the point was checked; kept so a bug cannot surface as another error)
        raise CoseKeyError("COSE_Key point is not on its curve") from None


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
