"""The signed trust bundle: format, and every refusal a verifier must make before installing it."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import cbor2
import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edl.credentials.service_object import sign_service_object
from edl.credentials.trustbundle import (
    TYP,
    TrustBundleError,
    build_trust_bundle,
    kid_of_der,
    verify_trust_bundle,
)
from edl.pki import Authority
from edl.pki.signer import Signer

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
URI = "https://edl.example/status-lists/1"


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    a = Authority.open(tmp_path_factory.mktemp("tb") / "data")
    a.init(at=NOW - timedelta(days=2))
    a.rotate_signer(at=NOW - timedelta(days=1))
    a.service_signer("trust-list", NOW - timedelta(days=1))  # (valid before NOW: a bundle may be judged earlier)
    return a


@pytest.fixture(scope="module")
def other(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    a = Authority.open(tmp_path_factory.mktemp("tb-other") / "data")
    a.init(at=NOW - timedelta(days=2))
    return a


def _der(cert: Any) -> bytes:
    return bytes(cert.public_bytes(serialization.Encoding.DER))


def _bundle(authority: Authority, *, signer: Signer | None = None, **kw: Any) -> bytes:
    args: dict[str, Any] = {
        "version": 3,
        "root": authority.root_certificate(),
        "signers": [r.certificate for r in authority.signers()],
        "status_list_uri": URI,
        "iat": NOW,
    } | kw
    return build_trust_bundle(signer=signer or authority.service_signer("trust-list", NOW), **args)


def _payload(authority: Authority) -> dict[str, Any]:
    return dict(cbor2.loads(cbor2.loads(_bundle(authority)).value[2]))


def _resign(authority: Authority, payload: dict[str, Any]) -> bytes:
    return sign_service_object(payload, authority.service_signer("trust-list", NOW), typ=TYP)


def test_a_bundle_verifies_against_the_installed_root_with_every_ds_certificate(authority: Authority) -> None:
    bundle = verify_trust_bundle(_bundle(authority), authority.root_certificate(), at=NOW + timedelta(hours=1))
    assert bundle.version == 3 and bundle.max_age == 86400 and bundle.iat == NOW
    assert bundle.status_list_uri == URI
    assert [s.certificate for s in bundle.signers] == [r.certificate for r in authority.signers()]
    for entry in bundle.signers:
        assert entry.kid == hashlib.sha256(entry.der).digest()[:8]
        assert (entry.not_before, entry.not_after) == (
            entry.certificate.not_valid_before_utc,
            entry.certificate.not_valid_after_utc,
        )
    assert "Trust List Signer" in bundle.signed_by.subject


def test_the_payload_is_the_documented_map(authority: Authority) -> None:
    outer = cbor2.loads(_bundle(authority))
    assert outer.tag == 18
    assert cbor2.loads(outer.value[0])[16] == TYP
    payload = cbor2.loads(outer.value[2])
    assert set(payload) == {"version", "iat", "max_age", "root", "signers", "status_list"}
    assert payload["root"] == _der(authority.root_certificate())
    assert payload["status_list"] == {"uri": URI}
    first = payload["signers"][0]
    assert set(first) == {"certificate", "kid", "not_before", "not_after"}
    assert first["kid"] == kid_of_der(first["certificate"]) and len(first["kid"]) == 8


def test_a_bundle_older_than_its_max_age_is_refused(authority: Authority) -> None:
    data = _bundle(authority, max_age=3600)
    verify_trust_bundle(data, authority.root_certificate(), at=NOW + timedelta(seconds=3600))
    with pytest.raises(TrustBundleError, match="older than its max age"):
        verify_trust_bundle(data, authority.root_certificate(), at=NOW + timedelta(seconds=3601))


def test_a_bundle_from_the_future_is_refused(authority: Authority) -> None:
    with pytest.raises(TrustBundleError, match="future"):
        verify_trust_bundle(_bundle(authority), authority.root_certificate(), at=NOW - timedelta(minutes=5))


def test_a_bundle_of_another_authority_is_refused(authority: Authority, other: Authority) -> None:
    with pytest.raises(TrustBundleError, match="not trusted"):
        verify_trust_bundle(_bundle(other), authority.root_certificate(), at=NOW)


def test_a_bundle_carrying_another_root_is_refused(authority: Authority, other: Authority) -> None:
    payload = _payload(authority) | {"root": _der(other.root_certificate())}
    with pytest.raises(TrustBundleError, match="root differs"):
        verify_trust_bundle(_resign(authority, payload), authority.root_certificate(), at=NOW)


@pytest.mark.parametrize("role", ["status-list", "ds"])
def test_a_bundle_signed_by_anything_but_the_trust_list_signer_is_refused(authority: Authority, role: str) -> None:
    signer = authority.current_signer(NOW) if role == "ds" else authority.service_signer(role, NOW)
    with pytest.raises(TrustBundleError, match="ExtendedKeyUsage"):
        verify_trust_bundle(_bundle(authority, signer=signer), authority.root_certificate(), at=NOW)


def test_a_listed_signer_not_of_the_root_is_refused(authority: Authority, other: Authority) -> None:
    data = _bundle(authority, signers=[other.signers()[0].certificate])
    with pytest.raises(TrustBundleError, match="not a document signer of the root"):
        verify_trust_bundle(data, authority.root_certificate(), at=NOW)


def test_a_service_certificate_cannot_be_listed_as_a_document_signer(authority: Authority) -> None:
    data = _bundle(authority, signers=[authority.service_signer("status-list", NOW).certificate])
    with pytest.raises(TrustBundleError, match="not a document signer"):
        verify_trust_bundle(data, authority.root_certificate(), at=NOW)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"version": 0}, "version"),
        ({"version": "3"}, "version"),
        ({"max_age": 86401}, "max_age"),
        ({"max_age": 0}, "max_age"),
        ({"status_list": {"uri": 1}}, "status_list"),
        ({"status_list": {"uri": URI, "x": 1}}, "status_list"),
        ({"extra": 1}, "exactly"),
        ({"signers": {}}, "signers"),
    ],
)
def test_a_wrongly_shaped_payload_is_refused(authority: Authority, change: dict[str, Any], reason: str) -> None:
    payload = _payload(authority) | change
    with pytest.raises(TrustBundleError, match=reason):
        verify_trust_bundle(_resign(authority, payload), authority.root_certificate(), at=NOW)


@pytest.mark.parametrize(
    ("change", "reason"),
    [({"kid": b"\x00" * 8}, "kid"), ({"not_after": 1}, "validity"), ({"extra": 1}, "map of")],
)
def test_a_wrong_signer_entry_is_refused(authority: Authority, change: dict[str, Any], reason: str) -> None:
    payload = _payload(authority)
    payload["signers"] = [dict(payload["signers"][0]) | change]
    with pytest.raises(TrustBundleError, match=reason):
        verify_trust_bundle(_resign(authority, payload), authority.root_certificate(), at=NOW)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_tampered_bundle_verifies(authority: Authority, data: st.DataObject) -> None:
    bundle = bytearray(_bundle(authority))
    bundle[data.draw(st.integers(0, len(bundle) - 1))] ^= data.draw(st.integers(1, 255))
    with pytest.raises(TrustBundleError):
        verify_trust_bundle(bytes(bundle), authority.root_certificate(), at=NOW)
