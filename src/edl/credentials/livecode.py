"""Verifying a 亮码 (live code): `verify_code`, a staged pipeline over the code's content (`livecode_claims`).

The first stage that fails names itself in `CodeResult.stage` with its own error code: ``prefix`` → ``base45`` →
``compression`` (size-capped: a decompression bomb is refused) → ``cose`` (the one COSE_Sign1 reader,
`edl.credentials.cose`, under `CODE_RULES`) → ``claims`` → ``signature`` (every certificate whose kid matches is
tried, so a kid collision cannot break verification) → ``signer`` (chain to a trusted root at the verification
time; signed inside the certificate's validity) → ``time`` (expired, not yet valid). The status of the e-licence is
not judged here (`edl.verification.offline` adds it). Nothing is ever accepted on an unexpected error.

Cached across calls, in the owner passed in (``cache=``, else the `VerificationCache` of the `TrustStore`), always
keyed by exact bytes or by the identity of the caller's certificate objects: protected headers that passed, the
kid index of a signer list, parsed x5chain certificates, and (inside `TrustStore`) chains that passed path
validation. Nothing of a code itself is cached.

The content of a code (its claims, `make_code`, the text transport) is `edl.credentials.livecode_claims`; its
public names are also importable from here.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from edl.credentials.cache import (
    CANDIDATES_CACHED,
    KID_INDEXES_CACHED,
    VALIDATIONS_CACHED,
    CodeCandidate,
    KidIndex,
    SignerFacts,
    VerificationCache,
)
from edl.credentials.cose import CODE_RULES, ES256, CoseFormatError, Sign1, decode_sign1, der_signature, verify_der
from edl.credentials.errors import ErrorCode, VerificationError
from edl.credentials.livecode_claims import (
    CODE_DOCTYPE,
    DEFAULT_LEEWAY,
    MAX_COSE_BYTES,
    MAX_LIFETIME,
    MAX_QR_TEXT,
    MAX_TEXT,
    PREFIX,
    STAGES,
    CodeClaims,
    CodeRefused,
    b45decode,
    base45_bytes,
    claims_map,
    decompress,
    kid_of,
    kid_of_der,
    make_code,
    parse_claims,
    strip_prefix,
)
from edl.credentials.result import SignerInfo
from edl.credentials.structure import Refusal, parse_certificates
from edl.pki.errors import ChainValidationError
from edl.pki.trust import TrustStore, trust_store

__all__ = [  # (the code's content, from `livecode_claims`, with the verifier's own names)
    "CODE_DOCTYPE",
    "DEFAULT_LEEWAY",
    "MAX_COSE_BYTES",
    "MAX_LIFETIME",
    "MAX_QR_TEXT",
    "MAX_TEXT",
    "PREFIX",
    "STAGES",
    "CodeClaims",
    "CodeRefused",
    "CodeResult",
    "b45decode",
    "claims_map",
    "kid_of",
    "make_code",
    "read_cose",
    "verify_code",
]


@dataclass(frozen=True)
class CodeResult:
    """The verdict on a code: `valid` only when signature, signer chain and time all passed (status not judged)."""

    valid: bool
    errors: tuple[VerificationError, ...]
    claims: CodeClaims | None
    """Only when `valid`: data of a refused code is never handed out."""
    signer: SignerInfo | None
    stage: str | None
    """The stage that failed (one of `STAGES`), None when valid."""

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "doctype": CODE_DOCTYPE,
            "errors": [e.to_json_dict() for e in self.errors],
            "claims": self.claims.to_json_dict() if self.claims else {},
            "signer": self.signer.to_json_dict() if self.signer else None,
            "stage": self.stage,
        }


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


def verify_code(
    text: str,
    trust: TrustStore | Sequence[x509.Certificate],
    signers: Sequence[x509.Certificate],
    *,
    at: datetime | None = None,
    leeway: timedelta = DEFAULT_LEEWAY,
    cache: VerificationCache | None = None,
) -> CodeResult:
    """Verify a code text against the trusted roots `trust` and the candidate DS certificates `signers`.

    `at` (default now, UTC) is the verification time; `leeway` tolerates clock skew on ``iat`` in the future only:
    a code is expired from its ``exp`` on, with no leeway. `cache` keeps headers, kid indexes and candidates
    between calls (default: the one of the `TrustStore`; a list of roots makes a new store, so nothing is reused).
    Bad input gives a result with errors, never an exception.
    """
    moment = datetime.now(UTC) if at is None else at
    if moment.tzinfo is None:
        raise ValueError("`at` must be timezone-aware")
    stage = STAGES[0]
    signer: SignerInfo | None = None
    try:
        store = trust_store(trust)
        owned = cache if cache is not None else VerificationCache.of(store)
        body = strip_prefix(text)
        stage = "base45"
        compressed = base45_bytes(body)
        stage = "compression"
        cose_bytes = decompress(compressed)
        stage = "cose"
        cose = read_cose(cose_bytes, owned)
        stage = "claims"
        claims = parse_claims(cose.payload)
        stage = "signature"
        chosen = _check_signature(cose, claims, store, signers, moment, owned)
        signer = chosen.facts.info
        stage = "time"
        _check_time(claims, moment, leeway, signer)
    except CodeRefused as refused:
        return CodeResult(
            False, (VerificationError(refused.code, refused.message),), None, refused.signer, refused.stage
        )
    except Exception as exc:  # a bug must never turn into an acceptance, nor into a crash
        error = VerificationError(ErrorCode.MALFORMED, f"unexpected error while verifying: {type(exc).__name__}")
        return CodeResult(False, (error,), None, signer, stage)
    result = _new(CodeResult)  # (the fields of a frozen dataclass, set once, as its __init__ would)
    result.__dict__.update(valid=True, errors=(), claims=claims, signer=signer, stage=None)
    return result


_new = object.__new__


def _cose_error(message: str) -> CodeRefused:
    return CodeRefused("cose", ErrorCode.CODE_COSE, message)


def read_cose(data: bytes, cache: VerificationCache | None = None) -> Sign1:
    """The code's COSE_Sign1 (`decode_sign1` under `CODE_RULES`), whose kid names its x5chain leaf when it has
    one; raises `CodeRefused` at stage ``cose``."""
    try:
        cose = decode_sign1(data, CODE_RULES, cache=cache.protected if cache is not None else None)
    except CoseFormatError as exc:
        code = ErrorCode.UNSUPPORTED_ALGORITHM if exc.kind == "algorithm" else ErrorCode.CODE_COSE
        raise CodeRefused("cose", code, exc.message) from None
    if cose.x5chain and kid_of_der(cose.x5chain[0]) != cose.kid:
        raise _cose_error("the kid does not name the x5chain certificate")
    return cose


def _candidate(chain: tuple[x509.Certificate, ...], ders: tuple[bytes, ...], cache: VerificationCache) -> CodeCandidate:
    table = cache.candidates
    found = table.get(ders)
    if found is None:
        facts = SignerFacts.of(chain[0])
        public_key = facts.public_key
        found = CodeCandidate(
            chain,
            ders,
            public_key if isinstance(public_key, ec.EllipticCurvePublicKey) and _is_p256(public_key) else None,
            facts,
            {},
        )
        if len(table) >= CANDIDATES_CACHED:
            table.clear()
        table[ders] = found
    return found


def _is_p256(key: ec.EllipticCurvePublicKey) -> bool:
    return isinstance(key.curve, ec.SECP256R1)


def _kid_index(signers: Sequence[x509.Certificate], cache: VerificationCache) -> KidIndex:
    """The candidates of a signer list by kid, kept by the identity of its certificate objects (the entry keeps
    them alive, so an id cannot be reused while cached); candidates are built once per DER."""
    certs = tuple(signers)
    key = tuple(map(id, certs))
    indexes = cache.kid_indexes
    hit = indexes.get(key)
    if hit is not None and all(map(operator.is_, hit[0], certs)):
        return hit[1]
    index: dict[bytes, list[CodeCandidate]] = {}
    for cert in certs:
        der = cert.public_bytes(serialization.Encoding.DER)
        index.setdefault(kid_of_der(der), []).append(_candidate((cert,), (der,), cache))
    frozen = {kid: tuple(found) for kid, found in index.items()}
    with cache.lock:
        indexes[key] = (certs, frozen)
        while len(indexes) > KID_INDEXES_CACHED:
            indexes.popitem(last=False)
    return frozen


def _candidates_of(
    cose: Sign1, signers: Sequence[x509.Certificate], cache: VerificationCache
) -> tuple[CodeCandidate, ...]:
    kid = cose.kid
    assert kid is not None  # (CODE_RULES require it)
    found = _kid_index(signers, cache).get(kid, ())
    if cose.x5chain:
        try:
            chain = parse_certificates(cose.x5chain, cache)
        except Refusal as refusal:
            raise _cose_error(refusal.message) from None
        found = (*found, _candidate(chain, cose.x5chain, cache))
    return found


def _check_signature(
    cose: Sign1,
    claims: CodeClaims,
    trust: TrustStore,
    signers: Sequence[x509.Certificate],
    at: datetime,
    cache: VerificationCache,
) -> CodeCandidate:
    """The first candidate whose key verifies the signature, whose chain is trusted at `at`, that was valid when
    the code was made and whose country is the code's issuer; or the most telling reason none is."""
    candidates = _candidates_of(cose, signers, cache)
    if not candidates:
        kid = cose.kid.hex() if cose.kid is not None else None
        raise CodeRefused("signature", ErrorCode.SIGNER_UNKNOWN, f"no known signer certificate has kid {kid}")
    der = der_signature(cose.signature, ES256.size)  # (to the DER cryptography takes: once, not per candidate)
    signer_refusal: CodeRefused | None = None
    wrong_key = False
    for candidate in candidates:
        if candidate.public_key is None:  # (only P-256 keys are kept: ES256 as RFC 9053 pairs it)
            wrong_key = True
            continue
        if der is None:
            continue
        try:
            verify_der(candidate.public_key, ES256, cose.to_be_signed, der)
        except InvalidSignature:
            continue
        known = candidate.validated.get(id(trust))
        if known is None or known[0] is not trust or not known[1] <= at <= known[2]:
            try:
                path = trust.validate(candidate.chain, candidate.ders, at)
            except ChainValidationError as exc:
                signer_refusal = signer_refusal or CodeRefused(
                    "signer", ErrorCode(exc.code), exc.message, candidate.facts.info
                )
                continue
            _remember_validation(candidate, trust, path, cache)
        if not candidate.facts.not_before <= claims.issued_at <= candidate.facts.not_after:
            signer_refusal = signer_refusal or CodeRefused(
                "signer",
                ErrorCode.SIGNED_OUTSIDE_CERTIFICATE,
                f"code made at {claims.issued_at.isoformat()}, outside the signer certificate's validity",
                candidate.facts.info,
            )
            continue
        if candidate.facts.country != claims.issuer:
            signer_refusal = signer_refusal or CodeRefused(
                "signer",
                ErrorCode.ISSUER_MISMATCH,
                f"issuer {claims.issuer!r} differs from the signer certificate's country {candidate.facts.country!r}",
                candidate.facts.info,
            )
            continue
        return candidate
    if signer_refusal is not None:
        raise signer_refusal
    if wrong_key and len(candidates) == 1:
        raise CodeRefused("signature", ErrorCode.UNSUPPORTED_ALGORITHM, "the signer key is not a P-256 key (ES256)")
    raise CodeRefused("signature", ErrorCode.SIGNATURE_INVALID, "the code's signature does not verify")


def _remember_validation(
    candidate: CodeCandidate, trust: TrustStore, path: Sequence[x509.Certificate], cache: VerificationCache
) -> None:
    window = (max(c.not_valid_before_utc for c in path), min(c.not_valid_after_utc for c in path))
    with cache.lock:
        if len(candidate.validated) >= VALIDATIONS_CACHED:
            candidate.validated.clear()
        candidate.validated[id(trust)] = (trust, *window)


def _check_time(claims: CodeClaims, at: datetime, leeway: timedelta, signer: SignerInfo) -> None:
    if at >= claims.expires_at:
        raise CodeRefused("time", ErrorCode.EXPIRED, f"the code expired at {claims.expires_at.isoformat()}", signer)
    if claims.issued_at > at + leeway:
        raise CodeRefused(
            "time", ErrorCode.NOT_YET_VALID, f"the code was made in the future ({claims.issued_at.isoformat()})", signer
        )
