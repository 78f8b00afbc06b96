"""Offline verification with status: the status list decides, unknown is never valid nor revoked, the code's own
snapshot wins when it is worse, and each purpose's policy for unknown applies."""

from __future__ import annotations

import os
import uuid
from dataclasses import replace
from datetime import date, timedelta

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from edl.credentials.livecode import CodeClaims, make_code
from edl.credentials.statuslist import build_status_list_token
from edl.domain.credential_status import CredentialStatus, ListValue
from edl.pki import AuthorityProfile, PrivateKeySigner
from edl.pki.profiles import key_id_of, service_builder
from edl.verification.offline import verify_offline
from edl.verification.purposes import UnknownPolicy
from tests.unit.credentials.builders import NOW, Pki

AT = NOW + timedelta(seconds=30)
URI = "https://edl.example/status-lists/1"
INDEX = 5


def status_signer(pki: Pki) -> PrivateKeySigner:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = service_builder(
        key.public_key(), pki.root, AuthorityProfile(), NOW - timedelta(days=1), "status-list", "1"
    )
    cert = builder.sign(pki.root_key, hashes.SHA256())
    return PrivateKeySigner(key, [cert], key_id_of(cert))


@pytest.fixture(scope="module")
def lists(pki: Pki) -> PrivateKeySigner:
    return status_signer(pki)


def token(signer: PrivateKeySigner, value: int, *, exp: timedelta = timedelta(hours=24), size: int = 16) -> bytes:
    values = [ListValue.VALID] * size
    if size > INDEX:
        values[INDEX] = value
    return build_status_list_token(values, uri=URI, signer=signer, iat=NOW, exp=NOW + exp, ttl=300)


def code(pki: Pki, **kw: object) -> str:
    claims = CodeClaims(
        uuid.uuid4().hex, ("C1",), "A", INDEX, date(2031, 3, 1), NOW, NOW + timedelta(seconds=180), os.urandom(8)
    )
    return make_code(replace(claims, **kw), pki.signer)  # type: ignore[arg-type]


def verdict(pki: Pki, text: str, status_list: bytes | None, **kw: object) -> tuple[bool, str, set[str]]:
    result = verify_offline(text, [pki.root], [pki.ds], at=AT, status_list=status_list, **kw)  # type: ignore[arg-type]
    return result.valid, result.status.value, {e.code.value for e in result.errors}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (ListValue.VALID, (True, "valid", set())),
        (ListValue.SUSPENDED, (False, "suspended", {"status_suspended"})),
        (ListValue.INVALID, (False, "revoked", {"status_revoked"})),
    ],
)
def test_the_status_list_decides_the_status(
    pki: Pki, lists: PrivateKeySigner, value: int, expected: tuple[bool, str, set[str]]
) -> None:
    assert verdict(pki, code(pki), token(lists, value)) == expected


def test_no_list_is_unknown_accepted_with_a_warning_or_refused_by_policy(pki: Pki) -> None:
    result = verify_offline(code(pki), [pki.root], [pki.ds], at=AT)
    assert (result.valid, result.status) == (True, CredentialStatus.UNKNOWN)
    assert result.errors == () and any("status_unknown" in w for w in result.warnings)
    refused = verify_offline(code(pki), [pki.root], [pki.ds], at=AT, policy=UnknownPolicy.REFUSE)
    assert (refused.valid, refused.status.value) == (False, "unknown")
    assert {e.code.value for e in refused.errors} == {"status_unknown"}


def test_a_stale_list_gives_unknown_never_revoked(pki: Pki, lists: PrivateKeySigner) -> None:
    stale = token(lists, ListValue.INVALID, exp=timedelta(seconds=10))  # says revoked, but expired before AT
    result = verify_offline(code(pki), [pki.root], [pki.ds], at=AT, status_list=stale)
    assert (result.valid, result.status.value) == (True, "unknown")
    assert any("status_list_stale" in w for w in result.warnings)
    assert verdict(pki, code(pki), stale, policy=UnknownPolicy.REFUSE) == (False, "unknown", {"status_unknown"})


def test_an_unverifiable_list_gives_unknown(pki: Pki, other_pki: Pki, lists: PrivateKeySigner) -> None:
    foreign = token(status_signer(other_pki), ListValue.INVALID)  # another authority's list
    assert verdict(pki, code(pki), foreign) == (True, "unknown", set())
    tampered = bytearray(token(lists, ListValue.VALID))
    tampered[-1] ^= 1
    assert verdict(pki, code(pki), bytes(tampered)) == (True, "unknown", set())
    assert verdict(pki, code(pki), b"garbage", policy=UnknownPolicy.REFUSE) == (False, "unknown", {"status_unknown"})


def test_a_list_signed_by_a_document_signer_is_not_trusted(pki: Pki) -> None:
    as_ds = build_status_list_token([0] * 16, uri=URI, signer=pki.signer, iat=NOW, exp=NOW + timedelta(days=1), ttl=60)
    assert verdict(pki, code(pki), as_ds) == (True, "unknown", set())


def test_an_index_outside_the_list_is_unknown(pki: Pki, lists: PrivateKeySigner) -> None:
    short = token(lists, ListValue.VALID, size=4)  # 4 entries: one byte
    result = verify_offline(code(pki, status_index=40), [pki.root], [pki.ds], at=AT, status_list=short)
    assert result.status is CredentialStatus.UNKNOWN


def test_the_code_snapshot_wins_when_it_is_worse(pki: Pki, lists: PrivateKeySigner) -> None:
    fine = token(lists, ListValue.VALID)
    assert verdict(pki, code(pki, status="D"), fine) == (False, "suspended", {"status_suspended"})
    assert verdict(pki, code(pki, status="F"), fine) == (False, "revoked", {"status_revoked"})
    assert verdict(pki, code(pki, status="AH"), fine) == (True, "valid", set())
    assert verdict(pki, code(pki, status="D"), None) == (False, "suspended", {"status_suspended"})
    # a list saying revoked beats a snapshot saying suspended
    assert verdict(pki, code(pki, status="D"), token(lists, ListValue.INVALID))[1] == "revoked"


def test_a_licence_past_its_validity_is_suspended_by_the_snapshot(pki: Pki, lists: PrivateKeySigner) -> None:
    expired_licence = code(pki, licence_valid_until=date(2026, 3, 1))
    assert verdict(pki, expired_licence, token(lists, ListValue.VALID)) == (False, "suspended", {"status_suspended"})


def test_a_refused_code_never_reaches_the_status(pki: Pki, lists: PrivateKeySigner) -> None:
    result = verify_offline(code(pki), [pki.root], [pki.ds], at=AT + timedelta(hours=1), status_list=None)
    assert (result.valid, result.status.value) == (False, "unknown")
    assert {e.code.value for e in result.errors} == {"expired"}
    out = result.to_json_dict()
    assert out["claims"] == {} and out["stage"] == "time" and out["status"] == "unknown"


def test_json_shape(pki: Pki, lists: PrivateKeySigner) -> None:
    out = verify_offline(code(pki), [pki.root], [pki.ds], at=AT, status_list=token(lists, 0)).to_json_dict()
    assert set(out) == {"valid", "doctype", "errors", "claims", "signer", "status", "warnings", "stage"}
    assert out["valid"] is True and out["doctype"] == "cn.edl.code.1" and out["status"] == "valid"
    assert out["claims"]["status_index"] == INDEX and out["stage"] is None
    suspended = verify_offline(code(pki, status="D"), [pki.root], [pki.ds], at=AT).to_json_dict()
    assert suspended["claims"] == {} and suspended["stage"] == "status"
