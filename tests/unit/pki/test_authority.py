"""The issuing authority: Annex B certificate profiles, rotation that keeps old signers, trust export."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from edl.credentials import MDL_DOCTYPE, MDL_NAMESPACE, ErrorCode, issue_mdoc, verify_mdoc
from edl.pki import (
    MDL_DS_EKU,
    Authority,
    AuthorityExistsError,
    AuthorityNotInitialisedError,
    AuthorityProfile,
    NoUsableSignerError,
    PkiError,
    load_trust_roots,
)

T0 = datetime(2026, 1, 10, 9, 30, 0, tzinfo=UTC)


@pytest.fixture
def authority(tmp_path: Path) -> Authority:
    authority = Authority.open(tmp_path / "data")
    authority.init(at=T0)
    return authority


def _ext(cert: x509.Certificate, kind: type[x509.ExtensionType]) -> x509.Extension[x509.ExtensionType]:
    return cert.extensions.get_extension_for_class(kind)


def test_root_follows_the_iaca_profile(authority: Authority) -> None:
    root = authority.root_certificate()
    assert root.subject == root.issuer
    root.verify_directly_issued_by(root)
    assert isinstance(root.public_key(), ec.EllipticCurvePublicKey)
    assert isinstance(root.public_key().curve, ec.SECP256R1)  # type: ignore[union-attr]
    assert root.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "CN"
    bc = _ext(root, x509.BasicConstraints)
    assert bc.critical and bc.value == x509.BasicConstraints(ca=True, path_length=0)
    ku = _ext(root, x509.KeyUsage)
    assert ku.critical and ku.value.key_cert_sign and ku.value.crl_sign and not ku.value.digital_signature
    assert _ext(root, x509.SubjectKeyIdentifier).value == x509.SubjectKeyIdentifier.from_public_key(root.public_key())  # type: ignore[arg-type]
    assert not _ext(root, x509.IssuerAlternativeName).critical
    assert root.not_valid_before_utc == T0
    assert root.not_valid_after_utc - root.not_valid_before_utc == timedelta(days=9 * 365)


def test_first_document_signer_follows_the_ds_profile(authority: Authority) -> None:
    root = authority.root_certificate()
    [record] = authority.signers()
    ds = record.certificate
    ds.verify_directly_issued_by(root)
    ku = _ext(ds, x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature and not ku.value.key_cert_sign
    eku = _ext(ds, x509.ExtendedKeyUsage)
    assert eku.critical and list(eku.value) == [MDL_DS_EKU]
    assert ExtendedKeyUsageOID.SERVER_AUTH not in eku.value
    aki = _ext(ds, x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == _ext(root, x509.SubjectKeyIdentifier).value.digest
    assert record.key_id == _ext(ds, x509.SubjectKeyIdentifier).value.digest.hex()
    assert ds.not_valid_after_utc - ds.not_valid_before_utc == timedelta(days=365)
    usage = _ext(ds, x509.PrivateKeyUsagePeriod).value
    assert usage.not_after is not None
    assert usage.not_after.replace(tzinfo=UTC) - ds.not_valid_before_utc == timedelta(days=90)
    with pytest.raises(x509.ExtensionNotFound):
        _ext(ds, x509.BasicConstraints)


def test_profile_fields_are_configurable(tmp_path: Path) -> None:
    profile = AuthorityProfile(
        organisation="公安部交通管理局", common_name="CN eDL IACA", crl_uri="https://crl.example/iaca.crl"
    )
    authority = Authority.open(tmp_path, profile=profile)
    root = authority.init(at=T0)
    assert root.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "公安部交通管理局"
    assert _ext(root, x509.CRLDistributionPoints).value[0].full_name == [
        x509.UniformResourceIdentifier("https://crl.example/iaca.crl")
    ]


def test_bad_country_is_refused() -> None:
    with pytest.raises(ValueError, match="3166"):
        AuthorityProfile(country="China")


def test_init_never_replaces_a_root(authority: Authority) -> None:
    root = authority.root_certificate()
    with pytest.raises(AuthorityExistsError):
        authority.init(at=T0 + timedelta(days=1))
    assert authority.root_certificate() == root


def test_uninitialised_authority_says_so(tmp_path: Path) -> None:
    authority = Authority.open(tmp_path)
    assert not authority.is_initialised()
    with pytest.raises(AuthorityNotInitialisedError, match="edl keys init"):
        authority.current_signer()
    with pytest.raises(AuthorityNotInitialisedError):
        authority.rotate_signer(at=T0)


def test_rotation_adds_a_signer_and_keeps_the_old_ones(authority: Authority) -> None:
    first = authority.current_signer(T0)
    record = authority.rotate_signer(at=T0 + timedelta(days=60))
    second = authority.current_signer(T0 + timedelta(days=60))
    assert second.key_id == record.key_id != first.key_id
    assert [r.key_id for r in authority.signers()] == [first.key_id, second.key_id]
    assert Authority.open(authority_dir(authority)).current_signer().key_id == second.key_id


def authority_dir(authority: Authority) -> Path:
    return authority.records_dir.parent  # the data directory the fixture opened


def test_rotation_keeps_old_credentials_verifiable(authority: Authority, tmp_path: Path) -> None:
    old = _issue(authority, T0 + timedelta(days=1))
    authority.rotate_signer(at=T0 + timedelta(days=80))
    new = _issue(authority, T0 + timedelta(days=81))
    exported = authority.export_trust(tmp_path / "trust")
    roots = load_trust_roots(exported.root)
    assert len(exported.signers) == 2
    at = T0 + timedelta(days=82)
    for credential in (old, new):
        result = verify_mdoc(credential, roots, at=at)
        assert result.valid, result.errors
    assert verify_mdoc(old, roots, at=at).signer != verify_mdoc(new, roots, at=at).signer


def test_signer_past_its_key_usage_period_is_refused_until_rotation(authority: Authority) -> None:
    late = T0 + timedelta(days=91)
    with pytest.raises(NoUsableSignerError, match="rotate-signer"):
        authority.current_signer(late)
    authority.rotate_signer(at=late)
    assert authority.current_signer(late)


def test_export_writes_the_root_as_trust_anchor_and_every_signer(authority: Authority, tmp_path: Path) -> None:
    authority.rotate_signer(at=T0 + timedelta(days=1))
    exported = authority.export_trust(tmp_path / "out")
    assert load_trust_roots(exported.root) == [authority.root_certificate()]
    assert {x509.load_pem_x509_certificate(p.read_bytes()) for p in exported.signers} == {
        r.certificate for r in authority.signers()
    }


def test_rotation_with_an_exposed_root_key_creates_nothing(authority: Authority) -> None:
    keys = authority_dir(authority) / "keys"
    (keys / "iaca.key.pem").chmod(0o644)
    before = sorted(p.name for p in keys.iterdir())
    with pytest.raises(PkiError, match="refusing"):
        authority.rotate_signer(at=T0 + timedelta(days=1))
    assert sorted(p.name for p in keys.iterdir()) == before
    assert len(authority.signers()) == 1


def _issue(authority: Authority, at: datetime, days: int = 120) -> bytes:
    return issue_mdoc(
        MDL_DOCTYPE,
        {MDL_NAMESPACE: {"family_name": "张", "document_number": "1"}},
        authority.current_signer(at),
        ec.generate_private_key(ec.SECP256R1()).public_key(),
        valid_from=at,
        valid_until=at + timedelta(days=days),
        signed_at=at,
    )


def test_credential_from_an_unknown_authority_is_refused(authority: Authority, tmp_path: Path) -> None:
    other = Authority.open(tmp_path / "other")
    other.init(at=T0)
    credential = _issue(authority, T0 + timedelta(days=1))
    result = verify_mdoc(credential, [other.root_certificate()], at=T0 + timedelta(days=1))
    assert {e.code for e in result.errors} == {ErrorCode.CHAIN_UNTRUSTED}
