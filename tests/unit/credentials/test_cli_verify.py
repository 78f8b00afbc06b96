"""`edl verify`: one JSON object; exit 0 valid, 1 not valid, 2 unreadable input."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
import typer
from cryptography.hazmat.primitives import serialization
from typer.testing import CliRunner

from edl.cli.verify import verify_command
from tests.unit.credentials.builders import NOW, Pki, response
from tests.vectors.annexd import DEVICE_RESPONSE, IACA_ROOT_PEM, VECTORS

app = typer.Typer()
app.command("verify")(verify_command)
app.command("noop")(lambda: None)  # two commands, so "verify" stays a subcommand name
runner = CliRunner()

ANNEX_D = str(VECTORS / DEVICE_RESPONSE)
ANNEX_D_ROOT = str(VECTORS / IACA_ROOT_PEM)


def _run(*args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    result = runner.invoke(app, ["verify", *args])
    if result.exit_code == 2:
        return 2, {"stderr": result.output}
    return result.exit_code, json.loads(result.stdout)


def test_annex_d_hex_file_verifies_at_a_time_inside_its_validity() -> None:
    code, out = _run("--mdoc", ANNEX_D, "--trust", ANNEX_D_ROOT, "--at", "2021-06-01T00:00:00Z")
    assert code == 0
    assert out["valid"] is True and out["errors"] == []
    assert out["doctype"] == "org.iso.18013.5.1.mDL"
    assert out["claims"]["org.iso.18013.5.1"]["issue_date"] == "2019-10-20"
    assert out["signer"] == {
        "subject": "C=US,CN=utopia ds",
        "serial": "3c4416eed784f3b413e48f56f075abfa6d87eb84",
        "not_after": "2021-10-01T00:00:00Z",
    }


def test_annex_d_today_is_not_valid_with_exit_1() -> None:
    code, out = _run("--mdoc", ANNEX_D, "--trust", ANNEX_D_ROOT)
    assert code == 1
    assert {e["code"] for e in out["errors"]} == {"expired", "certificate_expired"}
    assert out["claims"] == {}


def test_raw_cbor_file_and_leeway(tmp_path: Path, pki: Pki) -> None:
    (tmp_path / "m.cbor").write_bytes(response(pki))
    (tmp_path / "root.pem").write_bytes(pki.root.public_bytes(serialization.Encoding.PEM))
    early = (NOW.replace(tzinfo=None) - timedelta(seconds=90)).isoformat()  # no zone: read as UTC
    code, out = _run("--mdoc", str(tmp_path / "m.cbor"), "--trust", str(tmp_path / "root.pem"), "--at", early)
    assert code == 1 and out["errors"][0]["code"] == "not_yet_valid"
    code, out = _run(
        "--mdoc", str(tmp_path / "m.cbor"), "--trust", str(tmp_path / "root.pem"), "--at", early, "--leeway", "120"
    )
    assert code == 0, out


def test_garbage_file_is_a_malformed_verdict(tmp_path: Path) -> None:
    (tmp_path / "junk").write_bytes(b"\x00\x01garbage")
    code, out = _run("--mdoc", str(tmp_path / "junk"), "--trust", ANNEX_D_ROOT)
    assert code == 1 and out["errors"][0]["code"] == "malformed"


@pytest.mark.parametrize(
    "args",
    [
        ["--mdoc", "/nonexistent/file", "--trust", ANNEX_D_ROOT],
        ["--mdoc", ANNEX_D, "--trust", "/nonexistent/root.pem"],
        ["--mdoc", ANNEX_D, "--trust", ANNEX_D],  # not a PEM
        ["--mdoc", ANNEX_D, "--trust", ANNEX_D_ROOT, "--at", "yesterday"],
    ],
)
def test_unreadable_input_exits_2_with_one_line(args: list[str]) -> None:
    result = runner.invoke(app, ["verify", *args])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0 and result.output.startswith("edl: error:")


@pytest.mark.parametrize(
    "encode", [base64.b64encode, base64.urlsafe_b64encode, lambda b: base64.urlsafe_b64encode(b).rstrip(b"=")]
)
def test_base64_and_base64url_text_files_are_read(tmp_path: Path, pki: Pki, encode: Callable[[bytes], bytes]) -> None:
    (tmp_path / "m.b64").write_bytes(encode(response(pki)) + b"\n")
    (tmp_path / "root.pem").write_bytes(pki.root.public_bytes(serialization.Encoding.PEM))
    code, out = _run("--mdoc", str(tmp_path / "m.b64"), "--trust", str(tmp_path / "root.pem"), "--at", NOW.isoformat())
    assert code == 0 and out["valid"] is True


# --- holder binding (issue 15 item 1) ----------------------------------------------------------------------------


def _annex_d_reader_key(tmp_path: Path) -> str:
    from cryptography.hazmat.primitives.asymmetric import ec

    keys = json.loads((VECTORS / "annexd_keys.json").read_text())
    key = ec.derive_private_key(int(keys["ephemeral_reader_key"]["d"], 16), ec.SECP256R1())
    path = tmp_path / "reader.pem"
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(path)


def test_annex_d_device_mac_verifies_with_the_session_transcript_and_reader_key(tmp_path: Path) -> None:
    args = ["--mdoc", ANNEX_D, "--trust", ANNEX_D_ROOT, "--at", "2021-06-01T00:00:00Z"]
    transcript = str(VECTORS / "annexd_session_transcript_bytes.hex")
    code, out = _run(*args, "--session-transcript", transcript, "--reader-key", _annex_d_reader_key(tmp_path))
    assert code == 0 and out["holder_binding"] == "verified"
    code, out = _run(*args, "--session-transcript", transcript)  # a MAC needs the reader's key: refused
    assert code == 1 and {e["code"] for e in out["errors"]} == {"device_auth_invalid"}
    code, out = _run(*args)
    assert code == 0 and out["holder_binding"] == "not_checked" and "not checked" in out["holder_binding_note"]


def test_an_openid4vp_presentation_is_held_to_the_requests_transcript(tmp_path: Path, pki: Pki) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    from edl.credentials import MDL_DOCTYPE, issue_mdoc
    from edl.credentials.device_auth import openid4vp_handover, session_transcript
    from edl.credentials.presentation import present
    from tests.unit.credentials.builders import mdl_namespaces

    key = ec.generate_private_key(ec.SECP256R1())
    issued = issue_mdoc(
        MDL_DOCTYPE,
        mdl_namespaces(),
        pki.signer,
        key.public_key(),
        valid_from=NOW,
        valid_until=NOW + timedelta(days=30),
        signed_at=NOW,
    )
    thumbprint = bytes(range(32))
    request = ["x509_san_dns:rental.example", "n-0S7fT", "https://rental.example/post"]
    transcript = session_transcript(openid4vp_handover(*request, thumbprint))
    (tmp_path / "p.b64").write_bytes(base64.urlsafe_b64encode(present(issued, MDL_DOCTYPE, key, transcript)))
    (tmp_path / "root.pem").write_bytes(pki.root.public_bytes(serialization.Encoding.PEM))
    base = ["--mdoc", str(tmp_path / "p.b64"), "--trust", str(tmp_path / "root.pem"), "--at", NOW.isoformat()]
    handover = ["--handover", "openid4vp", "--client-id", request[0], "--response-uri", request[2]]
    b64 = base64.urlsafe_b64encode(thumbprint).decode().rstrip("=")
    code, out = _run(*base, *handover, "--nonce", request[1], "--jwk-thumbprint", b64)
    assert code == 0 and out["holder_binding"] == "verified", out
    code, out = _run(*base, *handover, "--nonce", request[1], "--jwk-thumbprint", thumbprint.hex())
    assert code == 0
    code, out = _run(*base, *handover, "--nonce", "another-request", "--jwk-thumbprint", b64)
    assert code == 1 and {e["code"] for e in out["errors"]} == {"device_auth_invalid"} and out["claims"] == {}
    code, out = _run(*base, *handover, "--nonce", request[1])  # encrypted response's key left out: another transcript
    assert code == 1
    (tmp_path / "t.cbor").write_bytes(transcript.tagged)
    code, out = _run(*base, "--session-transcript", str(tmp_path / "t.cbor"))
    assert code == 0 and out["holder_binding"] == "verified"


@pytest.mark.parametrize(
    "extra",
    [
        ["--handover", "openid4vp", "--client-id", "c", "--nonce", "n"],  # no --response-uri
        ["--handover", "dc-api", "--origin", "https://a.example", "--nonce", "n", "--client-id", "c"],  # not for dc-api
        ["--handover", "oid4vp-draft", "--nonce", "n"],
        ["--nonce", "n"],  # a parameter without --handover
        ["--handover", "dc-api", "--origin", "o", "--nonce", "n", "--jwk-thumbprint", "abc"],
        ["--session-transcript", ANNEX_D_ROOT],  # not a transcript
        ["--session-transcript", str(VECTORS / "annexd_session_transcript_bytes.hex"), "--handover", "dc-api"],
        ["--reader-key", ANNEX_D_ROOT],  # a certificate, not a private key
    ],
)
def test_holder_binding_options_that_cannot_be_used_exit_2(extra: list[str]) -> None:
    code, out = _run("--mdoc", ANNEX_D, "--trust", ANNEX_D_ROOT, *extra)
    assert code == 2, out
    assert len(out["stderr"].strip().splitlines()) == 1


def test_holder_binding_options_are_for_mdocs_only() -> None:
    code, _ = _run("--qr", "EDL1:x", "--trust", ANNEX_D_ROOT, "--nonce", "n", "--handover", "dc-api")
    assert code == 2


def test_edl_credential_present_answers_a_request_that_edl_verify_then_holds_it_to(tmp_path: Path, pki: Pki) -> None:
    """The CLI loop: an issued mdoc and its device key (as `edl credential issue` writes them) → `edl credential
    present` for a request → `edl verify` with that request verifies; with another request it refuses."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from edl.cli.credential import credential_app
    from edl.credentials import MDL_DOCTYPE, issue_mdoc_with_new_device_key
    from tests.unit.credentials.builders import mdl_namespaces

    issued, key = issue_mdoc_with_new_device_key(
        MDL_DOCTYPE, mdl_namespaces(), pki.signer, valid_from=NOW, valid_until=NOW + timedelta(days=30), signed_at=NOW
    )
    (tmp_path / "m.cbor").write_bytes(device_response_of(issued))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    (tmp_path / "root.pem").write_bytes(pki.root.public_bytes(serialization.Encoding.PEM))
    request = ["--handover", "dc-api", "--origin", "https://rental.example", "--nonce", "n-1"]
    made = runner.invoke(
        credential_app,
        [
            "present",
            "--mdoc",
            str(tmp_path / "m.cbor"),
            "--device-key",
            str(tmp_path / "key.pem"),
            "--out",
            str(tmp_path / "p.cbor"),
            *request,
        ],
    )
    assert made.exit_code == 0, made.output
    base = ["--mdoc", str(tmp_path / "p.cbor"), "--trust", str(tmp_path / "root.pem"), "--at", NOW.isoformat()]
    code, out = _run(*base, *request)
    assert code == 0 and out["holder_binding"] == "verified"
    code, out = _run(*base, "--handover", "dc-api", "--origin", "https://rental.example", "--nonce", "n-2")
    assert code == 1 and {e["code"] for e in out["errors"]} == {"device_auth_invalid"}
    # no transcript, or a key that is not a private key: one line, exit 2, nothing written
    for args in (
        [
            "present",
            "--mdoc",
            str(tmp_path / "m.cbor"),
            "--device-key",
            str(tmp_path / "key.pem"),
            "--out",
            str(tmp_path / "q.cbor"),
        ],
        [
            "present",
            "--mdoc",
            str(tmp_path / "m.cbor"),
            "--device-key",
            str(tmp_path / "root.pem"),
            "--out",
            str(tmp_path / "q.cbor"),
            *request,
        ],
    ):
        refused = runner.invoke(credential_app, args)
        assert refused.exit_code == 2 and len(refused.output.strip().splitlines()) == 1, refused.output
        assert not (tmp_path / "q.cbor").exists()
    assert isinstance(key, ec.EllipticCurvePrivateKey)


def device_response_of(issuer_signed: bytes) -> bytes:
    from edl.credentials import MDL_DOCTYPE, device_response

    return device_response([(MDL_DOCTYPE, issuer_signed)])
