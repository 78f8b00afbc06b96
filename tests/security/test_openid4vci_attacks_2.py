"""More attacks on OpenID4VCI issuance (issue 15), beyond tests/security/test_openid4vci_attacks.py, on SQLite and
PostgreSQL. Each test is named for the secure behaviour; a hole found is marked ``xfail(strict=True, reason="HOLE")``.

- The token endpoint: grant types, the code and tx_code in other places and encodings, several tx_code values in one
  request, concurrent wrong guesses, a code at its expiry, another driver's code, a code of a re-bound account.
- The credential endpoint: the token outside the Authorization header, other schemes, proofs with odd headers and
  claims (aud, typ, alg, jwk, crit, x5c, duplicate members, NaN / huge ``iat``, deep nesting), nonces made with
  other server secrets or re-spelt, and what a wallet may choose about the credential (nothing but its key).
- The driver's page: CSRF across sessions, offers for unbound accounts and revoked licences; no secret in the logs,
  the audit log or a URL; errors shaped per RFC 6749 / OpenID4VCI, no-store where secrets pass.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import cbor2
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from fastapi import FastAPI
from fastapi.testclient import TestClient
from structlog.testing import capture_logs

from edl.applications.binding import unbind_licence
from edl.bootstrap import Container
from edl.credentials import MDL_DOCTYPE
from edl.credentials.openid4vci import PRE_AUTHORIZED_GRANT, PROOF_TYPE, digest, make_nonce
from edl.db.models import AuditRow, ElicenceRow, VciOfferRow, VciTokenRow
from edl.db.session import transaction
from edl.domain import Status
from edl.issuance.device_bound import device_key_bytes
from edl.issuance.elicences import issue_elicence
from edl.issuance.openid4vci import VciRefused
from edl.registry.events import set_status
from edl.web import create_app
from tests.auth_helpers import Clock, csrf_of, post_burst
from tests.vci_helpers import (
    BASE,
    ShownOffer,
    access_token,
    ask_credential,
    c_nonce,
    device_key_of,
    driver_with_elicence,
    make_offer,
    proof_jwt,
    public_jwk,
    race,
    take_token,
)
from tests.workflow import prepare, seed_licence, standing_sanction

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 16, 2, 0, tzinfo=UTC)
MDL = "org.iso.18013.5.1.mDL"
TOKEN = "/openid4vci/token"
CREDENTIAL = "/openid4vci/credential"


@pytest.fixture
def clock(container: Container) -> Clock:
    prepare(container, NOW)
    clock = Clock(NOW)
    container.clock = clock
    return clock


@pytest.fixture
def app(container: Container, clock: Clock) -> FastAPI:
    return create_app(container)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """The driver's phone and their wallet; a server error answers 500 (not raised) so the tests can see it."""
    with TestClient(app, follow_redirects=False, base_url=BASE, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def other(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False, base_url=BASE, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def number(client: TestClient, container: Container) -> str:
    return driver_with_elicence(client, container, NOW)


def _token_used(container: Container, token: str) -> bool:
    with container.sessions() as s:
        return s.scalar(sa.select(VciTokenRow.used_at).where(VciTokenRow.token_hash == digest(token))) is not None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _raw_jws(key: ec.EllipticCurvePrivateKey, header: bytes, payload: bytes) -> str:
    """A compact ES256 JWS over exactly these header and payload bytes (whatever JSON they hold, or none)."""
    signing_input = f"{_b64(header)}.{_b64(payload)}"
    r, s = decode_dss_signature(key.sign(signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256())))
    size = (key.curve.key_size + 7) // 8
    return f"{signing_input}.{_b64(r.to_bytes(size, 'big') + s.to_bytes(size, 'big'))}"


def _header_bytes(key: ec.EllipticCurvePrivateKey, **extra: Any) -> bytes:
    return json.dumps({"alg": "ES256", "typ": PROOF_TYPE, "jwk": public_jwk(key), **extra}).encode()


def _assert_oauth_error(r: Any, status: int, code: str) -> None:
    """An RFC 6749 §5.2 / OpenID4VCI §8.3.1.2 error: JSON with ``error`` (and a description), no-store, no trace."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json"), r.headers
    body = r.json()
    assert body["error"] == code, r.text
    assert set(body) <= {"error", "error_description", "error_uri"}, body
    assert "Traceback" not in r.text and 'File "' not in r.text
    assert r.headers["cache-control"].startswith("no-store")


# --- the token endpoint ----------------------------------------------------------------------------------------------


def test_other_grant_types_and_respelt_grant_names_are_refused(client: TestClient, number: str) -> None:
    shown = make_offer(client)
    for grant in (
        "authorization_code",
        "client_credentials",
        "password",
        "refresh_token",
        PRE_AUTHORIZED_GRANT.upper(),
        PRE_AUTHORIZED_GRANT + " ",
        "urn:ietf:params:oauth:grant-type:pre-authorized_code:x",
        "",
    ):
        r = client.post(
            TOKEN,
            data={"grant_type": grant, "pre-authorized_code": shown.code, "tx_code": shown.tx_code},
        )
        _assert_oauth_error(r, 400, "unsupported_grant_type")
    assert access_token(client, shown)  # none of them touched the code


def test_the_code_in_a_json_body_or_the_query_string_is_refused(client: TestClient, number: str) -> None:
    shown = make_offer(client)
    fields = {"grant_type": PRE_AUTHORIZED_GRANT, "pre-authorized_code": shown.code, "tx_code": shown.tx_code}
    _assert_oauth_error(client.post(TOKEN, json=fields), 400, "invalid_request")
    r = client.post(TOKEN, params=fields, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400 and r.json()["error"] in ("invalid_request", "unsupported_grant_type"), r.text
    r = client.post(TOKEN, params=fields, data={"grant_type": PRE_AUTHORIZED_GRANT})
    _assert_oauth_error(r, 400, "invalid_request")
    r = client.post(TOKEN, content=json.dumps(fields), headers={"Content-Type": "text/plain"})
    _assert_oauth_error(r, 400, "invalid_request")
    r = client.get(TOKEN, params=fields)
    assert r.status_code == 405
    assert access_token(client, shown)


def test_several_tx_codes_in_one_request_are_one_guess_and_are_refused(
    client: TestClient, container: Container, number: str
) -> None:
    shown = make_offer(client)
    wrong = [f"{i:06d}" for i in range(20) if f"{i:06d}" != shown.tx_code][:7]
    # the right code among wrong ones in one request: only one value counts, it is not a list of guesses
    body = [("grant_type", PRE_AUTHORIZED_GRANT), ("pre-authorized_code", shown.code)]
    body += [("tx_code", shown.tx_code)] + [("tx_code", w) for w in wrong]
    r = client.post(TOKEN, content=_form(body), headers={"Content-Type": "application/x-www-form-urlencoded"})
    _assert_oauth_error(r, 400, "invalid_grant")
    with container.sessions() as s:
        assert s.scalar(sa.select(VciOfferRow.failed_tx_codes)) == 1  # one request, one try
    # a repeated pre-authorized_code does not get a second code through either
    body = [("grant_type", PRE_AUTHORIZED_GRANT), ("pre-authorized_code", "x" * 43)]
    body += [("pre-authorized_code", "y" * 43), ("tx_code", shown.tx_code)]
    r = client.post(TOKEN, content=_form(body), headers={"Content-Type": "application/x-www-form-urlencoded"})
    _assert_oauth_error(r, 400, "invalid_grant")
    assert access_token(client, shown)


def test_a_token_request_with_too_many_fields_is_refused_as_oauth_json(client: TestClient, number: str) -> None:
    body = [("grant_type", PRE_AUTHORIZED_GRANT), ("pre-authorized_code", "x")] + [("tx_code", "1")] * 10
    r = client.post(TOKEN, content=_form(body), headers={"Content-Type": "application/x-www-form-urlencoded"})
    _assert_oauth_error(r, 400, "invalid_request")


def _form(pairs: list[tuple[str, str]]) -> str:
    return urlencode(pairs)


def test_a_tx_code_respelt_is_refused(client: TestClient, container: Container, number: str) -> None:
    shown = make_offer(client)
    fullwidth = shown.tx_code.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    for respelt in (f" {shown.tx_code}", f"{shown.tx_code}\n"):
        _assert_oauth_error(take_token(client, shown.code, respelt), 400, "invalid_grant")
    _assert_oauth_error(take_token(client, shown.code, fullwidth), 400, "invalid_grant")
    r = take_token(client, shown.code, shown.tx_code)  # three wrong: spent
    _assert_oauth_error(r, 400, "invalid_grant")


def test_wrong_tx_codes_sent_concurrently_do_not_outlast_the_limit_and_are_refused(
    client: TestClient, container: Container, number: str
) -> None:
    shown = make_offer(client)
    service = container.openid4vci
    wrong = [f"{i:06d}" for i in range(40) if f"{i:06d}" != shown.tx_code][:12]
    results = race(12, lambda i: service.exchange_code(shown.code, wrong[i], at=NOW))
    assert all(isinstance(r, VciRefused) and r.code == "invalid_grant" for r in results), results
    with container.sessions() as s:
        offer = s.scalars(sa.select(VciOfferRow)).one()
    assert offer.used_at is not None  # spent: the right code no longer helps
    _assert_oauth_error(take_token(client, shown.code, shown.tx_code), 400, "invalid_grant")
    with container.sessions() as s:
        assert s.scalars(sa.select(VciTokenRow)).all() == []


def test_a_code_at_the_second_it_expires_is_refused(client: TestClient, clock: Clock, number: str) -> None:
    shown = make_offer(client)
    clock.advance(minutes=5)
    _assert_oauth_error(take_token(client, shown.code, shown.tx_code), 400, "invalid_grant")


def test_an_access_token_at_the_second_it_expires_is_refused(client: TestClient, clock: Clock, number: str) -> None:
    token = access_token(client, make_offer(client))
    clock.advance(minutes=5)
    key = ec.generate_private_key(ec.SECP256R1())
    r = ask_credential(client, token, [proof_jwt(key, c_nonce(client), at=clock())])
    _assert_oauth_error(r, 401, "invalid_token")


def test_another_drivers_code_with_my_tx_code_is_refused(
    client: TestClient, other: TestClient, container: Container, number: str
) -> None:
    b = driver_with_elicence(other, container, NOW, sequence=124, name="李四", mobile="13900139000")
    mine, theirs = make_offer(client), make_offer(other)
    before = device_key_of(container, b)
    if mine.tx_code != theirs.tx_code:
        _assert_oauth_error(take_token(client, theirs.code, mine.tx_code), 400, "invalid_grant")
    # the tx_code belongs to one offer: my tx_code is no key to any other code, and my code gets my licence only
    token = access_token(client, mine)
    key = ec.generate_private_key(ec.SECP256R1())
    assert ask_credential(client, token, [proof_jwt(key, c_nonce(client), at=NOW)]).status_code == 200
    assert device_key_of(container, b) == before
    assert device_key_of(container, number) == device_key_bytes(key.public_key())


def test_offers_the_attacker_makes_do_not_reset_the_victims_tries_and_are_refused(
    client: TestClient, other: TestClient, container: Container, number: str
) -> None:
    driver_with_elicence(other, container, NOW, sequence=124, name="李四", mobile="13900139000")
    victim = make_offer(client)
    wrong = [f"{i:06d}" for i in range(10) if f"{i:06d}" != victim.tx_code]
    for i in range(3):
        make_offer(other)  # the attacker's own offers (supersede only the attacker's)
        _assert_oauth_error(take_token(other, victim.code, wrong[i]), 400, "invalid_grant")
    _assert_oauth_error(take_token(client, victim.code, victim.tx_code), 400, "invalid_grant")


def test_a_code_and_token_of_an_account_rebound_to_another_licence_are_refused(
    client: TestClient, container: Container, number: str
) -> None:
    shown = make_offer(client)
    code_after = make_offer(client)
    token = access_token(client, make_offer(client))  # the newest offer's: a later one would spend the token
    with container.sessions() as s:
        account_id = s.scalars(sa.select(VciOfferRow.account_id)).first()
    assert account_id
    # the same driver's account, now bound to a second licence with its own e-licence
    second = seed_licence(container, NOW, sequence=125, name="张三", mobile="13800138000")
    unbind_licence(container.sessions, account_id, at=NOW)
    r = post_burst(client, "/app/bind", {"number": second, "name": "张三"}, "bind")
    assert r.status_code == 303, r.text
    issue_elicence(container.sessions, container.issuer, second, actor="test", at=NOW)
    first_key, second_key = device_key_of(container, number), device_key_of(container, second)
    _assert_oauth_error(take_token(client, code_after.code, code_after.tx_code), 400, "invalid_grant")
    _assert_oauth_error(take_token(client, shown.code, shown.tx_code), 400, "invalid_grant")
    key = ec.generate_private_key(ec.SECP256R1())
    r = ask_credential(client, token, [proof_jwt(key, c_nonce(client), at=NOW)])
    _assert_oauth_error(r, 400, "credential_request_denied")
    assert device_key_of(container, number) == first_key and device_key_of(container, second) == second_key


# --- the credential endpoint: the access token -----------------------------------------------------------------------


def test_a_token_outside_the_authorization_header_is_refused(client: TestClient, number: str) -> None:
    token = access_token(client, make_offer(client))
    key = ec.generate_private_key(ec.SECP256R1())
    body = {"credential_configuration_id": MDL, "proofs": {"jwt": [proof_jwt(key, c_nonce(client), at=NOW)]}}
    _assert_oauth_error(client.post(CREDENTIAL, json=body, params={"access_token": token}), 401, "invalid_token")
    _assert_oauth_error(client.post(CREDENTIAL, json={**body, "access_token": token}), 401, "invalid_token")
    client.cookies.set("access_token", token)
    try:
        _assert_oauth_error(client.post(CREDENTIAL, json=body), 401, "invalid_token")
    finally:
        client.cookies.delete("access_token")
    for value in (
        f"DPoP {token}",
        f"Basic {token}",
        f"Bearer{token}",
        f"Bearer {token} {token}",
        f"Bearer {token[:-1]}",
        f"Bearer {token}x",
        f"Bearer {token.upper()}",
        token,
    ):
        r = client.post(CREDENTIAL, json=body, headers={"Authorization": value, "DPoP": "e30.e30.e30"})
        _assert_oauth_error(r, 401, "invalid_token")
        assert r.headers["www-authenticate"].startswith("Bearer")
    r = client.post(CREDENTIAL, json=body, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text


# --- the credential endpoint: key proofs -----------------------------------------------------------------------------


def _refusal(client: TestClient, container: Container, token: str, proof: str, code: str = "invalid_proof") -> None:
    r = ask_credential(client, token, [proof])
    _assert_oauth_error(r, 400, code)
    assert not _token_used(container, token)


def test_proofs_with_odd_aud_typ_alg_or_iat_are_refused(client: TestClient, container: Container, number: str) -> None:
    before = device_key_of(container, number)
    token = access_token(client, make_offer(client))
    key = ec.generate_private_key(ec.SECP256R1())
    n = c_nonce(client)
    ts = int(NOW.timestamp())
    for proof in (
        proof_jwt(key, n, aud=BASE + "/", at=NOW),
        proof_jwt(key, n, aud=BASE.upper(), at=NOW),
        proof_jwt(key, n, aud=BASE + "/openid4vci/credential", at=NOW),
        proof_jwt(key, n, claims={"aud": [BASE, "https://evil.example"]}, at=NOW),
        proof_jwt(key, n, claims={"aud": None}, at=NOW),
        proof_jwt(key, n, header={"typ": "JWT"}, at=NOW),
        proof_jwt(key, n, header={"typ": "openid4vci-proof+JWT"}, at=NOW),
        proof_jwt(key, n, header={"typ": "application/openid4vci-proof+jwt"}, at=NOW),
        _raw_jws(key, _header_bytes(key, typ=None), json.dumps({"aud": BASE, "iat": ts, "nonce": n}).encode()),
        proof_jwt(key, n, iat=ts + 61),
        proof_jwt(key, n, iat=ts - 121),
        proof_jwt(key, n, claims={"iat": str(ts)}, at=NOW),
        proof_jwt(key, n, claims={"iat": True}, at=NOW),
        proof_jwt(key, n, claims={"iat": None}, at=NOW),
        _raw_jws(key, _header_bytes(key), b'{"aud":"%s","iat":Infinity,"nonce":"%s"}' % (BASE.encode(), n.encode())),
        _raw_jws(key, _header_bytes(key), b'{"aud":"%s","iat":-Infinity,"nonce":"%s"}' % (BASE.encode(), n.encode())),
        _raw_jws(key, _header_bytes(key, alg="ES256K"), json.dumps({"aud": BASE, "iat": ts, "nonce": n}).encode()),
        _raw_jws(key, _header_bytes(key, alg="es256"), json.dumps({"aud": BASE, "iat": ts, "nonce": n}).encode()),
        _raw_jws(key, _header_bytes(key, alg="EdDSA"), json.dumps({"aud": BASE, "iat": ts, "nonce": n}).encode()),
    ):
        _refusal(client, container, token, proof)
    assert device_key_of(container, number) == before
    r = ask_credential(client, token, [proof_jwt(key, n, at=NOW)])  # the nonce was never spent by a refusal
    assert r.status_code == 200, r.text


def test_proofs_with_odd_keys_or_headers_are_refused(client: TestClient, container: Container, number: str) -> None:
    before = device_key_of(container, number)
    token = access_token(client, make_offer(client))
    key = ec.generate_private_key(ec.SECP256R1())
    stranger = ec.generate_private_key(ec.SECP256R1())
    n = c_nonce(client)
    jwk = public_jwk(key)
    p384 = ec.generate_private_key(ec.SECP384R1())
    k1 = ec.generate_private_key(ec.SECP256K1())
    zeros = _b64(bytes(32))
    claims = json.dumps({"aud": BASE, "iat": int(NOW.timestamp()), "nonce": n}).encode()
    for proof in (
        proof_jwt(key, n, header={"jwk": public_jwk(stranger)}, at=NOW),  # signed with a key other than the jwk
        proof_jwt(key, n, header={"jwk": {**jwk, "x": zeros, "y": zeros}}, at=NOW),  # off the curve
        proof_jwt(key, n, header={"jwk": {**jwk, "y": jwk["x"]}}, at=NOW),
        proof_jwt(key, n, header={"jwk": {**jwk, "crv": "P-384"}}, at=NOW),
        proof_jwt(key, n, header={"jwk": {**jwk, "kty": "OKP"}}, at=NOW),
        proof_jwt(key, n, header={"jwk": {**jwk, "x5c": ["MIIB"]}}, at=NOW),
        proof_jwt(key, n, header={"jwk": {"kty": "oct", "k": _b64(b"secret")}}, at=NOW),
        _raw_jws(key, _header_bytes(key, jwk=[jwk]), claims),
        _raw_jws(key, _header_bytes(key, jwk=None), claims),
        _raw_jws(key, _header_bytes(key, x5c=["MIIB"]), claims),
        _raw_jws(key, _header_bytes(key, trust_chain=["e30"]), claims),
        _raw_jws(key, _header_bytes(key, key_attestation="e30.e30.e30"), claims),
        _raw_jws(key, _header_bytes(key, crit=["exp"], exp=1), claims),
        _raw_jws(key, _header_bytes(key, crit=[]), claims),
        _raw_jws(key, _header_bytes(key, b64=False, crit=["b64"]), claims),
        _raw_jws(p384, _header_bytes(p384, alg="ES384"), claims),
        _raw_jws(k1, json.dumps({"alg": "ES256K", "typ": PROOF_TYPE, "jwk": public_jwk(k1)}).encode(), claims),
        _raw_jws(key, b"[]", claims),
        _raw_jws(key, b"null", claims),
        _raw_jws(key, b"not json", claims),
        _raw_jws(key, _header_bytes(key), b"[1]"),
        _raw_jws(key, _header_bytes(key), b"not json"),
        proof_jwt(key, n, at=NOW) + "=",
        proof_jwt(key, n, at=NOW).replace(".", "=.", 1),
        proof_jwt(key, n, at=NOW) + ".e30",
        "." * 2,
        "a" * 5000,
    ):
        _refusal(client, container, token, proof)
    assert device_key_of(container, number) == before
    assert ask_credential(client, token, [proof_jwt(key, n, at=NOW)]).status_code == 200


def test_duplicate_header_members_bind_only_the_key_that_signed(
    client: TestClient, container: Container, number: str
) -> None:
    """A header naming two keys (a victim's first, the signer's last, or the reverse): never a key that did not
    sign the proof."""
    token = access_token(client, make_offer(client))
    signer, victim = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    claims = json.dumps({"aud": BASE, "iat": int(NOW.timestamp()), "nonce": c_nonce(client)}).encode()
    mine, theirs = json.dumps(public_jwk(signer)), json.dumps(public_jwk(victim))
    head = f'{{"alg":"ES256","typ":"{PROOF_TYPE}","jwk":{mine},"jwk":{theirs}}}'.encode()
    r = ask_credential(client, token, [_raw_jws(signer, head, claims)])
    assert r.status_code == 400 and r.json()["error"] == "invalid_proof", r.text
    head = f'{{"alg":"none","typ":"JWT","jwk":{theirs},"alg":"ES256","typ":"{PROOF_TYPE}","jwk":{mine}}}'.encode()
    r = ask_credential(client, token, [_raw_jws(signer, head, claims)])
    if r.status_code == 200:
        assert device_key_of(container, number) == device_key_bytes(signer.public_key())
    else:
        _assert_oauth_error(r, 400, "invalid_proof")
    assert device_key_of(container, number) != device_key_bytes(victim.public_key())


def test_a_nonce_made_with_another_server_secret_is_refused(
    client: TestClient, container: Container, number: str
) -> None:
    token = access_token(client, make_offer(client))
    key = ec.generate_private_key(ec.SECP256R1())
    for name in ("openid4vp", "wallet-challenge", "otp", "barcode"):
        forged = make_nonce(container.secret(name), NOW)
        _refusal(client, container, token, proof_jwt(key, forged, at=NOW), "invalid_nonce")
    real = c_nonce(client)
    issued, salt, mac = real.split(".")[1:]
    for other in (
        f"n2.{issued}.{salt}.{mac}",
        f"n1.{int(issued) + 1}.{salt}.{mac}",
        f"n1.{issued}.{salt}.{mac}=",
        f"n1.{issued}.{salt}x.{mac}",
        f"n1.-{issued}.{salt}.{mac}",
        f"n1.{issued}.{salt}.{mac}.",
    ):
        _refusal(client, container, token, proof_jwt(key, other, at=NOW), "invalid_nonce")
    for value in (123, ["n"], {"n": 1}, ""):
        _refusal(client, container, token, proof_jwt(key, None, claims={"nonce": value}, at=NOW), "invalid_nonce")
    assert ask_credential(client, token, [proof_jwt(key, real, at=NOW)]).status_code == 200


def test_a_nonce_from_the_future_is_refused(
    client: TestClient, container: Container, clock: Clock, number: str
) -> None:
    token = access_token(client, make_offer(client))
    clock.advance(seconds=30)
    ahead = c_nonce(client)  # made 30 s ahead of the service's clock below
    clock.advance(seconds=-30)
    key = ec.generate_private_key(ec.SECP256R1())
    _refusal(client, container, token, proof_jwt(key, ahead, at=NOW), "invalid_nonce")


def test_a_spent_nonce_respelt_with_leading_zeros_or_other_digits_is_refused(
    client: TestClient, container: Container, number: str
) -> None:
    nonce = c_nonce(client)
    first = ec.generate_private_key(ec.SECP256R1())
    assert (
        ask_credential(client, access_token(client, make_offer(client)), [proof_jwt(first, nonce, at=NOW)]).status_code
        == 200
    )
    prefix, issued, salt, mac = nonce.split(".")
    arabic = issued.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    key = ec.generate_private_key(ec.SECP256R1())
    for respelt in (f"{prefix}.0{issued}.{salt}.{mac}", f"{prefix}.{arabic}.{salt}.{mac}"):
        token = access_token(client, make_offer(client))
        r = ask_credential(client, token, [proof_jwt(key, respelt, at=NOW)])
        assert r.status_code == 400 and r.json()["error"] == "invalid_nonce", r.text
    assert device_key_of(container, number) == device_key_bytes(first.public_key())


def test_a_proof_with_iat_nan_is_refused(client: TestClient, container: Container, number: str) -> None:
    token = access_token(client, make_offer(client))
    key = ec.generate_private_key(ec.SECP256R1())
    payload = b'{"aud":"%s","iat":NaN,"nonce":"%s"}' % (BASE.encode(), c_nonce(client).encode())
    _refusal(client, container, token, _raw_jws(key, _header_bytes(key), payload))


def test_a_proof_with_a_huge_integer_iat_is_refused_not_a_500(
    client: TestClient, container: Container, number: str
) -> None:
    token = access_token(client, make_offer(client))
    key = ec.generate_private_key(ec.SECP256R1())
    proof = proof_jwt(key, c_nonce(client), claims={"iat": 10**400}, at=NOW)
    r = ask_credential(client, token, [proof])
    _assert_oauth_error(r, 400, "invalid_proof")


def test_a_proof_with_a_deeply_nested_header_is_refused_not_a_500(
    client: TestClient, container: Container, number: str
) -> None:
    token = access_token(client, make_offer(client))
    proof = f"{_b64(b'[' * 2900)}.e30.AAAA"
    assert len(proof) <= 4096
    r = ask_credential(client, token, [proof])
    _assert_oauth_error(r, 400, "invalid_proof")


def test_a_proof_with_a_deeply_nested_payload_is_refused_not_a_500(
    client: TestClient, container: Container, number: str
) -> None:
    token = access_token(client, make_offer(client))
    key = ec.generate_private_key(ec.SECP256R1())
    proof = _raw_jws(key, _header_bytes(key), b"[" * 2500)
    assert len(proof) <= 4096
    r = ask_credential(client, token, [proof])
    _assert_oauth_error(r, 400, "invalid_proof")


# --- the credential endpoint: the request ----------------------------------------------------------------------------


def test_malformed_or_oversized_credential_requests_are_refused(
    client: TestClient, container: Container, number: str
) -> None:
    token = access_token(client, make_offer(client))
    key = ec.generate_private_key(ec.SECP256R1())
    proof = proof_jwt(key, c_nonce(client), at=NOW)
    auth = {"Authorization": f"Bearer {token}"}
    cases: list[tuple[Any, str]] = [
        ({"credential_configuration_id": MDL.upper(), "proofs": {"jwt": [proof]}}, "unknown_credential_configuration"),
        ({"credential_configuration_id": [MDL], "proofs": {"jwt": [proof]}}, "invalid_credential_request"),
        ({"credential_configuration_id": MDL, "proofs": {"jwt": proof}}, "invalid_credential_request"),
        ({"credential_configuration_id": MDL, "proofs": {"jwt": []}}, "invalid_credential_request"),
        (
            {"credential_configuration_id": MDL, "proofs": {"jwt": [proof], "ldp_vp": [{}]}},
            "invalid_credential_request",
        ),
        ({"credential_configuration_id": MDL, "proofs": {"attestation": [proof]}}, "invalid_credential_request"),
        ({"credential_configuration_id": MDL, "proofs": {"jwt": [{"jwt": proof}]}}, "invalid_proof"),
        ({"credential_configuration_id": MDL, "proofs": {"jwt": [None]}}, "invalid_proof"),
        (
            {"credential_configuration_id": MDL, "proofs": {"jwt": [proof]}, "proof": {"proof_type": "jwt"}},
            "invalid_credential_request",
        ),
        (
            {"credential_configuration_id": MDL, "credential_identifier": MDL, "proofs": {"jwt": [proof]}},
            "invalid_credential_request",
        ),
        (
            {"credential_configuration_id": MDL, "proofs": {"jwt": [proof]}, "credential_response_encryption": {}},
            "invalid_encryption_parameters",
        ),
        ({"format": "mso_mdoc", "doctype": MDL, "proofs": {"jwt": [proof]}}, "invalid_credential_request"),
    ]
    for body, code in cases:
        _assert_oauth_error(client.post(CREDENTIAL, json=body, headers=auth), 400, code)
    for raw, ctype in (
        (b"[" * 5000, "application/json"),
        (b'{"credential_configuration_id": "' + MDL.encode() + b'", ' * 10, "application/json"),
        (b"\xff\xfe{}", "application/json"),
        (b"credential_configuration_id=" + MDL.encode(), "application/x-www-form-urlencoded"),
        (b"", "application/json"),
        (json.dumps({"x": "a" * 9000}).encode(), "application/json"),
    ):
        r = client.post(CREDENTIAL, content=raw, headers={**auth, "Content-Type": ctype})
        _assert_oauth_error(r, 400, "invalid_credential_request")
    r = client.post(CREDENTIAL, content=b"a" * 70_000, headers={**auth, "Content-Type": "application/json"})
    assert r.status_code in (400, 413), r.status_code
    assert not _token_used(container, token)
    assert ask_credential(client, token, [proof]).status_code == 200


def test_the_wallet_chooses_nothing_but_its_key(client: TestClient, container: Container, number: str) -> None:
    """Extra members asking for another doctype, elements, validity or licence change nothing: the mDL of the
    offer's licence, the standard validity, its MSO deviceKey exactly the proof's jwk."""
    token = access_token(client, make_offer(client))
    key = ec.generate_private_key(ec.SECP256R1())
    r = ask_credential(
        client,
        token,
        [proof_jwt(key, c_nonce(client), at=NOW, claims={"doctype": "x", "validUntil": "2099-01-01"})],
        doctype="eu.europa.ec.eudi.pid.1",
        claims={"org.iso.18013.5.1": {"age_over_18": True}},
        valid_until="2099-01-01T00:00:00Z",
        licence_number="999999999999999999",
    )
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"credentials"}
    raw = r.json()["credentials"][0]["credential"]
    issuer_signed = cbor2.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    mso = cbor2.loads(cbor2.loads(issuer_signed["issuerAuth"][2]).value)
    assert mso["docType"] == MDL_DOCTYPE
    assert cbor2.dumps(mso["deviceKeyInfo"]["deviceKey"]) == device_key_bytes(key.public_key())
    validity = mso["validityInfo"]
    until = validity["validUntil"]
    until = until if isinstance(until, datetime) else datetime.fromisoformat(str(until).replace("Z", "+00:00"))
    assert until <= NOW + timedelta(hours=container.issuer.mso_validity_hours) + timedelta(seconds=1)
    elements = {
        cbor2.loads(item.value)["elementIdentifier"]: cbor2.loads(item.value)["elementValue"]
        for item in issuer_signed["nameSpaces"]["org.iso.18013.5.1"]
    }
    assert elements["document_number"] == number
    assert "age_over_18" not in elements or elements["age_over_18"] is True  # the licence's own value
    assert device_key_of(container, number) == device_key_bytes(key.public_key())


# --- the driver's page -----------------------------------------------------------------------------------------------


def test_an_offer_with_another_sessions_csrf_token_is_refused(
    client: TestClient, other: TestClient, container: Container, number: str
) -> None:
    csrf_of(other)
    foreign = other.cookies.get("edl_csrf")
    assert foreign
    r = client.post("/app/wallet-offer", data={"csrf": foreign})
    assert r.status_code in (400, 403), r.status_code
    r = client.post("/app/wallet-offer", data={})
    assert r.status_code in (400, 403), r.status_code
    r = client.post("/app/wallet-offer", data={"csrf": ""}, headers={"X-CSRF-Token": foreign})
    assert r.status_code in (400, 403), r.status_code
    with container.sessions() as s:
        assert s.scalars(sa.select(VciOfferRow)).all() == []


def test_an_offer_for_an_unbound_account_is_refused(client: TestClient, container: Container, number: str) -> None:
    with container.sessions() as s:
        account_id = s.scalar(sa.text("SELECT id FROM accounts WHERE licence_number = :n"), {"n": number})
    unbind_licence(container.sessions, account_id, at=NOW)
    r = client.post("/app/wallet-offer", data={"csrf": csrf_of(client)})
    assert r.status_code in (303, 404) and "openid-credential-offer" not in r.text
    r = client.get("/app/wallet-offer")
    assert "openid-credential-offer" not in r.text
    with container.sessions() as s:
        assert s.scalars(sa.select(VciOfferRow)).all() == []


def test_an_offer_for_a_revoked_licence_is_refused_and_its_token_gets_nothing(
    client: TestClient, container: Container, number: str
) -> None:
    token = access_token(client, make_offer(client))
    before = device_key_of(container, number)
    with transaction(container.sessions) as s:
        set_status(s, number, Status.REVOKED, actor="test", at=NOW)
    r = client.post("/app/wallet-offer", data={"csrf": csrf_of(client)})
    assert r.status_code == 409 and "openid-credential-offer" not in r.text
    key = ec.generate_private_key(ec.SECP256R1())
    r = ask_credential(client, token, [proof_jwt(key, c_nonce(client), at=NOW)])
    _assert_oauth_error(r, 400, "credential_request_denied")
    assert device_key_of(container, number) == before


def test_an_offer_of_a_voided_elicence_gets_no_credential_and_is_refused(
    client: TestClient, container: Container, number: str
) -> None:
    token = access_token(client, make_offer(client))
    with transaction(container.sessions) as s:
        s.execute(sa.update(ElicenceRow).where(ElicenceRow.licence_number == number).values(voided_at=NOW))
    key = ec.generate_private_key(ec.SECP256R1())
    r = ask_credential(client, token, [proof_jwt(key, c_nonce(client), at=NOW)])
    _assert_oauth_error(r, 400, "credential_request_denied")
    assert not _token_used(container, token)


def test_no_secret_reaches_the_logs_the_audit_log_or_a_url_and_leaks_are_refused(
    client: TestClient, container: Container, number: str
) -> None:
    secrets_seen: list[str] = []
    with capture_logs() as logs:
        shown: ShownOffer = make_offer(client)
        wrong = "000000" if shown.tx_code != "000000" else "111111"
        take_token(client, shown.code, wrong)
        r = take_token(client, shown.code, shown.tx_code)
        token = r.json()["access_token"]
        nonce = c_nonce(client)
        key = ec.generate_private_key(ec.SECP256R1())
        proof = proof_jwt(key, nonce, at=NOW)
        ask_credential(client, "x" + token, [proof])
        ask_credential(client, token, [proof_jwt(key, nonce, aud="https://evil.example", at=NOW)])
        assert ask_credential(client, token, [proof]).status_code == 200
        secrets_seen += [shown.code, shown.tx_code, token, nonce, proof.split(".")[2]]
    text = json.dumps(logs, default=str, ensure_ascii=False)
    with container.sessions() as s:
        audit_text = " ".join(f"{a.actor} {a.subject} {a.outcome} {a.detail}" for a in s.scalars(sa.select(AuditRow)))
    for secret in secrets_seen:
        assert secret not in text, secret
        assert secret not in audit_text, secret
    assert not any("code" in str(e.get("query", "")) for e in logs)
    with container.sessions() as s:
        assert s.scalar(sa.select(VciTokenRow.token_hash)) == digest(token)


# --- errors and caching ----------------------------------------------------------------------------------------------


def test_token_and_credential_errors_are_oauth_shaped_and_no_store(client: TestClient, number: str) -> None:
    shown = make_offer(client)
    for r, status, code in (
        (client.post(TOKEN, data={"grant_type": PRE_AUTHORIZED_GRANT}), 400, "invalid_request"),
        (take_token(client, "nope", "123456"), 400, "invalid_grant"),
        (take_token(client, shown.code, None), 400, "invalid_request"),
        (take_token(client, "a" * 500, "1"), 400, "invalid_request"),
        (client.post(CREDENTIAL, json={}), 401, "invalid_token"),
    ):
        _assert_oauth_error(r, status, code)
    ok = take_token(client, shown.code, shown.tx_code)
    assert ok.status_code == 200
    assert ok.headers["cache-control"].startswith("no-store") and ok.headers.get("pragma") == "no-cache"
    assert set(ok.json()) <= {"access_token", "token_type", "expires_in", "authorization_details"}
    r = client.post("/openid4vci/nonce")
    assert r.headers["cache-control"].startswith("no-store")
    r = client.post(TOKEN, content=b"a=" + b"b" * 5000, headers={"Content-Type": "application/x-www-form-urlencoded"})
    _assert_oauth_error(r, 400, "invalid_request")


# --- sanctions and cancelling ----------------------------------------------------------------------------------------


def _sanction(container: Container, number: str) -> None:
    standing_sanction(container, number, NOW, "v" * 32)


def test_an_offer_and_a_credential_for_a_sanctioned_licence_are_refused(
    client: TestClient, container: Container, number: str
) -> None:
    token = access_token(client, make_offer(client))
    before = device_key_of(container, number)
    _sanction(container, number)
    r = client.post("/app/wallet-offer", data={"csrf": csrf_of(client)})
    assert r.status_code == 409 and "openid-credential-offer" not in r.text
    key = ec.generate_private_key(ec.SECP256R1())
    r = ask_credential(client, token, [proof_jwt(key, c_nonce(client), at=NOW)])
    _assert_oauth_error(r, 400, "credential_request_denied")
    assert device_key_of(container, number) == before


def test_a_token_from_an_offer_the_driver_replaced_is_refused(
    client: TestClient, other: TestClient, container: Container, number: str
) -> None:
    stolen = make_offer(client)
    token = access_token(other, stolen)  # a thief with the QR and the shoulder-surfed tx_code
    make_offer(client)  # the driver makes a new offer: the earlier one is superseded
    before = device_key_of(container, number)
    thief = ec.generate_private_key(ec.SECP256R1())
    r = ask_credential(other, token, [proof_jwt(thief, c_nonce(other), at=NOW)])
    assert r.status_code in (400, 401), r.text
    assert device_key_of(container, number) == before


def test_a_nonce_with_a_superscript_digit_is_refused_not_a_500(
    client: TestClient, container: Container, number: str
) -> None:
    token = access_token(client, make_offer(client))
    key = ec.generate_private_key(ec.SECP256R1())
    r = ask_credential(client, token, [proof_jwt(key, "n1.\u00b2.salt.mac", at=NOW)])
    assert r.status_code == 400 and r.json()["error"] == "invalid_nonce", (r.status_code, r.text[:200])
    assert not _token_used(container, token)


def test_the_offer_link_carries_no_tx_code_and_a_revisit_shows_no_offer(
    client: TestClient, container: Container, number: str
) -> None:
    shown = make_offer(client)
    grant = shown.offer["grants"][PRE_AUTHORIZED_GRANT]
    assert set(grant["tx_code"]) <= {"input_mode", "length", "description"}  # no value
    assert shown.tx_code not in json.dumps(shown.offer)
    r = client.get("/app/wallet-offer")  # the page again (the back button, a shared phone): no code, no tx_code
    assert shown.code not in r.text and shown.tx_code not in r.text
    r = client.get("/app/licence")
    assert shown.code not in r.text


def test_one_nonce_raced_by_two_drivers_wallets_binds_one_and_the_other_is_refused(
    client: TestClient, other: TestClient, container: Container, number: str
) -> None:
    b = driver_with_elicence(other, container, NOW, sequence=124, name="李四", mobile="13900139000")
    tokens = [access_token(client, make_offer(client)), access_token(other, make_offer(other))]
    nonce = c_nonce(client)
    keys = [ec.generate_private_key(ec.SECP256R1()) for _ in range(2)]
    proofs = [proof_jwt(k, nonce, at=NOW) for k in keys]
    service = container.openid4vci
    results = race(2, lambda i: service.issue_credential(tokens[i], proofs[i], at=NOW))
    issued = [i for i, r in enumerate(results) if not isinstance(r, Exception)]
    assert len(issued) == 1, results
    loser = 1 - issued[0]
    assert getattr(results[loser], "code", None) == "invalid_nonce", results
    assert not _token_used(container, tokens[loser])
    bound = {number: keys[0], b: keys[1]}
    for lic, key in bound.items():
        assert (device_key_of(container, lic) == device_key_bytes(key.public_key())) == (key is keys[issued[0]])


def test_naming_another_licence_on_the_offer_form_is_refused(
    client: TestClient, other: TestClient, container: Container, number: str
) -> None:
    b = driver_with_elicence(other, container, NOW, sequence=124, name="李四", mobile="13900139000")
    r = client.post(
        "/app/wallet-offer",
        data={"csrf": csrf_of(client), "number": b, "licence_number": b, "account_id": "x"},
        params={"number": b},
    )
    assert r.status_code == 200
    with container.sessions() as s:
        assert s.scalars(sa.select(VciOfferRow.licence_number)).all() == [number]
