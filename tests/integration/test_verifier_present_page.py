"""The verifier page asks the driver's phone (issue 15): a party signed in on /verify makes an OpenID4VP request,
sees its QR code while it is pending (the page reloads itself), then the verified result with only its fields; a
second party cannot open it. Both databases."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient

from edl.bootstrap import Container
from edl.verification.purposes import Purpose
from edl.web import create_app
from tests.integration.test_online_verification import ready, seeded
from tests.integration.test_presentations import bind, path_of, respond, wallet_form
from tests.integration.test_verifier_page import csrf, party_key, sign_in

pytestmark = pytest.mark.integration
__all__ = ["ready"]


def test_a_party_on_the_verifier_page_asks_the_phone_and_sees_the_verified_result(
    ready: Container, tmp_path: object
) -> None:
    from pathlib import Path

    number, _ = seeded(ready, Path(str(tmp_path)))
    device = ec.generate_private_key(ec.SECP256R1())
    issuer_signed = bind(ready, number, device)
    with TestClient(create_app(ready), follow_redirects=False, base_url="http://127.0.0.1:8000") as desk:
        sign_in(desk, party_key(ready, Purpose.RENTAL, "前台 出示"))
        page = desk.get("/verify").text
        assert 'action="/verify/present"' in page
        made = desk.post("/verify/present", data={"csrf": csrf(desk)})
        assert made.status_code == 303
        location = made.headers["location"]
        pending = desk.get(location)
        assert pending.status_code == 200 and "present.js" in pending.text
        assert desk.get(location + "/state").json() == {"state": "pending"}
        assert 'data-present-state="pending"' in pending.text and "<svg" in pending.text
        link = html.unescape(re.search(r'href="(http[^"]*/app/present\?[^"]+)"', pending.text).group(1))  # type: ignore[union-attr]
        query = parse_qs(urlsplit(link).query)
        from edl.credentials.openid4vp import read_unsecured_jwt

        claims = read_unsecured_jwt(desk.get(path_of(query["request_uri"][0])).text)
        assert respond(desk, claims, wallet_form(claims, issuer_signed, device)).status_code == 200
        done = desk.get(location).text
        assert 'data-valid="true"' in done and "present.js" not in done
        assert desk.get(location + "/state").json() == {"state": "answered"}
        assert 'data-field="photo"' in done and 'data-field="address"' not in done

    with TestClient(create_app(ready), follow_redirects=False) as other:
        sign_in(other, party_key(ready, Purpose.POLICE, "另一个核验方"))
        assert other.get(location).status_code == 404
    with TestClient(create_app(ready), follow_redirects=False) as stranger:
        assert stranger.get(location).status_code in (303, 401)
        assert stranger.post("/verify/present", data={"csrf": csrf(stranger)}).status_code in (303, 401, 403)
