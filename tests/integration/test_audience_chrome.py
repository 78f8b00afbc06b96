"""Each audience wears its own chrome, error pages included (issue 13, items 1 and 4).

Before: every error page (404, 403, 405, 429, 500), for drivers too, used the staff registry's chrome
("电子驾驶证登记库 / 工作人员查询", footer "仅供授权工作人员使用") and linked back to `/registry`; the staff sign-in,
registry and staff-account pages wore the registry's chrome, not the console's; the landing page wore the staff
footer; 停用 (disable a staff account) had no confirmation.
"""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.testclient import TestClient

from edl.bootstrap import Container
from edl.web import create_app
from edl.web.audience import Audience, declared_routes, flat_routes
from edl.web.errors import audience_at
from tests.auth_helpers import csrf_of, make_staff_user, sign_in_holder, sign_in_staff

pytestmark = pytest.mark.integration

STAFF_FOOTER = "仅供授权工作人员使用"
REGISTRY_CHROME = "工作人员查询"
CONSOLE = "电子驾驶证审核工作台"
APP = "电子驾驶证"  # the driver app's name, in its brand link to /app
VERIFIER = "核验"


def staff_links(html: str) -> list[str]:
    """Every link to a staff page (registry, review console)."""
    return re.findall(r'href="(/(?:registry|review)[^"]*)"', html)


def brand_href(html: str) -> str:
    found = re.search(r'<p class="brand[^"]*"><a href="([^"]*)"', html)
    assert found, "no brand link"
    return found.group(1)


def error_home(html: str) -> str:
    found = re.search(r'<section class="panel error-panel".*?<a class="button" href="([^"]*)"', html, re.S)
    assert found, "not an error page"
    return found.group(1)


def title_of(html: str) -> str:
    found = re.search(r"<title>([^<]*)</title>", html)
    assert found
    return found.group(1)


@pytest.fixture
def client(container: Container) -> TestClient:
    app = create_app(container)

    def boom() -> None:
        raise RuntimeError("probe")

    def busy() -> None:
        raise HTTPException(429, "busy", headers={"Retry-After": "3"})

    for prefix in ("/app", "/review", "/registry", "/verify", ""):
        app.add_api_route(f"{prefix}/x-probe-boom", boom, methods=["GET"])
        app.add_api_route(f"{prefix}/x-probe-busy", busy, methods=["GET"])
    probes = app.router.routes[-10:]  # ahead of the app's own routes (`/registry/{number}` would answer first)
    app.router.routes[:] = [*probes, *app.router.routes[:-10]]
    return TestClient(app, follow_redirects=False, raise_server_exceptions=False)


# path that is not found, path answered by POST only, the home each audience's error page links to
AUDIENCES = {
    "driver": ("/app/no-such-page", "/app/sign-in/code", "/app"),
    "driver sign-in": ("/app/sign-in/nothing", "/app/sign-in/verify", "/app"),
    "console": ("/review/no-such-page", "/review/sign-out", "/review"),
    "registry": ("/registry/x/y/z", "/registry/x/release", "/review"),
    "verifier": ("/verify/no-such-page", "/verify/upload", "/verify"),
    "public": ("/no-such-page", "/", "/"),  # POST on the landing page
}


@pytest.mark.parametrize("audience", list(AUDIENCES))
@pytest.mark.parametrize("kind", ["404", "405", "429", "500"])
def test_error_pages_wear_their_audiences_chrome(client: TestClient, audience: str, kind: str) -> None:
    missing, post_only, home = AUDIENCES[audience]
    prefix = "" if audience == "public" else "/" + missing.split("/")[1]
    if kind == "404":
        r = client.get(missing)
    elif kind == "405":
        r = client.post("/", data={}) if audience == "public" else client.get(post_only)
    elif kind == "429":
        r = client.get(f"{prefix}/x-probe-busy")
    else:
        r = client.get(f"{prefix}/x-probe-boom", headers={"accept": "text/html"})
    assert r.status_code == int(kind), r.text
    html = r.text
    assert error_home(html) == home
    if audience.startswith("driver"):
        assert brand_href(html) == "/app"
        assert 'class="app' in html, "the driver app's body class and styles"
    elif audience in ("console", "registry"):
        assert brand_href(html) == "/review" and CONSOLE in title_of(html)
    elif audience == "verifier":
        assert brand_href(html) == "/verify" and "verifier" in html
    else:
        assert brand_href(html) == "/"
    if audience not in ("console", "registry"):
        assert staff_links(html) == [], "a page outside the console links to no staff page"
        assert STAFF_FOOTER not in html and REGISTRY_CHROME not in html
    assert REGISTRY_CHROME not in html, "nobody wears the old registry chrome"


def test_a_refused_csrf_on_a_driver_form_is_a_driver_page(client: TestClient) -> None:
    r = client.post("/app/sign-in/code", data={"mobile": "13800138000"})
    assert r.status_code == 403
    assert error_home(r.text) == "/app" and staff_links(r.text) == [] and STAFF_FOOTER not in r.text


def test_a_forbidden_console_page_is_a_console_page(container: Container, client: TestClient) -> None:
    sign_in_staff(client, container, "rev1")
    r = client.get("/review/staff")
    assert r.status_code == 403
    assert error_home(r.text) == "/review" and CONSOLE in title_of(r.text)


def test_every_driver_page_shows_the_driver_chrome_only(container: Container, client: TestClient) -> None:
    """Every GET page of the driver app without path parameters, signed out and signed in."""
    paths = sorted(
        route.path
        for route in flat_routes(client.app.routes)  # type: ignore[attr-defined]
        if isinstance(route, APIRoute)
        and "GET" in (route.methods or ())
        and route.path.startswith(("/app", "/privacy", "/dev/sms"))
        and "{" not in route.path
        and "x-probe" not in route.path
        and not route.path.endswith(".js")
    )
    assert {"/app", "/app/sign-in", "/app/licence", "/privacy"} <= set(paths)
    shown: set[str] = set()
    for signed_in in (False, True):
        if signed_in:
            sign_in_holder(client, container)
        for path in [*paths, "/app/no-such-page"]:
            r = client.get(path)
            if r.status_code in (301, 302, 303, 307) or not r.headers.get("content-type", "").startswith("text/html"):
                continue  # a redirect, or not a page (JSON, an image)
            shown.add(path)
            assert STAFF_FOOTER not in r.text and REGISTRY_CHROME not in r.text, path
            assert staff_links(r.text) == [], path
            assert brand_href(r.text) in ("/app", "/app/"), path
    assert {"/app/sign-in", "/privacy", "/app", "/app/me", "/app/no-such-page"} <= shown, shown


def test_the_landing_page_wears_the_public_chrome(client: TestClient) -> None:
    html = client.get("/").text
    assert STAFF_FOOTER not in html and REGISTRY_CHROME not in html and brand_href(html) == "/"


@pytest.mark.parametrize("path", ["/review/sign-in", "/registry", "/review/staff", "/review/relying-parties"])
def test_staff_pages_wear_the_console_chrome(container: Container, client: TestClient, path: str) -> None:
    if path != "/review/sign-in":
        sign_in_staff(client, container, "boss", "admin")
    r = client.get(path)
    assert r.status_code == 200
    assert CONSOLE in title_of(r.text) and brand_href(r.text) == "/review"
    assert REGISTRY_CHROME not in r.text


def test_verifier_pages_wear_the_verifier_chrome(client: TestClient) -> None:
    r = client.get("/verify")
    assert r.status_code == 200 and brand_href(r.text) == "/verify"
    assert staff_links(r.text) == [] and STAFF_FOOTER not in r.text


def test_disabling_a_staff_account_needs_the_confirmation_box(container: Container, client: TestClient) -> None:
    make_staff_user(container, "rev1")
    sign_in_staff(client, container, "boss", "admin")
    page = client.get("/review/staff").text
    form = re.search(r'<form method="post" action="/review/staff/rev1/disable">(.*?)</form>', page, re.S)
    assert form and re.search(r'<input type="checkbox" name="confirm" value="yes" required>', form.group(1))
    token = csrf_of(client)
    r = client.post("/review/staff/rev1/disable", data={"csrf": token})
    assert r.status_code == 400 and "请先勾选确认框" in r.text
    assert "已停用" not in client.get("/review/staff").text, "nothing changed"
    r = client.post("/review/staff/rev1/disable", data={"csrf": token, "confirm": "yes"})
    assert r.status_code == 303
    assert "已停用" in client.get("/review/staff").text


def test_the_error_chrome_prefixes_match_the_routes_declared_audiences(client: TestClient) -> None:
    """Every page route of the driver app, the console and the verifier page lies under its audience's prefix (so
    its errors wear that audience's chrome); public routes there are the audience's own sign-in pages."""
    checked = 0
    for route, audiences in declared_routes(client.app.routes):  # type: ignore[attr-defined]
        if route.path.startswith("/api/") or "x-probe" in route.path:
            continue  # the API answers errors in JSON
        for audience in audiences:
            if audience in (Audience.DRIVER, Audience.STAFF, Audience.RELYING_PARTY):
                assert audience_at(route.path) is audience, route.path
                checked += 1
    assert checked > 30


@pytest.mark.parametrize("path", ["/registry", "/review", "/review/staff"])
def test_every_signed_in_console_page_carries_the_console_navigation(
    container: Container, client: TestClient, path: str
) -> None:
    """Before: the registry pages wore the console's title but not its navigation (no way back to the queue, no
    sign-out); every console page now carries the same navigation, with the current page marked."""
    sign_in_staff(client, container, "boss", "admin")
    html = client.get(path).text
    nav = re.search(r'<nav class="console-nav"[^>]*>(.*?)</nav>', html, re.S)
    assert nav, f"{path}: no console navigation"
    links = re.findall(r'href="([^"]+)"', nav.group(1))
    assert {"/review", "/registry", "/review/staff", "/review/relying-parties"} <= set(links)
    assert 'aria-current="page"' in nav.group(1)
    assert 'action="/review/sign-out"' in nav.group(1)


def test_the_verification_api_is_the_first_route_tried(container: Container) -> None:
    """Throughput (issue 14): Starlette tries the routers in order, and passing over ten routers cost ~110 µs of a
    ~1.2 ms verification. The API, health and the published lists come first."""
    from starlette.routing import Match

    scope = {"type": "http", "method": "POST", "path": "/api/v1/verifications", "root_path": "", "headers": []}
    routes = create_app(container).router.routes
    first = next(i for i, r in enumerate(routes) if r.matches(scope)[0] is Match.FULL)
    assert first == 0
