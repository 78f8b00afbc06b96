"""Chain validation under the ISO/IEC 18013-5 profile, through cryptography's PolicyBuilder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from edl.pki import MDL_DS_EKU, AuthorityProfile, ChainValidationError, TrustStore, load_trust_roots, trust_store
from edl.pki.profiles import ds_builder, iaca_builder
from tests.unit.credentials.builders import reissue
from tests.vectors.annexd import DS_CERT_PEM, IACA_ROOT_PEM, READER_ROOT_PEM, vector_certificate

T0 = datetime(2026, 2, 1, tzinfo=UTC)
KEY = ec.generate_private_key(ec.SECP256R1())


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def _validate(store: TrustStore, chain: list[x509.Certificate], at: datetime) -> tuple[x509.Certificate, ...]:
    return store.validate(chain, [_der(c) for c in chain], at)


def _root() -> x509.Certificate:
    return iaca_builder(KEY.public_key(), AuthorityProfile(), T0).sign(KEY, hashes.SHA256())


def _ku(digital_signature: bool = False, key_cert_sign: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature, False, False, False, False, key_cert_sign, key_cert_sign, False, False)


def _leaf(
    root: x509.Certificate,
    *,
    eku: list[x509.ObjectIdentifier] | None = None,
    ku: x509.KeyUsage | None = None,
    ca: bool | None = None,
    eku_critical: bool = True,
) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ds")]))
        .issuer_name(root.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(T0)
        .not_valid_after(T0 + timedelta(days=365))
        .add_extension(ku or _ku(digital_signature=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage(eku if eku is not None else [MDL_DS_EKU]), critical=eku_critical)
    )
    if ca is not None:
        builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    return builder.sign(KEY, hashes.SHA256())


ROOT = _root()


def test_ds_issued_by_the_root_validates() -> None:
    ds = ds_builder(ec.generate_private_key(ec.SECP256R1()).public_key(), ROOT, AuthorityProfile(), T0, "1").sign(
        KEY, hashes.SHA256()
    )
    assert _validate(TrustStore([ROOT]), [ds], T0 + timedelta(days=1)) == (ds, ROOT)


@pytest.mark.parametrize(
    ("kwargs", "why"),
    [
        ({"eku": [ExtendedKeyUsageOID.CLIENT_AUTH]}, "mdlDS"),
        ({"eku": [ExtendedKeyUsageOID.SERVER_AUTH]}, "mdlDS"),
        ({"ku": _ku(digital_signature=False, key_cert_sign=True)}, "digitalSignature"),
        ({"ca": True}, "CA"),
        ({"eku_critical": False}, None),
    ],
)
def test_leaf_outside_the_ds_profile_is_untrusted(kwargs: dict, why: str | None) -> None:  # type: ignore[type-arg]
    with pytest.raises(ChainValidationError, match=why) as info:
        _validate(TrustStore([ROOT]), [_leaf(ROOT, **kwargs)], T0 + timedelta(days=1))
    assert info.value.code == "chain_untrusted"


def test_a_ds_is_never_its_own_trust_anchor() -> None:
    ds = _leaf(ROOT)
    with pytest.raises(ChainValidationError) as info:
        _validate(TrustStore([ds]), [ds], T0 + timedelta(days=1))
    assert info.value.code == "chain_untrusted"


def test_roots_that_are_not_ca_are_dropped_from_the_store() -> None:
    ds = _leaf(ROOT)
    store = TrustStore([ds, ROOT])
    assert store.roots == (ROOT,)
    assert _validate(store, [ds], T0 + timedelta(days=1))[-1] == ROOT


def test_annex_d_chain_validates_only_inside_its_validity() -> None:
    store = TrustStore([vector_certificate(IACA_ROOT_PEM)])
    ds = vector_certificate(DS_CERT_PEM)
    assert _validate(store, [ds], datetime(2021, 6, 1, tzinfo=UTC))[0] == ds
    with pytest.raises(ChainValidationError) as expired:
        _validate(store, [ds], datetime(2022, 1, 1, tzinfo=UTC))
    assert expired.value.code == "certificate_expired"
    with pytest.raises(ChainValidationError) as early:
        _validate(store, [ds], datetime(2020, 9, 1, tzinfo=UTC))
    assert early.value.code == "certificate_not_yet_valid"


def test_annex_d_chain_under_another_root_is_untrusted() -> None:
    with pytest.raises(ChainValidationError) as info:
        _validate(
            TrustStore([vector_certificate(READER_ROOT_PEM)]),
            [vector_certificate(DS_CERT_PEM)],
            datetime(2021, 6, 1, tzinfo=UTC),
        )
    assert info.value.code == "chain_untrusted"


def test_cached_chain_still_checks_the_time_of_each_call() -> None:
    store = TrustStore([vector_certificate(IACA_ROOT_PEM)])
    ds = vector_certificate(DS_CERT_PEM)
    _validate(store, [ds], datetime(2021, 6, 1, tzinfo=UTC))
    with pytest.raises(ChainValidationError) as info:
        _validate(store, [ds], datetime(2021, 10, 2, tzinfo=UTC))
    assert info.value.code == "certificate_expired"
    assert _validate(store, [ds], datetime(2021, 7, 1, tzinfo=UTC))


def test_expired_root_makes_the_chain_untrusted() -> None:
    store = TrustStore([vector_certificate(IACA_ROOT_PEM)])
    ds = vector_certificate(DS_CERT_PEM)
    _validate(store, [ds], datetime(2021, 6, 1, tzinfo=UTC))  # cached ...
    with pytest.raises(ChainValidationError):  # ... but the root's own validity is checked again
        _validate(store, [ds], datetime(2030, 1, 1, tzinfo=UTC))


def test_trust_store_passes_a_store_through_and_makes_a_new_one_of_roots() -> None:
    roots = [ROOT]
    store = TrustStore(roots)
    assert trust_store(store) is store
    made = trust_store(roots)
    assert made is not trust_store(roots)  # (no module-level memo: the caller keeps the store it wants reused)
    assert made.roots == (ROOT,)


def test_a_store_owns_one_cache_of_each_kind() -> None:
    store = TrustStore([ROOT])
    assert store.cache(dict) is store.cache(dict)
    assert store.cache(list) is not store.cache(dict)
    assert TrustStore([ROOT]).cache(dict) is not store.cache(dict)


def test_load_trust_roots_reads_a_file_or_a_folder(tmp_path: Path) -> None:
    pem = ROOT.public_bytes(serialization.Encoding.PEM)
    (tmp_path / "a.pem").write_bytes(pem + vector_certificate(IACA_ROOT_PEM).public_bytes(serialization.Encoding.PEM))
    assert len(load_trust_roots(tmp_path / "a.pem")) == 2
    (tmp_path / "b.pem").write_bytes(pem)
    assert len(load_trust_roots(tmp_path)) == 3
    (tmp_path / "bad.pem").write_bytes(b"not a certificate")
    with pytest.raises(ValueError, match="not a PEM"):
        load_trust_roots(tmp_path / "bad.pem")
    with pytest.raises(OSError):
        load_trust_roots(tmp_path / "missing.pem")


def test_expired_and_untrusted_is_reported_untrusted_not_expired() -> None:
    store = TrustStore([vector_certificate(READER_ROOT_PEM)])
    with pytest.raises(ChainValidationError) as info:
        _validate(store, [vector_certificate(DS_CERT_PEM)], datetime(2025, 1, 1, tzinfo=UTC))
    assert info.value.code == "chain_untrusted"


def _ds() -> x509.Certificate:
    return ds_builder(ec.generate_private_key(ec.SECP256R1()).public_key(), ROOT, AuthorityProfile(), T0, "1").sign(
        KEY, hashes.SHA256()
    )


def test_a_cached_path_is_rechecked_at_each_time_for_every_certificate() -> None:
    ds = _ds()
    store = TrustStore([ROOT])
    assert _validate(store, [ds], T0 + timedelta(days=1)) == (ds, ROOT)  # cached
    for at, code in [
        (ds.not_valid_after_utc + timedelta(seconds=1), "certificate_expired"),
        (ds.not_valid_before_utc - timedelta(seconds=1), "certificate_not_yet_valid"),
    ]:
        with pytest.raises(ChainValidationError) as info:
            _validate(store, [ds], at)
        assert info.value.code == code
    assert _validate(store, [ds], T0 + timedelta(days=2)) == (ds, ROOT)


def test_a_look_alike_of_a_cached_signer_is_untrusted() -> None:
    """Same subject, issuer name, serial, key (so kid) and validity as a cached DS, another issuer key."""
    ds = _ds()
    store = TrustStore([ROOT])
    _validate(store, [ds], T0 + timedelta(days=1))
    forger_key = ec.generate_private_key(ec.SECP256R1())
    forger_root = reissue(ROOT, ROOT, forger_key, public_key=forger_key.public_key())
    look_alike = reissue(ds, forger_root, forger_key)
    assert look_alike.subject == ds.subject and look_alike.issuer == ds.issuer
    assert look_alike.serial_number == ds.serial_number
    assert look_alike.extensions.get_extension_for_class(x509.SubjectKeyIdentifier) == (
        ds.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    )
    with pytest.raises(ChainValidationError) as info:
        _validate(store, [look_alike], T0 + timedelta(days=1))
    assert info.value.code == "chain_untrusted"
    # Nor can it borrow the cached entry by passing the trusted DS's DER beside its own object.
    with pytest.raises(ChainValidationError):
        store.validate([look_alike], [_der(look_alike)], T0 + timedelta(days=1))


def test_a_chain_cached_by_one_store_is_not_trusted_by_another() -> None:
    ds = _ds()
    trusting = TrustStore([ROOT])
    assert _validate(trusting, [ds], T0 + timedelta(days=1))
    other = TrustStore([vector_certificate(IACA_ROOT_PEM)])
    with pytest.raises(ChainValidationError) as info:
        _validate(other, [ds], T0 + timedelta(days=1))
    assert info.value.code == "chain_untrusted"
    assert trust_store([ROOT]) is not trust_store([vector_certificate(IACA_ROOT_PEM)])
    with pytest.raises(ChainValidationError):
        _validate(trust_store([vector_certificate(IACA_ROOT_PEM)]), [ds], T0 + timedelta(days=1))


def test_the_cache_never_answers_for_a_different_leaf_object() -> None:
    """Keyed by DER: a caller passing another certificate with a cached DER is validated afresh."""
    ds = _ds()
    store = TrustStore([ROOT])
    _validate(store, [ds], T0 + timedelta(days=1))
    stranger = _leaf(ROOT, eku=[ExtendedKeyUsageOID.CLIENT_AUTH])
    with pytest.raises(ChainValidationError):
        store.validate([stranger], [_der(ds)], T0 + timedelta(days=1))
