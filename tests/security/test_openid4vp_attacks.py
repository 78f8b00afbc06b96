"""Attacks on the OpenID4VP verifier (issue 15): `edl.credentials.openid4vp`, `edl.verification.presentations` and
the routes of `edl.web.verifier.presentations`, on SQLite and PostgreSQL.

The attacker is a relying party, a stranger who learnt a request id (it is in the QR code and the request URI), or a
driver holding a genuine mdoc who wants a "valid" answer it should not get. Each test is named for the behaviour a
secure verifier has; the holes found were fixed; their tests stay.
"""

from __future__ import annotations

import dataclasses
import io
import json
import random
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import cbor2
import pytest
import sqlalchemy as sa
from cbor2 import CBORTag
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from joserfc import jwe
from joserfc.jwk import ECKey
from PIL import Image

from edl.audit import ActorKind
from edl.bootstrap import Container
from edl.credentials import MDL_DOCTYPE
from edl.credentials.licence_mdl import CN_NS, MDL_NS
from edl.credentials.openid4vp import b64decode, b64encode, transcript_for, unsecured_jwt
from edl.credentials.presentation import present
from edl.db.models import PresentationRequestRow, VerificationRow
from edl.db.session import transaction
from edl.issuance.device_bound import sign_for_device_key
from edl.issuance.elicences import issue_elicence
from edl.pki import Authority
from edl.verification.parties import active_party, revoke_party
from edl.verification.presentations import MAX_FAILED_ATTEMPTS
from edl.verification.purposes import Purpose
from edl.web import create_app
from tests.integration.test_online_verification import (
    ADDRESS,
    NOW,
    import_rows,
    party_key,
    ready,
    seeded,
    set_clock,
)
from tests.integration.test_presentations import (
    API,
    bind,
    create,
    fetch,
    path_of,
    request_claims,
    respond,
    wallet_form,
)
from tests.unit.registry.factories import row

pytestmark = pytest.mark.integration
__all__ = ["ready"]  # the fixture, re-used

RENTAL_FIELDS = {"name", "photo", "classes", "valid_from", "valid_until", "status"}


@pytest.fixture
def client(ready: Container) -> Iterator[TestClient]:
    """Server errors come back as 500 responses (an attack that makes one is a finding, not a crash of the test)."""
    with TestClient(
        create_app(ready), follow_redirects=False, base_url="http://127.0.0.1:8000", raise_server_exceptions=False
    ) as c:
        yield c


# --- helpers ---------------------------------------------------------------------------------------------------------


def holder(ready: Container, tmp_path: Path, n: int = 0) -> tuple[str, bytes, ec.EllipticCurvePrivateKey]:
    """(licence number, IssuerSigned bound to the device key, the device key) of a driver with a live e-licence."""
    number, _ = seeded(ready, tmp_path, n)
    device = ec.generate_private_key(ec.SECP256R1())
    return number, bind(ready, number, device), device


def scene(
    ready: Container, client: TestClient, tmp_path: Path, purpose: Purpose, body: dict[str, Any] | None = None
) -> tuple[bytes, ec.EllipticCurvePrivateKey, str, dict[str, Any], dict[str, Any]]:
    """A driver's bound mdoc and device key, a party of `purpose` and its key, one request it made (`body`: its
    options) and the request object's claims: (IssuerSigned, device key, party key, request, claims)."""
    _, issuer_signed, device = holder(ready, tmp_path)
    _, key = party_key(ready, purpose)
    made = create(client, key, body) if body is not None else create(client, key)
    return issuer_signed, device, key, made, request_claims(client, made)


def jwk_of(claims: dict[str, Any]) -> dict[str, Any]:
    jwk: dict[str, Any] = claims["client_metadata"]["jwks"]["keys"][0]
    return jwk


def transcript(claims: dict[str, Any]) -> Any:
    jwks = claims["client_metadata"].get("jwks")
    return transcript_for(
        client_id=claims["client_id"],
        nonce=claims["nonce"],
        response_uri=claims["response_uri"],
        encryption_key=jwks["keys"][0] if jwks else None,
    )


def asked(claims: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["path"][0], c["path"][1]) for c in claims["dcql_query"]["credentials"][0]["claims"]]


def device_response(claims: dict[str, Any], issuer_signed: bytes, key: ec.EllipticCurvePrivateKey, **kw: Any) -> bytes:
    """A DeviceResponse for this request's transcript, disclosing what it asks unless `disclose` says otherwise."""
    kw.setdefault("disclose", asked(claims))
    return present(issuer_signed, MDL_DOCTYPE, key, transcript(claims), **kw)


def encrypt(claims: dict[str, Any], payload: bytes, *, header: dict[str, Any] | None = None, to: Any = None) -> str:
    jwk = jwk_of(claims)
    protected = {"alg": "ECDH-ES", "enc": "A128GCM", "kid": jwk["kid"], **(header or {})}
    key = to if to is not None else ECKey.import_key(jwk)
    algorithms = [protected["alg"], protected["enc"], *(["DEF"] if "zip" in protected else [])]
    return jwe.encrypt_compact(protected, payload, key, algorithms=algorithms)


def form_for(claims: dict[str, Any], data: bytes | list[bytes], **extra: Any) -> dict[str, str]:
    """The wallet's form for DeviceResponse(s) `data`, in the request's response mode."""
    vp_token = {"mdl": [b64encode(d) for d in (data if isinstance(data, list) else [data])]}
    if claims["response_mode"] == "direct_post":
        return {"vp_token": json.dumps(vp_token), "state": claims["state"], **extra}
    payload = json.dumps({"vp_token": vp_token, "state": claims["state"], **extra}).encode()
    return {"response": encrypt(claims, payload)}


def state_of(client: TestClient, key: str, request_id: str) -> str:
    state: str = fetch(client, key, request_id).json()["state"]
    return state


def verification_rows(container: Container) -> list[VerificationRow]:
    with container.sessions() as s:
        return list(s.scalars(sa.select(VerificationRow).order_by(VerificationRow.id)))


def refused_as(r: Any, code: str = "invalid_presentation") -> None:
    assert r.status_code == 400, (r.status_code, r.text)
    assert r.json()["error"] == code, r.text


def mutate_document(data: bytes, change: Any) -> bytes:
    """`data` (a DeviceResponse) with `change(document)` applied to its one document, re-encoded."""
    decoded = cbor2.loads(data)
    change(decoded["documents"][0])
    return cbor2.dumps(decoded)


# --- 1. a "valid" answer without the genuine holder's device -----------------------------------------------------


@pytest.mark.parametrize("mode", ["direct_post.jwt", "direct_post"])
def test_a_captured_response_replayed_to_the_same_request_is_refused(
    ready: Container, client: TestClient, tmp_path: Path, mode: str
) -> None:
    issuer_signed, device, _key, _made, claims = scene(ready, client, tmp_path, Purpose.RENTAL, {"response_mode": mode})
    form = wallet_form(claims, issuer_signed, device)
    assert respond(client, claims, form).status_code == 200
    again = respond(client, claims, form)
    assert again.status_code == 400 and again.json()["error"] == "invalid_request"
    assert len(verification_rows(ready)) == 1, "the replay is not checked nor logged again"


def test_a_response_re_encrypted_for_another_partys_request_is_refused(
    ready: Container, client: TestClient, tmp_path: Path
) -> None:
    """Party A received the holder's (decrypted) vp_token; it re-encrypts it for party B's request, with B's state."""
    _, issuer_signed, device = holder(ready, tmp_path)
    _, key_a = party_key(ready, Purpose.RENTAL, name="desk A")
    _, key_b = party_key(ready, Purpose.RENTAL, name="desk B")
    first = request_claims(client, create(client, key_a))
    data = device_response(first, issuer_signed, device)
    assert respond(client, first, form_for(first, data)).status_code == 200
    made_b = create(client, key_b)
    second = request_claims(client, made_b)
    refused_as(respond(client, second, form_for(second, data)))
    # re-encoded CBOR (other map order, other integer widths) changes the bytes, not the transcript it was signed for
    reencoded = cbor2.dumps(cbor2.loads(data), canonical=True)
    assert reencoded != data
    refused_as(respond(client, second, form_for(second, reencoded)))
    assert state_of(client, key_b, made_b["id"]) == "pending"


def test_a_response_made_for_a_plain_request_cannot_answer_the_same_partys_encrypted_request(
    ready: Container, client: TestClient, tmp_path: Path
) -> None:
    """The transcript of an encrypted request has the key's thumbprint: a presentation for a plain request (or with a
    null thumbprint) does not verify there, even with the nonce copied over."""
    issuer_signed, device, key, made, claims = scene(ready, client, tmp_path, Purpose.RENTAL)
    plain = dict(claims, client_metadata={})
    data = present(issuer_signed, MDL_DOCTYPE, device, transcript(plain), disclose=asked(claims))
    refused_as(respond(client, claims, form_for(claims, data)))
    assert state_of(client, key, made["id"]) == "pending"


def test_an_mdoc_of_another_issuer_is_refused_even_with_the_registered_number_and_device_key(
    ready: Container, client: TestClient, tmp_path: Path
) -> None:
    """A rogue IACA signs an mdoc with the victim's licence number (even the device key the registry holds)."""
    number, _ = seeded(ready, tmp_path)
    device = ec.generate_private_key(ec.SECP256R1())
    rogue = Authority.open(tmp_path / "rogue-authority")
    rogue.init(at=NOW - timedelta(days=1))
    with transaction(ready.sessions) as s:
        forged = sign_for_device_key(
            s,
            dataclasses.replace(ready.issuer, authority=rogue),
            number,
            device.public_key(),
            actor="attacker",
            actor_kind=ActorKind.HOLDER,
            channel="app",
            at=NOW,
        ).issuer_signed
    _, key = party_key(ready, Purpose.POLICE)
    made = create(client, key)
    claims = request_claims(client, made)
    r = respond(client, claims, wallet_form(claims, forged, device))
    refused_as(r)
    assert "does not verify" in r.json()["error_description"]
    assert verification_rows(ready) == [], "nothing reaches the registry"


def test_a_presentation_signed_by_another_drivers_key_is_refused(
    ready: Container, client: TestClient, tmp_path: Path
) -> None:
    """Driver B holds their own genuine, device-bound mdoc; they present A's IssuerSigned signed with B's key."""
    _, mdoc_a, _ = holder(ready, tmp_path, 0)
    _, _, device_b = holder(ready, tmp_path, 1)
    _, key = party_key(ready, Purpose.POLICE)
    claims = request_claims(client, create(client, key))
    refused_as(respond(client, claims, wallet_form(claims, mdoc_a, device_b)))


def test_a_device_response_with_two_documents_is_refused(ready: Container, client: TestClient, tmp_path: Path) -> None:
    _, mdoc_a, device_a = holder(ready, tmp_path, 0)
    _, mdoc_b, device_b = holder(ready, tmp_path, 1)
    _, key = party_key(ready, Purpose.POLICE)
    made = create(client, key)
    claims = request_claims(client, made)
    one = cbor2.loads(device_response(claims, mdoc_a, device_a))
    other = cbor2.loads(device_response(claims, mdoc_b, device_b))
    for docs in ([one["documents"][0], other["documents"][0]], [one["documents"][0], one["documents"][0]]):
        both = cbor2.dumps({**one, "documents": docs})
        refused_as(respond(client, claims, form_for(claims, both)))
    assert state_of(client, key, made["id"]) == "pending"
    assert verification_rows(ready) == []


@pytest.mark.parametrize("shape", ["two presentations", "extra query id", "empty array", "not an array"])
def test_a_vp_token_with_more_or_other_than_one_presentation_is_refused(
    ready: Container, client: TestClient, tmp_path: Path, shape: str
) -> None:
    issuer_signed, device, _key, _, claims = scene(
        ready, client, tmp_path, Purpose.RENTAL, {"response_mode": "direct_post"}
    )
    one = b64encode(device_response(claims, issuer_signed, device))
    vp_token: Any = {
        "two presentations": {"mdl": [one, one]},
        "extra query id": {"mdl": [one], "other": [one]},
        "empty array": {"mdl": []},
        "not an array": {"mdl": one},
    }[shape]
    r = respond(client, claims, {"vp_token": json.dumps(vp_token), "state": claims["state"]})
    refused_as(r, "invalid_request")
    assert verification_rows(ready) == []


def test_a_forged_element_value_is_refused(ready: Container, client: TestClient, tmp_path: Path) -> None:
    """The holder changes the licence number inside its IssuerSignedItem (and would sign the result with its key)."""
    _, issuer_signed, device = holder(ready, tmp_path, 0)
    other_number, _ = seeded(ready, tmp_path, 1)
    decoded = cbor2.loads(issuer_signed)
    items = decoded["nameSpaces"][MDL_NS]
    for i, tagged in enumerate(items):
        item = cbor2.loads(tagged.value)
        if item["elementIdentifier"] == "document_number":
            item["elementValue"] = other_number
            items[i] = CBORTag(24, cbor2.dumps(item))
    forged = cbor2.dumps(decoded)
    _, key = party_key(ready, Purpose.POLICE)
    claims = request_claims(client, create(client, key))
    refused_as(respond(client, claims, form_for(claims, device_response(claims, forged, device))))
    assert verification_rows(ready) == []


def test_a_duplicated_element_is_refused(ready: Container, client: TestClient, tmp_path: Path) -> None:
    issuer_signed, device, _key, _, claims = scene(ready, client, tmp_path, Purpose.POLICE)
    data = device_response(claims, issuer_signed, device)

    def duplicate(doc: dict[str, Any]) -> None:
        inner = cbor2.loads(doc["issuerSigned"].value) if isinstance(doc["issuerSigned"], CBORTag) else None
        signed = inner if inner is not None else doc["issuerSigned"]
        items = signed["nameSpaces"][MDL_NS]
        items.append(items[0])

    refused_as(respond(client, claims, form_for(claims, mutate_document(data, duplicate))))


def test_device_signed_claims_cannot_stand_in_for_issuer_signed_elements(
    ready: Container, client: TestClient, tmp_path: Path
) -> None:
    """The holder leaves the licence number out of the issuer-signed items and self-asserts another in deviceSigned:
    the registry lookup must use issuer-signed data only."""
    _, issuer_signed, device = holder(ready, tmp_path, 0)
    other_number, _ = seeded(ready, tmp_path, 1)
    _, key = party_key(ready, Purpose.POLICE)
    made = create(client, key)
    claims = request_claims(client, made)
    without_number = [e for e in asked(claims) if e[1] != "document_number"]
    data = device_response(
        claims,
        issuer_signed,
        device,
        disclose=without_number,
        device_namespaces={MDL_NS: {"document_number": other_number}},
    )
    r = respond(client, claims, form_for(claims, data))
    refused_as(r)
    assert verification_rows(ready) == []


def test_a_device_mac_instead_of_a_device_signature_is_refused(
    ready: Container, client: TestClient, tmp_path: Path
) -> None:
    issuer_signed, device, _key, _, claims = scene(ready, client, tmp_path, Purpose.POLICE)
    data = device_response(claims, issuer_signed, device)

    def to_mac(doc: dict[str, Any]) -> None:
        signature = doc["deviceSigned"]["deviceAuth"]["deviceSignature"][3]
        mac_header = cbor2.dumps({1: 5})  # HMAC 256/256
        doc["deviceSigned"]["deviceAuth"] = {"deviceMac": [mac_header, {}, None, signature[:32]]}

    def both(doc: dict[str, Any]) -> None:
        sig = doc["deviceSigned"]["deviceAuth"]["deviceSignature"]
        doc["deviceSigned"]["deviceAuth"]["deviceMac"] = [cbor2.dumps({1: 5}), {}, None, sig[3][:32]]

    def without(doc: dict[str, Any]) -> None:
        del doc["deviceSigned"]

    for change in (to_mac, both, without):
        refused_as(respond(client, claims, form_for(claims, mutate_document(data, change))))
    assert verification_rows(ready) == []


def test_an_mdoc_whose_mso_has_expired_is_refused(ready: Container, client: TestClient, tmp_path: Path) -> None:
    _, issuer_signed, device = holder(ready, tmp_path)
    set_clock(ready, NOW + timedelta(hours=ready.issuer.mso_validity_hours, minutes=1))
    _, key = party_key(ready, Purpose.POLICE)
    claims = request_claims(client, create(client, key))
    r = respond(client, claims, wallet_form(claims, issuer_signed, device))
    refused_as(r)
    assert "expired" in r.json()["error_description"]


def test_an_mdoc_bound_to_the_old_device_after_a_rebind_is_not_valid(
    ready: Container, client: TestClient, tmp_path: Path
) -> None:
    """A thief keeps the old phone (and its key) after the driver moved the licence to a new one."""
    number, old_mdoc, old_key = holder(ready, tmp_path)
    bind(ready, number, ec.generate_private_key(ec.SECP256R1()))
    _, key = party_key(ready, Purpose.RENTAL)
    made = create(client, key)
    claims = request_claims(client, made)
    assert respond(client, claims, wallet_form(claims, old_mdoc, old_key)).status_code == 200
    result = fetch(client, key, made["id"]).json()["result"]
    assert result["valid"] is False and result["fields"] == {}
    assert [e["code"] for e in result["errors"]] == ["device_key_not_current"]


def test_an_encrypted_response_to_a_plain_request_is_refused(
    ready: Container, client: TestClient, tmp_path: Path
) -> None:
    issuer_signed, device, key, made, claims = scene(
        ready, client, tmp_path, Purpose.RENTAL, {"response_mode": "direct_post"}
    )
    attacker = ECKey.generate_key("P-256", private=True)
    payload = json.dumps(
        {"vp_token": {"mdl": [b64encode(device_response(claims, issuer_signed, device))]}, "state": claims["state"]}
    ).encode()
    token = jwe.encrypt_compact({"alg": "ECDH-ES", "enc": "A128GCM"}, payload, attacker)
    r = respond(client, claims, {"response": token})
    refused_as(r, "invalid_request")
    assert "in clear" in r.json()["error_description"]
    # and both at once (a clear vp_token next to a JWE) is refused in either mode
    plain = wallet_form(claims, issuer_signed, device)
    refused_as(respond(client, claims, {**plain, "response": token}), "invalid_request")
    assert state_of(client, key, made["id"]) == "pending"


@pytest.mark.parametrize(
    "variant",
    [
        "ECDH-ES+A128KW",
        "A256CBC-HS512",
        "zip DEF",
        "attacker's key with the request's kid",
        "epk on P-384",
        "another request's key",
        "unsecured JWT instead of a JWE",
        "five parts, empty",
        "epk off the curve",
        "epk the request's own key",
    ],
)
def test_a_jwe_with_another_algorithm_or_key_is_refused(
    ready: Container, client: TestClient, tmp_path: Path, variant: str
) -> None:
    issuer_signed, device, key, made, claims = scene(ready, client, tmp_path, Purpose.RENTAL)
    payload = json.dumps(
        {"vp_token": {"mdl": [b64encode(device_response(claims, issuer_signed, device))]}, "state": claims["state"]}
    ).encode()
    kid = jwk_of(claims)["kid"]
    if variant == "ECDH-ES+A128KW":
        token = encrypt(claims, payload, header={"alg": "ECDH-ES+A128KW"})
    elif variant == "A256CBC-HS512":
        token = encrypt(claims, payload, header={"enc": "A256CBC-HS512"})
    elif variant == "zip DEF":
        token = encrypt(claims, payload, header={"zip": "DEF"})
    elif variant == "attacker's key with the request's kid":
        token = encrypt(claims, payload, to=ECKey.generate_key("P-256", private=True))
    elif variant == "epk on P-384":
        token = jwe.encrypt_compact(
            {"alg": "ECDH-ES", "enc": "A128GCM", "kid": kid}, payload, ECKey.generate_key("P-384", private=True)
        )
    elif variant == "another request's key":
        token = encrypt(request_claims(client, create(client, key)), payload)
    elif variant in ("epk off the curve", "epk the request's own key"):
        parts = encrypt(claims, payload).split(".")
        header = json.loads(b64decode(parts[0]))
        if variant == "epk off the curve":
            y = int.from_bytes(b64decode(header["epk"]["y"]), "big") ^ 1
            header["epk"]["y"] = b64encode(y.to_bytes(32, "big"))
        else:  # the request's own public key as the ephemeral key (a reflected-key confusion)
            own = jwk_of(claims)
            header["epk"] = {"kty": "EC", "crv": "P-256", "x": own["x"], "y": own["y"]}
        token = ".".join([b64encode(json.dumps(header).encode()), *parts[1:]])
    elif variant == "unsecured JWT instead of a JWE":
        token = unsecured_jwt(json.loads(payload))
    else:
        token = "...."
    r = respond(client, claims, {"response": token})
    refused_as(r, "invalid_request")
    assert state_of(client, key, made["id"]) == "pending"


def test_a_jwe_whose_state_is_another_requests_is_refused(ready: Container, client: TestClient, tmp_path: Path) -> None:
    issuer_signed, device, key, made, claims = scene(ready, client, tmp_path, Purpose.RENTAL)
    other = create(client, key)
    data = device_response(claims, issuer_signed, device)
    for state in (other["id"], None, 7, ""):
        payload = json.dumps({"vp_token": {"mdl": [b64encode(data)]}, "state": state}).encode()
        refused_as(respond(client, claims, {"response": encrypt(claims, payload)}), "invalid_request")
    assert state_of(client, key, made["id"]) == "pending"


# --- huge and deeply nested inputs (a 500 is a bug) ------------------------------------------------------------------

_DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize("where", ["vp_token", "vp_token entry"])
def test_a_deeply_nested_vp_token_in_clear_is_refused_with_400(
    ready: Container, client: TestClient, where: str
) -> None:
    _, key = party_key(ready, Purpose.RENTAL)
    made = create(client, key, {"response_mode": "direct_post"})
    claims = request_claims(client, made)
    vp_token = _DEEP if where == "vp_token" else '{"mdl": ' + _DEEP + "}"
    r = respond(client, claims, {"vp_token": vp_token, "state": claims["state"]})
    refused_as(r, "invalid_request")


def test_a_deeply_nested_encrypted_payload_is_refused_with_400(ready: Container, client: TestClient) -> None:
    _, key = party_key(ready, Purpose.RENTAL)
    made = create(client, key)
    claims = request_claims(client, made)
    deep = ("[" * 20_000 + "]" * 20_000).encode()  # under joserfc's 64 KiB ciphertext limit
    r = respond(client, claims, {"response": encrypt(claims, deep)})
    refused_as(r, "invalid_request")


@pytest.mark.parametrize("shape", ["deep CBOR", "huge CBOR length", "not CBOR", "indefinite nesting"])
def test_a_hostile_device_response_is_refused_with_400(ready: Container, client: TestClient, shape: str) -> None:
    _, key = party_key(ready, Purpose.RENTAL)
    made = create(client, key, {"response_mode": "direct_post"})
    claims = request_claims(client, made)
    data = {
        "deep CBOR": b"\x81" * 200_000 + b"\x00",
        "huge CBOR length": b"\x5b\xff\xff\xff\xff\xff\xff\xff\xff",
        "not CBOR": b"\xff" * 10,
        "indefinite nesting": b"\x9f" * 100_000,
    }[shape]
    r = respond(client, claims, form_for(claims, data))
    refused_as(r)
    assert state_of(client, key, made["id"]) == "pending"


def test_an_oversized_response_is_refused_unread(ready: Container, client: TestClient) -> None:
    _, key = party_key(ready, Purpose.RENTAL)
    made = create(client, key, {"response_mode": "direct_post"})
    claims = request_claims(client, made)
    big = respond(client, claims, {"vp_token": "x" * (3 * 1024 * 1024), "state": claims["state"]})
    assert big.status_code == 413, big.text
    just_under = json.dumps({"mdl": ["A" * (1024 * 1024 * 4 // 3 + 100)]})
    refused_as(respond(client, claims, {"vp_token": just_under, "state": claims["state"]}), "invalid_request")
    long_error = respond(client, claims, {"error": "x" * 65, "error_description": "伪造的说明"})
    assert long_error.status_code == 200, "a wallet error is recorded as a (soft) decline"
    got = fetch(client, key, made["id"]).json()
    assert got["result"] == {"declined": "access_denied"}, "an unknown code and free text are not passed on"


def noisy_jpeg(at_least: int) -> bytes:
    """An ID-photo-sized JPEG of at least `at_least` bytes (noise compresses badly, like a real photograph)."""
    rng = random.Random(15)
    image = Image.frombytes("RGB", (358, 441), bytes(rng.getrandbits(8) for _ in range(358 * 441 * 3)))
    for quality in range(20, 96, 5):
        out = io.BytesIO()
        image.save(out, "JPEG", quality=quality)
        if out.tell() >= at_least:
            return out.getvalue()
    raise AssertionError("could not make a JPEG that large")


def test_a_genuine_presentation_with_a_photographic_portrait_is_accepted_encrypted(
    ready: Container, client: TestClient, tmp_path: Path
) -> None:
    ref = ready.photos.put(noisy_jpeg(40_000))
    record = row(0, photo_sha256=ref, photo_compliant="true")
    import_rows(ready, tmp_path, record)
    issue_elicence(ready.sessions, ready.issuer, record["number"], actor="test", at=NOW)
    device = ec.generate_private_key(ec.SECP256R1())
    issuer_signed = bind(ready, record["number"], device)
    _, key = party_key(ready, Purpose.RENTAL)
    made = create(client, key)
    claims = request_claims(client, made)
    r = respond(client, claims, wallet_form(claims, issuer_signed, device))
    assert r.status_code == 200, r.text
    assert state_of(client, key, made["id"]) == "answered"


# --- form tricks -----------------------------------------------------------------------------------------------------


def test_a_response_that_is_not_form_urlencoded_is_refused(
    ready: Container, client: TestClient, tmp_path: Path
) -> None:
    issuer_signed, device, key, made, claims = scene(
        ready, client, tmp_path, Purpose.RENTAL, {"response_mode": "direct_post"}
    )
    form = wallet_form(claims, issuer_signed, device)
    url = path_of(claims["response_uri"])
    as_json = client.post(url, json=form)
    refused_as(as_json, "invalid_request")
    multipart = client.post(url, files={k: (None, v) for k, v in form.items()})
    refused_as(multipart, "invalid_request")
    assert state_of(client, key, made["id"]) == "pending"


def test_a_multipart_body_disguised_by_a_content_type_parameter_is_refused(
    ready: Container, client: TestClient, tmp_path: Path
) -> None:
    issuer_signed, device, _key, _made, claims = scene(
        ready, client, tmp_path, Purpose.RENTAL, {"response_mode": "direct_post"}
    )
    form = wallet_form(claims, issuer_signed, device)
    boundary = "xyzzy"
    body = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in form.items()
    )
    body += f"--{boundary}--\r\n"
    r = client.post(
        path_of(claims["response_uri"]),
        content=body.encode(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}; x=application/x-www-form-urlencoded"},
    )
    refused_as(r, "invalid_request")


def test_duplicated_form_fields_give_at_most_one_answer(ready: Container, client: TestClient, tmp_path: Path) -> None:
    """`vp_token=<junk>&vp_token=<valid>&state=<other>&state=<this>`: whichever value is read, no 500, one answer."""
    issuer_signed, device, _key, _made, claims = scene(
        ready, client, tmp_path, Purpose.RENTAL, {"response_mode": "direct_post"}
    )
    form = wallet_form(claims, issuer_signed, device)
    body = [
        ("vp_token", '{"mdl": ["AAAA"]}'),
        ("vp_token", form["vp_token"]),
        ("state", "0" * 32),
        ("state", form["state"]),
    ]
    r = client.post(
        path_of(claims["response_uri"]),
        content=urlencode(body).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code in (200, 400), r.text
    assert len(verification_rows(ready)) <= 1
    too_many = [("f" + str(i), "x") for i in range(20)]
    r = client.post(
        path_of(claims["response_uri"]),
        content=urlencode(too_many).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 400, r.text


# --- 2. reading or influencing what is not yours ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "mangle",
    [
        lambda i: i.upper(),
        lambda i: i + "0",
        lambda i: i[:-1],
        lambda i: i[:-1] + "g",
        lambda i: "%2e%2e%2f" + i,
        lambda i: i[:31] + "\u0660",
        lambda i: " " + i[1:],
    ],
)
def test_mangled_request_ids_find_nothing(ready: Container, client: TestClient, mangle: Any) -> None:
    _, key = party_key(ready, Purpose.RENTAL)
    made = create(client, key)
    wrong = mangle(made["id"])
    assert fetch(client, key, wrong).status_code == 404
    assert client.get(f"/openid4vp/requests/{wrong}").status_code == 404
    r = client.post(f"/openid4vp/responses/{wrong}", data={"error": "access_denied"})
    assert r.status_code == 404
    assert state_of(client, key, made["id"]) == "pending"


def test_another_party_cannot_read_a_result_and_a_revoked_party_loses_its_requests(
    ready: Container, client: TestClient, tmp_path: Path
) -> None:
    _, issuer_signed, device = holder(ready, tmp_path)
    party_a, key_a = party_key(ready, Purpose.POLICE, name="desk A")
    _, key_b = party_key(ready, Purpose.POLICE, name="desk B")
    made = create(client, key_a)
    claims = request_claims(client, made)
    assert respond(client, claims, wallet_form(claims, issuer_signed, device)).status_code == 200
    stolen = fetch(client, key_b, made["id"])
    assert stolen.status_code == 404 and "result" not in stolen.json()
    assert client.get(f"{API}/{made['id']}", headers={"Authorization": "Bearer " + key_a + "x"}).status_code == 401
    pending = create(client, key_a)
    with transaction(ready.sessions) as s:
        revoke_party(s, party_a, keys=ready.party_keys, actor="test", at=NOW)
    assert fetch(client, key_a, made["id"]).status_code == 401
    assert client.get(path_of(pending["request_uri"])).status_code == 400, "a revoked party's request is closed"


def test_the_public_request_object_reveals_no_holder_data_and_nothing_once_answered(
    ready: Container, client: TestClient, tmp_path: Path
) -> None:
    number, issuer_signed, device = holder(ready, tmp_path)
    _, key = party_key(ready, Purpose.POLICE)
    made = create(client, key)
    claims = request_claims(client, made)
    assert set(claims) == {
        "response_type",
        "client_id",
        "response_mode",
        "response_uri",
        "nonce",
        "state",
        "dcql_query",
        "client_metadata",
        "iat",
        "exp",
    }
    assert respond(client, claims, wallet_form(claims, issuer_signed, device)).status_code == 200
    after = client.get(path_of(made["request_uri"]))
    assert after.status_code == 400
    assert number not in after.text and "valid" not in after.json()
    assert "result" not in after.text


@pytest.mark.parametrize("mode", ["direct_post.jwt", "direct_post"])
def test_a_strangers_decline_does_not_stop_the_genuine_holder_answering(
    ready: Container, client: TestClient, tmp_path: Path, mode: str
) -> None:
    issuer_signed, device, key, made, claims = scene(ready, client, tmp_path, Purpose.RENTAL, {"response_mode": mode})
    stranger = respond(
        client, claims, {"error": "access_denied", "error_description": "司机拒绝出示，请改用现场扣押程序"}
    )
    assert stranger.status_code in (200, 400)
    r = respond(client, claims, wallet_form(claims, issuer_signed, device))
    assert r.status_code == 200, r.text
    got = fetch(client, key, made["id"]).json()
    assert got["state"] == "answered" and got["result"]["valid"] is True


def test_junk_from_a_stranger_closes_a_request_only_at_the_failure_limit(
    ready: Container, client: TestClient, tmp_path: Path
) -> None:
    """The documented trade-off: MAX_FAILED_ATTEMPTS bad responses close a request (a stranger who knows its id can
    do that; the party makes a new one). Below the limit the genuine answer still goes through, and junk after an
    answer changes nothing."""
    issuer_signed, device, key, made, claims = scene(ready, client, tmp_path, Purpose.RENTAL)
    for _ in range(MAX_FAILED_ATTEMPTS - 1):
        refused_as(respond(client, claims, {"response": "a.b.c.d.e"}), "invalid_request")
    assert respond(client, claims, wallet_form(claims, issuer_signed, device)).status_code == 200
    for _ in range(MAX_FAILED_ATTEMPTS + 1):
        assert respond(client, claims, {"response": "a.b.c.d.e"}).status_code == 400
    got = fetch(client, key, made["id"]).json()
    assert got["state"] == "answered" and got["result"]["valid"] is True
    with ready.sessions() as s:
        stored = s.get(PresentationRequestRow, made["id"])
        assert stored is not None and stored.failed_attempts == MAX_FAILED_ATTEMPTS - 1


# --- 3. data minimisation --------------------------------------------------------------------------------------------


def test_over_disclosed_elements_never_reach_the_party(ready: Container, client: TestClient, tmp_path: Path) -> None:
    """The wallet discloses the whole mdoc (address, birth date, file number...) to a rental desk: the party's result
    holds its purpose's fields only, from the registry, and none of the extra values."""
    number, issuer_signed, device = holder(ready, tmp_path)
    _, key = party_key(ready, Purpose.RENTAL)
    made = create(client, key)
    claims = request_claims(client, made)
    everything = present(issuer_signed, MDL_DOCTYPE, device, transcript(claims))  # disclose=None: all of it
    assert respond(client, claims, form_for(claims, everything)).status_code == 200
    got = fetch(client, key, made["id"])
    result = got.json()["result"]
    assert result["valid"] is True and set(result["fields"]) == RENTAL_FIELDS
    text = got.text
    assert ADDRESS not in text and json.dumps(ADDRESS)[1:-1] not in text
    assert number not in text, "the licence number is for the registry lookup only"
    assert set(result["presentation"]) == {"format", "doctype", "holder_binding", "signer", "response_mode"}
    assert "device_claims" not in text and "resident_address" not in text and "birth_date" not in text


def test_a_refused_response_tells_the_party_no_holder_data(
    ready: Container, client: TestClient, tmp_path: Path
) -> None:
    """Five near-miss presentations (the holder's real mdoc, a wrong nonce) close the request: the party's result is
    the error only, not the number or any element the refused presentations carried."""
    number, issuer_signed, device = holder(ready, tmp_path)
    _, key = party_key(ready, Purpose.RENTAL)
    made = create(client, key)
    claims = request_claims(client, made)
    for _ in range(MAX_FAILED_ATTEMPTS):
        bad = wallet_form(claims, issuer_signed, device, nonce="not-the-nonce")
        refused_as(respond(client, claims, bad))
    got = fetch(client, key, made["id"])
    assert got.json()["state"] == "refused"
    assert set(got.json()["result"]) == {"error", "message"}
    assert number not in got.text and ADDRESS not in got.text
    assert verification_rows(ready) == []


def test_the_elements_asked_never_exceed_the_purpose(ready: Container, client: TestClient) -> None:
    """A party cannot widen its request: the body may only choose the response mode."""
    _, key = party_key(ready, Purpose.RENTAL)
    bodies: list[dict[str, Any]] = [
        {"response_mode": "direct_post", "elements": [[MDL_NS, "resident_address"]]},
        {"dcql_query": {}},
        {"response_mode": "fragment"},
        {"response_mode": "direct_post.jwt", "purpose": "police"},
    ]
    for body in bodies:
        r = client.post(API, headers={"Authorization": f"Bearer {key}"}, json=body)
        assert r.status_code == 400, (body, r.text)
    claims = request_claims(client, create(client, key))
    paths = {tuple(p) for p in asked(claims)}
    assert (MDL_NS, "resident_address") not in paths and (MDL_NS, "birth_date") not in paths
    assert (CN_NS, "file_number") not in paths


# --- 5. races --------------------------------------------------------------------------------------------------------


def test_concurrent_answers_to_one_request_are_accepted_once(ready: Container, tmp_path: Path) -> None:
    """Several genuine (distinct) presentations race to one request: one is accepted, the party reads one result."""
    _, issuer_signed, device = holder(ready, tmp_path)
    service = ready.presentations
    with ready.sessions() as s:
        party_id, _ = party_key(ready, Purpose.RENTAL)
        party = active_party(s, party_id)
    assert party is not None
    made = service.create(party, response_mode="direct_post", at=NOW)
    claims: dict[str, Any] = {
        "client_id": made.client_id,
        "nonce": made.nonce,
        "response_uri": made.response_uri,
        "client_metadata": {},
        "response_mode": "direct_post",
        "state": made.id,
        "dcql_query": {"credentials": [{"claims": [{"path": list(e)} for e in made.elements]}]},
    }
    forms = [form_for(claims, device_response(claims, issuer_signed, device)) for _ in range(4)]
    barrier = threading.Barrier(len(forms))
    outcomes: list[Any] = []
    errors: list[BaseException] = []

    def answer(form: dict[str, str]) -> None:
        barrier.wait()
        try:
            outcomes.append(service.answer(made.id, form, client="203.0.113.9", at=NOW))
        except Exception as exc:  # RequestClosed for a late one is fine
            errors.append(exc)

    threads = [threading.Thread(target=answer, args=(f,)) for f in forms]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    accepted = [o for o in outcomes if o.accepted]
    assert len(accepted) == 1, (outcomes, errors)
    assert all(type(e).__name__ == "RequestClosed" for e in errors), errors
    view = service.get(party, made.id, at=NOW)
    assert view.state == "answered" and view.result is not None and view.result["valid"] is True


def test_an_answer_overtaken_while_it_was_being_checked_is_refused(ready: Container, tmp_path: Path) -> None:
    """Deterministic version of the race: a second genuine answer arrives while the first is in the registry check.
    Only one is accepted, and the request's recorded result is the accepted one's."""
    _, issuer_signed, device = holder(ready, tmp_path)
    service = ready.presentations
    party_id, _ = party_key(ready, Purpose.RENTAL)
    with ready.sessions() as s:
        party = active_party(s, party_id)
    assert party is not None
    made = service.create(party, response_mode="direct_post", at=NOW)
    claims: dict[str, Any] = {
        "client_id": made.client_id,
        "nonce": made.nonce,
        "response_uri": made.response_uri,
        "client_metadata": {},
        "response_mode": "direct_post",
        "state": made.id,
        "dcql_query": {"credentials": [{"claims": [{"path": list(e)} for e in made.elements]}]},
    }
    first, second = (form_for(claims, device_response(claims, issuer_signed, device)) for _ in range(2))
    verifier = ready.online_verifier
    original = verifier.verify_presented
    inner: list[Any] = []
    started: list[bool] = []

    def overtaken(*args: Any, **kw: Any) -> Any:
        out = original(*args, **kw)
        if not started:
            started.append(True)
            inner.append(service.answer(made.id, second, client="198.51.100.7", at=NOW))
        return out

    verifier.verify_presented = overtaken  # type: ignore[method-assign]
    try:
        outer = service.answer(made.id, first, client="203.0.113.9", at=NOW)
    finally:
        del verifier.verify_presented
    assert [inner[0].accepted, outer.accepted] == [True, False]
    view = service.get(party, made.id, at=NOW)
    assert view.state == "answered" and view.result is not None
    by_client = {r.client: r.id for r in verification_rows(ready)}
    assert view.result["verification_id"] == by_client["198.51.100.7"], "the result is the accepted answer's"
