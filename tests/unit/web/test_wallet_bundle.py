"""The driver app's wallet (static/vendor/wallet.min.js, built from web-src/src/wallet-*.js) run in Node's WebCrypto:
its key is not extractable, and what it presents verifies in eDL's verifier for the request's transcript only
(the browser itself is tests/browser/test_wallet_presentation.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import cbor2
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from joserfc.jwk import ECKey

from edl.credentials import MDL_DOCTYPE, MDL_NAMESPACE, issue_mdoc, verify_mdoc
from edl.credentials.openid4vp import (
    b64decode,
    derive_response_key,
    encryption_jwk,
    presentations,
    read_direct_post,
    request_object,
    transcript_for,
    unsecured_jwt,
)
from edl.web.rendering import STATIC_DIR
from tests.unit.credentials.builders import NOW, make_pki, mdl_namespaces

BUNDLE = STATIC_DIR / "vendor" / "wallet.min.js"
DRIVER = Path(__file__).with_name("wallet_node.mjs")
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed (the browser test covers the wallet)")
RESPONSE_URI = "https://edl.example/openid4vp/responses/0123456789abcdef0123456789abcdef"
ASKED = [(MDL_NAMESPACE, "family_name"), (MDL_NAMESPACE, "document_number")]


def run_wallet(mode: str) -> tuple[dict[str, Any], dict[str, Any], Any, dict[str, Any]]:
    """(the wallet's key message, its answer, the PKI, the request's claims)."""
    pki = make_pki()
    assert NODE is not None
    proc = subprocess.Popen([NODE, str(DRIVER), str(BUNDLE)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    first = json.loads(proc.stdout.readline())
    device = ECKey.import_key(first["jwk"]).get_op_key("verify")
    assert isinstance(device, ec.EllipticCurvePublicKey)
    issued = issue_mdoc(
        MDL_DOCTYPE,
        mdl_namespaces(),
        pki.signer,
        device,
        valid_from=NOW,
        valid_until=NOW + timedelta(days=1),
        signed_at=NOW,
    )
    key = derive_response_key(b"s" * 32, "0123456789abcdef0123456789abcdef")
    jwk = encryption_jwk(key, kid="k1") if mode == "direct_post.jwt" else None
    claims = request_object(
        response_uri=RESPONSE_URI,
        nonce="n-0S6_WzA2Mj",
        state="0123456789abcdef0123456789abcdef",
        response_mode=mode,
        elements=ASKED,
        encryption_jwk=jwk,
        issued_at=0,
        expires_at=1,
    )
    line = json.dumps({"issuer_signed": _b64(issued), "request_object": unsecured_jwt(claims)})
    out, _ = proc.communicate(line + "\n", timeout=60)
    assert proc.returncode == 0
    return first, json.loads(out), pki, claims


def _b64(data: bytes) -> str:
    from edl.credentials.openid4vp import b64encode

    return b64encode(data)


@pytest.mark.parametrize("mode", ["direct_post.jwt", "direct_post"])
def test_the_browser_wallet_presents_only_the_asked_elements_for_this_transcript(mode: str) -> None:
    first, answer, pki, claims = run_wallet(mode)
    assert first["extractable"] is False, "the device key's private half never leaves WebCrypto"
    assert set(first["jwk"]) == {"kty", "crv", "x", "y"}, "only the public key is exported"
    key = derive_response_key(b"s" * 32, "0123456789abcdef0123456789abcdef")
    vp_token, state = read_direct_post(answer["form"], response_mode=mode, decryption_key=key)
    assert state == claims["state"]
    (data,) = presentations(vp_token)
    assert data == b64decode(answer["device_response"])
    jwk = claims["client_metadata"]["jwks"]["keys"][0] if mode == "direct_post.jwt" else None
    transcript = transcript_for(
        client_id=claims["client_id"], nonce=claims["nonce"], response_uri=RESPONSE_URI, encryption_key=jwk
    )
    result = verify_mdoc(data, [pki.root], at=NOW, session_transcript=transcript)
    assert result.valid and result.holder_binding == "verified", result.errors
    assert set(result.claims[MDL_NAMESPACE]) == {"family_name", "document_number"}
    other = transcript_for(client_id=claims["client_id"], nonce="other", response_uri=RESPONSE_URI, encryption_key=jwk)
    assert verify_mdoc(data, [pki.root], at=NOW, session_transcript=other).holder_binding == "failed"
    assert cbor2.loads(data)["documents"][0]["deviceSigned"]["deviceAuth"].keys() == {"deviceSignature"}


def test_the_key_proof_is_an_es256_signature_over_the_challenge() -> None:
    first, _, _, _ = run_wallet("direct_post")
    public = ECKey.import_key(first["jwk"]).get_op_key("verify")
    raw = b64decode(first["proof"])
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public.verify(der, b"challenge", ec.ECDSA(hashes.SHA256()))
