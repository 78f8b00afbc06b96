"""An independent wallet answers eDL's OpenID4VP endpoints (issue 15): @animo-id/mdoc builds the SessionTranscript
from the request object it is given (`SessionTranscript.forOid4Vp`, the JWK thumbprint computed by joserfc, not by
eDL) and device-signs the DeviceResponse; the response is encrypted with joserfc (JWE, ECDH-ES + A128GCM) to the
request's key and posted to its response_uri. eDL answers the relying party with the verified result; the same
presentation posted to a second request is refused. Both databases; skipped without Node.js."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from joserfc import jwe
from joserfc.jwk import ECKey
from tests.integration.test_online_verification import party_key, ready, seeded
from tests.integration.test_presentations import bind, create, fetch, request_claims
from tests.interop.npm_project import node_for
from tests.interop.test_animo_mdoc import PROJECT, Animo

from edl.bootstrap import Container
from edl.credentials.openid4vp import b64encode
from edl.verification.purposes import Purpose
from edl.web import create_app

pytestmark = pytest.mark.integration
__all__ = ["ready"]


@pytest.fixture(scope="module")
def animo() -> Animo:
    return Animo(node_for(PROJECT, "@animo-id/mdoc"))


@pytest.fixture
def client(ready: Container) -> Iterator[TestClient]:
    with TestClient(create_app(ready), follow_redirects=False, base_url="http://127.0.0.1:8000") as c:
        yield c


def _b64(value: int) -> str:
    return base64.urlsafe_b64encode(value.to_bytes(32, "big")).rstrip(b"=").decode()


def animo_presentation(animo: Animo, work: Path, claims: dict[str, Any], key: ec.EllipticCurvePrivateKey) -> bytes:
    """The DeviceResponse an @animo-id/mdoc wallet makes for `claims` (the request object), signed with `key`."""
    jwk = claims["client_metadata"]["jwks"]["keys"][0]
    thumbprint = base64.urlsafe_b64decode(ECKey.import_key(jwk).thumbprint() + "==")
    transcript = animo.run(
        "transcript",
        "--form",
        "oid4vp",
        "--client-id",
        claims["client_id"],
        "--nonce",
        claims["nonce"],
        "--response-uri",
        claims["response_uri"],
        "--jwk-thumbprint",
        thumbprint.hex(),
    )["transcript"]
    numbers = key.private_numbers()
    device = {"kty": "EC", "crv": "P-256", "x": _b64(numbers.public_numbers.x), "y": _b64(numbers.public_numbers.y)}
    (work / "device.jwk").write_text(json.dumps({**device, "d": _b64(numbers.private_value)}))
    out = work / "response.cbor"
    animo.run(
        "present",
        "--in",
        work / "issued.cbor",
        "--device-key",
        work / "device.jwk",
        "--transcript",
        transcript,
        "--out",
        out,
    )
    return out.read_bytes()


def encrypted_form(claims: dict[str, Any], data: bytes) -> dict[str, str]:
    """direct_post.jwt: {vp_token, state} as a JWE to the request's key (joserfc)."""
    jwk = claims["client_metadata"]["jwks"]["keys"][0]
    payload = {"vp_token": {"mdl": [b64encode(data)]}, "state": claims["state"]}
    token = jwe.encrypt_compact(
        {"alg": "ECDH-ES", "enc": "A128GCM", "kid": jwk["kid"]}, json.dumps(payload).encode(), ECKey.import_key(jwk)
    )
    return {"response": token}


def test_an_animo_wallet_answers_edls_request_and_its_answer_is_not_reusable(
    ready: Container, client: TestClient, animo: Animo, tmp_path: Path
) -> None:
    number, _ = seeded(ready, tmp_path)
    key = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "issued.cbor").write_bytes(bind(ready, number, key))
    _, api_key = party_key(ready, Purpose.POLICE)
    made = create(client, api_key)
    claims = request_claims(client, made)
    data = animo_presentation(animo, tmp_path, claims, key)
    r = client.post(urlsplit(claims["response_uri"]).path, data=encrypted_form(claims, data))
    assert r.status_code == 200, r.text
    got = fetch(client, api_key, made["id"]).json()
    assert got["state"] == "answered" and got["result"]["valid"] is True, got
    assert got["result"]["presentation"]["holder_binding"] == "verified"
    assert got["result"]["fields"]["licence_number"] == number

    second_made = create(client, api_key)
    second = request_claims(client, second_made)
    replay = client.post(urlsplit(second["response_uri"]).path, data=encrypted_form(second, data))
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_presentation", replay.text
    assert fetch(client, api_key, second_made["id"]).json()["state"] == "pending"
