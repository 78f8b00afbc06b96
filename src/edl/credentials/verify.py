"""Verifying an ISO/IEC 18013-5 mdoc: issuer data authentication, offline.

`verify_mdoc` accepts a whole DeviceResponse (every document is verified) or a bare IssuerSigned.
For each document it checks, without stopping at the first failure so the result lists every
problem:

1. the DS certificate chain (x5chain, leaf first) leads to a trusted IACA root at `at`
   (`edl.pki.trust`: cryptography's path validation with the 18013-5 extension profile);
2. the COSE_Sign1 signature over the MSO, with the algorithm of the protected header, which must
   be ES256/ES384/ES512 and match the DS key's curve (``kid`` is never used to pick a key);
3. the MSO: version "1.0", digestAlgorithm SHA-256/384/512, docType equal to the document's,
   validity ``signed <= validFrom <= validUntil`` with leeway on signed/validFrom only;
4. every disclosed item: SHA of its *received* tag-24 bytes equals the MSO digest for its ID.

5. with a `session_transcript`: holder binding, i.e. device authentication (deviceSigned: the device signature
   or MAC over DeviceAuthentication with the MSO's device key, device-signed elements only where keyAuthorizations
   allows; `edl.credentials.device_auth`). Without one, holder binding is not checked and the result says so
   (`holder_binding: "not_checked"`): a copied file passes issuer data authentication. The MSO deviceKey is always
   checked (a COSE_Key holding a point of its curve); the key object is built only when asked for.

What is cached across calls is only what a signer repeats, always keyed by exact bytes, in an owner the
caller passes in (`cache=`, else the `VerificationCache` of the `TrustStore`, see `edl.credentials.cache`):
parsed DS certificates and their public keys (by DER), protected headers, and, inside the `TrustStore`, chains
that passed path validation (by DER; the validity period of every certificate of the path is checked again at
each call's time). Nothing of a credential itself (items, digests, MSO, signature) is cached. A new store (or a
new `VerificationCache`) is a cold verifier.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final, cast

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, x448, x25519

import edl.credentials.cbor as cbor
from edl.credentials.cache import SIGNERS_CACHED, SignerFacts, VerificationCache
from edl.credentials.cose import AlgorithmMismatch, Sign1, der_signature, verify_cose_signature, verify_der
from edl.credentials.device_auth import Transcript, TranscriptError, check_device_signed, read_session_transcript
from edl.credentials.errors import ErrorCode, VerificationError
from edl.credentials.names import MDL_NAMESPACE
from edl.credentials.result import (
    HOLDER_FAILED,
    HOLDER_NOT_CHECKED,
    HOLDER_VERIFIED,
    DocumentResult,
    SignerInfo,
    VerificationResult,
)
from edl.credentials.structure import (
    Mso,
    ParsedItem,
    Refusal,
    matched_items,
    parse_certificates,
    parse_items,
    parse_mso,
    parse_sign1,
)
from edl.pki.errors import ChainValidationError
from edl.pki.trust import TrustStore, trust_store

DEFAULT_LEEWAY: Final = timedelta(seconds=60)
ReaderKey = ec.EllipticCurvePrivateKey | x25519.X25519PrivateKey | x448.X448PrivateKey
"""The reader's ephemeral private key of a session (needed only to check a deviceMac)."""
# The CDDL of ISO/IEC 18013-5 §8.3.2.1.2.2 names every key of these maps; anything else is refused
# (an unknown key in an unsigned envelope can only be a corruption or an attempt to hide data).
_RESPONSE_KEYS: Final = frozenset({"version", "documents", "documentErrors", "status"})
_DOCUMENT_KEYS: Final = frozenset({"docType", "issuerSigned", "deviceSigned", "errors"})
_ISSUER_SIGNED_KEYS: Final = frozenset({"nameSpaces", "issuerAuth"})
SUPPORTED_VERSION: Final = "1.0"
DIGESTS: Final[dict[str, Callable[[bytes], Any]]] = {
    "SHA-256": hashlib.sha256,
    "SHA-384": hashlib.sha384,
    "SHA-512": hashlib.sha512,
}


def verify_mdoc(
    data: bytes,
    trust_roots: TrustStore | Sequence[x509.Certificate],
    at: datetime | None = None,
    leeway: timedelta = DEFAULT_LEEWAY,
    *,
    expected_doctype: str | None = None,
    cache: VerificationCache | None = None,
    session_transcript: Transcript | bytes | None = None,
    reader_key: ReaderKey | None = None,
) -> VerificationResult:
    """Verify an encoded DeviceResponse or IssuerSigned against `trust_roots` at time `at`.

    `at` defaults to now (UTC); `leeway` tolerates clock skew on signed/validFrom only. `cache` is where parsed
    signer certificates and headers are kept between calls (default: the one of the `TrustStore`; a list of roots
    makes a new store, so nothing is reused). Malformed or untrusted input gives a result with errors, never an
    exception.

    `session_transcript` (a `Transcript`, or SessionTranscriptBytes / the bare array as bytes) turns on holder
    binding: every document must then carry device authentication that verifies for it (`reader_key`: the
    reader's ephemeral private key, for a deviceMac). Bytes that are not a transcript raise `TranscriptError`
    (the caller's input, checked before the credential).
    """
    if isinstance(session_transcript, bytes | bytearray | memoryview):
        transcript: Transcript | None = read_session_transcript(bytes(session_transcript))
    elif session_transcript is None or isinstance(session_transcript, Transcript):
        transcript = session_transcript
    else:
        raise TranscriptError(f"a session transcript is a Transcript or bytes, not {type(session_transcript).__name__}")
    moment = datetime.now(UTC) if at is None else at
    if moment.tzinfo is None:
        raise ValueError("`at` must be timezone-aware")
    moment = moment.astimezone(UTC)
    try:
        trust = trust_store(trust_roots)
        owned = cache if cache is not None else VerificationCache.of(trust)
        documents = _documents(data)
        binding = (transcript, reader_key) if transcript is not None else None
        results = [
            _verify_document(doc, doctype, trust, owned, moment, leeway, expected_doctype, device_signed, binding)
            for doctype, doc, device_signed in documents
        ]
    except Refusal as refusal:
        result = _refused(refusal.code, refusal.message)
    except Exception as exc:  # a bug must never turn into an acceptance, nor into a crash
        result = _refused(ErrorCode.MALFORMED, f"unexpected error while verifying: {type(exc).__name__}")
    else:
        result = _combine(results)
    return replace(result, transcript_given=True) if transcript is not None else result


def _refused(code: ErrorCode, message: str) -> VerificationResult:
    return VerificationResult(False, None, (VerificationError(code, message),), {}, None)


def _combine(results: list[DocumentResult]) -> VerificationResult:
    valid = all(r.valid for r in results)
    if len(results) == 1:
        errors = results[0].errors
    else:
        errors = tuple(
            VerificationError(e.code, f"document[{i}]: {e.message}") for i, r in enumerate(results) for e in r.errors
        )
    first = results[0]
    return VerificationResult(valid, first.doctype, errors, first.claims if valid else {}, first.signer, tuple(results))


def _documents(data: bytes) -> list[tuple[str | None, Any, Any]]:
    """(docType, IssuerSigned, DeviceSigned or None) of each document of a DeviceResponse, or
    ``[(None, IssuerSigned, None)]``."""
    if type(data) is not bytes:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise Refusal(ErrorCode.MALFORMED, "input is not bytes")
        data = bytes(data)
    try:
        top = cbor.decode_envelope(data)
    except cbor.CborError as exc:
        raise Refusal(ErrorCode.MALFORMED, str(exc)) from None
    if isinstance(top, dict) and "documents" in top:
        if not top.keys() <= _RESPONSE_KEYS:
            raise Refusal(ErrorCode.MALFORMED, "DeviceResponse has keys the standard does not define")
        if not isinstance(top.get("version"), str):
            raise Refusal(ErrorCode.MALFORMED, "DeviceResponse has no version")
        if top["version"] != SUPPORTED_VERSION:
            raise Refusal(ErrorCode.UNSUPPORTED_VERSION, f"DeviceResponse version {top.get('version')!r} is not '1.0'")
        if top.get("status") != 0 or type(top.get("status")) is not int:
            raise Refusal(ErrorCode.MALFORMED, f"DeviceResponse status {top.get('status')!r} is not 0 (OK)")
        documents = top["documents"]
        if not isinstance(documents, list) or not documents:
            raise Refusal(ErrorCode.MALFORMED, "DeviceResponse has no documents")
        pairs: list[tuple[str | None, Any, Any]] = []
        for doc in documents:
            if not isinstance(doc, dict) or not isinstance(doc.get("docType"), str) or "issuerSigned" not in doc:
                raise Refusal(ErrorCode.MALFORMED, "a DeviceResponse document lacks docType or issuerSigned")
            if not doc.keys() <= _DOCUMENT_KEYS:
                raise Refusal(ErrorCode.MALFORMED, "a DeviceResponse document has keys the standard does not define")
            pairs.append((doc["docType"], doc["issuerSigned"], doc.get("deviceSigned")))
        return pairs
    if isinstance(top, dict) and "issuerAuth" in top:
        return [(None, top, None)]
    raise Refusal(ErrorCode.MALFORMED, "input is neither a DeviceResponse nor an IssuerSigned")


def _signer_facts(der: bytes, cert: x509.Certificate, cache: VerificationCache) -> SignerFacts:
    """Signer summary and public key of a DS certificate, cached by its DER bytes in `cache` (bounded).

    cryptography parses a certificate's subject and key lazily: a damaged one that `parse_certificates` took fails
    here (ValueError, TypeError, UnsupportedAlgorithm), and is refused as malformed.
    """
    table = cache.signers
    facts = table.get(der)
    if facts is None:
        try:
            facts = SignerFacts.of(cert)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise Refusal(
                ErrorCode.MALFORMED, "the x5chain certificate cannot be read (its subject, key or validity)"
            ) from None
        if len(table) >= SIGNERS_CACHED:
            table.clear()
        table[der] = facts
    return facts


class _Document:
    """Checks one IssuerSigned, collecting every error."""

    def __init__(self, at: datetime, leeway: timedelta) -> None:
        self.at = at
        self.leeway = leeway
        self.errors: list[VerificationError] = []

    def fail(self, code: ErrorCode, message: str) -> None:
        self.errors.append(VerificationError(code, message))

    def check_chain(self, trust: TrustStore, certs: Sequence[x509.Certificate], ders: Sequence[bytes]) -> None:
        try:
            trust.validate(certs, ders, self.at)
        except ChainValidationError as exc:
            self.fail(ErrorCode(exc.code), exc.message)

    def check_signature(self, sign1: Sign1, signer: SignerFacts) -> None:
        # An ECDSA algorithm the key's curve goes with (known per certificate) is checked directly; anything else,
        # and a signature of the wrong size, by `verify_cose_signature`, which says what is wrong.
        algorithm = signer.ecdsa.get(sign1.alg) if type(sign1.alg) is int else None
        der = der_signature(sign1.signature, signer.signature_size) if algorithm is not None else None
        if algorithm is not None and der is not None:
            try:
                verify_der(cast(ec.EllipticCurvePublicKey, signer.public_key), algorithm, sign1.to_be_signed, der)
            except InvalidSignature:
                self.fail(ErrorCode.SIGNATURE_INVALID, "the issuer signature over the MSO does not verify")
            return
        try:
            verify_cose_signature(signer.public_key, sign1.alg, sign1.to_be_signed, sign1.signature)
        except AlgorithmMismatch as exc:
            self.fail(ErrorCode.UNSUPPORTED_ALGORITHM, str(exc))
        except InvalidSignature:
            self.fail(ErrorCode.SIGNATURE_INVALID, "the issuer signature over the MSO does not verify")

    def check_signed_in_certificate(self, mso: Mso, signer: SignerFacts) -> None:
        """18013-5 9.3.1: the MSO must have been signed while the DS certificate was valid."""
        if not signer.not_before <= mso.signed <= signer.not_after:
            self.fail(
                ErrorCode.SIGNED_OUTSIDE_CERTIFICATE,
                f"MSO signed at {mso.signed.isoformat()}, outside the DS certificate's validity "
                f"({signer.not_before.isoformat()} to {signer.not_after.isoformat()})",
            )

    def check_issuer_names(self, claims: dict[str, dict[str, object]], signer: SignerFacts) -> None:
        """18013-5 (mDL data elements): issuing_country equals the DS certificate's countryName, and
        issuing_jurisdiction its stateOrProvinceName where the certificate names one."""
        mdl = claims.get(MDL_NAMESPACE, {})
        if "issuing_country" in mdl and mdl["issuing_country"] != signer.country:
            self.fail(
                ErrorCode.ISSUER_MISMATCH,
                f"issuing_country {mdl['issuing_country']!r} differs from the DS certificate's "
                f"countryName {signer.country!r}",
            )
        if "issuing_jurisdiction" in mdl and signer.state is not None and mdl["issuing_jurisdiction"] != signer.state:
            self.fail(
                ErrorCode.ISSUER_MISMATCH,
                f"issuing_jurisdiction {mdl['issuing_jurisdiction']!r} differs from the DS certificate's "
                f"stateOrProvinceName {signer.state!r}",
            )

    def check_mso(self, mso: Mso, doctype: str | None, expected_doctype: str | None) -> None:
        if mso.version != SUPPORTED_VERSION:
            self.fail(ErrorCode.UNSUPPORTED_VERSION, f"MSO version {mso.version!r} is not '1.0'")
        if not isinstance(mso.digest_algorithm, str) or mso.digest_algorithm not in DIGESTS:
            self.fail(
                ErrorCode.UNSUPPORTED_ALGORITHM, f"digest algorithm {mso.digest_algorithm!r} is not SHA-256/384/512"
            )
        if not isinstance(mso.doctype, str):
            self.fail(ErrorCode.MALFORMED, "MSO docType is missing")
        else:
            if doctype is not None and mso.doctype != doctype:
                self.fail(ErrorCode.DOCTYPE_MISMATCH, f"MSO docType {mso.doctype!r} differs from document {doctype!r}")
            if expected_doctype is not None and mso.doctype != expected_doctype:
                self.fail(
                    ErrorCode.DOCTYPE_MISMATCH, f"docType {mso.doctype!r} is not the expected {expected_doctype!r}"
                )
        if not mso.signed <= mso.valid_from <= mso.valid_until:
            self.fail(ErrorCode.INVALID_DATE, "validityInfo must satisfy signed <= validFrom <= validUntil")
        latest = self.at + self.leeway
        if mso.signed > latest:
            self.fail(ErrorCode.NOT_YET_VALID, f"MSO signed in the future ({mso.signed.isoformat()})")
        if mso.valid_from > latest:
            self.fail(ErrorCode.NOT_YET_VALID, f"credential valid only from {mso.valid_from.isoformat()}")
        if self.at > mso.valid_until:
            self.fail(ErrorCode.EXPIRED, f"credential expired at {mso.valid_until.isoformat()}")

    def check_items(self, name_spaces: object, mso: Mso) -> dict[str, dict[str, object]]:
        """Hash and decode every disclosed item; returns the claims that matched their digests."""
        if type(name_spaces) is not dict:
            self.fail(ErrorCode.MALFORMED, "IssuerSigned nameSpaces is not a map")
            return {}
        hasher = DIGESTS.get(mso.digest_algorithm) if type(mso.digest_algorithm) is str else None
        if hasher is None:  # (check_mso reports why) no item can be checked, so none may be accepted
            self.fail(ErrorCode.UNSUPPORTED_ALGORITHM, "disclosed items cannot be checked without a supported digest")
            return {}
        claims: dict[str, dict[str, object]] = {}
        for namespace, items in name_spaces.items():
            if type(namespace) is not str or type(items) is not list or not items:
                self.fail(ErrorCode.MALFORMED, "nameSpaces must map namespace names to non-empty item arrays")
                continue
            expected = mso.value_digests.get(namespace)
            if expected is None:
                self.fail(ErrorCode.DIGEST_MISSING, f"namespace {namespace!r} has no digests in the MSO")
                continue
            matched = matched_items(items, expected, hasher)
            if matched is not None:
                claims[namespace] = matched
                continue
            elements: dict[str, object] = {}
            seen_ids: set[int] = set()
            for item in parse_items(items, namespace, hasher):
                if isinstance(item, Refusal):
                    self.fail(item.code, item.message)
                    continue
                digest_id, identifier, value, digest = item
                want = expected.get(digest_id)
                if digest_id in seen_ids or identifier in elements:
                    self.fail(ErrorCode.MALFORMED, f"{_where(namespace, item)} is disclosed twice")
                elif want is None:
                    self.fail(ErrorCode.DIGEST_MISSING, f"{_where(namespace, item)} has no digest in the MSO")
                elif not hmac.compare_digest(digest, want):
                    self.fail(ErrorCode.DIGEST_MISMATCH, f"{_where(namespace, item)} does not match its MSO digest")
                else:
                    elements[identifier] = value
                seen_ids.add(digest_id)
            claims[namespace] = elements
        return claims

    def check_holder(
        self, device_signed: Any, doctype: str | None, mso: Mso, transcript: Transcript, reader_key: ReaderKey | None
    ) -> tuple[str, dict[str, dict[str, object]]]:
        """Holder binding (device authentication) for `transcript`; (verdict, the verified device-signed elements)."""
        if doctype is None:  # a bare IssuerSigned: there is no device proof to check
            self.fail(ErrorCode.DEVICE_AUTH_MISSING, "an IssuerSigned alone carries no device authentication")
            return HOLDER_FAILED, {}
        found = check_device_signed(
            device_signed, doctype, mso.device_key, mso.key_authorizations, transcript, reader_key
        )
        self.errors.extend(found.errors)
        return (HOLDER_FAILED, {}) if found.errors else (HOLDER_VERIFIED, found.elements)


def _where(namespace: str, item: ParsedItem) -> str:
    return f"{namespace}/{item[1]} (digestID {item[0]})"


def _verify_document(
    issuer_signed: Any,
    doctype: str | None,
    trust: TrustStore,
    cache: VerificationCache,
    at: datetime,
    leeway: timedelta,
    expected_doctype: str | None,
    device_signed: Any = None,
    binding: tuple[Transcript, ReaderKey | None] | None = None,
) -> DocumentResult:
    check = _Document(at, leeway)
    holder = HOLDER_NOT_CHECKED
    device_claims: dict[str, dict[str, object]] = {}
    signer: SignerInfo | None = None
    claims: dict[str, dict[str, object]] = {}
    mso: Mso | None = None
    try:
        if not isinstance(issuer_signed, dict) or "issuerAuth" not in issuer_signed:
            raise Refusal(ErrorCode.MALFORMED, "issuerSigned lacks issuerAuth")
        if not issuer_signed.keys() <= _ISSUER_SIGNED_KEYS:
            raise Refusal(ErrorCode.MALFORMED, "issuerSigned has keys the standard does not define")
        sign1 = parse_sign1(issuer_signed["issuerAuth"], cache)
        certs = parse_certificates(sign1.x5chain, cache)
        signer_facts = _signer_facts(sign1.x5chain[0], certs[0], cache)
        signer = signer_facts.info
        check.check_chain(trust, certs, sign1.x5chain)
        check.check_signature(sign1, signer_facts)
        mso = parse_mso(sign1.payload)
        check.check_mso(mso, doctype, expected_doctype)
        check.check_signed_in_certificate(mso, signer_facts)
        claims = check.check_items(issuer_signed.get("nameSpaces", {}), mso)
        check.check_issuer_names(claims, signer_facts)
        if binding is not None:
            holder, device_claims = check.check_holder(device_signed, doctype, mso, *binding)
    except Refusal as refusal:
        check.fail(refusal.code, refusal.message)
    valid = not check.errors
    if binding is not None and (holder == HOLDER_NOT_CHECKED or not valid):
        holder = HOLDER_FAILED  # a device proof binds nothing to a credential the issuer checks refused
    reported_doctype = (
        doctype if doctype is not None else (mso.doctype if mso and isinstance(mso.doctype, str) else None)
    )
    return DocumentResult(
        valid=valid,
        doctype=reported_doctype,
        errors=tuple(check.errors),
        claims=claims if valid else {},
        signer=signer,
        valid_until=mso.valid_until if mso else None,
        device_cose_key=mso.device_key if mso and valid else None,
        holder_binding=holder,
        device_claims=device_claims if valid else {},
    )
