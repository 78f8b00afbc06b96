"""COSE helpers: the Sig_structure bytes, strict COSE_Key parsing, and algorithm/key pairing."""

from __future__ import annotations

import cbor2
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, x448, x25519

from edl.credentials.cose import (
    EDDSA,
    ES256,
    ES384,
    ES512,
    AlgorithmMismatch,
    CoseKeyError,
    as_public_key,
    cose_key,
    public_key_from_cose,
    sig_structure,
    verify_cose_signature,
)


@pytest.mark.parametrize("protected", [0, 3, 23, 24, 255, 256, 65535, 65536])
@pytest.mark.parametrize("payload", [0, 23, 24, 1000, 70000])
def test_sig_structure_is_the_cbor_of_the_cose_array(protected: int, payload: int) -> None:
    p, m = bytes(range(256)) * (protected // 256) + bytes(protected % 256), b"\x07" * payload
    assert sig_structure(p, m) == cbor2.dumps(["Signature1", p, b"", m])


EC_CURVES = [
    (1, ec.SECP256R1()),
    (2, ec.SECP384R1()),
    (3, ec.SECP521R1()),
    (256, ec.BrainpoolP256R1()),
    (258, ec.BrainpoolP384R1()),
    (259, ec.BrainpoolP512R1()),
]


@pytest.mark.parametrize(("crv", "curve"), EC_CURVES)
def test_ec2_keys_round_trip_on_every_curve_18013_5_allows(crv: int, curve: ec.EllipticCurve) -> None:
    key = ec.generate_private_key(curve).public_key()
    encoded = cose_key(key)
    assert encoded[1] == 2 and encoded[-1] == crv
    parsed = public_key_from_cose(encoded)
    assert isinstance(parsed, ec.EllipticCurvePublicKey)
    assert parsed.public_numbers() == key.public_numbers()


OKP = [
    (4, x25519.X25519PrivateKey),
    (5, x448.X448PrivateKey),
    (6, ed25519.Ed25519PrivateKey),
    (7, ed448.Ed448PrivateKey),
]


@pytest.mark.parametrize(("crv", "kind"), OKP)
def test_okp_keys_round_trip(crv: int, kind: type[ed25519.Ed25519PrivateKey]) -> None:
    private = kind.generate()
    encoded = cose_key(private.public_key())
    assert encoded[1] == 1 and encoded[-1] == crv and set(encoded) == {1, -1, -2}
    assert public_key_from_cose(encoded) == private.public_key()
    assert as_public_key(private) == private.public_key()


def test_a_point_off_the_curve_is_refused() -> None:
    numbers = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
    key = {1: 2, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: ((numbers.y + 1) % 2**256).to_bytes(32, "big")}
    with pytest.raises(CoseKeyError, match="not on its curve"):
        public_key_from_cose(key)


@pytest.mark.parametrize(
    "key",
    [
        None,
        [],
        {1: 3, -1: 1, -2: bytes(32), -3: bytes(32)},  # kty 3 (RSA) is not EC2/OKP
        {1: 2, -1: 4, -2: bytes(32), -3: bytes(32)},  # an OKP curve in an EC2 key
        {1: 2, -1: 257, -2: bytes(40), -3: bytes(40)},  # brainpoolP320r1: not available in cryptography
        {1: 2, -1: 1, -2: bytes(31), -3: bytes(32)},  # short coordinate
        {1: 2, -1: 1, -2: bytes(32)},  # no y
        {1: 1, -1: 6, -2: bytes(31)},  # Ed25519 key one byte short
        {1: 1, -1: 6, -2: bytes(32), -3: bytes(32)},  # OKP with a y
        {1: 1, -1: 1, -2: bytes(32)},  # an EC2 curve in an OKP key
        {1: 1, -1: 6, -2: bytes(32), -4: bytes(32)},  # a private key
        {1: True, -1: 1, -2: bytes(32), -3: bytes(32)},  # kty must be an integer, not a boolean
        {1: "EC2", -1: 1, -2: bytes(32), -3: bytes(32)},
    ],
)
def test_malformed_cose_keys_are_refused(key: object) -> None:
    with pytest.raises(CoseKeyError):
        public_key_from_cose(key)


def _ecdsa_raw(private: ec.EllipticCurvePrivateKey, data: bytes, algorithm: ec.ECDSA) -> bytes:
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    r, s = decode_dss_signature(private.sign(data, algorithm))
    size = (private.curve.key_size + 7) // 8
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


@pytest.mark.parametrize(
    ("algorithm", "curve"),
    [
        (ES256, ec.SECP256R1()),
        (ES256, ec.BrainpoolP256R1()),
        (ES384, ec.SECP384R1()),
        (ES384, ec.BrainpoolP384R1()),
        (ES512, ec.SECP521R1()),
        (ES512, ec.BrainpoolP512R1()),
    ],
)
def test_ecdsa_verifies_on_the_curves_paired_with_its_algorithm(
    algorithm: type[object], curve: ec.EllipticCurve
) -> None:
    private = ec.generate_private_key(curve)
    signature = _ecdsa_raw(private, b"data", algorithm.ecdsa)  # type: ignore[attr-defined]
    verify_cose_signature(private.public_key(), algorithm.cose_id, b"data", signature)  # type: ignore[attr-defined]
    with pytest.raises(InvalidSignature):
        verify_cose_signature(private.public_key(), algorithm.cose_id, b"other", signature)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("alg", "curve"), [(-7, ec.SECP384R1()), (-35, ec.SECP256R1()), (-36, ec.BrainpoolP256R1())])
def test_an_algorithm_with_a_key_of_another_curve_is_refused(alg: int, curve: ec.EllipticCurve) -> None:
    with pytest.raises(AlgorithmMismatch):
        verify_cose_signature(ec.generate_private_key(curve).public_key(), alg, b"data", bytes(64))


@pytest.mark.parametrize("kind", [ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey])
def test_eddsa_verifies_with_ed25519_and_ed448(kind: type[ed25519.Ed25519PrivateKey]) -> None:
    private = kind.generate()
    signature = private.sign(b"data")
    verify_cose_signature(private.public_key(), EDDSA, b"data", signature)
    with pytest.raises(InvalidSignature):
        verify_cose_signature(private.public_key(), EDDSA, b"data!", signature)


@pytest.mark.parametrize("alg", [EDDSA, -7, 1, None, "ES256", True, -8.0])
def test_algorithm_key_confusion_is_refused(alg: object) -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    ed_key = ed25519.Ed25519PrivateKey.generate().public_key()
    for key in (ec_key, ed_key):
        if (alg == EDDSA and type(alg) is int and key is ed_key) or (alg == -7 and key is ec_key):
            continue
        with pytest.raises(AlgorithmMismatch):
            verify_cose_signature(key, alg, b"data", bytes(64))
