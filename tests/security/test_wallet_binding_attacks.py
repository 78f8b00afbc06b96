"""Attacks on the driver app's wallet binding (issue 15): ``GET /app/wallet/challenge`` and ``POST /app/wallet/mdoc``
(`edl.web.holder.wallet`, `edl.issuance.device_bound.sign_for_device_key`), on SQLite and PostgreSQL.

The attacker wants an mdoc signed for a key it does not hold (so a presentation made with someone else's key passes,
or the genuine phone's mdoc stops being current), an mdoc for a key the verifier mishandles, or an mdoc at all when
the licence may not have one, or another driver's licence signed for its own key.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import cbor2
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from fastapi.testclient import TestClient
from joserfc.jwk import ECKey, OKPKey, RSAKey

from edl.bootstrap import Container
from edl.credentials.cose import cose_key
from edl.credentials.openid4vp import b64decode, b64encode
from edl.db.models import ElicenceRow
from edl.db.session import transaction
from edl.domain import Status
from edl.issuance.elicences import issue_elicence
from edl.registry.events import set_status
from edl.web import create_app
from edl.web.holder.wallet import CHALLENGE_SECONDS, make_challenge
from tests.auth_helpers import sign_in_holder
from tests.workflow import prepare, seed_account, seed_licence, standing_sanction

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
MOBILE = "13900139015"
OTHER_MOBILE = "13900139016"
CHALLENGE = "/app/wallet/challenge"
MDOC = "/app/wallet/mdoc"
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


@pytest.fixture
def ready(container: Container) -> Container:
    prepare(container, NOW)
    return container


def new_client(container: Container) -> TestClient:
    return TestClient(create_app(container), follow_redirects=False, raise_server_exceptions=False)


@pytest.fixture
def client(ready: Container) -> Iterator[TestClient]:
    with new_client(ready) as c:
        yield c


def driver(container: Container, client: TestClient, mobile: str = MOBILE, *, sequence: int = 15) -> tuple[str, str]:
    """(account id, licence number) of a signed-in driver with a live e-licence."""
    number = seed_licence(container, NOW, sequence=sequence, mobile=mobile)
    issue_elicence(container.sessions, container.issuer, number, actor="test", at=NOW)
    seed_account(container, NOW, number=number, mobile=mobile)
    return sign_in_holder(client, container, mobile), number


def public_jwk(key: ec.EllipticCurvePrivateKey) -> dict[str, Any]:
    d = ECKey.import_key(key.public_key()).as_dict(private=False)
    return {"kty": "EC", "crv": d["crv"], "x": d["x"], "y": d["y"]}


def prove(key: ec.EllipticCurvePrivateKey, challenge: str) -> str:
    """What WebCrypto gives: ECDSA P-256 SHA-256, r || s (64 bytes), base64url."""
    r, s = decode_dss_signature(key.sign(challenge.encode(), ec.ECDSA(hashes.SHA256())))
    return b64encode(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def challenge(client: TestClient) -> str:
    r = client.get(CHALLENGE)
    assert r.status_code == 200, r.text
    value: str = r.json()["challenge"]
    return value


def post(client: TestClient, body: Any, *, csrf: bool = True) -> Any:
    headers = {"X-CSRF-Token": client.cookies.get("edl_csrf") or ""} if csrf else {}
    return client.post(MDOC, json=body, headers=headers)


def stored_key(container: Container, number: str) -> bytes:
    with container.sessions() as s:
        row = s.scalars(sa.select(ElicenceRow).where(ElicenceRow.licence_number == number)).one()
        return bytes(row.device_key)


def key_bytes(key: ec.EllipticCurvePrivateKey) -> bytes:
    return cbor2.dumps(cose_key(key.public_key()))


def refused(r: Any, status: int, code: str) -> None:
    assert (r.status_code, r.json().get("error")) == (status, code), (r.status_code, r.text)


# --- the baseline --------------------------------------------------------------------------------------------------


def test_the_holder_gets_an_mdoc_for_a_key_it_proves_it_holds(ready: Container, client: TestClient) -> None:
    _, number = driver(ready, client)
    key = ec.generate_private_key(ec.SECP256R1())
    c = challenge(client)
    r = post(client, {"jwk": public_jwk(key), "challenge": c, "proof": prove(key, c)})
    assert r.status_code == 200, r.text
    assert stored_key(ready, number) == key_bytes(key)


# --- proofs that do not prove possession ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case",
    [
        "another key's proof",
        "proof over another challenge",
        "proof over nothing",
        "DER proof",
        "zero proof",
        "r=n proof",
        "truncated proof",
        "padded base64",
        "proof not a string",
    ],
)
def test_a_proof_that_does_not_show_possession_is_refused(ready: Container, client: TestClient, case: str) -> None:
    _, number = driver(ready, client)
    before = stored_key(ready, number)
    victim = ec.generate_private_key(ec.SECP256R1())  # the key the attacker wants its mdoc for
    mine = ec.generate_private_key(ec.SECP256R1())
    c = challenge(client)
    proof: Any
    if case == "another key's proof":
        proof = prove(mine, c)
    elif case == "proof over another challenge":
        proof = prove(victim, challenge(client))
    elif case == "proof over nothing":
        proof = prove(victim, "")
    elif case == "DER proof":
        proof = b64encode(victim.sign(c.encode(), ec.ECDSA(hashes.SHA256())))
    elif case == "zero proof":
        proof = b64encode(bytes(64))
    elif case == "r=n proof":
        proof = b64encode(P256_ORDER.to_bytes(32, "big") * 2)
    elif case == "truncated proof":
        proof = prove(victim, c)[:-2]
    elif case == "padded base64":
        proof = prove(victim, c) + "=="
    else:
        proof = list(b64decode(prove(victim, c)))
    r = post(client, {"jwk": public_jwk(victim), "challenge": c, "proof": proof})
    refused(r, 400, "invalid_proof")
    assert stored_key(ready, number) == before


def test_a_challenge_of_another_account_or_stale_or_forged_is_refused(ready: Container) -> None:
    with new_client(ready) as mine, new_client(ready) as theirs:
        account, number = driver(ready, mine, MOBILE, sequence=15)
        other_account, _ = driver(ready, theirs, OTHER_MOBILE, sequence=16)
        key = ec.generate_private_key(ec.SECP256R1())
        before = stored_key(ready, number)
        now = ready.clock()
        services = cast(Any, ready)
        fresh = challenge(mine)
        prefix, issued, salt, mac = fresh.split(".")
        bad = {
            "another account's": challenge(theirs),
            "stale": make_challenge(services, account, now - timedelta(seconds=CHALLENGE_SECONDS + 5)),
            "from the future": make_challenge(services, account, now + timedelta(hours=1)),
            "forged mac": fresh[:-4] + "AAAA",
            "another salt": ".".join([prefix, issued, "salt", mac]),
            "made for the other account id": make_challenge(services, other_account, now),
            "time with a leading zero": ".".join([prefix, "0" + issued, salt, mac]),
            "time in superscript digits": ".".join([prefix, "²" * len(issued), salt, mac]),
            "time in Arabic-Indic digits": ".".join(
                [prefix, issued.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")), salt, mac]
            ),
            "empty": "",
            "long": "1" * 200,
        }
        for name, c in bad.items():
            r = post(mine, {"jwk": public_jwk(key), "challenge": c, "proof": prove(key, c)})
            assert (r.status_code, r.json()["error"]) == (400, "invalid_challenge"), name
        for odd in (12345, None, ["a"]):
            r = post(mine, {"jwk": public_jwk(key), "challenge": odd, "proof": prove(key, "x")})
            assert r.status_code == 400, r.text
        assert stored_key(ready, number) == before


def test_a_binding_request_replayed_within_the_challenge_lifetime_is_refused(
    ready: Container, client: TestClient
) -> None:
    _, number = driver(ready, client)
    old_phone = ec.generate_private_key(ec.SECP256R1())
    c = challenge(client)
    captured = {"jwk": public_jwk(old_phone), "challenge": c, "proof": prove(old_phone, c)}
    assert post(client, captured).status_code == 200
    new_phone = ec.generate_private_key(ec.SECP256R1())
    c2 = challenge(client)
    assert (
        post(client, {"jwk": public_jwk(new_phone), "challenge": c2, "proof": prove(new_phone, c2)}).status_code == 200
    )
    replay = post(client, captured)
    assert replay.status_code == 400, replay.status_code
    assert stored_key(ready, number) == key_bytes(new_phone)


# --- keys the server must not sign for -----------------------------------------------------------------------------


def _jwk_case(case: str, key: ec.EllipticCurvePrivateKey) -> Any:
    jwk = public_jwk(key)
    if case == "private d included":
        return ECKey.import_key(key).as_dict(private=True)
    if case == "P-384":
        return ECKey.import_key(ec.generate_private_key(ec.SECP384R1()).public_key()).as_dict(private=False)
    if case == "secp256k1":
        return ECKey.import_key(ec.generate_private_key(ec.SECP256K1()).public_key()).as_dict(private=False)
    if case == "P-256 label on a P-384 point":
        other = ECKey.import_key(ec.generate_private_key(ec.SECP384R1()).public_key()).as_dict(private=False)
        return {**other, "crv": "P-256"}
    if case == "Ed25519":
        return OKPKey.import_key(ed25519.Ed25519PrivateKey.generate().public_key()).as_dict(private=False)
    if case == "RSA":
        return RSAKey.import_key(rsa.generate_private_key(65537, 2048).public_key()).as_dict(private=False)
    if case == "symmetric":
        return {"kty": "oct", "k": b64encode(b"k" * 32)}
    if case == "point not on the curve":
        y = int.from_bytes(b64decode(jwk["y"]), "big") ^ 1
        return {**jwk, "y": b64encode(y.to_bytes(32, "big"))}
    if case == "identity (0, 0)":
        return {**jwk, "x": b64encode(bytes(32)), "y": b64encode(bytes(32))}
    if case == "coordinates past p":
        return {**jwk, "x": b64encode(b"\xff" * 32), "y": b64encode(b"\xff" * 32)}
    if case == "short coordinates":
        return {**jwk, "x": jwk["x"][:20], "y": jwk["y"][:20]}
    if case == "extra member":
        return {**jwk, "d2": "x"}
    if case == "x5c":
        return {**jwk, "x5c": ["AAAA"]}
    if case == "not an object":
        return "EC P-256"
    if case == "numbers":
        return {**jwk, "x": 1, "y": 2}
    raise AssertionError(case)


@pytest.mark.parametrize(
    "case",
    [
        "private d included",
        "P-384",
        "secp256k1",
        "P-256 label on a P-384 point",
        "Ed25519",
        "RSA",
        "symmetric",
        "point not on the curve",
        "identity (0, 0)",
        "coordinates past p",
        "short coordinates",
        "extra member",
        "x5c",
        "not an object",
        "numbers",
    ],
)
def test_a_key_that_is_not_a_plain_p256_public_key_is_refused(ready: Container, client: TestClient, case: str) -> None:
    _, number = driver(ready, client)
    before = stored_key(ready, number)
    key = ec.generate_private_key(ec.SECP256R1())
    c = challenge(client)
    r = post(client, {"jwk": _jwk_case(case, key), "challenge": c, "proof": prove(key, c)})
    refused(r, 400, "invalid_key")
    assert stored_key(ready, number) == before


# --- the request itself --------------------------------------------------------------------------------------------


def test_binding_needs_the_csrf_token_a_same_site_request_and_a_signed_in_driver(
    ready: Container, client: TestClient
) -> None:
    _, number = driver(ready, client)
    before = stored_key(ready, number)
    key = ec.generate_private_key(ec.SECP256R1())
    c = challenge(client)
    body = {"jwk": public_jwk(key), "challenge": c, "proof": prove(key, c)}
    assert post(client, body, csrf=False).status_code == 403
    wrong = client.post(MDOC, json=body, headers={"X-CSRF-Token": "x" * 43})
    assert wrong.status_code == 403
    cross = client.post(
        MDOC,
        json=body,
        headers={"X-CSRF-Token": client.cookies.get("edl_csrf") or "", "Origin": "https://evil.example"},
    )
    assert cross.status_code == 403
    assert stored_key(ready, number) == before
    with new_client(ready) as stranger:
        assert stranger.get(CHALLENGE).status_code in (303, 401, 403)
        r = stranger.post(MDOC, json=body)
        assert r.status_code in (303, 401, 403)
    assert stored_key(ready, number) == before


def test_a_form_encoded_binding_request_is_refused_with_400(ready: Container, client: TestClient) -> None:
    driver(ready, client)
    r = client.post(MDOC, data={"csrf": client.cookies.get("edl_csrf") or "", "jwk": "x"})
    assert r.status_code == 400, r.status_code


@pytest.mark.parametrize(
    "extra",
    [{"number": "X"}, {"licence_number": "X"}, {"account_id": "X"}],
)
def test_a_driver_cannot_name_another_licence(ready: Container, extra: dict[str, str]) -> None:
    with new_client(ready) as mine, new_client(ready) as theirs:
        driver(ready, mine, MOBILE, sequence=15)
        _, victim_number = driver(ready, theirs, OTHER_MOBILE, sequence=16)
        before = stored_key(ready, victim_number)
        key = ec.generate_private_key(ec.SECP256R1())
        c = challenge(mine)
        body = {"jwk": public_jwk(key), "challenge": c, "proof": prove(key, c)}
        named = {k: (victim_number if v == "X" else v) for k, v in extra.items()}
        refused(post(mine, {**body, **named}), 400, "invalid_request")
        ok = post(mine, body)
        assert ok.status_code == 200
        assert stored_key(ready, victim_number) == before, "only the signed-in driver's own licence is signed"


def test_hostile_bodies_are_refused_with_400(ready: Container, client: TestClient) -> None:
    driver(ready, client)
    token = client.cookies.get("edl_csrf") or ""
    for raw in (b"[" * 100_000, b'{"jwk": ' * 50_000, b"\xff\xfe", b"null", b'{"jwk": 1, "jwk": 2}', b"x" * 200_000):
        r = client.post(MDOC, content=raw, headers={"X-CSRF-Token": token, "Content-Type": "application/json"})
        assert r.status_code in (400, 413), (raw[:20], r.status_code)


# --- licences that may not have an mdoc ----------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["suspended", "revoked", "sanctioned", "voided", "no licence bound"])
def test_a_driver_whose_licence_may_not_have_an_mdoc_is_refused(
    ready: Container, client: TestClient, state: str
) -> None:
    if state == "no licence bound":
        seed_account(ready, NOW, mobile=MOBILE)
        sign_in_holder(client, ready, MOBILE)
        number = None
    else:
        _, number = driver(ready, client)
    if state in ("suspended", "revoked"):
        with transaction(ready.sessions) as s:
            status = Status.SUSPENDED if state == "suspended" else Status.REVOKED
            assert number is not None
            set_status(s, number, status, actor="test", at=NOW)
    elif state == "sanctioned":
        assert number is not None
        standing_sanction(ready, number, NOW)
    elif state == "voided":
        with transaction(ready.sessions) as s:
            s.execute(sa.update(ElicenceRow).where(ElicenceRow.licence_number == number).values(voided_at=NOW))
    before = stored_key(ready, number) if number else None
    key = ec.generate_private_key(ec.SECP256R1())
    c = challenge(client)
    r = post(client, {"jwk": public_jwk(key), "challenge": c, "proof": prove(key, c)})
    assert r.status_code in (404, 409), r.text
    assert "issuer_signed" not in r.text
    if number:
        assert stored_key(ready, number) == before


@pytest.mark.parametrize(
    "request_uri",
    [
        "http://[",
        "http://[::1",
        "https://other.example/openid4vp/requests/" + "0" * 32,
        "javascript:alert(1)",
        "\x00",
        "",
    ],
)
def test_a_present_link_naming_no_request_of_this_server_is_a_400_not_a_500(
    ready: Container, client: TestClient, request_uri: str
) -> None:
    """The consent page parses a link anyone can craft: an unparsable or foreign request_uri answers 400."""
    driver(ready, client)
    r = client.get("/app/present", params={"client_id": "x", "request_uri": request_uri})
    assert r.status_code == 400, r.text
