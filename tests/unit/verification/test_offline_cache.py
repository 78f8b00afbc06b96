"""The verified status list is cached for the next code, but everything that depends on the time is judged again
on every call: a cached list goes stale, its signer expires, and another trust store or URI never sees it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

import edl.credentials.statuslist as statuslist
from edl.credentials.livecode import verify_code
from edl.domain.credential_status import ListValue
from edl.pki import TrustStore
from edl.verification import offline
from edl.verification.offline import StatusListCache, verify_offline
from tests.unit.credentials.builders import NOW, Pki
from tests.unit.verification.test_offline import AT, URI, code, status_signer, token


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts full verifications of a token (`verify_status_list_token` as offline.py calls it). Every test makes
    its own trust stores, which own the cached lists: each starts cold."""
    seen: list[int] = []
    real = statuslist.verify_status_list_token

    def counting(*args: object, **kw: object) -> statuslist.StatusListResult:
        seen.append(1)
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(offline, "verify_status_list_token", counting)
    yield seen


def check(pki: Pki, trust: TrustStore, listed: bytes, **kw: object) -> tuple[bool, str, set[str]]:
    at = kw.pop("at", AT)
    result = verify_offline(code(pki), trust, [pki.ds], at=at, status_list=listed, **kw)  # type: ignore[arg-type]
    return result.valid, result.status.value, {e.code.value for e in result.errors}


def test_the_list_is_verified_once_for_many_codes(pki: Pki, calls: list[int]) -> None:
    trust = TrustStore([pki.root])
    listed = token(status_signer(pki), ListValue.SUSPENDED)
    for _ in range(5):
        assert check(pki, trust, listed) == (False, "suspended", {"status_suspended"})
    assert len(calls) == 1
    assert len(StatusListCache.of(trust).lists) == 1  # (the store owns the list it verified)
    assert check(pki, TrustStore([pki.root]), listed) == (False, "suspended", {"status_suspended"})
    assert len(calls) == 2  # (a new store starts cold)


def test_a_cached_list_goes_stale_on_time(pki: Pki, calls: list[int]) -> None:
    trust = TrustStore([pki.root])
    listed = token(status_signer(pki), ListValue.VALID, exp=timedelta(minutes=10))
    assert check(pki, trust, listed) == (True, "valid", set())
    later = NOW + timedelta(minutes=10, seconds=1)
    result = verify_offline(
        code(pki, issued_at=later, expires_at=later + timedelta(seconds=60)),
        trust,
        [pki.ds],
        at=later,
        status_list=listed,
    )
    assert result.status.value == "unknown" and any("status_list_stale" in w for w in result.warnings)
    assert len(calls) == 2  # (refused from the cache's time check, then verified again for the exact reason)


def test_a_cached_list_whose_signer_has_expired_is_not_used(pki: Pki, calls: list[int]) -> None:
    trust = TrustStore([pki.root])
    signer = status_signer(pki)
    listed = token(signer, ListValue.VALID, exp=timedelta(days=5000))
    assert check(pki, trust, listed) == (True, "valid", set())
    after = signer.certificate.not_valid_after_utc + timedelta(seconds=1)
    assert after < NOW + timedelta(days=5000)
    claims = verify_code(code(pki), trust, [pki.ds], at=AT).claims
    assert claims is not None
    status, reason = offline._list_status(claims, trust, after, listed, None)
    assert status.value == "unknown" and reason and "expired" in reason
    assert len(calls) == 2


def test_a_list_cached_for_one_trust_store_is_verified_for_another(pki: Pki, other_pki: Pki, calls: list[int]) -> None:
    listed = token(status_signer(pki), ListValue.VALID)
    assert check(pki, TrustStore([pki.root]), listed) == (True, "valid", set())
    result = verify_offline(code(pki), TrustStore([pki.root, other_pki.root]), [pki.ds], at=AT, status_list=listed)
    assert result.valid and len(calls) == 2
    untrusting = TrustStore([other_pki.root])  # (the code's own signer is not trusted here either)
    assert not verify_offline(code(pki), untrusting, [pki.ds], at=AT, status_list=listed).valid


def test_the_expected_uri_is_part_of_the_key(pki: Pki, calls: list[int]) -> None:
    trust = TrustStore([pki.root])
    listed = token(status_signer(pki), ListValue.VALID)
    assert check(pki, trust, listed, expected_uri=URI) == (True, "valid", set())
    valid, status, _ = check(pki, trust, listed, expected_uri="https://elsewhere.example/status-lists/1")
    assert (valid, status) == (True, "unknown") and len(calls) == 2


def test_a_different_token_is_verified_afresh(pki: Pki, calls: list[int]) -> None:
    trust = TrustStore([pki.root])
    signer = status_signer(pki)
    assert check(pki, trust, token(signer, ListValue.VALID)) == (True, "valid", set())
    assert check(pki, trust, token(signer, ListValue.INVALID)) == (False, "revoked", {"status_revoked"})
    tampered = bytearray(token(signer, ListValue.VALID))
    tampered[-1] ^= 1
    assert check(pki, trust, bytes(tampered))[1] == "unknown"
    assert len(calls) == 3
