"""OpenID4VP (issue 15): a relying party's presentation request answered by a wallet holding a device-bound mdoc,
on SQLite and PostgreSQL. The wallet here is eDL's own holder-side code (`edl.credentials.presentation.present`)
and joserfc for the encrypted response; the browser wallet is tests/browser/test_wallet_presentation.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from joserfc import jwe
from joserfc.jwk import ECKey

from edl.audit import ActorKind
from edl.bootstrap import Container
from edl.credentials import MDL_DOCTYPE
from edl.credentials.openid4vp import b64encode, read_unsecured_jwt, transcript_for
from edl.credentials.presentation import present
from edl.db.models import PresentationRequestRow, VerificationRow
from edl.db.session import transaction
from edl.domain import Status
from edl.issuance.device_bound import sign_for_device_key
from edl.registry.events import set_status
from edl.verification.presentations import MAX_FAILED_ATTEMPTS
from edl.verification.purposes import Purpose
from edl.web import create_app
from tests.integration.test_online_verification import NOW, Clock, party_key, ready, seeded, set_clock

pytestmark = pytest.mark.integration
__all__ = ["ready"]  # the fixture, re-used

API = "/api/v1/presentation-requests"


@pytest.fixture
def client(ready: Container) -> Iterator[TestClient]:
    with TestClient(create_app(ready), follow_redirects=False, base_url="http://127.0.0.1:8000") as c:
        yield c


def bind(container: Container, number: str, key: ec.EllipticCurvePrivateKey) -> bytes:
    with transaction(container.sessions) as s:
        return sign_for_device_key(
            s,
            container.issuer,
            number,
            key.public_key(),
            actor="test",
            actor_kind=ActorKind.HOLDER,
            channel="app",
            at=container.clock(),
        ).issuer_signed


def create(client: TestClient, key: str, body: Any = None) -> dict[str, Any]:
    r = client.post(API, headers={"Authorization": f"Bearer {key}"}, json=body if body is not None else {})
    assert r.status_code == 201, r.text
    made: dict[str, Any] = r.json()
    return made


def path_of(url: str) -> str:
    return urlsplit(url).path


def request_claims(client: TestClient, made: dict[str, Any]) -> dict[str, Any]:
    query = parse_qs(urlsplit(made["authorization_request_uri"]).query)
    assert query["client_id"] == [made["client_id"]]
    r = client.get(path_of(query["request_uri"][0]))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/oauth-authz-req+jwt")
    return read_unsecured_jwt(r.text)


def wallet_form(
    claims: dict[str, Any],
    issuer_signed: bytes,
    key: ec.EllipticCurvePrivateKey,
    *,
    elements: list[tuple[str, str]] | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """What a wallet posts: the DeviceResponse for the request's transcript, in clear or as a JWE."""
    jwks = claims["client_metadata"].get("jwks")
    jwk = jwks["keys"][0] if jwks else None
    transcript = transcript_for(
        client_id=claims["client_id"],
        nonce=nonce or claims["nonce"],
        response_uri=claims["response_uri"],
        encryption_key=jwk,
    )
    wanted = elements or [tuple(c["path"]) for c in claims["dcql_query"]["credentials"][0]["claims"]]
    data = present(issuer_signed, MDL_DOCTYPE, key, transcript, disclose=[(p[0], p[1]) for p in wanted])
    vp_token = {"mdl": [b64encode(data)]}
    if claims["response_mode"] == "direct_post":
        return {"vp_token": json.dumps(vp_token), "state": claims["state"]}
    payload = json.dumps({"vp_token": vp_token, "state": claims["state"]}).encode()
    token = jwe.encrypt_compact({"alg": "ECDH-ES", "enc": "A128GCM", "kid": jwk["kid"]}, payload, ECKey.import_key(jwk))
    return {"response": token}


def respond(client: TestClient, claims: dict[str, Any], form: dict[str, str]) -> Any:
    return client.post(path_of(claims["response_uri"]), data=form)


def fetch(client: TestClient, key: str, request_id: str) -> Any:
    return client.get(f"{API}/{request_id}", headers={"Authorization": f"Bearer {key}"})


@pytest.mark.parametrize("mode", ["direct_post.jwt", "direct_post"])
def test_a_wallet_answers_a_rental_desk_which_sees_only_its_fields_and_the_live_status(
    ready: Container, client: TestClient, tmp_path: Path, mode: str
) -> None:
    number, _ = seeded(ready, tmp_path)
    device = ec.generate_private_key(ec.SECP256R1())
    issuer_signed = bind(ready, number, device)
    _, key = party_key(ready, Purpose.RENTAL)
    made = create(client, key, {"response_mode": mode})
    assert made["state"] == "pending" and made["response_mode"] == mode
    claims = request_claims(client, made)
    assert claims["client_id"] == "redirect_uri:" + claims["response_uri"]
    paths = [c["path"] for c in claims["dcql_query"]["credentials"][0]["claims"]]
    assert ["org.iso.18013.5.1", "document_number"] in paths and ["org.iso.18013.5.1", "portrait"] in paths
    assert ["org.iso.18013.5.1", "resident_address"] not in paths, "a rental desk never asks for the address"
    assert (mode == "direct_post.jwt") == ("jwks" in claims["client_metadata"])

    r = respond(client, claims, wallet_form(claims, issuer_signed, device))
    assert r.status_code == 200, r.text
    got = fetch(client, key, made["id"]).json()
    assert got["state"] == "answered"
    result = got["result"]
    assert result["valid"] is True and result["status"] == "valid" and result["method"] == "openid4vp"
    assert set(result["fields"]) == {"name", "photo", "classes", "valid_from", "valid_until", "status"}
    assert "licence_number" not in result["fields"], "the number is for the registry lookup, not for the desk"
    assert result["presentation"]["holder_binding"] == "verified"
    with ready.sessions() as s:
        rows = list(s.scalars(sa.select(VerificationRow)))
    assert [(r.method, r.licence_number, r.valid) for r in rows] == [("openid4vp", number, True)]

    again = respond(client, claims, wallet_form(claims, issuer_signed, device))
    assert again.status_code == 400 and "closed" in again.json()["error_description"]


def test_a_response_replayed_to_a_second_request_is_refused(
    ready: Container, client: TestClient, tmp_path: Path
) -> None:
    number, _ = seeded(ready, tmp_path)
    device = ec.generate_private_key(ec.SECP256R1())
    issuer_signed = bind(ready, number, device)
    _, key = party_key(ready, Purpose.RENTAL)
    first = request_claims(client, create(client, key, {"response_mode": "direct_post"}))
    form = wallet_form(first, issuer_signed, device)
    assert respond(client, first, form).status_code == 200
    second_made = create(client, key, {"response_mode": "direct_post"})
    second = request_claims(client, second_made)
    replay = dict(form, state=second["state"])
    r = respond(client, second, replay)
    assert r.status_code == 400 and r.json()["error"] == "invalid_presentation", r.text
    assert fetch(client, key, second_made["id"]).json()["state"] == "pending", "a refused response closes nothing"


@pytest.mark.parametrize("wrong", ["nonce", "key", "elements"])
def test_a_presentation_for_another_nonce_or_key_or_without_the_asked_elements_is_refused(
    ready: Container, client: TestClient, tmp_path: Path, wrong: str
) -> None:
    number, _ = seeded(ready, tmp_path)
    device = ec.generate_private_key(ec.SECP256R1())
    issuer_signed = bind(ready, number, device)
    _, key = party_key(ready, Purpose.POLICE)
    made = create(client, key)
    claims = request_claims(client, made)
    if wrong == "nonce":
        form = wallet_form(claims, issuer_signed, device, nonce="another-nonce")
    elif wrong == "key":
        form = wallet_form(claims, issuer_signed, ec.generate_private_key(ec.SECP256R1()))
    else:
        form = wallet_form(claims, issuer_signed, device, elements=[("org.iso.18013.5.1", "document_number")])
    r = respond(client, claims, form)
    assert r.status_code == 400 and r.json()["error"] == "invalid_presentation", r.text
    with ready.sessions() as s:
        assert s.scalars(sa.select(VerificationRow)).first() is None


def test_a_suspended_licence_is_answered_not_valid(ready: Container, client: TestClient, tmp_path: Path) -> None:
    number, _ = seeded(ready, tmp_path)
    device = ec.generate_private_key(ec.SECP256R1())
    issuer_signed = bind(ready, number, device)
    with transaction(ready.sessions) as s:
        set_status(s, number, Status.SUSPENDED, actor="test", at=NOW + timedelta(seconds=5))
    set_clock(ready, NOW + timedelta(seconds=10))
    _, key = party_key(ready, Purpose.POLICE)
    made = create(client, key)
    claims = request_claims(client, made)
    assert respond(client, claims, wallet_form(claims, issuer_signed, device)).status_code == 200
    result = fetch(client, key, made["id"]).json()["result"]
    assert result["valid"] is False and result["status"] == "suspended"


def test_an_mdoc_bound_to_an_earlier_device_answers_not_current(
    ready: Container, client: TestClient, tmp_path: Path
) -> None:
    number, _ = seeded(ready, tmp_path)
    old = ec.generate_private_key(ec.SECP256R1())
    old_mdoc = bind(ready, number, old)
    bind(ready, number, ec.generate_private_key(ec.SECP256R1()))  # the app on a new phone
    _, key = party_key(ready, Purpose.POLICE)
    made = create(client, key)
    claims = request_claims(client, made)
    assert respond(client, claims, wallet_form(claims, old_mdoc, old)).status_code == 200
    result = fetch(client, key, made["id"]).json()["result"]
    assert result["valid"] is False and [e["code"] for e in result["errors"]] == ["device_key_not_current"]


def test_a_party_reads_only_its_own_requests(ready: Container, client: TestClient) -> None:
    _, mine = party_key(ready, Purpose.RENTAL, name="desk A")
    _, theirs = party_key(ready, Purpose.POLICE, name="desk B")
    made = create(client, mine)
    assert fetch(client, theirs, made["id"]).status_code == 404
    assert fetch(client, mine, made["id"]).status_code == 200
    assert client.get(f"{API}/{made['id']}").status_code == 401
    assert client.post(API, json={}).status_code == 401


def test_junk_does_not_close_a_request_until_the_failure_limit(ready: Container, client: TestClient) -> None:
    _, key = party_key(ready, Purpose.RENTAL)
    made = create(client, key, {"response_mode": "direct_post"})
    claims = request_claims(client, made)
    for _ in range(MAX_FAILED_ATTEMPTS - 1):
        r = respond(client, claims, {"vp_token": '{"mdl": ["AAAA"]}', "state": claims["state"]})
        assert r.status_code == 400
        assert fetch(client, key, made["id"]).json()["state"] == "pending"
    respond(client, claims, {"vp_token": "not json", "state": claims["state"]})
    assert fetch(client, key, made["id"]).json()["state"] == "refused"


def test_the_holder_may_decline_and_an_expired_request_cannot_be_answered(ready: Container, client: TestClient) -> None:
    _, key = party_key(ready, Purpose.RENTAL)
    made = create(client, key)
    claims = request_claims(client, made)
    assert respond(client, claims, {"error": "access_denied"}).status_code == 200
    assert fetch(client, key, made["id"]).json()["state"] == "declined"
    late = create(client, key)
    clock = ready.clock
    assert isinstance(clock, Clock)
    clock.at = NOW + timedelta(minutes=6)
    assert fetch(client, key, late["id"]).json()["state"] == "expired"
    assert client.get(path_of(late["request_uri"])).status_code == 400
    with ready.sessions() as s:
        assert s.get(PresentationRequestRow, late["id"]) is not None


def test_a_plain_response_to_an_encrypted_request_is_refused(
    ready: Container, client: TestClient, tmp_path: Path
) -> None:
    number, _ = seeded(ready, tmp_path)
    device = ec.generate_private_key(ec.SECP256R1())
    issuer_signed = bind(ready, number, device)
    _, key = party_key(ready, Purpose.RENTAL)
    claims = request_claims(client, create(client, key))
    plain = dict(claims, response_mode="direct_post")
    plain["client_metadata"] = {k: v for k, v in claims["client_metadata"].items() if k != "jwks"}
    r = respond(client, claims, wallet_form(plain, issuer_signed, device))
    assert r.status_code == 400 and "encrypted" in r.json()["error_description"]
