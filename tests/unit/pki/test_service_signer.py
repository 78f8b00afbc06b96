"""Service signers (status list, trust list): their own keys and certificates from the IACA, one EKU each."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from edl.pki import Authority, ChainValidationError, PkiError, trust_store
from edl.pki.profiles import DS_KEY_USAGE_PERIOD, STATUS_LIST_SIGNING_EKU, TRUST_LIST_SIGNING_EKU

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


@pytest.fixture
def authority(tmp_path: Path) -> Authority:
    a = Authority.open(tmp_path / "data")
    a.init(at=NOW - timedelta(days=1))
    return a


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


@pytest.mark.parametrize(
    ("role", "eku", "other"),
    [("status-list", STATUS_LIST_SIGNING_EKU, TRUST_LIST_SIGNING_EKU), ("trust-list", TRUST_LIST_SIGNING_EKU, None)],
)
def test_a_service_certificate_has_the_service_profile(
    authority: Authority, role: str, eku: x509.ObjectIdentifier, other: x509.ObjectIdentifier | None
) -> None:
    cert = authority.service_signer(role, NOW).certificate
    root = authority.root_certificate()
    assert cert.issuer == root.subject
    cert.verify_directly_issued_by(root)
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature and not ku.value.key_cert_sign
    ext = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert ext.critical and list(ext.value) == [eku]
    bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and not bc.value.ca
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    root_ski = root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == root_ski.digest
    cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    assert cert.not_valid_before_utc == NOW


def test_the_service_chain_validates_only_for_its_own_role(authority: Authority) -> None:
    store = trust_store([authority.root_certificate()])
    cert = authority.service_signer("status-list", NOW).certificate
    store.validate_service([cert], [_der(cert)], NOW, eku=STATUS_LIST_SIGNING_EKU)
    with pytest.raises(ChainValidationError, match="ExtendedKeyUsage"):
        store.validate_service([cert], [_der(cert)], NOW, eku=TRUST_LIST_SIGNING_EKU)
    with pytest.raises(ChainValidationError, match="mdlDS"):  # the DS policy is unchanged: no service key signs mDLs
        store.validate([cert], [_der(cert)], NOW)


def test_a_document_signer_is_not_a_service_signer(authority: Authority) -> None:
    store = trust_store([authority.root_certificate()])
    ds = authority.current_signer(NOW).certificate
    store.validate([ds], [_der(ds)], NOW)
    with pytest.raises(ChainValidationError) as refused:
        store.validate_service([ds], [_der(ds)], NOW, eku=STATUS_LIST_SIGNING_EKU)
    assert refused.value.code == "chain_untrusted"
    assert f"lacks ExtendedKeyUsage {STATUS_LIST_SIGNING_EKU.dotted_string}" in refused.value.message


def test_service_validity_is_checked_at_the_given_time(authority: Authority) -> None:
    store = trust_store([authority.root_certificate()])
    cert = authority.service_signer("status-list", NOW).certificate
    with pytest.raises(ChainValidationError) as expired:
        store.validate_service(
            [cert], [_der(cert)], cert.not_valid_after_utc + timedelta(seconds=1), eku=STATUS_LIST_SIGNING_EKU
        )
    assert expired.value.code == "certificate_expired"
    with pytest.raises(ChainValidationError) as early:
        store.validate_service([cert], [_der(cert)], NOW - timedelta(seconds=1), eku=STATUS_LIST_SIGNING_EKU)
    assert early.value.code == "certificate_not_yet_valid"


def test_the_signer_is_made_once_and_reused_by_another_process(authority: Authority) -> None:
    first = authority.service_signer("status-list", NOW)
    again = Authority.open(authority.records_dir.parent).service_signer("status-list", NOW + timedelta(days=3))
    assert again.certificate == first.certificate
    assert again.key_id == first.key_id
    assert len(authority.service_certificates("status-list")) == 1


def test_the_signer_is_renewed_when_its_key_usage_period_is_over(authority: Authority) -> None:
    first = authority.service_signer("status-list", NOW)
    later = NOW + DS_KEY_USAGE_PERIOD + timedelta(seconds=1)
    second = authority.service_signer("status-list", later)
    assert second.certificate != first.certificate
    assert second.certificate.public_key() != first.certificate.public_key()
    assert authority.service_certificates("status-list") == [first.certificate, second.certificate]
    # and what the older one may still sign is still signed with it
    assert authority.service_signer("status-list", NOW).certificate == first.certificate


def test_racing_processes_end_up_with_one_signer(authority: Authority, monkeypatch: pytest.MonkeyPatch) -> None:
    loser = Authority.open(authority.records_dir.parent)
    winner = Authority.open(authority.records_dir.parent)
    real = loser._service_generations
    calls = {"n": 0}

    def stale_listing(role: str) -> list[int]:
        calls["n"] += 1
        if calls["n"] == 1:  # the loser looked before the winner wrote, then the winner writes
            winner.service_signer(role, NOW)
            return []
        return real(role)

    monkeypatch.setattr(loser, "_service_generations", stale_listing)
    mine = loser.service_signer("trust-list", NOW)
    assert mine.certificate == winner.service_signer("trust-list", NOW).certificate
    assert len(winner.service_certificates("trust-list")) == 1
    record = json.loads((authority.records_dir / "services" / "trust-list.1.json").read_text())
    assert "PRIVATE" not in json.dumps(record)


def test_service_certificates_are_not_in_the_trust_export(authority: Authority, tmp_path: Path) -> None:
    service = authority.service_signer("status-list", NOW).certificate
    exported = authority.export_trust(tmp_path / "trust")
    for path in exported.signers:
        assert x509.load_pem_x509_certificate(path.read_bytes()) != service


def test_an_unknown_role_is_refused(authority: Authority) -> None:
    with pytest.raises(PkiError, match="unknown service signer role"):
        authority.service_signer("document", NOW)
