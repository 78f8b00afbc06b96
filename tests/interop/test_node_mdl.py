"""Interoperability with @auth0/mdl 3.0.1, an ISO/IEC 18013-5 implementation in TypeScript, both ways.

tests/interop/node/ is a small Node.js project (exact versions, package-lock.json) whose driver
``mdl.mjs`` issues, presents and verifies mdocs with that library. The session fixture installs it
once (``npm ci --ignore-scripts``, skipped while node_modules matches the lock) and fails when node
or npm is missing; ``EDL_SKIP_NODE_INTEROP=1`` skips these tests instead.

What @auth0/mdl emits, and what eDL makes of it:

* validityInfo: tag 0 ``"YYYY-MM-DDTHH:MM:SSZ"`` (JS milliseconds cut off, always UTC); expectedUpdate
  only when given. eDL accepts them.
* full-date: ``1004("YYYY-MM-DD")``, but only for birth_date / issue_date / expiry_date and the
  driving_privileges issue_date / expiry_date *given as strings in the mDL namespace*; anywhere else
  a date string stays an untagged tstr (eDL returns it as str), a JS ``Date`` becomes a tag-0 tdate.
  eDL accepts all of these.
* Quirks: the unprotected header carries ``kid: undefined`` (``4: simple(23)``) unless a kid is
  given; digest IDs are 0..n-1 in element order (not shuffled); JS numbers of 2^32 and more are
  written as float64; the verifier insists on a device signature and a session transcript (its
  ``onCheck`` hook lets the driver report the issuer checks separately); it verifies at "now" only;
  its "issuing_country matches the certificate" check reads the DS certificate's *issuer* name; it
  accepts a self-signed CA certificate as its own document signer (its own test style), which eDL
  refuses under the Annex B profile.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import cbor2
import pytest
from cbor2 import CBORTag
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID
from tests.interop.npm_project import node_for
from tests.unit.credentials.builders import Pki, jpeg, make_pki, mdl_namespaces

from edl.credentials import (
    MDL_DOCTYPE,
    MDL_NAMESPACE,
    ErrorCode,
    VerificationResult,
    device_response,
    issue_mdoc,
    issue_mdoc_with_new_device_key,
    verify_mdoc,
)
from edl.credentials.device_auth import (
    iso_18013_7_handover,
    openid4vp_dc_api_handover,
    openid4vp_handover,
    session_transcript,
)
from edl.credentials.presentation import present
from edl.pki import AuthorityProfile
from edl.pki.profiles import ds_builder

NODE_DIR = Path(__file__).with_name("node")
NOW = datetime.now(UTC).replace(microsecond=0)  # @auth0/mdl verifies at the real "now" only
PORTRAIT = jpeg(1_000)
# SessionTranscript = [DeviceEngagementBytes, EReaderKeyBytes, Handover]: the OID4VP form (18013-7)
TRANSCRIPT = cbor2.dumps([None, None, ["mdoc-nonce", "https://rp.invalid", "https://rp.invalid/cb", "rp-nonce"]])
OTHER_TRANSCRIPT = cbor2.dumps([None, None, ["mdoc-nonce", "https://rp.invalid", "https://rp.invalid/cb", "replay"]])

Json = dict[str, Any]

# The library's own style: dates as strings (it tags the mDL ones as full-date itself).
NODE_MDL: Json = {
    MDL_NAMESPACE: {
        "family_name": "张",
        "given_name": "三",
        "birth_date": "1990-05-17",
        "issue_date": "2021-03-01",
        "expiry_date": "2031-03-01",
        "issuing_country": "CN",
        "issuing_authority": "天津市公安局交通警察总队",
        "document_number": "120101199005171234",
        "portrait": {"$bytes": base64.b64encode(PORTRAIT).decode()},
        "driving_privileges": [
            {"vehicle_category_code": "C1", "issue_date": "2015-03-01", "expiry_date": "2031-03-01"}
        ],
        "un_distinguishing_sign": "CHN",
        "sex": 1,
        "age_over_18": True,
        "resident_address": "天津市和平区南京路100号",
    }
}
EXPECTED_CLAIMS: dict[str, object] = {
    **NODE_MDL[MDL_NAMESPACE],
    "birth_date": date(1990, 5, 17),
    "issue_date": date(2021, 3, 1),
    "expiry_date": date(2031, 3, 1),
    "portrait": PORTRAIT,
    "driving_privileges": [
        {"vehicle_category_code": "C1", "issue_date": date(2015, 3, 1), "expiry_date": date(2031, 3, 1)}
    ],
}


# --- the Node project ------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """Runs tests/interop/node/mdl.mjs; every command prints one JSON object."""

    executable: str

    def run(self, *args: str | Path) -> Json:
        proc = subprocess.run(
            [self.executable, "mdl.mjs", *map(str, args)], cwd=NODE_DIR, capture_output=True, text=True, timeout=60
        )
        if proc.returncode != 0:  # not an AssertionError: it must not pass for an expected failure
            raise RuntimeError(f"mdl.mjs {args[0]} failed (exit {proc.returncode}):\n{proc.stderr}")
        result: Json = json.loads(proc.stdout)
        return result

    def issue(self, signer: PkiFiles, data: Json, out: Path, *extra: str | Path) -> Path:
        data_file = out.with_suffix(".json")
        data_file.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        certs = [a for cert in signer.chain for a in ("--cert", cert)]
        self.run("issue", "--key", signer.key, *certs, "--data", data_file, "--out", out, *extra)
        return out

    def verify(self, mdoc: Path | bytes, root: Path, transcript: bytes | None = None) -> Json:
        if isinstance(mdoc, bytes):
            path = root.parent / f"to-verify-{hashlib.sha256(mdoc).hexdigest()[:16]}.cbor"
            path.write_bytes(mdoc)
            mdoc = path
        args: list[str | Path] = ["verify", "--in", mdoc, "--trust", root]
        if transcript is not None:
            args += ["--transcript", transcript.hex()]
        return self.run(*args)


@pytest.fixture(scope="session")
def node() -> Node:
    return Node(node_for(NODE_DIR, "@auth0/mdl"))


# --- certificates and keys as files ------------------------------------------------------------


@dataclass(frozen=True)
class PkiFiles:
    root: Path
    key: Path
    chain: tuple[Path, ...]  # leaf first


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write_signer(
    folder: Path,
    root: x509.Certificate,
    ds: x509.Certificate,
    key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey,
    *,
    with_root_in_chain: bool = False,
) -> PkiFiles:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "root.pem").write_bytes(_pem(root))
    (folder / "ds.pem").write_bytes(_pem(ds))
    (folder / "ds.key.pem").write_bytes(_key_pem(key))
    chain = (folder / "ds.pem", folder / "root.pem") if with_root_in_chain else (folder / "ds.pem",)
    return PkiFiles(folder / "root.pem", folder / "ds.key.pem", chain)


def _signer_under(pki: Pki, key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey, hint: str) -> x509.Certificate:
    """Another DS certificate under `pki`'s IACA, for `key` (our Annex B profile)."""
    builder = ds_builder(key.public_key(), pki.root, AuthorityProfile(), NOW - timedelta(days=1), hint)  # type: ignore[arg-type]
    return builder.sign(pki.root_key, hashes.SHA256())


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("node-interop")


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki(at=NOW)


@pytest.fixture(scope="module")
def signer(pki: Pki, work: Path) -> PkiFiles:
    """A P-256 DS under an IACA, both made by our `edl.pki.profiles` builders."""
    return _write_signer(work / "edl-pki", pki.root, pki.ds, pki.ds_key)


@pytest.fixture(scope="module")
def node_issued(node: Node, signer: PkiFiles, work: Path) -> Path:
    """A DeviceResponse (IssuerSigned only) written by @auth0/mdl with our DS key and certificate."""
    return node.issue(signer, NODE_MDL, work / "node-mdl.cbor", "--device-key-out", work / "node-device.jwk")


def _verify(data: bytes, pki: Pki, at: datetime | None = None) -> VerificationResult:
    return verify_mdoc(data, [pki.root], at=at or datetime.now(UTC))


def _codes(result: VerificationResult) -> set[ErrorCode]:
    return {e.code for e in result.errors}


def _keep(tag: int) -> Callable[[Any, bool], CBORTag]:
    def keep(value: Any, _immutable: bool) -> CBORTag:
        return CBORTag(tag, value)

    return keep


_RAW = {tag: _keep(tag) for tag in (0, 1004, 24)}


def _raw(data: bytes) -> Any:
    """Decode keeping tags 0, 1004 and 24 as they are (to see exactly what a library wrote)."""
    return cbor2.loads(data, semantic_decoders=_RAW)


def _issuer_signed(response: bytes) -> Any:
    return _raw(response)["documents"][0]["issuerSigned"]


def _raw_items(response: bytes, namespace: str = MDL_NAMESPACE) -> dict[str, Any]:
    items = (_raw(tagged.value) for tagged in _issuer_signed(response)["nameSpaces"][namespace])
    return {item["elementIdentifier"]: item["elementValue"] for item in items}


def _raw_mso(response: bytes) -> Any:
    return _raw(_raw(_issuer_signed(response)["issuerAuth"][2]).value)


def _flip(data: bytes, index: int, mask: int = 0x01) -> bytes:
    changed = bytearray(data)
    changed[index] ^= mask
    return bytes(changed)


# --- Node issues, eDL verifies ---------------------------------------------------------------


def test_node_issued_mdl_is_accepted_with_matching_claims(
    node: Node, node_issued: Path, signer: PkiFiles, pki: Pki
) -> None:
    result = _verify(node_issued.read_bytes(), pki)
    assert result.valid, result.errors
    assert result.doctype == MDL_DOCTYPE
    assert result.signer is not None and result.signer.subject == pki.ds.subject.rfc4514_string()
    claims = result.claims[MDL_NAMESPACE]
    assert claims == EXPECTED_CLAIMS
    assert type(claims["birth_date"]) is date  # full-date, not a datetime
    privileges = claims["driving_privileges"]
    assert isinstance(privileges, list) and type(privileges[0]["expiry_date"]) is date
    assert claims["portrait"] == PORTRAIT
    # and the library agrees with itself: only the (absent) device signature is missing
    theirs = node.verify(node_issued, signer.root)
    assert theirs["issuerValid"] is True, theirs["errors"]
    assert [e["id"] for e in theirs["errors"]] == ["DOCUMENT_DEVICE_SIGNATURE_PRESENCE"]


def test_node_issued_es384_issuer_signed_with_chain_array_is_accepted(node: Node, pki: Pki, work: Path) -> None:
    """A P-384 DS (ES384), the IACA in x5chain too (an array), and a bare IssuerSigned."""
    key = ec.generate_private_key(ec.SECP384R1())
    files = _write_signer(work / "p384", pki.root, _signer_under(pki, key, "p384"), key, with_root_in_chain=True)
    issued = node.issue(files, NODE_MDL, work / "p384.cbor", "--form", "issuer-signed").read_bytes()
    top = _raw(issued)
    assert set(top) == {"nameSpaces", "issuerAuth"}
    assert cbor2.loads(top["issuerAuth"][0]) == {1: -35}
    assert isinstance(top["issuerAuth"][1][33], list) and len(top["issuerAuth"][1][33]) == 2
    result = _verify(issued, pki)
    assert result.valid, result.errors
    assert result.claims[MDL_NAMESPACE] == EXPECTED_CLAIMS


def test_every_one_byte_change_of_a_node_mdoc_is_refused(node_issued: Path, pki: Pki) -> None:
    """Flip each byte of the file in turn: nothing signed or hashed may change unnoticed.

    The only changes accepted are inside the unprotected header outside the certificate, i.e. the
    ``kid: undefined`` entry @auth0/mdl writes: unsigned by design, and never read by eDL.
    """
    data = node_issued.read_bytes()
    now = datetime.now(UTC)
    assert _verify(data, pki, now).valid
    unprotected = _issuer_signed(data)["issuerAuth"][1]
    header = cbor2.dumps(unprotected)
    header_start = data.index(header)
    cert_start = data.index(unprotected[33], header_start)
    unsigned = set(range(header_start, header_start + len(header))) - set(
        range(cert_start, cert_start + len(unprotected[33]))
    )
    accepted = {i for i in range(len(data)) for mask in (0x01, 0x80) if _verify(_flip(data, i, mask), pki, now).valid}
    assert accepted <= unsigned, sorted(accepted - unsigned)

    # and the reasons are the right ones where it matters
    issuer_signed = _issuer_signed(data)
    name_at = data.index("张".encode())
    assert ErrorCode.DIGEST_MISMATCH in _codes(_verify(_flip(data, name_at + 2), pki, now))
    payload = issuer_signed["issuerAuth"][2]
    doctype_in_mso = data.index(MDL_DOCTYPE.encode(), data.index(payload))
    assert ErrorCode.SIGNATURE_INVALID in _codes(_verify(_flip(data, doctype_in_mso + 3), pki, now))
    signature_at = data.index(issuer_signed["issuerAuth"][3])
    assert _codes(_verify(_flip(data, signature_at + 10), pki, now)) == {ErrorCode.SIGNATURE_INVALID}


def test_node_device_signed_response_is_accepted(
    node: Node, node_issued: Path, signer: PkiFiles, pki: Pki, work: Path
) -> None:
    """The holder side of @auth0/mdl adds deviceSigned (ES256 over DeviceAuthentication)."""
    presented = work / "node-presented.cbor"
    node.run(
        "present",
        "--in",
        node_issued,
        "--device-key",
        work / "node-device.jwk",
        "--transcript",
        TRANSCRIPT.hex(),
        "--out",
        presented,
    )
    document = _raw(presented.read_bytes())["documents"][0]
    assert set(document) == {"docType", "issuerSigned", "deviceSigned"}
    assert document["deviceSigned"]["deviceAuth"]["deviceSignature"][2] is None  # detached payload
    result = _verify(presented.read_bytes(), pki)
    assert result.valid, result.errors
    assert result.claims[MDL_NAMESPACE] == EXPECTED_CLAIMS
    theirs = node.verify(presented, signer.root, TRANSCRIPT)
    assert theirs["valid"] is True, theirs["errors"]


def test_node_made_certificates_with_the_annex_b_profile_are_accepted(node: Node, pki: Pki, work: Path) -> None:
    """IACA and DS written by @peculiar/x509 (the X.509 library under @auth0/mdl)."""
    made = node.run("pki", "--out", work / "peculiar", "--country", "CN")
    files = PkiFiles(Path(made["root"]), Path(made["key"]), (Path(made["ds"]),))
    issued = node.issue(files, NODE_MDL, work / "peculiar.cbor").read_bytes()
    root = x509.load_pem_x509_certificate(files.root.read_bytes())
    result = verify_mdoc(issued, [root])
    assert result.valid, result.errors
    assert result.signer is not None and "Node Interop DS" in result.signer.subject
    assert _codes(verify_mdoc(issued, [pki.root])) == {ErrorCode.CHAIN_UNTRUSTED}


def _self_signed_signer(folder: Path) -> PkiFiles:
    """The certificate style of @auth0/mdl's own tests: one self-signed CA certificate (no
    KeyUsage, no mdlDS EKU) that both signs the MSO and serves as the trusted root."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "New York"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "NY DMV"),
        ]
    )
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=3650))
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return _write_signer(folder, cert, cert, key)


def test_self_signed_signer_of_the_library_tests_is_refused_by_edl_only(node: Node, work: Path) -> None:
    """@auth0/mdl accepts a self-signed CA certificate as document signer; Annex B does not."""
    files = _self_signed_signer(work / "self-signed")
    data = {MDL_NAMESPACE: {**NODE_MDL[MDL_NAMESPACE], "issuing_country": "US"}}
    issued = node.issue(files, data, work / "self-signed.cbor")
    theirs = node.verify(issued, files.root)
    assert theirs["issuerValid"] is True, theirs["errors"]
    root = x509.load_pem_x509_certificate(files.root.read_bytes())
    assert _codes(verify_mdoc(issued.read_bytes(), [root])) == {ErrorCode.CHAIN_UNTRUSTED}


def test_node_eddsa_issuer_signature_is_accepted(node: Node, pki: Pki, work: Path) -> None:
    """18013-5 also allows EdDSA (Ed25519/Ed448) for IssuerAuth, which @auth0/mdl writes and verifies."""
    key = ed25519.Ed25519PrivateKey.generate()
    files = _write_signer(work / "ed25519", pki.root, _signer_under(pki, key, "ed25519"), key)
    issued = node.issue(files, NODE_MDL, work / "ed25519.cbor")
    assert node.verify(issued, files.root)["issuerValid"] is True
    result = _verify(issued.read_bytes(), pki)
    assert result.valid, result.errors


@pytest.fixture(scope="module")
def ed25519_device_key_mdoc(node: Node, signer: PkiFiles, work: Path) -> Path:
    """Node-made, with an Ed25519 device key in the MSO (an OKP COSE_Key, kty 1 / crv 6)."""
    return node.issue(signer, NODE_MDL, work / "okp-device.cbor", "--device-curve", "Ed25519")


def test_node_accepts_an_ed25519_device_key(node: Node, ed25519_device_key_mdoc: Path, signer: PkiFiles) -> None:
    mso = _raw_mso(ed25519_device_key_mdoc.read_bytes())
    assert mso["deviceKeyInfo"]["deviceKey"][1] == 1  # kty OKP
    assert node.verify(ed25519_device_key_mdoc, signer.root)["issuerValid"] is True


def test_edl_accepts_an_ed25519_device_key(ed25519_device_key_mdoc: Path, pki: Pki) -> None:
    result = _verify(ed25519_device_key_mdoc.read_bytes(), pki)
    assert result.valid, result.errors


@pytest.fixture(scope="module")
def backdated(node: Node, signer: PkiFiles, work: Path) -> Path:
    """Node-made, with an MSO 'signed' 10 days before the DS certificate's notBefore (NOW - 1 day)."""
    before = (NOW - timedelta(days=10)).isoformat()
    until = (NOW + timedelta(days=30)).isoformat()
    return node.issue(
        signer, NODE_MDL, work / "backdated.cbor", "--signed", before, "--valid-from", before, "--valid-until", until
    )


def test_node_refuses_an_mso_signed_outside_its_certificate_validity(
    node: Node, backdated: Path, signer: PkiFiles
) -> None:
    theirs = node.verify(backdated, signer.root)
    assert "MSO_SIGNED_DATE_WITHIN_CERTIFICATE_VALIDITY" in {e["id"] for e in theirs["errors"]}


def test_edl_refuses_an_mso_signed_outside_its_certificate_validity(backdated: Path, pki: Pki) -> None:
    """ISO/IEC 18013-5 9.3.1: the MSO must be signed while the DS certificate is valid."""
    result = _verify(backdated.read_bytes(), pki)
    assert _codes(result) == {ErrorCode.SIGNED_OUTSIDE_CERTIFICATE}


def test_node_expired_and_not_yet_valid_mdocs_are_refused_by_both(
    node: Node, signer: PkiFiles, pki: Pki, work: Path
) -> None:
    expired = node.issue(
        signer,
        NODE_MDL,
        work / "expired.cbor",
        "--signed",
        (NOW - timedelta(hours=20)).isoformat(),
        "--valid-from",
        (NOW - timedelta(hours=20)).isoformat(),
        "--valid-until",
        (NOW - timedelta(hours=1)).isoformat(),
    )
    early = node.issue(
        signer,
        NODE_MDL,
        work / "early.cbor",
        "--signed",
        NOW.isoformat(),
        "--valid-from",
        (NOW + timedelta(days=1)).isoformat(),
        "--valid-until",
        (NOW + timedelta(days=30)).isoformat(),
    )
    assert _codes(_verify(expired.read_bytes(), pki)) == {ErrorCode.EXPIRED}
    assert _codes(_verify(early.read_bytes(), pki)) == {ErrorCode.NOT_YET_VALID}
    for path in (expired, early):
        theirs = node.verify(path, signer.root)
        assert "MSO_VALIDITY_AT_VERIFICATION_TIME" in {e["id"] for e in theirs["errors"]}


# --- dates as @auth0/mdl writes them ---------------------------------------------------------


def test_node_validity_info_is_whole_second_utc_tdates(node: Node, signer: PkiFiles, pki: Pki, work: Path) -> None:
    """JS Dates with milliseconds become tag-0 tdates cut to the second (18013-5 §7.2.1 form)."""
    signed = NOW - timedelta(hours=1)
    times = {
        "--signed": signed + timedelta(milliseconds=789),
        "--valid-from": signed + timedelta(milliseconds=999),
        "--valid-until": NOW + timedelta(days=30, milliseconds=500),
        "--expected-update": NOW + timedelta(days=20, milliseconds=1),
    }
    args = [a for flag, t in times.items() for a in (flag, t.isoformat(timespec="milliseconds"))]
    issued = node.issue(signer, NODE_MDL, work / "validity.cbor", *args).read_bytes()

    def tdate(t: datetime) -> CBORTag:
        return CBORTag(0, t.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ"))

    assert _raw_mso(issued)["validityInfo"] == {
        "signed": tdate(signed),
        "validFrom": tdate(signed),
        "validUntil": tdate(times["--valid-until"]),
        "expectedUpdate": tdate(times["--expected-update"]),
    }
    result = _verify(issued, pki)
    assert result.valid, result.errors
    assert result.documents[0].valid_until == (NOW + timedelta(days=30)).replace(microsecond=0)


def test_node_element_dates_full_date_tdate_and_plain_strings(
    node: Node, signer: PkiFiles, pki: Pki, work: Path
) -> None:
    """Which date forms the library writes for data elements, and what eDL returns for each."""
    other = "org.edl.interop.1"
    data: Json = {
        MDL_NAMESPACE: {
            "family_name": "张",
            "birth_date": "1990-05-17",  # library converts: 1004
            "issue_date": {"$fulldate": "2021-03-01"},  # explicit DateOnly: 1004
            "expiry_date": "2031-03-01",
            "driving_privileges": [
                {"vehicle_category_code": "C1", "issue_date": "2015-03-01", "expiry_date": "2031-03-01"}
            ],
            "portrait_capture_date": {"$tdate": "2021-03-01T08:30:15.250Z"},  # JS Date: tag 0, ms cut
        },
        other: {
            "birth_date": "1990-05-17",  # outside the mDL namespace nothing is converted: tstr
            "a_full_date": {"$fulldate": "2000-02-29"},
            "a_date_time": {"$tdate": "2000-02-29T23:59:59Z"},
        },
    }
    issued = node.issue(signer, data, work / "element-dates.cbor").read_bytes()
    mdl, extra = _raw_items(issued), _raw_items(issued, other)
    assert mdl["birth_date"] == CBORTag(1004, "1990-05-17")
    assert mdl["issue_date"] == CBORTag(1004, "2021-03-01")
    assert mdl["driving_privileges"][0]["expiry_date"] == CBORTag(1004, "2031-03-01")
    assert mdl["portrait_capture_date"] == CBORTag(0, "2021-03-01T08:30:15Z")
    assert extra == {
        "birth_date": "1990-05-17",
        "a_full_date": CBORTag(1004, "2000-02-29"),
        "a_date_time": CBORTag(0, "2000-02-29T23:59:59Z"),
    }

    result = _verify(issued, pki)
    assert result.valid, result.errors
    claims, extra_claims = result.claims[MDL_NAMESPACE], result.claims[other]
    assert claims["birth_date"] == date(1990, 5, 17) and type(claims["birth_date"]) is date
    assert claims["issue_date"] == date(2021, 3, 1)
    assert claims["driving_privileges"] == [
        {"vehicle_category_code": "C1", "issue_date": date(2015, 3, 1), "expiry_date": date(2031, 3, 1)}
    ]
    assert claims["portrait_capture_date"] == datetime(2021, 3, 1, 8, 30, 15, tzinfo=UTC)
    assert extra_claims == {
        "birth_date": "1990-05-17",
        "a_full_date": date(2000, 2, 29),
        "a_date_time": datetime(2000, 2, 29, 23, 59, 59, tzinfo=UTC),
    }


# --- eDL issues, Node verifies ---------------------------------------------------------------

EDL_MDL = mdl_namespaces(portrait_size=1_500)
EDL_MDL[MDL_NAMESPACE]["portrait_capture_date"] = datetime(2021, 3, 1, 8, 30, 15, tzinfo=UTC)


def _edl_issue(pki: Pki) -> bytes:
    return issue_mdoc(
        MDL_DOCTYPE,
        EDL_MDL,
        pki.signer,
        ec.generate_private_key(ec.SECP256R1()).public_key(),
        valid_from=NOW,
        valid_until=NOW + timedelta(days=30),
        signed_at=NOW,
        expected_update=NOW + timedelta(days=20),
    )


def _as_node_json(value: object) -> object:
    """What mdl.mjs `verify` reports for an eDL claim value (CBOR types as $-wrappers)."""
    if isinstance(value, datetime):
        return {"$tdate": value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")}
    if isinstance(value, date):
        return {"$fulldate": value.isoformat()}
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode()}
    if isinstance(value, dict):
        return {k: _as_node_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_node_json(v) for v in value]
    return value


@pytest.mark.parametrize("form", ["device_response", "issuer_signed"])
def test_edl_issued_mdoc_passes_node_issuer_checks(node: Node, signer: PkiFiles, pki: Pki, form: str) -> None:
    """Issuer signature, chain, digests, validity: all pass in @auth0/mdl. It then fails only the
    device-signature presence check (eDL issues IssuerSigned; a wallet adds deviceSigned later)."""
    issued = _edl_issue(pki)
    data = device_response([(MDL_DOCTYPE, issued)]) if form == "device_response" else issued
    theirs = node.verify(data, signer.root)
    assert theirs["wrapped"] is (form == "issuer_signed")
    assert theirs["issuerValid"] is True, theirs["errors"]
    assert [e["id"] for e in theirs["errors"]] == ["DOCUMENT_DEVICE_SIGNATURE_PRESENCE"]
    assert theirs["claims"][MDL_NAMESPACE] == _as_node_json(EDL_MDL[MDL_NAMESPACE])
    assert theirs["validityInfo"] == _as_node_json(
        {
            "signed": NOW,
            "validFrom": NOW,
            "validUntil": NOW + timedelta(days=30),
            "expectedUpdate": NOW + timedelta(days=20),
        }
    )


def _private_jwk(key: ec.EllipticCurvePrivateKey) -> Json:
    def b64(number: int) -> str:
        return base64.urlsafe_b64encode(number.to_bytes(32, "big")).rstrip(b"=").decode()

    numbers = key.private_numbers()
    x, y = numbers.public_numbers.x, numbers.public_numbers.y
    return {"kty": "EC", "crv": "P-256", "x": b64(x), "y": b64(y), "d": b64(numbers.private_value)}


def test_edl_mdoc_presented_by_a_node_wallet_passes_full_node_verification(
    node: Node, signer: PkiFiles, pki: Pki, work: Path
) -> None:
    """@auth0/mdl as the holder: it signs DeviceAuthentication with the device key bound in our MSO,
    then its verifier checks issuer *and* device authentication for the session transcript."""
    issued, device_key = issue_mdoc_with_new_device_key(
        MDL_DOCTYPE, EDL_MDL, pki.signer, valid_from=NOW, valid_until=NOW + timedelta(days=30), signed_at=NOW
    )
    (work / "edl.cbor").write_bytes(device_response([(MDL_DOCTYPE, issued)]))
    (work / "edl-device.jwk").write_text(json.dumps(_private_jwk(device_key)))
    presented = work / "edl-presented.cbor"
    node.run(
        "present",
        "--in",
        work / "edl.cbor",
        "--device-key",
        work / "edl-device.jwk",
        "--transcript",
        TRANSCRIPT.hex(),
        "--out",
        presented,
    )
    theirs = node.verify(presented, signer.root, TRANSCRIPT)
    assert theirs["valid"] is True, theirs["errors"]
    replayed = node.verify(presented, signer.root, OTHER_TRANSCRIPT)
    assert replayed["issuerValid"] is True
    assert [e["id"] for e in replayed["errors"]] == ["DEVICE_SIGNATURE_VALIDITY"]
    # the re-encoded response (issuerSigned passed through cbor-x) still verifies in eDL
    result = _verify(presented.read_bytes(), pki)
    assert result.valid, result.errors
    assert result.documents[0].device_key == device_key.public_key()


def test_edl_mdoc_tampered_or_untrusted_is_refused_by_node(node: Node, signer: PkiFiles, pki: Pki) -> None:
    response = device_response([(MDL_DOCTYPE, _edl_issue(pki))])
    name_at = response.index("张".encode())
    signature = _issuer_signed(response)["issuerAuth"][3]
    cases = {
        "ATTRIBUTE_DIGEST_MATCH": (_flip(response, name_at + 2), signer.root),
        "ISSUER_SIGNATURE_VALIDITY": (_flip(response, response.index(signature) + 5), signer.root),
    }
    other = make_pki(at=NOW, common_name="Other IACA")
    other_root = signer.root.with_name("other-root.pem")
    other_root.write_bytes(_pem(other.root))
    cases["ISSUER_CERTIFICATE_VALIDITY"] = (response, other_root)
    for check, (data, root) in cases.items():
        theirs = node.verify(data, root)
        assert theirs["issuerValid"] is False
        assert check in {e["id"] for e in theirs["errors"]}, theirs["errors"]


# --- our CLI on Node-made files --------------------------------------------------------------


def _edl_cli(*args: str | Path) -> tuple[int, Json]:
    edl = Path(sys.executable).with_name("edl")
    if not edl.exists():
        pytest.fail(f"the `edl` console script is not installed next to {sys.executable}", pytrace=False)
    proc = subprocess.run([str(edl), *map(str, args)], capture_output=True, text=True, timeout=60)
    assert proc.returncode in (0, 1), proc.stderr
    result: Json = json.loads(proc.stdout)
    return proc.returncode, result


def test_cli_accepts_a_node_issued_file(node_issued: Path, signer: PkiFiles) -> None:
    code, out = _edl_cli("verify", "--mdoc", node_issued, "--trust", signer.root)
    assert code == 0, out["errors"]
    assert out["valid"] is True and out["errors"] == []
    claims = out["claims"][MDL_NAMESPACE]
    assert claims["family_name"] == "张"
    assert claims["birth_date"] == "1990-05-17"
    assert claims["driving_privileges"][0]["expiry_date"] == "2031-03-01"
    assert base64.b64decode(claims["portrait"]) == PORTRAIT


def test_cli_refuses_a_node_issued_file_from_an_untrusted_root(node: Node, signer: PkiFiles, work: Path) -> None:
    rogue = make_pki(at=NOW, common_name="Rogue IACA")
    files = _write_signer(work / "rogue", rogue.root, rogue.ds, rogue.ds_key)
    issued = node.issue(files, NODE_MDL, work / "rogue.cbor")
    code, out = _edl_cli("verify", "--mdoc", issued, "--trust", signer.root)
    assert code == 1
    assert out["valid"] is False and out["claims"] == {}
    assert [e["code"] for e in out["errors"]] == ["chain_untrusted"]


# --- holder binding both ways: device-signed presentations for real session transcripts (issue 15) ----------------

HOLDER_REQUEST = ("x509_san_dns:rental.example", "n-4f9Qk2", "https://rental.example/oid4vp/post")
THUMBPRINT = hashlib.sha256(b"the verifier's response-encryption JWK").digest()
TRANSCRIPTS: dict[str, Any] = {
    "openid4vp 1.0 (encrypted)": openid4vp_handover(*HOLDER_REQUEST, THUMBPRINT),
    "openid4vp 1.0 (direct_post)": openid4vp_handover(*HOLDER_REQUEST),
    "dc api": openid4vp_dc_api_handover("https://rental.example", HOLDER_REQUEST[1], THUMBPRINT),
    "18013-7 annex b": iso_18013_7_handover(HOLDER_REQUEST[0], HOLDER_REQUEST[2], HOLDER_REQUEST[1], "mdoc-n-77"),
}
WRONG: dict[str, Any] = {
    "another nonce (a replay)": openid4vp_handover(HOLDER_REQUEST[0], "n-other", HOLDER_REQUEST[2], THUMBPRINT),
    "another client": openid4vp_handover("x509_san_dns:attacker.example", *HOLDER_REQUEST[1:], THUMBPRINT),
    "another origin": openid4vp_dc_api_handover("https://attacker.example", HOLDER_REQUEST[1], THUMBPRINT),
}


@pytest.fixture(scope="module")
def holder_mdoc(pki: Pki, work: Path) -> tuple[bytes, ec.EllipticCurvePrivateKey, Path]:
    """An eDL-issued mdoc bound to a device key, the key, and the key as a JWK file for the Node wallet."""
    issued, device_key = issue_mdoc_with_new_device_key(
        MDL_DOCTYPE, EDL_MDL, pki.signer, valid_from=NOW, valid_until=NOW + timedelta(days=30), signed_at=NOW
    )
    (work / "holder.cbor").write_bytes(device_response([(MDL_DOCTYPE, issued)]))
    (work / "holder-device.jwk").write_text(json.dumps(_private_jwk(device_key)))
    return issued, device_key, work / "holder.cbor"


@pytest.mark.parametrize("form", list(TRANSCRIPTS))
def test_node_wallet_presentations_verify_in_edl_only_for_their_transcript(
    node: Node, pki: Pki, work: Path, holder_mdoc: tuple[bytes, ec.EllipticCurvePrivateKey, Path], form: str
) -> None:
    """@auth0/mdl as the wallet (the holder's device key given to it) answers the request's transcript; eDL checks
    holder binding against the transcript it rebuilds, and refuses the same response for any other request."""
    _, _, exported = holder_mdoc
    transcript = session_transcript(TRANSCRIPTS[form])
    presented = work / f"node-wallet-{hashlib.sha256(form.encode()).hexdigest()[:8]}.cbor"
    node.run(
        "present",
        "--in",
        exported,
        "--device-key",
        work / "holder-device.jwk",
        "--transcript",
        transcript.encoded.hex(),
        "--out",
        presented,
    )
    data = presented.read_bytes()
    result = verify_mdoc(data, [pki.root], at=datetime.now(UTC), session_transcript=transcript)
    assert result.valid and result.holder_binding == "verified", result.errors
    for name, handover in WRONG.items():
        refused = verify_mdoc(data, [pki.root], at=datetime.now(UTC), session_transcript=session_transcript(handover))
        assert _codes(refused) == {ErrorCode.DEVICE_AUTH_INVALID}, name
        assert refused.claims == {}


@pytest.mark.parametrize("form", list(TRANSCRIPTS))
def test_edl_presentations_verify_in_auth0_mdl_only_for_their_transcript(
    node: Node, signer: PkiFiles, work: Path, holder_mdoc: tuple[bytes, ec.EllipticCurvePrivateKey, Path], form: str
) -> None:
    """eDL as the wallet (`present`): @auth0/mdl's verifier checks issuer and device authentication for the
    transcript (its `encodedSessionTranscript`), and refuses the response for another request."""
    issued, device_key, _ = holder_mdoc
    transcript = session_transcript(TRANSCRIPTS[form])
    data = present(issued, MDL_DOCTYPE, device_key, transcript)
    theirs = node.verify(data, signer.root, transcript.encoded)
    assert theirs["valid"] is True, theirs["errors"]
    for name, handover in WRONG.items():
        replayed = node.verify(data, signer.root, session_transcript(handover).encoded)
        assert replayed["issuerValid"] is True, name
        assert [e["id"] for e in replayed["errors"]] == ["DEVICE_SIGNATURE_VALIDITY"], (name, replayed["errors"])


def test_a_copied_export_without_a_device_proof_is_refused_by_both(
    node: Node, signer: PkiFiles, pki: Pki, holder_mdoc: tuple[bytes, ec.EllipticCurvePrivateKey, Path]
) -> None:
    _, _, exported = holder_mdoc
    transcript = session_transcript(TRANSCRIPTS["openid4vp 1.0 (encrypted)"])
    ours = verify_mdoc(exported.read_bytes(), [pki.root], at=datetime.now(UTC), session_transcript=transcript)
    assert _codes(ours) == {ErrorCode.DEVICE_AUTH_MISSING}
    theirs = node.verify(exported, signer.root, transcript.encoded)
    assert theirs["valid"] is False and theirs["issuerValid"] is True
