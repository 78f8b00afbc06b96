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
