"""An independent wallet takes eDL's mDL over OpenID4VCI 1.0 (issue 15), from a real server (Uvicorn, both
databases): @openid4vc/openid4vci resolves the offer shown in the driver's app, reads the metadata, takes the
token (with the tx_code), gets a c_nonce, signs a JWT proof with a fresh WebCrypto P-256 key and requests the
credential; @animo-id/mdoc decodes the IssuerSigned, checks the MSO device key is the proof key and device-signs a
DeviceResponse for an OpenID4VP SessionTranscript. eDL's verifier (`verify_mdoc`, and `edl verify` once) accepts
it for that transcript and refuses it for another nonce. The same client's wrong nonce, bad proof signature and
replayed pre-authorized code are refused. Skipped without Node.js (EDL_SKIP_NODE_INTEROP=1)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient
from tests.auth_helpers import Clock
from tests.interop.npm_project import node_for
from tests.live_server import serving
from tests.vci_helpers import ShownOffer, driver_with_elicence, make_offer
from tests.workflow import prepare

from edl.bootstrap import Container
from edl.credentials.device_auth import openid4vp_handover, session_transcript
from edl.credentials.verify import verify_mdoc
from edl.web import create_app

pytestmark = pytest.mark.integration

PROJECT = Path(__file__).parent / "openid4vci"
REQUEST = {
    "client-id": "redirect_uri:https://rental.example/openid4vp/responses/r1",
    "nonce": "n-4Vq9eDL",
    "response-uri": "https://rental.example/openid4vp/responses/r1",
}


@pytest.fixture(scope="module")
def node() -> str:
    return node_for(PROJECT, "@openid4vc/openid4vci")


@pytest.fixture
def live(container: Container) -> Iterator[tuple[Container, str]]:
    """A real eDL server whose credential issuer identifier is its own address (the wallet checks they agree)."""
    prepare(container, container.clock())
    container.clock = Clock(container.clock())
    with serving(container) as url:
        container.settings.public_url = url
        yield container, url


def _offer(container: Container, url: str) -> ShownOffer:
    """A driver signed in on the app (through the same app object the server runs), the offer on the page."""
    with TestClient(create_app(container), follow_redirects=False, base_url=url) as app_client:
        driver_with_elicence(app_client, container, container.clock())
        return make_offer(app_client)


def _wallet(node: str, shown: ShownOffer, out: Path, mode: str = "ok") -> dict[str, Any]:
    args = ["--offer", shown.uri, "--tx-code", shown.tx_code, "--out", str(out), "--mode", mode]
    for name, value in REQUEST.items():
        args += [f"--{name}", value]
    proc = subprocess.run(
        [node, str(PROJECT / "wallet.mjs"), *args], capture_output=True, text=True, timeout=120, cwd=PROJECT
    )
    assert proc.returncode == 0, f"wallet.mjs {mode} failed:\n{proc.stdout}\n{proc.stderr}"
    answer: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return answer


def test_an_openid4vci_wallet_takes_the_mdl_and_presents_it(
    live: tuple[Container, str], node: str, tmp_path: Path
) -> None:
    container, url = live
    shown = _offer(container, url)
    answer = _wallet(node, shown, tmp_path)
    assert answer["refused"] is False and answer["keyMatches"] is True, answer
    assert answer["docType"] == "org.iso.18013.5.1.mDL" and answer["tokenType"] == "Bearer"
    assert answer["metadataVersion"] == "V1"  # the client read eDL's metadata as OpenID4VCI 1.0 (final)

    response = (tmp_path / "response.cbor").read_bytes()
    root = container.authority.root_certificate()
    at = container.clock() + timedelta(minutes=1)
    handover = openid4vp_handover(REQUEST["client-id"], REQUEST["nonce"], REQUEST["response-uri"])
    result = verify_mdoc(response, [root], at=at, session_transcript=session_transcript(handover))
    assert result.valid and result.holder_binding == "verified", result.to_json_dict()
    other = openid4vp_handover(REQUEST["client-id"], "another-nonce", REQUEST["response-uri"])
    refused = verify_mdoc(response, [root], at=at, session_transcript=session_transcript(other))
    assert not refused.valid

    (tmp_path / "root.pem").write_bytes(root.public_bytes(serialization.Encoding.PEM))
    cli = [sys.executable, "-m", "edl", "verify", "--mdoc", str(tmp_path / "response.cbor")]
    cli += ["--trust", str(tmp_path / "root.pem"), "--at", at.isoformat(), "--handover", "openid4vp"]
    cli += ["--client-id", REQUEST["client-id"], "--response-uri", REQUEST["response-uri"]]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    ok = subprocess.run([*cli, "--nonce", REQUEST["nonce"]], capture_output=True, text=True, env=env, timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert json.loads(ok.stdout)["holder_binding"] == "verified"
    bad = subprocess.run([*cli, "--nonce", "another-nonce"], capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 1, bad.stdout + bad.stderr


@pytest.mark.parametrize(
    ("mode", "error"),
    [("wrong-nonce", "invalid_nonce"), ("bad-signature", "invalid_proof"), ("replay-code", "invalid_grant")],
)
def test_the_wallet_client_is_refused_a_wrong_nonce_a_bad_proof_and_a_replayed_code(
    live: tuple[Container, str], node: str, tmp_path: Path, mode: str, error: str
) -> None:
    container, url = live
    answer = _wallet(node, _offer(container, url), tmp_path, mode)
    assert answer["refused"] is True, answer
    assert error in json.dumps(answer), answer
    assert not (tmp_path / "issued.cbor").exists()
