"""Attacks on OpenID4VCI issuance (issue 15), on SQLite and PostgreSQL.

- One driver's code or token cannot get another driver's licence (nothing a wallet sends names a licence).
- A pre-authorized code redeemed twice at the same moment gives one token; a token used twice at the same moment
  binds one wallet key (conditional UPDATEs, not read-then-write).
- A nonce one wallet used cannot be replayed by another; the tx_code cannot be guessed (3 tries).
- A code or token is worthless once the account is unbound from the licence.
- Codes and tokens are kept only as digests.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from fastapi.testclient import TestClient

from edl.applications.binding import unbind_licence
from edl.bootstrap import Container
from edl.db.models import VciOfferRow, VciTokenRow
from edl.issuance.device_bound import device_key_bytes
from edl.issuance.openid4vci import VciRefused
from edl.web import create_app
from tests.auth_helpers import Clock
from tests.vci_helpers import (
    BASE,
    access_token,
    ask_credential,
    c_nonce,
    device_key_of,
    driver_with_elicence,
    make_offer,
    proof_jwt,
    race,
    take_token,
)
from tests.workflow import prepare

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 16, 2, 0, tzinfo=UTC)


@pytest.fixture
def app(container: Container) -> FastAPI:
    prepare(container, NOW)
    container.clock = Clock(NOW)
    return create_app(container)


@pytest.fixture
def alice(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False, base_url=BASE) as c:
        yield c


@pytest.fixture
def bob(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False, base_url=BASE) as c:
        yield c


def test_a_drivers_token_gets_only_that_drivers_licence(
    alice: TestClient, bob: TestClient, container: Container
) -> None:
    a = driver_with_elicence(alice, container, NOW)
    b = driver_with_elicence(bob, container, NOW, sequence=124, name="李四", mobile="13900139000")
    b_key = device_key_of(container, b)
    token = access_token(alice, make_offer(alice))
    key = ec.generate_private_key(ec.SECP256R1())
    # a wallet that tries to name Bob's licence in the request: the field means nothing, Alice's licence is bound
    r = ask_credential(alice, token, [proof_jwt(key, c_nonce(alice), at=NOW)], licence_number=b, document_number=b)
    assert r.status_code == 200, r.text
    assert device_key_of(container, a) == device_key_bytes(key.public_key())
    assert device_key_of(container, b) == b_key
    with container.sessions() as s:
        assert {row.licence_number for row in s.scalars(sa.select(VciTokenRow))} == {a}


def test_a_code_redeemed_concurrently_gives_one_token(alice: TestClient, container: Container) -> None:
    driver_with_elicence(alice, container, NOW)
    shown = make_offer(alice)
    service = container.openid4vci
    results = race(6, lambda i: service.exchange_code(shown.code, shown.tx_code, at=NOW))
    tokens = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, VciRefused)]
    assert len(tokens) == 1, results
    assert len(refused) == 5 and {r.code for r in refused} == {"invalid_grant"}, results
    with container.sessions() as s:
        assert len(s.scalars(sa.select(VciTokenRow)).all()) == 1


def test_a_token_used_concurrently_binds_one_wallet(alice: TestClient, container: Container) -> None:
    number = driver_with_elicence(alice, container, NOW)
    token = access_token(alice, make_offer(alice))
    keys = [ec.generate_private_key(ec.SECP256R1()) for _ in range(4)]
    proofs = [proof_jwt(k, c_nonce(alice), at=NOW) for k in keys]
    service = container.openid4vci
    results = race(4, lambda i: service.issue_credential(token, proofs[i], at=NOW))
    issued = [(i, r) for i, r in enumerate(results) if not isinstance(r, Exception)]
    assert len(issued) == 1, results
    assert all(isinstance(r, VciRefused) and r.code == "invalid_token" for r in results if r is not issued[0][1])
    winner = keys[issued[0][0]]
    assert device_key_of(container, number) == device_key_bytes(winner.public_key())


def test_a_nonce_used_by_one_wallet_is_refused_to_another(
    alice: TestClient, bob: TestClient, container: Container
) -> None:
    driver_with_elicence(alice, container, NOW)
    b = driver_with_elicence(bob, container, NOW, sequence=124, name="李四", mobile="13900139000")
    nonce = c_nonce(alice)
    a_token, b_token = access_token(alice, make_offer(alice)), access_token(bob, make_offer(bob))
    assert (
        ask_credential(alice, a_token, [proof_jwt(ec.generate_private_key(ec.SECP256R1()), nonce, at=NOW)]).status_code
        == 200
    )
    before = device_key_of(container, b)
    r = ask_credential(bob, b_token, [proof_jwt(ec.generate_private_key(ec.SECP256R1()), nonce, at=NOW)])
    assert r.status_code == 400 and r.json()["error"] == "invalid_nonce"
    assert device_key_of(container, b) == before


def test_the_tx_code_cannot_be_guessed(alice: TestClient, container: Container) -> None:
    driver_with_elicence(alice, container, NOW)
    shown = make_offer(alice)
    guesses = [f"{i:06d}" for i in range(10) if f"{i:06d}" != shown.tx_code][:5]
    answers = [take_token(alice, shown.code, g).json()["error"] for g in guesses]
    assert answers == ["invalid_grant"] * 5
    assert take_token(alice, shown.code, shown.tx_code).json()["error"] == "invalid_grant"  # spent after 3


def test_a_token_is_worthless_once_the_licence_is_unbound(alice: TestClient, container: Container) -> None:
    number = driver_with_elicence(alice, container, NOW)
    token = access_token(alice, make_offer(alice))  # (a later offer would spend it: see the next test for a code)
    with container.sessions() as s:
        account_id = s.scalars(sa.select(VciOfferRow.account_id)).first()
    assert account_id
    before = device_key_of(container, number)
    unbind_licence(container.sessions, account_id, at=NOW)
    r = ask_credential(alice, token, [proof_jwt(ec.generate_private_key(ec.SECP256R1()), c_nonce(alice), at=NOW)])
    assert r.status_code == 400 and r.json()["error"] == "credential_request_denied"
    assert device_key_of(container, number) == before


def test_an_unredeemed_code_is_worthless_once_the_licence_is_unbound(alice: TestClient, container: Container) -> None:
    number = driver_with_elicence(alice, container, NOW)
    shown = make_offer(alice)
    with container.sessions() as s:
        account_id = s.scalars(sa.select(VciOfferRow.account_id)).first()
    assert account_id
    before = device_key_of(container, number)
    unbind_licence(container.sessions, account_id, at=NOW)
    r = take_token(alice, shown.code, shown.tx_code)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert device_key_of(container, number) == before


def test_codes_and_tokens_are_kept_only_as_digests(alice: TestClient, container: Container) -> None:
    driver_with_elicence(alice, container, NOW)
    shown = make_offer(alice)
    token = access_token(alice, shown)
    with container.engine.connect() as conn:
        dumped = " ".join(
            str(row)
            for table in ("vci_offers", "vci_tokens")
            for row in conn.execute(sa.text(f"SELECT * FROM {table}"))
        )
    assert shown.code not in dumped and token not in dumped and shown.tx_code not in dumped


def test_a_new_offer_supersedes_the_earlier_one(alice: TestClient, container: Container) -> None:
    driver_with_elicence(alice, container, NOW)
    first = make_offer(alice)
    second = make_offer(alice)
    r = take_token(alice, first.code, first.tx_code)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert take_token(alice, second.code, second.tx_code).status_code == 200
