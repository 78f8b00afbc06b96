"""OpenID4VCI (issue 15): the offer in the driver's app, the token, nonce and credential endpoints, and every
refusal, through HTTP on SQLite and PostgreSQL. The wallet is a few lines of joserfc (tests/vci_helpers.py); the
independent wallet client is tests/interop/test_openid4vci_wallet.py."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from joserfc import jws
from joserfc.jwk import OctKey

from edl.bootstrap import Container
from edl.credentials import MDL_DOCTYPE
from edl.credentials.device_auth import openid4vp_handover, session_transcript
from edl.credentials.openid4vci import PRE_AUTHORIZED_GRANT, digest
from edl.credentials.openid4vp import b64encode
from edl.credentials.presentation import present
from edl.credentials.verify import verify_mdoc
from edl.db.models import AuditRow, OutboxRow, VciOfferRow, VciTokenRow
from edl.db.session import transaction
from edl.domain import Status
from edl.issuance.device_bound import device_key_bytes
from edl.registry.events import set_status
from edl.web import create_app
from tests.auth_helpers import Clock, csrf_of, post_burst, sign_in_holder
from tests.vci_helpers import (
    BASE,
    access_token,
    ask_credential,
    c_nonce,
    device_key_of,
    driver_with_elicence,
    make_offer,
    proof_jwt,
    public_jwk,
    take_token,
)
from tests.workflow import prepare, seed_licence

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 16, 2, 0, tzinfo=UTC)  # Monday 10:00 in Beijing


@pytest.fixture
def clock(container: Container) -> Clock:
    prepare(container, NOW)
    clock = Clock(NOW)
    container.clock = clock
    return clock


@pytest.fixture
def client(container: Container, clock: Clock) -> Iterator[TestClient]:
    with TestClient(create_app(container), follow_redirects=False, base_url=BASE) as c:
        yield c


@pytest.fixture
def number(client: TestClient, container: Container) -> str:
    return driver_with_elicence(client, container, NOW)


def _issued(client: TestClient, container: Container, key: ec.EllipticCurvePrivateKey) -> bytes:
    token = access_token(client, make_offer(client))
    r = ask_credential(client, token, [proof_jwt(key, c_nonce(client), at=container.clock())])
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"].startswith("no-store")
    (entry,) = r.json()["credentials"]
    return base64.urlsafe_b64decode(entry["credential"] + "=" * (-len(entry["credential"]) % 4))


# --- metadata --------------------------------------------------------------------------------------------------------


def test_the_issuer_metadata_describes_the_mdl_and_the_endpoints(client: TestClient) -> None:
    r = client.get("/.well-known/openid-credential-issuer")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.headers["cache-control"].startswith("public")
    meta = r.json()
    assert meta["credential_issuer"] == BASE
    assert meta["credential_endpoint"] == BASE + "/openid4vci/credential"
    assert meta["nonce_endpoint"] == BASE + "/openid4vci/nonce"
    mdl = meta["credential_configurations_supported"]["org.iso.18013.5.1.mDL"]
    assert mdl["format"] == "mso_mdoc" and mdl["doctype"] == MDL_DOCTYPE
    assert mdl["cryptographic_binding_methods_supported"] == ["cose_key"]
    assert mdl["credential_signing_alg_values_supported"] == [-7]
    assert mdl["proof_types_supported"] == {"jwt": {"proof_signing_alg_values_supported": ["ES256"]}}
    locales = {d["locale"] for d in mdl["credential_metadata"]["display"]}
    assert locales == {"zh-CN", "en"}
    assert ["org.iso.18013.5.1", "document_number"] in [c["path"] for c in mdl["credential_metadata"]["claims"]]


def test_the_authorization_server_metadata_offers_the_anonymous_pre_authorized_grant(client: TestClient) -> None:
    r = client.get("/.well-known/oauth-authorization-server")
    assert r.status_code == 200 and r.headers["cache-control"].startswith("public")
    meta = r.json()
    assert meta["issuer"] == BASE and meta["token_endpoint"] == BASE + "/openid4vci/token"
    assert meta["pre-authorized_grant_anonymous_access_supported"] is True
    assert meta["grant_types_supported"] == [PRE_AUTHORIZED_GRANT]


# --- the happy path --------------------------------------------------------------------------------------------------


def test_a_wallet_takes_the_mdl_bound_to_its_proof_key_and_it_verifies(
    client: TestClient, container: Container, number: str
) -> None:
    shown = make_offer(client)
    assert shown.uri.startswith("openid-credential-offer://?credential_offer=")
    assert shown.offer["credential_issuer"] == BASE
    assert shown.offer["credential_configuration_ids"] == ["org.iso.18013.5.1.mDL"]
    grant = shown.offer["grants"][PRE_AUTHORIZED_GRANT]
    assert len(base64.urlsafe_b64decode(grant["pre-authorized_code"] + "==")) >= 16  # ≥ 128 bits
    assert grant["tx_code"]["length"] == 6 and grant["tx_code"]["input_mode"] == "numeric"
    with container.sessions() as s:
        (offer,) = s.scalars(sa.select(VciOfferRow)).all()
    assert offer.code_hash == digest(shown.code) and shown.code not in str(vars(offer))  # kept as a digest
    assert offer.licence_number == number and offer.expires_at == NOW + timedelta(minutes=5)

    r = take_token(client, shown.code, shown.tx_code)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"].startswith("no-store")
    answer = r.json()
    assert answer["token_type"] == "Bearer" and 0 < answer["expires_in"] <= 300
    with container.sessions() as s:
        (token_row,) = s.scalars(sa.select(VciTokenRow)).all()
    assert token_row.token_hash == digest(answer["access_token"]) and token_row.licence_number == number

    key = ec.generate_private_key(ec.SECP256R1())
    r = ask_credential(client, answer["access_token"], [proof_jwt(key, c_nonce(client), at=NOW)])
    assert r.status_code == 200, r.text
    credential = r.json()["credentials"][0]["credential"]
    assert "=" not in credential
    issuer_signed = base64.urlsafe_b64decode(credential + "=" * (-len(credential) % 4))
    assert device_key_of(container, number) == device_key_bytes(key.public_key())

    root = [container.authority.root_certificate()]
    transcript = session_transcript(
        openid4vp_handover("redirect_uri:https://rp.example/r", "n-1", "https://rp.example/r")
    )
    response = present(issuer_signed, MDL_DOCTYPE, key, transcript)
    result = verify_mdoc(response, root, at=NOW + timedelta(minutes=1), session_transcript=transcript)
    assert result.valid and result.holder_binding == "verified", result.to_json_dict()
    other = ec.generate_private_key(ec.SECP256R1())
    assert not verify_mdoc(
        present(issuer_signed, MDL_DOCTYPE, other, transcript), root, at=NOW, session_transcript=transcript
    ).valid
    with container.sessions() as s:
        audits = s.scalars(sa.select(AuditRow).where(AuditRow.action == "device_key")).all()
    channels = [(a.outcome, (a.detail or {}).get("channel")) for a in audits]
    assert ("offered", "openid4vci") in channels and ("rebound", "openid4vci") in channels
    with container.sessions() as s:
        texts = [str(r.payload["text"]) for r in s.scalars(sa.select(OutboxRow).where(OutboxRow.kind == "sms"))]
    assert any("数字钱包" in t and "wallet" in t for t in texts), "the registered mobile learns of the new wallet"


# --- the offer in the app --------------------------------------------------------------------------------------------


def test_the_offer_needs_a_fresh_real_person_check(
    client: TestClient, container: Container, clock: Clock, number: str
) -> None:
    clock.advance(minutes=6)  # the bind's check is 6 minutes old
    page = client.get("/app/wallet-offer")
    assert page.status_code == 303 and page.headers["location"] == "/app/verify-face?next=/app/wallet-offer"
    r = client.post("/app/wallet-offer", data={"csrf": csrf_of(client)})
    assert r.status_code == 303 and r.headers["location"] == "/app/verify-face?next=/app/wallet-offer"
    with container.sessions() as s:
        assert s.scalars(sa.select(VciOfferRow)).all() == []
    passed = post_burst(client, "/app/verify-face", {"next": "/app/wallet-offer"})
    assert passed.status_code == 303 and passed.headers["location"] == "/app/wallet-offer"
    page = client.get("/app/wallet-offer")
    assert page.status_code == 200 and "生成添加码" in page.text
    make_offer(client)


def test_the_licence_page_leads_to_the_offer(client: TestClient, number: str) -> None:
    page = client.get("/app/licence")
    assert page.status_code == 200 and 'href="/app/wallet-offer"' in page.text


def test_the_offer_page_needs_the_csrf_token(client: TestClient, container: Container, number: str) -> None:
    r = client.post("/app/wallet-offer", data={})
    assert r.status_code in (400, 403)
    with container.sessions() as s:
        assert s.scalars(sa.select(VciOfferRow)).all() == []


def test_a_driver_without_an_elicence_gets_no_offer(client: TestClient, container: Container) -> None:
    number = seed_licence(container, NOW)
    sign_in_holder(client, container)
    assert post_burst(client, "/app/bind", {"number": number, "name": "张三"}, "bind").status_code == 303
    r = client.post("/app/wallet-offer", data={"csrf": csrf_of(client)})
    assert r.status_code == 404 and "没有有效的电子驾驶证" in r.text
    assert "openid-credential-offer" not in r.text
    with container.sessions() as s:
        assert s.scalars(sa.select(VciOfferRow)).all() == []


def test_a_suspended_licence_gets_no_offer(client: TestClient, container: Container, number: str) -> None:
    with transaction(container.sessions) as s:
        set_status(s, number, Status.SUSPENDED, actor="test", at=NOW)
    r = client.post("/app/wallet-offer", data={"csrf": csrf_of(client)})
    assert r.status_code == 409 and "openid-credential-offer" not in r.text
    with container.sessions() as s:
        assert s.scalars(sa.select(VciOfferRow)).all() == []


def test_a_licence_suspended_after_the_offer_gets_no_credential_and_the_token_is_not_spent(
    client: TestClient, container: Container, number: str
) -> None:
    token = access_token(client, make_offer(client))
    before = device_key_of(container, number)
    with transaction(container.sessions) as s:
        set_status(s, number, Status.SUSPENDED, actor="test", at=NOW)
    key = ec.generate_private_key(ec.SECP256R1())
    r = ask_credential(client, token, [proof_jwt(key, c_nonce(client), at=NOW)])
    assert r.status_code == 400 and r.json()["error"] == "credential_request_denied", r.text
    assert device_key_of(container, number) == before
    with container.sessions() as s:
        assert s.scalars(sa.select(VciTokenRow.used_at)).one() is None


# --- the token endpoint ----------------------------------------------------------------------------------------------


def test_a_replayed_pre_authorized_code_is_refused(client: TestClient, number: str) -> None:
    shown = make_offer(client)
    assert take_token(client, shown.code, shown.tx_code).status_code == 200
    again = take_token(client, shown.code, shown.tx_code)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert again.headers["cache-control"].startswith("no-store")


def test_an_expired_pre_authorized_code_is_refused(client: TestClient, clock: Clock, number: str) -> None:
    shown = make_offer(client)
    clock.advance(minutes=5, seconds=1)
    r = take_token(client, shown.code, shown.tx_code)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_an_unknown_code_and_a_wrong_grant_type_are_refused(client: TestClient) -> None:
    r = take_token(client, "x" * 43, "123456")
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    r = client.post("/openid4vci/token", data={"grant_type": "authorization_code", "code": "x"})
    assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"
    r = client.post("/openid4vci/token", json={"grant_type": PRE_AUTHORIZED_GRANT})
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


def test_a_missing_tx_code_is_refused_and_three_wrong_ones_spend_the_code(client: TestClient, number: str) -> None:
    shown = make_offer(client)
    r = take_token(client, shown.code, None)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    wrong = "000000" if shown.tx_code != "000000" else "111111"
    for left in (2, 1, 0):
        r = take_token(client, shown.code, wrong)
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
        assert (f"{left} tries left" in r.json()["error_description"]) == (left > 0)
    r = take_token(client, shown.code, shown.tx_code)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


# --- the credential endpoint -----------------------------------------------------------------------------------------


def test_a_bad_or_missing_access_token_is_401(client: TestClient, number: str) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    proof = proof_jwt(key, c_nonce(client), at=NOW)
    r = ask_credential(client, "not-a-token", [proof])
    assert r.status_code == 401 and r.json()["error"] == "invalid_token"
    assert r.headers["www-authenticate"].startswith("Bearer")
    r = client.post("/openid4vci/credential", json={"credential_configuration_id": "org.iso.18013.5.1.mDL"})
    assert r.status_code == 401 and r.json()["error"] == "invalid_token"


def test_an_expired_access_token_is_401(client: TestClient, clock: Clock, number: str) -> None:
    token = access_token(client, make_offer(client))
    clock.advance(minutes=5, seconds=1)
    key = ec.generate_private_key(ec.SECP256R1())
    r = ask_credential(client, token, [proof_jwt(key, c_nonce(client), at=clock())])
    assert r.status_code == 401 and r.json()["error"] == "invalid_token"


def test_a_token_binds_one_wallet_only(client: TestClient, container: Container, number: str) -> None:
    token = access_token(client, make_offer(client))
    first, second = (ec.generate_private_key(ec.SECP256R1()) for _ in range(2))
    assert ask_credential(client, token, [proof_jwt(first, c_nonce(client), at=NOW)]).status_code == 200
    r = ask_credential(client, token, [proof_jwt(second, c_nonce(client), at=NOW)])
    assert r.status_code == 401 and r.json()["error"] == "invalid_token"
    assert device_key_of(container, number) == device_key_bytes(first.public_key())


def _refused(
    client: TestClient, container: Container, number: str, proof: str, code: str, token: str | None = None
) -> None:
    before = device_key_of(container, number)
    token = token or access_token(client, make_offer(client))
    r = ask_credential(client, token, [proof])
    assert r.status_code == 400, r.text
    assert r.json()["error"] == code, r.text
    assert device_key_of(container, number) == before
    with container.sessions() as s:  # nothing spent: the wallet may try again with a good proof
        assert s.scalar(sa.select(VciTokenRow.used_at).where(VciTokenRow.token_hash == digest(token))) is None


def test_a_nonce_the_server_did_not_issue_is_refused(client: TestClient, container: Container, number: str) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    _refused(
        client,
        container,
        number,
        proof_jwt(key, "n1.1773626400.made-up.AAAAAAAAAAAAAAAAAAAAAA", at=NOW),
        "invalid_nonce",
    )
    _refused(client, container, number, proof_jwt(key, None, at=NOW), "invalid_nonce")


def test_a_used_nonce_is_refused(client: TestClient, container: Container, number: str) -> None:
    nonce = c_nonce(client)
    first = ec.generate_private_key(ec.SECP256R1())
    token = access_token(client, make_offer(client))
    assert ask_credential(client, token, [proof_jwt(first, nonce, at=NOW)]).status_code == 200
    again = ec.generate_private_key(ec.SECP256R1())
    _refused(client, container, number, proof_jwt(again, nonce, at=NOW), "invalid_nonce")


def test_a_stale_nonce_is_refused(client: TestClient, container: Container, clock: Clock, number: str) -> None:
    nonce = c_nonce(client)
    clock.advance(minutes=5, seconds=1)
    assert post_burst(client, "/app/verify-face", {"next": "/app/wallet-offer"}).status_code == 303
    key = ec.generate_private_key(ec.SECP256R1())
    _refused(client, container, number, proof_jwt(key, nonce, at=clock()), "invalid_nonce")


def test_a_proof_with_a_bad_signature_is_refused(client: TestClient, container: Container, number: str) -> None:
    key, other = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    signed_by_other = proof_jwt(other, c_nonce(client), at=NOW, header={"jwk": public_jwk(key)})
    _refused(client, container, number, signed_by_other, "invalid_proof")
    good = proof_jwt(key, c_nonce(client), at=NOW)
    head, body, sig = good.split(".")
    flipped = sig[:-2] + ("AA" if sig[-2:] != "AA" else "BB")
    _refused(client, container, number, f"{head}.{body}.{flipped}", "invalid_proof")


def test_a_proof_for_another_audience_is_refused(client: TestClient, container: Container, number: str) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    _refused(
        client, container, number, proof_jwt(key, c_nonce(client), at=NOW, aud="https://other.example"), "invalid_proof"
    )


def test_a_stale_or_future_proof_is_refused(client: TestClient, container: Container, number: str) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    old = proof_jwt(key, c_nonce(client), iat=(NOW - timedelta(minutes=3)).timestamp())
    _refused(client, container, number, old, "invalid_proof")
    ahead = proof_jwt(key, c_nonce(client), iat=(NOW + timedelta(minutes=3)).timestamp())
    _refused(client, container, number, ahead, "invalid_proof")


def _unsigned(header: dict[str, object], claims: dict[str, object]) -> str:
    def part(value: dict[str, object]) -> str:
        import json

        return b64encode(json.dumps(value).encode())

    return f"{part(header)}.{part(claims)}."


def test_alg_none_and_hs256_proofs_are_refused(client: TestClient, container: Container, number: str) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    claims = {"aud": BASE, "iat": int(NOW.timestamp()), "nonce": c_nonce(client)}
    none = _unsigned({"alg": "none", "typ": "openid4vci-proof+jwt", "jwk": public_jwk(key)}, claims)
    _refused(client, container, number, none, "invalid_proof")
    import json

    secret = OctKey.import_key(b"k" * 32)
    hs = jws.serialize_compact(
        {"alg": "HS256", "typ": "openid4vci-proof+jwt", "jwk": public_jwk(key)},
        json.dumps({**claims, "nonce": c_nonce(client)}).encode(),
        secret,
        algorithms=["HS256"],
    )
    _refused(client, container, number, hs, "invalid_proof")


def test_a_private_key_in_the_jwk_header_is_refused(client: TestClient, container: Container, number: str) -> None:
    from joserfc.jwk import ECKey

    key = ec.generate_private_key(ec.SECP256R1())
    private = dict(ECKey.import_key(key).as_dict(private=True))
    _refused(
        client, container, number, proof_jwt(key, c_nonce(client), at=NOW, header={"jwk": private}), "invalid_proof"
    )


def test_a_proof_with_the_wrong_typ_or_a_kid_is_refused(client: TestClient, container: Container, number: str) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    _refused(client, container, number, proof_jwt(key, c_nonce(client), at=NOW, header={"typ": "JWT"}), "invalid_proof")
    _refused(client, container, number, proof_jwt(key, c_nonce(client), at=NOW, header={"kid": "k1"}), "invalid_proof")
    _refused(client, container, number, "a.b.c", "invalid_proof")
    p384 = ec.generate_private_key(ec.SECP384R1())
    from joserfc.jwk import ECKey

    p384_header = {
        "alg": "ES384",
        "typ": "openid4vci-proof+jwt",
        "jwk": dict(ECKey.import_key(p384.public_key()).as_dict()),
    }
    import json

    es384 = jws.serialize_compact(
        p384_header,
        json.dumps({"aud": BASE, "iat": int(NOW.timestamp()), "nonce": c_nonce(client)}).encode(),
        ECKey.import_key(p384),
        algorithms=["ES384"],
    )
    _refused(client, container, number, es384, "invalid_proof")


def test_malformed_credential_requests_are_refused(client: TestClient, container: Container, number: str) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    token = access_token(client, make_offer(client))
    proof = proof_jwt(key, c_nonce(client), at=NOW)
    headers = {"Authorization": f"Bearer {token}"}
    cases = [
        (
            {"credential_configuration_id": "eu.europa.ec.eudi.pid.1", "proofs": {"jwt": [proof]}},
            "unknown_credential_configuration",
        ),
        (
            {"credential_configuration_id": "org.iso.18013.5.1.mDL", "proofs": {"jwt": [proof, proof]}},
            "invalid_credential_request",
        ),
        (
            {"credential_configuration_id": "org.iso.18013.5.1.mDL", "proof": {"proof_type": "jwt", "jwt": proof}},
            "invalid_credential_request",
        ),
        ({"credential_configuration_id": "org.iso.18013.5.1.mDL"}, "invalid_credential_request"),
        ({"credential_identifier": "x", "proofs": {"jwt": [proof]}}, "invalid_credential_request"),
        (["not", "an", "object"], "invalid_credential_request"),
    ]
    for body, code in cases:
        r = client.post("/openid4vci/credential", json=body, headers=headers)
        assert r.status_code == 400 and r.json()["error"] == code, (body, r.text)
    r = ask_credential(client, token, [proof])  # the token and the nonce still work
    assert r.status_code == 200, r.text
