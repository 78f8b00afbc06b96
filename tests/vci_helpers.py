"""Test helpers for OpenID4VCI (issue 15): a signed-in driver with a live e-licence, the offer shown in the app, and a
minimal wallet (joserfc key proofs) for the token, nonce and credential endpoints."""

from __future__ import annotations

import html
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from joserfc import jws
from joserfc.jwk import ECKey

from edl.bootstrap import Container
from edl.credentials.openid4vci import PRE_AUTHORIZED_GRANT, PROOF_TYPE
from edl.db.models import ElicenceRow
from edl.issuance.elicences import issue_elicence
from tests.auth_helpers import csrf_of, post_burst, sign_in_holder
from tests.workflow import seed_licence

BASE = "http://127.0.0.1:8000"
"""The test client's origin, which is also `settings.base_url` (the credential issuer identifier) by default."""
_LINK = re.compile(r'href="(openid-credential-offer://[^"]+)"')
_TX = re.compile(r"data-tx-code[^>]*><strong>(\d{6})</strong>")


def driver_with_elicence(client: TestClient, container: Container, now: datetime, **licence: Any) -> str:
    """A licence in the registry, a driver signed in and bound to it (the bind's real-person check passes now), and
    its e-licence issued: the licence number."""
    number = seed_licence(container, now, **licence)
    sign_in_holder(client, container, str(licence.get("mobile", "13800138000")))
    r = post_burst(client, "/app/bind", {"number": number, "name": str(licence.get("name", "张三"))}, "bind")
    assert r.status_code == 303, r.text
    issue_elicence(container.sessions, container.issuer, number, actor="test", at=now)
    return number


@dataclass
class ShownOffer:
    uri: str
    offer: dict[str, Any]
    code: str
    tx_code: str


def make_offer(client: TestClient) -> ShownOffer:
    """Press 生成添加码 and read the offer off the page (the link and the 6 digits)."""
    r = client.post("/app/wallet-offer", data={"csrf": csrf_of(client)})
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    link, tx = _LINK.search(r.text), _TX.search(r.text)
    assert link and tx, "the page shows no offer"
    uri = html.unescape(link.group(1))
    offer = json.loads(parse_qs(urlsplit(uri).query)["credential_offer"][0])
    code = offer["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"]
    return ShownOffer(uri, offer, code, tx.group(1))


def take_token(client: TestClient, code: str, tx_code: str | None) -> Any:
    data = {"grant_type": PRE_AUTHORIZED_GRANT, "pre-authorized_code": code}
    if tx_code is not None:
        data["tx_code"] = tx_code
    return client.post("/openid4vci/token", data=data)


def access_token(client: TestClient, offer: ShownOffer) -> str:
    r = take_token(client, offer.code, offer.tx_code)
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def c_nonce(client: TestClient) -> str:
    r = client.post("/openid4vci/nonce")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    return str(r.json()["c_nonce"])


def public_jwk(key: ec.EllipticCurvePrivateKey) -> dict[str, Any]:
    return dict(ECKey.import_key(key.public_key()).as_dict(private=False))


def proof_jwt(
    key: ec.EllipticCurvePrivateKey,
    nonce: str | None,
    *,
    aud: str = BASE,
    iat: float | None = None,
    header: dict[str, Any] | None = None,
    claims: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> str:
    """A key proof as a wallet makes it (Appendix F.1), with overrides for the attacks."""
    head = {"alg": "ES256", "typ": PROOF_TYPE, "jwk": public_jwk(key), **(header or {})}
    body: dict[str, Any] = {"aud": aud, "iat": int(iat if iat is not None else (at.timestamp() if at else time.time()))}
    if nonce is not None:
        body["nonce"] = nonce
    body.update(claims or {})
    return jws.serialize_compact(head, json.dumps(body).encode(), ECKey.import_key(key), algorithms=["ES256"])


def ask_credential(client: TestClient, token: str, proofs: list[str], **extra: Any) -> Any:
    body = {"credential_configuration_id": "org.iso.18013.5.1.mDL", "proofs": {"jwt": proofs}, **extra}
    return client.post("/openid4vci/credential", json=body, headers={"Authorization": f"Bearer {token}"})


def device_key_of(container: Container, number: str) -> bytes:
    """The device key (COSE_Key bytes) recorded on licence `number`'s e-licence."""
    with container.sessions() as s:
        return bytes(s.scalars(sa.select(ElicenceRow.device_key).where(ElicenceRow.licence_number == number)).one())


def race(n: int, call: Callable[[int], Any]) -> list[Any]:
    """`call(i)` in n threads released together; each result or the exception it raised."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = call(i)
        except Exception as exc:  # collected for the assertion
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results
