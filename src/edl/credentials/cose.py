"""The parts of COSE (RFC 9052/9053) eDL uses: algorithms, keys, and the one COSE_Sign1 reader and verifier.

Done directly with cbor2 and cryptography rather than pycose: the verifier must control every
check (algorithm from the protected header only, key type matching the algorithm, exact bytes)
and it is several times faster.

Every COSE_Sign1 eDL reads goes through `read_sign1` (a decoded value: the mdoc's IssuerAuth) or `decode_sign1`
(bytes: the 亮码, the status list, the trust bundle), under the `Sign1Rules` of its kind (`MDOC_RULES`,
`CODE_RULES`, `SERVICE_RULES`). Every kind is refused when: the envelope is not an array of 4 (protected bstr,
unprotected map, payload bstr - never detached -, signature bstr); the protected header is not a map; a header
label is not an integer or a text; ``crit`` (2) appears in either header (RFC 9052 3.1: it belongs to the protected
header, and no critical extension is supported); ``alg`` is not in the protected header; a label appears in both
headers (RFC 9052 3); an x5chain is not one certificate (bstr) or an array of them. The rules add what a kind
needs (tag 18 or no tag, one encoding only, an algorithm allow-list, the header labels it may carry, a kid).
Signatures are checked with `verify_cose_signature` / `verify_signature` (or, for many keys, `der_signature` once
and `verify_der` per key).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple

import cbor2
from cbor2 import CBORTag
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

import edl.credentials.cbor as strict_cbor
from edl.credentials.cose_key import (
    CoseKeyError as CoseKeyError,
)
from edl.credentials.cose_key import (
    DevicePrivateKey as DevicePrivateKey,
)
from edl.credentials.cose_key import (
    DevicePublicKey as DevicePublicKey,
)
from edl.credentials.cose_key import (
    as_public_key as as_public_key,
)
from edl.credentials.cose_key import (
    cose_key as cose_key,
)
from edl.credentials.cose_key import (
    public_key_from_cose as public_key_from_cose,
)

HEADER_ALG: Final = 1
HEADER_CRIT: Final = 2
HEADER_KID: Final = 4
HEADER_TYP: Final = 16
HEADER_X5CHAIN: Final = 33
COSE_SIGN1_TAG: Final = 18


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
    der = der_signature(signature, size)
    if der is None:
        raise InvalidSignature(f"{algorithm.name} signature must be {2 * size} bytes, got {len(signature)}")
    public_key.verify(der, to_be_signed, algorithm.ecdsa)


def der_signature(signature: bytes, size: int) -> bytes | None:
    """The DER form `cryptography` takes of a raw COSE ``r || s`` signature of two `size`-byte integers; None when
    the signature is not exactly ``2 * size`` bytes (it cannot verify). Done once when many keys are tried."""
    if len(signature) != 2 * size:
        return None
    return encode_dss_signature(int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big"))


def verify_der(
    public_key: ec.EllipticCurvePublicKey, algorithm: EcdsaAlgorithm, to_be_signed: bytes, der: bytes
) -> None:
    """Check a `der_signature` with a key already known to fit `algorithm`; raise `InvalidSignature` if it fails."""
    public_key.verify(der, to_be_signed, algorithm.ecdsa)


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


# --- the COSE_Sign1 reader ----------------------------------------------------------------------------------------


class CoseFormatError(ValueError):
    """A COSE_Sign1 the reader refuses. `kind` says what is wrong: ``"algorithm"`` (unknown, missing, misplaced),
    ``"date"`` (a tag 0/1004 in the protected header that is not its exact form) or ``"malformed"``."""

    def __init__(self, message: str, kind: str = "malformed") -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind


@dataclass(frozen=True, eq=False)
class Sign1Rules:
    """What one kind of COSE_Sign1 must be, on top of what every COSE_Sign1 read here must be (module docstring).

    Each rule instance is a constant (its cache of protected headers is keyed by the instance).
    """

    name: str
    tagged: bool
    """True: tag 18 is required (RFC 9052 tagged message); False: an untagged array is required (18013-5)."""
    preferred: bool = False
    """The protected header must be in preferred serialization (with `decode_sign1`, the whole envelope too)."""
    algorithms: frozenset[int] | None = None
    """When set, ``alg`` is checked when reading; when None, at verification (`verify_cose_signature`)."""
    protected: frozenset[int] | None = None
    """The integer labels the protected header may carry; None: any integer or text label."""
    unprotected: frozenset[int] | None = None
    """The integer labels the unprotected header may carry; None: any integer or text label."""
    kid_bytes: int | None = None
    """When set, the protected header must carry a kid (4) of exactly this many bytes."""
    x5chain_required: bool = False
    x5chain_max: int | None = None
    """The most certificates an x5chain array may hold (None: no limit)."""


MDOC_RULES: Final = Sign1Rules("IssuerAuth", tagged=False, x5chain_required=True)
"""ISO/IEC 18013-5 IssuerAuth: untagged; ES256/384/512 or EdDSA (checked at verification, beside the other checks);
any header labels; the x5chain in either header."""
CODE_RULES: Final = Sign1Rules(
    "code",
    tagged=True,
    preferred=True,
    algorithms=frozenset({ES256.cose_id}),
    protected=frozenset({HEADER_ALG, HEADER_KID}),
    unprotected=frozenset({HEADER_X5CHAIN}),
    kid_bytes=8,
    x5chain_max=4,
)
"""The 亮码 (docs/code-format.md): tagged, one encoding only, protected exactly ``{1: -7, 4: kid}``, unprotected
empty or an x5chain of up to 4 certificates."""
SERVICE_RULES: Final = Sign1Rules(
    "service object",
    tagged=True,
    algorithms=frozenset({ES256.cose_id}),
    protected=frozenset({HEADER_ALG, HEADER_KID, HEADER_TYP, HEADER_X5CHAIN}),
    unprotected=frozenset({HEADER_KID, HEADER_X5CHAIN}),
    x5chain_required=True,
)
"""A signed service object (status list, trust bundle): tagged, ES256, a ``typ``, an x5chain."""


class ProtectedHeader(NamedTuple):
    """A protected header that passed its rules' protected-header checks (cached by its exact bytes)."""

    header: Mapping[Any, Any]
    alg: int | None
    kid: bytes | None


class Sign1(NamedTuple):
    """A COSE_Sign1 read under its rules. `alg` and `kid` come from the protected header only."""

    protected: bytes
    header: Mapping[Any, Any]
    """The decoded protected header (never mutated: it may be shared through the cache)."""
    unprotected: Mapping[Any, Any]
    payload: bytes
    signature: bytes
    alg: int | None
    kid: bytes | None
    x5chain: tuple[bytes, ...]
    """The certificates (DER, leaf first) of the x5chain (33), from either header; empty when there is none."""
    to_be_signed: bytes
    """The Sig_structure ``["Signature1", protected, h'', payload]`` the signature covers."""


ProtectedCache = dict[Sign1Rules, dict[bytes, ProtectedHeader]]
"""Protected headers that passed, by rules and exact bytes (the owner's: see `edl.credentials.cache`)."""
_HEADERS_CACHED: Final = 256
_ARRAYS: Final = (list, tuple)
_MAPS: Final = (dict, cbor2.frozendict)


def _labels_ok(header: Mapping[Any, Any], allowed: frozenset[int] | None) -> bool:
    # cbor2 makes simple(33) equal to 33: only a real int (or text, with no allow-list) label may name a header.
    for label in header:
        kind = type(label)
        if kind is not int and (allowed is not None or kind is not str):
            return False
    return True


def _protected(protected: bytes, rules: Sign1Rules) -> ProtectedHeader:
    """The protected-header checks of `rules`, in this order: a map with integer (or text) labels, no ``crit``,
    ``alg``, ``kid``, the allowed labels."""
    try:
        if rules.preferred:
            header = strict_cbor.decode_envelope(protected)
        else:
            header = strict_cbor.decode(protected) if protected else {}
    except strict_cbor.InvalidDateError as exc:
        raise CoseFormatError(f"protected header: {exc}", "date") from None
    except strict_cbor.CborError as exc:
        raise CoseFormatError(f"protected header: {exc}") from None
    if type(header) is not dict:
        raise CoseFormatError("the protected header is not a map")
    if not _labels_ok(header, rules.protected):
        raise CoseFormatError(
            "a protected COSE header label is not an integer" + ("" if rules.protected else " or a text")
        )
    if HEADER_CRIT in header:
        raise CoseFormatError("critical COSE headers are not supported")
    alg = header.get(HEADER_ALG)
    if rules.algorithms is not None:
        if type(alg) is not int or alg not in rules.algorithms:
            names = ", ".join(f"{ALGORITHMS_BY_ID[a].name} ({a})" for a in sorted(rules.algorithms))
            raise CoseFormatError(f"COSE algorithm {alg!r} in the protected header is not {names}", "algorithm")
    elif alg is not None and not isinstance(alg, int):
        raise CoseFormatError(f"COSE algorithm {alg!r} is not supported", "algorithm")
    kid = header.get(HEADER_KID)
    if rules.kid_bytes is not None and (type(kid) is not bytes or len(kid) != rules.kid_bytes):
        raise CoseFormatError(f"the protected header has no kid of {rules.kid_bytes} bytes")
    if rules.protected is not None and not rules.protected.issuperset(header):
        label = next(iter(set(header) - rules.protected))
        raise CoseFormatError(f"unexpected protected COSE header {label!r} in a {rules.name}")
    return ProtectedHeader(header, alg, kid if type(kid) is bytes else None)


def _protected_cached(protected: bytes, rules: Sign1Rules, cache: ProtectedCache | None) -> ProtectedHeader:
    if cache is None:
        return _protected(protected, rules)
    table = cache.get(rules)
    if table is None:
        table = cache.setdefault(rules, {})
    found = table.get(protected)
    if found is None:
        found = _protected(protected, rules)
        if len(table) >= _HEADERS_CACHED:
            table.clear()
        table[protected] = found
    return found


def read_sign1(
    value: object, rules: Sign1Rules, *, typ: str | None = None, cache: ProtectedCache | None = None
) -> Sign1:
    """Read a decoded COSE_Sign1 under `rules` (and a protected ``typ`` (16) equal to `typ`, when given).

    Raises `CoseFormatError`. Nothing is verified here: the caller verifies the signature with the key it trusts.
    """
    if rules.tagged:
        if type(value) is not CBORTag or value.tag != COSE_SIGN1_TAG:
            raise CoseFormatError(f"a {rules.name} is a tagged COSE_Sign1 (tag 18)")
        value = value.value  # (cbor2 decodes the content of a tag as immutable: tuple and frozendict)
    elif isinstance(value, CBORTag) and value.tag == COSE_SIGN1_TAG:
        raise CoseFormatError(f"{rules.name} must be an untagged COSE_Sign1 (ISO/IEC 18013-5), not tag 18")
    parts: Any = value
    if type(parts) not in _ARRAYS or len(parts) != 4:
        raise CoseFormatError(f"{rules.name} is not a COSE_Sign1 array of 4 elements")
    protected, unprotected, payload, signature = parts
    if type(protected) is not bytes or type(unprotected) not in _MAPS:
        raise CoseFormatError("COSE_Sign1 headers are not a byte string and a map")
    if type(payload) is not bytes:
        raise CoseFormatError("COSE_Sign1 payload is not a byte string (detached payloads are not allowed)")
    if type(signature) is not bytes:
        raise CoseFormatError("COSE_Sign1 signature is not a byte string")
    found = _protected_cached(protected, rules, cache)
    chain = _unprotected_and_chain(found.header, unprotected, rules, typ)
    return Sign1(
        protected, found.header, unprotected, payload, signature, found.alg, found.kid, chain,
        sig_structure(protected, payload),
    )  # fmt: skip


def _unprotected_and_chain(
    header: Mapping[Any, Any], unprotected: Mapping[Any, Any], rules: Sign1Rules, typ: str | None
) -> tuple[bytes, ...]:
    if not unprotected and HEADER_X5CHAIN not in header:
        if typ is not None:
            _check_typ(header, typ)
        if rules.x5chain_required:
            raise CoseFormatError("no x5chain (COSE header 33): the signer certificate is needed")
        return ()
    if rules.unprotected is None and HEADER_ALG in unprotected:
        raise CoseFormatError("the COSE algorithm must be in the protected header", "algorithm")
    if not _labels_ok(unprotected, rules.unprotected):
        raise CoseFormatError(
            "an unprotected COSE header label is not an integer" + ("" if rules.unprotected else " or a text")
        )
    if HEADER_CRIT in unprotected:
        raise CoseFormatError("critical COSE headers are not supported (and never unprotected)")
    if rules.unprotected is not None and not rules.unprotected.issuperset(unprotected):
        label = next(iter(set(unprotected) - rules.unprotected))
        raise CoseFormatError(f"unexpected unprotected COSE header {label!r} in a {rules.name}")
    if not header.keys().isdisjoint(unprotected):
        raise CoseFormatError("a COSE header label appears in both protected and unprotected headers")
    if typ is not None:
        _check_typ(header, typ)
    found = header.get(HEADER_X5CHAIN, unprotected.get(HEADER_X5CHAIN))
    if found is None:
        if rules.x5chain_required:
            raise CoseFormatError("no x5chain (COSE header 33): the signer certificate is needed")
        return ()
    # RFC 9360 writes one certificate as a byte string and several as an array. Some issuers send an array of one:
    # the certificate is the same either way, so both are taken.
    if type(found) is bytes:
        return (found,)
    limit = rules.x5chain_max
    if (
        type(found) in _ARRAYS
        and found
        and (limit is None or len(found) <= limit)
        and all(type(c) is bytes for c in found)
    ):
        return tuple(found)
    most = "" if limit is None else f"up to {limit} "
    raise CoseFormatError(f"x5chain (COSE header 33) is not a certificate (bstr) or an array of {most}certificates")


def _check_typ(header: Mapping[Any, Any], typ: str) -> None:
    found = header.get(HEADER_TYP)
    if type(found) is not str or found != typ:
        raise CoseFormatError(f"the protected typ (16) must be {typ!r}")


def decode_sign1(
    data: bytes, rules: Sign1Rules, *, typ: str | None = None, cache: ProtectedCache | None = None
) -> Sign1:
    """Decode and read a COSE_Sign1 under `rules` (see `read_sign1`). Raises `CoseFormatError`.

    With `rules.preferred` the envelope must be in preferred serialization (it is not signed, so it must have one
    encoding): the usual layout (`read_plain_sign1`) is read without cbor2, anything else by cbor2 then compared
    byte for byte with its re-encoding. Otherwise the strict decoder of `edl.credentials.cbor` reads it.
    """
    if type(data) is not bytes:
        raise CoseFormatError("a COSE_Sign1 is bytes")
    if rules.preferred:
        plain = read_plain_sign1(data, rules, typ=typ, cache=cache)
        return plain if plain is not None else decode_preferred_sign1(data, rules, typ=typ, cache=cache)
    try:
        value = strict_cbor.decode(data)
    except strict_cbor.CborError as exc:
        raise CoseFormatError(f"not one well-formed CBOR item: {exc}") from None
    return read_sign1(value, rules, typ=typ, cache=cache)


def decode_preferred_sign1(
    data: bytes, rules: Sign1Rules, *, typ: str | None = None, cache: ProtectedCache | None = None
) -> Sign1:
    """`decode_sign1` of an envelope that must be in preferred serialization, read by cbor2 (any layout)."""
    try:  # (definite lengths, no duplicate keys; tags are kept raw: nothing inside is interpreted)
        value = cbor2.loads(data, allow_indefinite=False, allow_duplicate_keys=False, max_depth=8)
        canonical = cbor2.dumps(value) == data
    except Exception as exc:  # cbor2 raises CBORDecodeError, and ValueError/TypeError from its tag decoders
        raise CoseFormatError(f"not a COSE_Sign1: {type(exc).__name__}") from None
    if not canonical:
        raise CoseFormatError("the COSE_Sign1 is not in preferred CBOR serialization (one encoding only)")
    return read_sign1(value, rules, typ=typ, cache=cache)


_SIGNATURE_HEAD: Final = b"\x58\x40"
_TBS_HEAD: Final = b"\x84\x6aSignature1"
"""An array of 4 and the text "Signature1": how every Sig_structure starts."""


def read_plain_sign1(
    data: bytes, rules: Sign1Rules, *, typ: str | None = None, cache: ProtectedCache | None = None
) -> Sign1 | None:
    """The fast path of `decode_sign1`: a tagged COSE_Sign1 in preferred serialization with a short protected
    header (1 to 23 bytes), an empty unprotected map and a 64-byte signature, read by its layout; None for any other
    bytes (`decode_sign1` then reads them with cbor2 and decides).

    The layout: ``d2`` (tag 18) ``84`` (array of 4) ``41``..``57`` + that many bytes (protected), ``a0`` (empty
    map), a byte string in its shortest head (payload), ``58 40`` + 64 bytes (signature), nothing after. Every head
    here is checked to be the shortest for its length and the lengths to add up to exactly `data`, so these bytes
    are the one preferred serialization of what cbor2 would decode; a test holds this reader to the cbor2 one. The
    Sig_structure is built from the received items themselves (each a byte string in its only preferred form).
    """
    if not rules.tagged or len(data) < 3 or data[0] != 0xD2 or data[1] != 0x84 or not 0x41 <= data[2] <= 0x57:
        return None
    plain_end = 3 + data[2] - 0x40
    if len(data) < plain_end + 1 + 1 + 66 or data[plain_end] != 0xA0:
        return None
    head = data[plain_end + 1]
    start = plain_end + 2
    if 0x40 <= head <= 0x57:
        length = head - 0x40
    elif head == 0x58:
        length = data[start]
        start += 1
        if length < 24:
            return None
    elif head == 0x59:
        length = int.from_bytes(data[start : start + 2], "big")
        start += 2
        if length < 256:
            return None
    else:
        return None
    end = start + length
    if len(data) != end + 66 or data[end : end + 2] != _SIGNATURE_HEAD:
        return None
    protected = data[3:plain_end]
    found = _protected_cached(protected, rules, cache)
    if typ is not None:
        _check_typ(found.header, typ)
    if HEADER_X5CHAIN in found.header or rules.x5chain_required:
        return None  # (read by cbor2, which says what is wrong)
    to_be_signed = b"".join((_TBS_HEAD, data[2:plain_end], b"\x40", data[plain_end + 1 : end]))
    empty: Mapping[Any, Any] = {}
    return Sign1(
        protected, found.header, empty, data[start:end], data[end + 2 :], found.alg, found.kid, (), to_be_signed
    )
