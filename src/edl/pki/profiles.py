"""Certificate profiles of ISO/IEC 18013-5 Annex B, built with cryptography's x509 API only.

* IACA root (Table B.1): self-signed, P-256, BasicConstraints CA pathLen 0 (critical), KeyUsage
  keyCertSign + cRLSign (critical), SubjectKeyIdentifier, IssuerAlternativeName (contact), and a
  CRLDistributionPoints when the authority publishes a CRL. Country in the subject (CN for China).
* Document signer, DS (Table B.3): issued by the IACA, KeyUsage digitalSignature (critical),
  ExtendedKeyUsage 1.0.18013.5.1.2 mdlDS (critical), AuthorityKeyIdentifier = IACA SKI,
  SubjectKeyIdentifier, IssuerAlternativeName, and a PrivateKeyUsagePeriod shorter than the
  certificate so credentials signed late in the key's life still verify until it expires.
* Service signers (eDL's own profile, see docs/status-and-trust.md): issued by the IACA like a DS,
  but with the ExtendedKeyUsage of their one role instead of mdlDS, so a status-list key cannot
  sign an mDL or a trust bundle and a document signer cannot sign a status list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID, ObjectIdentifier

MDL_DS_EKU = ObjectIdentifier("1.0.18013.5.1.2")
"""id-mdlDS: extended key usage of an mDL document signer (ISO/IEC 18013-5 Annex B)."""

STATUS_LIST_SIGNING_EKU = ObjectIdentifier("2.25.93034994475215453505126671210458490076")
"""Extended key usage of eDL's status-list signer.

draft-ietf-oauth-status-list (section 10) defines id-kp-oauthStatusSigning under id-kp
(1.3.6.1.5.5.7.3) but its number is still TBD, so eDL uses a private OID of its own: a UUID OID
(ITU-T X.667, arc 2.25), unique without registration. Replace it once IANA assigns the number.
"""
TRUST_LIST_SIGNING_EKU = ObjectIdentifier("2.25.162551162805641250439630939437107398347")
"""Extended key usage of eDL's trust-list signer (the signed bundle at /.well-known/edl/trust); a UUID OID."""

SERVICE_EKUS: dict[str, ObjectIdentifier] = {
    "status-list": STATUS_LIST_SIGNING_EKU,
    "trust-list": TRUST_LIST_SIGNING_EKU,
}
"""The roles a service signer may have, and the one EKU each carries."""
SERVICE_NAMES: dict[str, str] = {"status-list": "eDL Status List Signer", "trust-list": "eDL Trust List Signer"}

IACA_VALIDITY = timedelta(days=9 * 365)
DS_VALIDITY = timedelta(days=365)
DS_KEY_USAGE_PERIOD = timedelta(days=90)


@dataclass(frozen=True)
class AuthorityProfile:
    """Names and contact details of the issuing authority (what goes into its certificates).

    `contact_uri` becomes the IssuerAlternativeName Annex B asks for; `crl_uri`, when the
    authority publishes a CRL, becomes the CRLDistributionPoints extension.
    """

    country: str = "CN"
    organisation: str = "eDL Issuing Authority"
    common_name: str = "eDL IACA"
    signer_common_name: str = "eDL Document Signer"
    contact_uri: str = "https://edl.invalid/pki"
    crl_uri: str | None = None
    iaca_validity: timedelta = IACA_VALIDITY
    ds_validity: timedelta = DS_VALIDITY
    ds_key_usage_period: timedelta = DS_KEY_USAGE_PERIOD

    def __post_init__(self) -> None:
        if len(self.country) != 2 or not self.country.isascii() or not self.country.isupper():
            raise ValueError("country must be an ISO 3166-1 alpha-2 code such as 'CN'")
        if self.ds_key_usage_period > self.ds_validity:
            raise ValueError("the DS key usage period cannot outlast its certificate")

    def iaca_name(self) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, self.country),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, self.organisation),
                x509.NameAttribute(NameOID.COMMON_NAME, self.common_name),
            ]
        )

    def signer_name(self, serial_hint: str) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, self.country),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, self.organisation),
                x509.NameAttribute(NameOID.COMMON_NAME, f"{self.signer_common_name} {serial_hint}"),
            ]
        )


def _whole_seconds(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("certificate times must be timezone-aware")
    return at.astimezone(UTC).replace(microsecond=0)


def _common_extensions(builder: x509.CertificateBuilder, profile: AuthorityProfile) -> x509.CertificateBuilder:
    builder = builder.add_extension(
        x509.IssuerAlternativeName([x509.UniformResourceIdentifier(profile.contact_uri)]), critical=False
    )
    if profile.crl_uri:
        point = x509.DistributionPoint(
            full_name=[x509.UniformResourceIdentifier(profile.crl_uri)],
            relative_name=None,
            reasons=None,
            crl_issuer=None,
        )
        builder = builder.add_extension(x509.CRLDistributionPoints([point]), critical=False)
    return builder


def iaca_builder(
    public_key: ec.EllipticCurvePublicKey, profile: AuthorityProfile, not_before: datetime
) -> x509.CertificateBuilder:
    """An unsigned IACA root certificate for `public_key`, valid from `not_before`."""
    start = _whole_seconds(not_before)
    name = profile.iaca_name()
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + profile.iaca_validity)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    return _common_extensions(builder, profile)


def ds_builder(
    public_key: ec.EllipticCurvePublicKey,
    iaca: x509.Certificate,
    profile: AuthorityProfile,
    not_before: datetime,
    serial_hint: str,
) -> x509.CertificateBuilder:
    """An unsigned document-signer certificate for `public_key`, to be signed by the IACA key."""
    return _signing_leaf(
        public_key, iaca, profile, not_before, profile.signer_name(serial_hint), MDL_DS_EKU, "a document signer"
    )


def service_builder(
    public_key: ec.EllipticCurvePublicKey,
    iaca: x509.Certificate,
    profile: AuthorityProfile,
    not_before: datetime,
    role: str,
    serial_hint: str,
) -> x509.CertificateBuilder:
    """An unsigned service-signer certificate for `role` (``status-list`` or ``trust-list``), to be signed
    by the IACA key: like a DS, with the role's EKU alone (critical) instead of mdlDS and BasicConstraints cA
    false (critical)."""
    eku = SERVICE_EKUS.get(role)
    if eku is None:
        raise ValueError(f"unknown service signer role {role!r} (one of {', '.join(sorted(SERVICE_EKUS))})")
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, profile.country),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, profile.organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{SERVICE_NAMES[role]} {serial_hint}"),
        ]
    )
    builder = _signing_leaf(public_key, iaca, profile, not_before, name, eku, "a service signer")
    return builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)


def _signing_leaf(
    public_key: ec.EllipticCurvePublicKey,
    iaca: x509.Certificate,
    profile: AuthorityProfile,
    not_before: datetime,
    name: x509.Name,
    eku: ObjectIdentifier,
    what: str,
) -> x509.CertificateBuilder:
    """A signing leaf under the IACA: KeyUsage digitalSignature (critical), `eku` alone (critical), AKI = IACA SKI,
    SKI, IssuerAlternativeName (and CRL point), and a PrivateKeyUsagePeriod shorter than the certificate."""
    start = _whole_seconds(not_before)
    end = min(start + profile.ds_validity, iaca.not_valid_after_utc)
    if end <= start:
        raise ValueError(f"the IACA certificate has expired; it cannot issue {what}")
    iaca_ski = iaca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(iaca.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([eku]), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(iaca_ski), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.PrivateKeyUsagePeriod(not_before=start, not_after=min(start + profile.ds_key_usage_period, end)),
            critical=False,
        )
    )
    return _common_extensions(builder, profile)


def key_id_of(certificate: x509.Certificate) -> str:
    """The public key id eDL uses for a certificate: its SubjectKeyIdentifier in hex."""
    ski = certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return ski.digest.hex()


def may_sign_at(certificate: x509.Certificate, at: datetime) -> bool:
    """Whether the key of `certificate` may sign at `at` (certificate validity and key usage period)."""
    if not certificate.not_valid_before_utc <= at <= certificate.not_valid_after_utc:
        return False
    try:
        period = certificate.extensions.get_extension_for_class(x509.PrivateKeyUsagePeriod).value
    except x509.ExtensionNotFound:
        return True
    start = period.not_before.replace(tzinfo=UTC) if period.not_before else None
    end = period.not_after.replace(tzinfo=UTC) if period.not_after else None
    return (start is None or start <= at) and (end is None or at <= end)
