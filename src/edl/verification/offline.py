"""Offline verification of a 亮码 with status: the code (`edl.credentials.livecode`) plus a signed status list.

Pure: no database, no network. The status comes from a Status List Token the verifier holds (fetched earlier):

* no list, a stale list (past its ``exp``), a list that does not verify, or an index outside it → **unknown**
  (never valid, never revoked);
* the code's own status snapshot (``st``, with the licence validity ``vu``) mapped by `credential_status`: when
  it says suspended or revoked, that worse status wins over the list's;
* `valid` = the code is valid, and the status is valid, or unknown under a purpose whose policy is to warn.

A verifier checks many codes against one list, so the verified, decompressed list is cached, in a `StatusListCache`
the trust store owns (`TrustStore.cache`: a verifier that keeps its store keeps its lists; another store, or a new
one, starts with none): keyed by the SHA-256 of the exact token bytes and the expected URI, a few lists at most.
The code's own caches are the `VerificationCache` passed in (``cache=``), else the store's. Only what does not
depend on the time is taken from the cache (the signature, the signer's chain up to a trusted root, the claims,
the decompressed bytes): a list is not a credential, it is the same document for
every code it is checked with. What depends on the time is checked again on every call, at that call's `at`: the
list's ``exp`` (stale) and ``iat`` (issued in the future), and the validity of every certificate of the signer's
path (through `TrustStore.validate_service`). When any of them fails, the token is verified from scratch, so the
answer and its error are exactly those of `verify_status_list_token`.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509

from edl.credentials.cache import VerificationCache
from edl.credentials.cose import SERVICE_RULES, decode_sign1
from edl.credentials.errors import ErrorCode, VerificationError
from edl.credentials.livecode import CODE_DOCTYPE, DEFAULT_LEEWAY, CodeClaims, CodeResult, verify_code
from edl.credentials.statuslist import DEFAULT_LEEWAY as LIST_LEEWAY
from edl.credentials.statuslist import TYP as LIST_TYP
from edl.credentials.statuslist import StatusListResult, verify_status_list_token
from edl.credentials.structure import parse_certificates
from edl.domain.credential_status import CredentialStatus, credential_status
from edl.domain.dates import china_date
from edl.domain.status import Status
from edl.pki.errors import ChainValidationError
from edl.pki.profiles import STATUS_LIST_SIGNING_EKU
from edl.pki.trust import TrustStore, trust_store
from edl.verification.purposes import UnknownPolicy

_SEVERITY = {
    CredentialStatus.VALID: 0,
    CredentialStatus.UNKNOWN: 1,
    CredentialStatus.SUSPENDED: 2,
    CredentialStatus.REVOKED: 3,
}
_STATUS_ERRORS = {
    CredentialStatus.SUSPENDED: (ErrorCode.STATUS_SUSPENDED, "the e-licence is suspended"),
    CredentialStatus.REVOKED: (ErrorCode.STATUS_REVOKED, "the e-licence is revoked"),
}


@dataclass(frozen=True)
class OfflineResult:
    """The verdict: `valid` only when the code verified and its status allows relying on it."""

    valid: bool
    status: CredentialStatus
    errors: tuple[VerificationError, ...]
    warnings: tuple[str, ...]
    code: CodeResult

    def to_json_dict(self) -> dict[str, Any]:
        """The shape of `edl verify --mdoc` plus ``status``, ``warnings`` and the failed ``stage``."""
        return {
            "valid": self.valid,
            "doctype": CODE_DOCTYPE,
            "errors": [e.to_json_dict() for e in self.errors],
            "claims": self.code.claims.to_json_dict() if self.code.claims and self.valid else {},
            "signer": self.code.signer.to_json_dict() if self.code.signer else None,
            "status": self.status.value,
            "warnings": list(self.warnings),
            "stage": self.code.stage if not self.code.valid else (None if self.valid else "status"),
        }


def verify_offline(
    text: str,
    trust: TrustStore | Sequence[x509.Certificate],
    signers: Sequence[x509.Certificate],
    *,
    at: datetime | None = None,
    status_list: bytes | None = None,
    policy: UnknownPolicy = UnknownPolicy.WARN,
    leeway: timedelta = DEFAULT_LEEWAY,
    expected_uri: str | None = None,
    cache: VerificationCache | None = None,
) -> OfflineResult:
    """Verify code `text`, then its status from `status_list` (a Status List Token, verified against `trust`).

    `expected_uri`, when given, is the list location the verifier trusts (e.g. from its trust bundle): a list
    for another URI is refused (unknown status). `cache` is the code's (see `verify_code`); verified lists are kept
    by the `TrustStore` (pass the same store again to reuse them). Malformed input gives a result with errors,
    never an exception.
    """
    moment = datetime.now(UTC) if at is None else at
    if moment.tzinfo is None:
        raise ValueError("`at` must be timezone-aware")
    store = trust_store(trust)
    code = verify_code(text, store, signers, at=moment, leeway=leeway, cache=cache)
    if not code.valid or code.claims is None:
        return OfflineResult(False, CredentialStatus.UNKNOWN, code.errors, (), code)
    listed, reason = _list_status(code.claims, store, moment, status_list, expected_uri)
    snapshot = _snapshot_status(code.claims, moment)
    status = max(listed, snapshot, key=_SEVERITY.__getitem__)
    errors: list[VerificationError] = []
    warnings: list[str] = []
    if status in _STATUS_ERRORS:
        code_, message = _STATUS_ERRORS[status]
        source = "the code's own status snapshot" if snapshot is status else "the status list"
        errors.append(VerificationError(code_, f"{message} ({source})"))
        if reason:
            warnings.append(f"{ErrorCode.STATUS_UNKNOWN.value}: {reason}")
    elif status is CredentialStatus.UNKNOWN:
        message = f"the status could not be confirmed: {reason}"
        if policy is UnknownPolicy.REFUSE:
            errors.append(VerificationError(ErrorCode.STATUS_UNKNOWN, f"{message}; this purpose refuses it"))
        else:
            warnings.append(f"{ErrorCode.STATUS_UNKNOWN.value}: {message}; accepted with this warning")
    valid = not errors
    return OfflineResult(valid, status, tuple(errors), tuple(warnings), code)


def _list_status(
    claims: CodeClaims,
    trust: TrustStore,
    at: datetime,
    status_list: bytes | None,
    expected_uri: str | None,
) -> tuple[CredentialStatus, str | None]:
    """The list's status for the code's index, and why it is unknown (None when it is known)."""
    if status_list is None:
        return CredentialStatus.UNKNOWN, "no status list was given"
    try:
        result = _verified_list(status_list, trust, at, expected_uri)
    except Exception as exc:  # a fault in the list must never make the status valid or revoked
        return CredentialStatus.UNKNOWN, f"the status list could not be checked ({type(exc).__name__})"
    if not result.valid:
        why = "; ".join(f"{e.code.value}: {e.message}" for e in result.errors) or "the status list is not valid"
        return CredentialStatus.UNKNOWN, why
    status = result.status_at(claims.status_index)
    if status is CredentialStatus.UNKNOWN:
        return status, f"index {claims.status_index} is not in the status list"
    return status, None


class _CachedList:
    __slots__ = ("chain", "ders", "result")

    def __init__(self, result: StatusListResult, chain: tuple[x509.Certificate, ...], ders: tuple[bytes, ...]) -> None:
        self.result, self.chain, self.ders = result, chain, ders


class StatusListCache:
    """The verified status lists of one `TrustStore` (its owner: `StatusListCache.of(store)`), a few at most."""

    SIZE = 4

    def __init__(self) -> None:
        self.lists: OrderedDict[tuple[bytes, str | None], _CachedList] = OrderedDict()
        self.lock = threading.Lock()

    @classmethod
    def of(cls, store: TrustStore) -> StatusListCache:
        return store.cache(cls)


def _verified_list(token: bytes, trust: TrustStore, at: datetime, expected_uri: str | None) -> StatusListResult:
    """`verify_status_list_token(token, trust, at=at, expected_uri=expected_uri)`, its time-independent part
    cached in the store's `StatusListCache` (see the module's docstring)."""
    if not isinstance(token, bytes):  # (a bytearray could change after it was hashed)
        return verify_status_list_token(token, trust, at=at, expected_uri=expected_uri)
    owner = StatusListCache.of(trust)
    key = (hashlib.sha256(token).digest(), expected_uri)
    with owner.lock:
        hit = owner.lists.get(key)
        if hit is not None:
            owner.lists.move_to_end(key)
    if hit is not None and _still_valid(hit, trust, at):
        return hit.result
    result = verify_status_list_token(token, trust, at=at, expected_uri=expected_uri)
    if result.valid:
        chain = _signer_chain(token, trust)
        if chain is not None:
            with owner.lock:
                owner.lists[key] = _CachedList(result, *chain)
                while len(owner.lists) > StatusListCache.SIZE:
                    owner.lists.popitem(last=False)
    return result


def _still_valid(hit: _CachedList, trust: TrustStore, at: datetime) -> bool:
    """The time-dependent checks of a list that verified: not stale, not issued in the future, the signer's path
    valid at `at`."""
    result = hit.result
    if result.exp is None or result.iat is None or at > result.exp or result.iat > at + LIST_LEEWAY:
        return False
    try:
        trust.validate_service(hit.chain, hit.ders, at, eku=STATUS_LIST_SIGNING_EKU)
    except (ChainValidationError, ValueError):
        return False
    return True


def _signer_chain(token: bytes, trust: TrustStore) -> tuple[tuple[x509.Certificate, ...], tuple[bytes, ...]] | None:
    """The x5chain of a token that verified (certificates and their DER), read again by the one COSE_Sign1 reader
    as `verify_service_object` read it; None when it cannot be read again (then the list is not cached)."""
    try:
        cache = VerificationCache.of(trust)
        ders = decode_sign1(token, SERVICE_RULES, typ=LIST_TYP, cache=cache.protected).x5chain
        return parse_certificates(ders, cache), ders
    except Exception:  # (never on a token that verified; not caching is always safe)
        return None


def _snapshot_status(claims: CodeClaims, at: datetime) -> CredentialStatus:
    """What the code's signed snapshot (statuses, licence validity) says, when it was made."""
    statuses = [Status(letter) for letter in claims.status]
    return credential_status(
        statuses, licence_valid_until=claims.licence_valid_until, today=china_date(at), voided=False
    )
