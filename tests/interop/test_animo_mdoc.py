"""Holder binding with @animo-id/mdoc (OpenWallet Foundation's TypeScript mdoc library), both ways (issue 15).

tests/interop/animo/ is a small Node.js project (exact version, package-lock.json) whose driver `animo.mjs` gives
the library Node's own crypto and builds session transcripts (`SessionTranscript.forOid4Vp`, `forOid4VpDcApi`,
`forOid4VpDraft18`), presents an mdoc with a device signature (`DeviceResponse.createWithDeviceRequest`) and
verifies one (`DeviceResponse.verify`). The mdoc is issued by eDL, bound to a device key the Node wallet is given.

Quirk met: without an `alg` in the wallet's JWK the library writes `{1: undefined}` as the device signature's
protected header; eDL refuses that (`unsupported_algorithm`), so the driver states ES256.
"""

from __future__ import annotations

import base64
import json
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from tests.interop.npm_project import node_for
from tests.unit.credentials.builders import Pki, make_pki, mdl_namespaces

from edl.credentials import MDL_DOCTYPE, MDL_NAMESPACE, ErrorCode, issue_mdoc_with_new_device_key, verify_mdoc
from edl.credentials.device_auth import (
    Transcript,
    iso_18013_7_handover,
    openid4vp_dc_api_handover,
    openid4vp_handover,
    session_transcript,
)
from edl.credentials.presentation import present

PROJECT = Path(__file__).with_name("animo")
NOW = datetime.now(UTC).replace(microsecond=0)
REQUEST = {"client_id": "x509_san_dns:insurer.example", "nonce": "n-Zq81", "response_uri": "https://insurer.example/vp"}
THUMBPRINT = bytes(range(100, 132))
Json = dict[str, Any]


@dataclass(frozen=True)
class Animo:
    executable: str

    def run(self, *args: str | Path) -> Json:
        proc = subprocess.run(
            [self.executable, "animo.mjs", *map(str, args)], cwd=PROJECT, capture_output=True, text=True, timeout=60
        )
        if proc.returncode != 0:  # not an AssertionError: it must not pass for an expected failure
            raise RuntimeError(f"animo.mjs {args[0]} failed (exit {proc.returncode}):\n{proc.stderr}")
        result: Json = json.loads(proc.stdout)
        return result


@pytest.fixture(scope="module")
def animo() -> Animo:
    return Animo(node_for(PROJECT, "@animo-id/mdoc"))


@pytest.fixture(scope="module")
def holder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Pki, bytes, ec.EllipticCurvePrivateKey, Path]:
    """An IACA and DS, an eDL-issued mdoc bound to a device key, and a folder with the root, the mdoc (IssuerSigned)
    and the device key as a JWK (what the Node wallet is given)."""
    work = tmp_path_factory.mktemp("animo")
    pki = make_pki(at=NOW - timedelta(days=1))
    issued, key = issue_mdoc_with_new_device_key(
        MDL_DOCTYPE, mdl_namespaces(), pki.signer, valid_from=NOW, valid_until=NOW + timedelta(days=30), signed_at=NOW
    )
    (work / "root.pem").write_bytes(pki.root.public_bytes(serialization.Encoding.PEM))
    (work / "issued.cbor").write_bytes(issued)
    numbers = key.private_numbers()

    def b64(value: int) -> str:
        return base64.urlsafe_b64encode(value.to_bytes(32, "big")).rstrip(b"=").decode()

    jwk = {"kty": "EC", "crv": "P-256", "x": b64(numbers.public_numbers.x), "y": b64(numbers.public_numbers.y)}
    (work / "device.jwk").write_text(json.dumps({**jwk, "d": b64(numbers.private_value)}))
    return pki, issued, key, work


# The same request in each form, as eDL builds it and as the library builds it.
FORMS: dict[str, tuple[Transcript, list[str]]] = {
    "openid4vp 1.0": (
        session_transcript(
            openid4vp_handover(REQUEST["client_id"], REQUEST["nonce"], REQUEST["response_uri"], THUMBPRINT)
        ),
        [
            "--form",
            "oid4vp",
            "--client-id",
            REQUEST["client_id"],
            "--nonce",
            REQUEST["nonce"],
            "--response-uri",
            REQUEST["response_uri"],
            "--jwk-thumbprint",
            THUMBPRINT.hex(),
        ],
    ),
    "openid4vp 1.0 dc api": (
        session_transcript(openid4vp_dc_api_handover("https://insurer.example", REQUEST["nonce"])),
        ["--form", "dcapi", "--origin", "https://insurer.example", "--nonce", REQUEST["nonce"]],
    ),
    "18013-7 (openid4vp draft 18)": (
        session_transcript(
            iso_18013_7_handover(REQUEST["client_id"], REQUEST["response_uri"], REQUEST["nonce"], "m-9")
        ),
        [
            "--form",
            "draft18",
            "--client-id",
            REQUEST["client_id"],
            "--nonce",
            REQUEST["nonce"],
            "--response-uri",
            REQUEST["response_uri"],
            "--mdoc-nonce",
            "m-9",
        ],
    ),
}
OTHERS: dict[str, Transcript] = {
    "another nonce": session_transcript(
        openid4vp_handover(REQUEST["client_id"], "n-other", REQUEST["response_uri"], THUMBPRINT)
    ),
    "another client": session_transcript(
        openid4vp_handover("x509_san_dns:attacker.example", REQUEST["nonce"], REQUEST["response_uri"], THUMBPRINT)
    ),
    "another origin": session_transcript(openid4vp_dc_api_handover("https://attacker.example", REQUEST["nonce"])),
}


@pytest.mark.parametrize("form", list(FORMS))
def test_the_library_builds_the_same_session_transcript(animo: Animo, form: str) -> None:
    ours, args = FORMS[form]
    assert animo.run("transcript", *args)["transcript"] == ours.encoded.hex()


@pytest.mark.parametrize("form", list(FORMS))
def test_a_presentation_made_by_the_library_verifies_in_edl_for_its_transcript_only(
    animo: Animo, holder: tuple[Pki, bytes, ec.EllipticCurvePrivateKey, Path], form: str
) -> None:
    pki, _, _, work = holder
    transcript, _ = FORMS[form]
    out = work / f"animo-{abs(hash(form))}.cbor"
    animo.run(
        "present",
        "--in",
        work / "issued.cbor",
        "--device-key",
        work / "device.jwk",
        "--transcript",
        transcript.encoded.hex(),
        "--out",
        out,
    )
    data = out.read_bytes()
    result = verify_mdoc(data, [pki.root], at=datetime.now(UTC), session_transcript=transcript)
    assert result.valid and result.holder_binding == "verified", result.errors
    assert result.claims[MDL_NAMESPACE]["family_name"] == "张"
    for name, other in OTHERS.items():
        refused = verify_mdoc(data, [pki.root], at=datetime.now(UTC), session_transcript=other)
        assert {e.code for e in refused.errors} == {ErrorCode.DEVICE_AUTH_INVALID}, name
        assert refused.claims == {}


@pytest.mark.parametrize("form", list(FORMS))
def test_an_edl_presentation_verifies_in_the_library_for_its_transcript_only(
    animo: Animo, holder: tuple[Pki, bytes, ec.EllipticCurvePrivateKey, Path], form: str
) -> None:
    _, issued, key, work = holder
    transcript, _ = FORMS[form]
    out = work / f"edl-{abs(hash(form))}.cbor"
    out.write_bytes(present(issued, MDL_DOCTYPE, key, transcript))
    theirs = animo.run("verify", "--in", out, "--trust", work / "root.pem", "--transcript", transcript.encoded.hex())
    assert theirs["valid"] is True, theirs
    for name, other in OTHERS.items():
        replayed = animo.run("verify", "--in", out, "--trust", work / "root.pem", "--transcript", other.encoded.hex())
        assert replayed["valid"] is False, name
        assert {f["category"] for f in replayed["failed"]} == {"DEVICE_AUTH"}, (name, replayed)


def test_a_presentation_signed_with_another_key_is_refused_by_both(
    animo: Animo, holder: tuple[Pki, bytes, ec.EllipticCurvePrivateKey, Path]
) -> None:
    pki, issued, _, work = holder
    transcript, _ = FORMS["openid4vp 1.0"]
    thief = ec.generate_private_key(ec.SECP256R1())
    out = work / "thief.cbor"
    out.write_bytes(present(issued, MDL_DOCTYPE, thief, transcript))
    ours = verify_mdoc(out.read_bytes(), [pki.root], at=datetime.now(UTC), session_transcript=transcript)
    assert {e.code for e in ours.errors} == {ErrorCode.DEVICE_AUTH_INVALID}
    theirs = animo.run("verify", "--in", out, "--trust", work / "root.pem", "--transcript", transcript.encoded.hex())
    assert theirs["valid"] is False
