"""The language switch is a setting (the `lang` cookie) and a way back to a page shown by GET (issue 13, item 2).

Before: the switch was the current URL plus `?lang=`, which on a page answering a form POST (`/app/sign-in/code`,
`/verify/sign-in`, …) asked for that POST-only path by GET: a 405. Now every page links `/language?to=…&next=…`,
which sets the cookie and goes back (303) to `next` checked: same-site, a path a GET route answers (a POST-only path
is replaced by the page its form is on), never another site.
"""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.testclient import TestClient

from edl.bootstrap import Container
from edl.web import create_app
from tests.auth_helpers import csrf_of

pytestmark = pytest.mark.integration
SWITCH = re.compile(r'<a class="lang-switch" href="([^"]+)"')


@pytest.fixture
def client(container: Container) -> TestClient:
    return TestClient(create_app(container), follow_redirects=False)


def switch_link(page: str) -> str:
    found = SWITCH.search(page)
    assert found, "no language switch on the page"
    return html.unescape(found.group(1))


def html_lang(page: str) -> str:
    found = re.search(r'<html lang="([^"]+)"', page)
    assert found
    return found.group(1)


def test_the_switch_sets_the_cookie_and_goes_back_to_the_page(client: TestClient) -> None:
    r = client.get("/language", params={"to": "en", "next": "/app/sign-in?next=%2Fapp%2Flicence&lang=zh"})
    assert r.status_code == 303
    assert r.headers["location"] == "/app/sign-in?next=%2Fapp%2Flicence", "`lang` is dropped from the page's query"
    assert "lang=en" in r.headers["set-cookie"]
    assert "httponly" in r.headers["set-cookie"].lower()
    page = client.get(r.headers["location"])
    assert page.status_code == 200
    assert html_lang(page.text) == "en"
    back = client.get(switch_link(page.text))
    assert back.status_code == 303 and "lang=zh" in back.headers["set-cookie"]
    assert back.headers["location"] == "/app/sign-in?next=%2Fapp%2Flicence"
    assert html_lang(client.get(back.headers["location"]).text) == "zh-CN"


@pytest.mark.parametrize(
    ("next_", "expected"),
    [
        ("/app/sign-in/code", "/app/sign-in"),
        ("/app/sign-in/verify", "/app/sign-in"),
        ("/app/bind", "/app"),
        ("/verify/upload", "/verify"),
        ("/verify/sign-in", "/verify"),
        ("/verify/check", "/verify"),
        ("/review/staff/admin1/disable", "/review/staff"),
        ("/review/sign-in", "/review/sign-in"),
        ("/review/sign-out", "/review/sign-in"),
        ("/review/applications/" + "0" * 32 + "/decision", "/review/applications/" + "0" * 32),
        ("/registry/110101199001011234/release", "/registry/110101199001011234"),
        ("/app/sign-out", "/app/sign-in"),
        ("/no/such/page", "/"),
        ("/app/apply/photo?source=camera", "/app/apply/photo?source=camera"),
        ("/registry?q=110&page=2", "/registry?q=110&page=2"),
    ],
)
def test_a_post_only_path_goes_back_to_its_get_page(client: TestClient, next_: str, expected: str) -> None:
    r = client.get("/language", params={"to": "en", "next": next_})
    assert r.status_code == 303
    assert r.headers["location"] == expected


@pytest.mark.parametrize(
    "next_",
    [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "javascript:alert(1)",
        "evil.example",
        "",
        "/" + "a" * 5000,
    ],
)
def test_the_switch_is_not_an_open_redirect(client: TestClient, next_: str) -> None:
    r = client.get("/language", params={"to": "en", "next": next_})
    assert r.status_code in (303, 422)
    if r.status_code == 303:
        location = r.headers["location"]
        assert location.startswith("/") and not location.startswith("//") and "\\" not in location
        assert not urlsplit(location).netloc
        assert location == "/"


def test_an_unknown_language_changes_nothing(client: TestClient) -> None:
    r = client.get("/language", params={"to": "fr", "next": "/app/sign-in"})
    assert r.status_code == 303 and r.headers["location"] == "/app/sign-in"
    assert "set-cookie" not in r.headers


def test_the_code_page_after_the_post_switches_to_the_sign_in_form(client: TestClient) -> None:
    r = client.post("/app/sign-in/code", data={"csrf": csrf_of(client), "mobile": "13800138000"})
    assert r.status_code == 200, r.text
    link = switch_link(r.text)
    assert urlsplit(link).path == "/language"
    assert parse_qs(urlsplit(link).query) == {"to": ["en"], "next": ["/app/sign-in"]}
    hop = client.get(link)
    assert hop.status_code == 303
    page = client.get(hop.headers["location"])
    assert page.status_code == 200 and html_lang(page.text) == "en"


def test_the_verifier_refusal_page_switches_to_the_verifier_page(client: TestClient) -> None:
    client.get("/verify")
    token = client.cookies.get("edl_csrf")
    r = client.post("/verify/sign-in", data={"csrf": token, "key": "edl_rp_" + "x" * 43})
    assert r.status_code == 401
    hop = client.get(switch_link(r.text))
    assert hop.status_code == 303 and hop.headers["location"] == "/verify"
    page = client.get("/verify")
    assert page.status_code == 200 and html_lang(page.text) == "en"


def test_an_error_page_by_get_switches_to_a_page_that_exists(client: TestClient) -> None:
    r = client.get("/app/sign-in/code")
    assert r.status_code == 405
    hop = client.get(switch_link(r.text))
    assert hop.headers["location"] == "/app/sign-in"
    assert client.get("/app/sign-in").status_code == 200


def test_lang_in_a_link_still_works_and_is_remembered(client: TestClient) -> None:
    r = client.get("/app/sign-in?lang=en")
    assert html_lang(r.text) == "en"
    assert "lang=en" in r.headers["set-cookie"]
    assert html_lang(client.get("/app/sign-in").text) == "en"
    assert "lang=" not in parse_qs(urlsplit(switch_link(r.text)).query)["next"][0]
