"""The driver's app presents its e-licence to a relying party's OpenID4VP request, in real Chromium (issue 15).

The device key is made by WebCrypto in the page (not extractable, kept in IndexedDB); the mdoc the server signs is
bound to it; the device signature is made in the browser over this request's SessionTranscript. The relying party
sees only its purpose's fields, the holder sees the check in the verification log, and the same response replayed
to a second request is refused.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import cbor2
import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc.jwk import ECKey
from sqlalchemy import select

from edl.accounts.sessions import SessionKind, open_session
from edl.db.models import ElicenceRow, PresentationRequestRow
from edl.db.session import transaction
from edl.issuance.elicences import issue_elicence
from edl.verification.parties import register_party
from edl.verification.purposes import Purpose
from edl.web.auth_deps import HOLDER_COOKIE
from tests.browser.conftest import LiveServer
from tests.workflow import seed_account, seed_licence

pytestmark = pytest.mark.browser
API = "/api/v1/presentation-requests"
RENTAL_FIELDS = {"name", "photo", "classes", "valid_from", "valid_until", "status"}

STORED_KEY = """async (holder) => {
  const db = await new Promise((ok, no) => {
    const r = indexedDB.open("edl-wallet", 1);
    r.onsuccess = () => ok(r.result);
    r.onerror = () => no(r.error);
  });
  const pair = await new Promise((ok, no) => {
    const r = db.transaction("items").objectStore("items").get("device-key:" + holder);
    r.onsuccess = () => ok(r.result);
    r.onerror = () => no(r.error);
  });
  let exported = "refused";
  try {
    await crypto.subtle.exportKey("jwk", pair.privateKey);
    exported = "exported";
  } catch (e) {
    exported = "refused";
  }
  const jwk = await crypto.subtle.exportKey("jwk", pair.publicKey);
  return { extractable: pair.privateKey.extractable, type: pair.privateKey.type, exported, jwk };
}"""


def _party(server: LiveServer, name: str, purpose: Purpose) -> str:
    with transaction(server.container.sessions) as s:
        _, key = register_party(s, name=name, purpose=purpose, actor="test", at=datetime.now(UTC))
    return key


def _create(server: LiveServer, key: str, mode: str = "direct_post.jwt") -> dict[str, Any]:
    r = httpx.post(server.url + API, headers={"Authorization": f"Bearer {key}"}, json={"response_mode": mode})
    assert r.status_code == 201, r.text
    made: dict[str, Any] = r.json()
    return made


def _state(server: LiveServer, key: str, request_id: str) -> dict[str, Any]:
    r = httpx.get(f"{server.url}{API}/{request_id}", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 200, r.text
    got: dict[str, Any] = r.json()
    return got


def _present(page: Any, made: dict[str, Any], action: str = "approve") -> bytes:
    """Open the request in the app, press the button, return the body the page posted to the response URI."""
    page.goto(made["app_uri"])
    page.locator("[data-wallet-action=approve]:not([disabled])").wait_for()
    with page.expect_request(lambda r: "/openid4vp/responses/" in r.url and r.method == "POST") as posted:
        page.click(f"[data-wallet-action={action}]")
    page.locator(f"[data-wallet-state={'presented' if action == 'approve' else 'declined'}]").wait_for()
    body: bytes = posted.value.post_data_buffer
    return body


def test_the_app_presents_with_a_webcrypto_key_and_a_replay_is_refused(live_server: LiveServer, phone: Any) -> None:
    c = live_server.container
    now = datetime.now(UTC)
    number = seed_licence(c, now, sequence=951, name="出示测试")
    issue_elicence(c.sessions, c.issuer, number, actor="test", at=now)
    mobile = "13700137951"
    account_id = seed_account(c, now, number=number, mobile=mobile)
    rental = _party(live_server, "某某租车 出示测试", Purpose.RENTAL)
    page = phone.new_page()
    live_server.sign_in(page, mobile)

    made = _create(live_server, rental)  # direct_post.jwt: the answer is encrypted to the request's key
    page.goto(made["app_uri"])
    assert "某某租车 出示测试" in page.locator("h1").inner_text()
    shown = page.locator("[data-element]").evaluate_all("els => els.map(e => e.dataset.element)")
    assert "org.iso.18013.5.1/portrait" in shown and "org.iso.18013.5.1/resident_address" not in shown
    _present(page, made)
    got = _state(live_server, rental, made["id"])
    assert got["state"] == "answered", got
    result = got["result"]
    assert result["valid"] is True and result["method"] == "openid4vp"
    assert set(result["fields"]) == RENTAL_FIELDS, "the rental desk sees only its purpose's fields"
    assert result["presentation"]["holder_binding"] == "verified"

    stored = page.evaluate(STORED_KEY, hashlib.sha256(account_id.encode()).hexdigest()[:32])
    assert stored["extractable"] is False and stored["exported"] == "refused" and stored["type"] == "private"
    public = ECKey.import_key({k: stored["jwk"][k] for k in ("kty", "crv", "x", "y")}).get_op_key("verify")
    assert isinstance(public, ec.EllipticCurvePublicKey)
    with c.sessions() as s:
        device_key = s.scalars(select(ElicenceRow.device_key).where(ElicenceRow.licence_number == number)).one()
    cose = cbor2.loads(device_key)
    numbers = public.public_numbers()
    assert cose[-2] == numbers.x.to_bytes(32, "big") and cose[-3] == numbers.y.to_bytes(32, "big"), (
        "the e-licence's device key is the browser's key"
    )

    # A response in clear (direct_post), replayed: to the same request (closed) and to a second one (other nonce).
    first = _create(live_server, rental, "direct_post")
    body = _present(page, first)
    form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
    assert set(form) == {"vp_token", "state"} and json.loads(form["vp_token"]).keys() == {"mdl"}
    again = httpx.post(f"{live_server.url}/openid4vp/responses/{first['id']}", data=form)
    assert again.status_code == 400
    second = _create(live_server, rental, "direct_post")
    replay = httpx.post(f"{live_server.url}/openid4vp/responses/{second['id']}", data={**form, "state": second["id"]})
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_presentation", replay.text
    assert _state(live_server, rental, second["id"])["state"] == "pending"

    declined = _create(live_server, rental)
    _present(page, declined, "decline")
    assert _state(live_server, rental, declined["id"])["state"] == "declined"

    page.goto(f"{live_server.url}/app/checks")
    assert "某某租车 出示测试" in page.content(), "the holder sees who checked the licence"
    assert "您在手机上同意出示" in page.content(), "and that it was a presentation they approved"
    with c.sessions() as s:
        rows = s.scalars(select(PresentationRequestRow.state).where(PresentationRequestRow.id == made["id"])).all()
    assert rows == ["answered"]


def test_another_drivers_session_cannot_take_the_request_to_someone_elses_licence(
    live_server: LiveServer, phone: Any
) -> None:
    """The app presents the signed-in driver's own e-licence only: a driver without one cannot answer at all."""
    c = live_server.container
    now = datetime.now(UTC)
    mobile = "13700137952"
    seed_account(c, now, mobile=mobile)  # signed in, no licence bound
    police = _party(live_server, "交警 出示测试", Purpose.POLICE)
    page = phone.new_page()
    live_server.sign_in(page, mobile)
    made = _create(live_server, police)
    page.goto(made["app_uri"])
    assert page.locator("[data-wallet]").count() == 0
    r = page.request.post(f"{live_server.url}/app/wallet/mdoc", data="{}", headers={"Content-Type": "application/json"})
    assert r.status in (400, 403), r.text()


def test_the_verifier_page_shows_the_result_once_the_phone_has_presented(
    live_server: LiveServer, phone: Any, desk: Any
) -> None:
    """A desk on /verify makes a request, the driver opens its link on the phone and agrees, and the desk's page
    turns into the verified result by itself (present.js), with only the rental fields."""
    c = live_server.container
    now = datetime.now(UTC)
    number = seed_licence(c, now, sequence=953, name="柜台出示")
    issue_elicence(c.sessions, c.issuer, number, actor="test", at=now)
    mobile = "13700137953"
    seed_account(c, now, number=number, mobile=mobile)
    key = _party(live_server, "柜台 出示测试", Purpose.RENTAL)
    counter = desk.new_page()
    counter.goto(f"{live_server.url}/verify")
    counter.fill("input[name=key]", key)
    counter.click("form button[type=submit]")
    counter.wait_for_selector("#present-title")
    counter.click("form[action$='/verify/present'] button[type=submit]")
    counter.wait_for_selector("[data-present-state=pending] svg")
    link = counter.locator("a[href*='/app/present?']").get_attribute("href")
    assert link

    page = phone.new_page()
    live_server.sign_in(page, mobile)
    _present(page, {"app_uri": link})
    counter.wait_for_selector("#result[data-valid=true]", timeout=30_000)
    shown = counter.locator("[data-field]").evaluate_all("els => els.map(e => e.dataset.field)")
    assert set(shown) <= RENTAL_FIELDS and "photo" in shown and "address" not in shown


def test_the_licence_follows_the_phone_that_presents(live_server: LiveServer, chromium: Any) -> None:
    """One driver signed in on two phones: each presentation binds the e-licence to the presenting phone's key
    (the page says which key it is bound to), so taking turns works and every answer is verified."""
    c = live_server.container
    now = datetime.now(UTC)
    number = seed_licence(c, now, sequence=955, name="两部手机")
    issue_elicence(c.sessions, c.issuer, number, actor="test", at=now)
    mobile = "13700137955"
    account_id = seed_account(c, now, number=number, mobile=mobile)
    police = _party(live_server, "交警 两部手机", Purpose.POLICE)
    phones = [chromium.new_context(viewport={"width": 375, "height": 812}, locale="zh-CN") for _ in range(2)]
    try:
        pages = []
        live_server.sign_in(first := phones[0].new_page(), mobile)
        pages.append(first)
        # the second phone's own session (a second sign-in by SMS would wait for the code's resend interval)
        with transaction(c.sessions) as s:
            signed = open_session(s, SessionKind.HOLDER, account_id, at=datetime.now(UTC), hours=1)
        phones[1].add_cookies([{"name": HOLDER_COOKIE, "value": signed.token, "url": live_server.url}])
        pages.append(phones[1].new_page())
        for context in phones:
            context.set_default_timeout(20_000)
        keys = []
        for page in (pages[0], pages[1], pages[0]):
            made = _create(live_server, police)
            _present(page, made)
            result = _state(live_server, police, made["id"])["result"]
            assert result["valid"] is True, result
            with c.sessions() as s:
                keys.append(s.scalars(select(ElicenceRow.device_key).where(ElicenceRow.licence_number == number)).one())
        assert keys[0] != keys[1] and keys[0] == keys[2], "A, then B, then A again: the same key for A"
    finally:
        for context in phones:
            context.close()
