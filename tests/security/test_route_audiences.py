"""Every door locked: each route declares one audience, only a short list is public, and every other route refuses a
visitor who is not of its audience (on SQLite and PostgreSQL).

Findings replayed: `/registry`, `/registry/{number}`, `/registry/{number}/photo` and `/metrics` answered 200 to
anyone; the registry showed every driver to every staff member whatever their authority.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount

from edl.accounts.staff import Role
from edl.bootstrap import Container
from edl.db.models import AuditRow, LicenceRow
from edl.domain import (
    AUTHORITIES_BY_CODE,
    Holder,
    IdNumber,
    Licence,
    Status,
    Validity,
    ValidityTerm,
    VehicleClass,
    make_id_number,
)
from edl.registry.mapping import row_values
from edl.web import create_app
from edl.web.audience import PUBLIC_PATHS, Audience, audience_of, declared_routes, flat_routes
from tests.auth_helpers import csrf_of, sign_in_holder, sign_in_staff
from tests.live_server import free_port

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 15, 2, 0, tzinfo=UTC)
CHENGDU = AUTHORITIES_BY_CODE["510100"]
TIANJIN = AUTHORITIES_BY_CODE["120000"]
QINGDAO = AUTHORITIES_BY_CODE["370200"]
LI_SI = make_id_number("510104", date(1985, 7, 20), 22)  # 成都
ZHANG_SAN = make_id_number("120101", date(1990, 3, 4), 11)  # 天津
WANG_WU = make_id_number("370202", date(1988, 2, 2), 33)  # 青岛

EXPECTED_PUBLIC = {
    "/",
    "/favicon.ico",
    "/healthz",
    "/readyz",
    "/.well-known/edl/trust",
    "/status-lists/1",
    "/api/v1/openapi.json",
    "/app/sign-in",
    "/app/sign-in/code",
    "/app/sign-in/verify",
    "/app/sw.js",
    "/review/sign-in",
    "/verify",
    "/verify/sign-in",
    "/verify/sign-out",
    "/dev/sms",
    "/language",
    "/privacy",
    "/openid4vp/requests/{request_id}",
    "/openid4vp/responses/{request_id}",
    "/.well-known/openid-credential-issuer",
    "/.well-known/oauth-authorization-server",
    "/openid4vci/token",
    "/openid4vci/nonce",
    "/openid4vci/credential",
}
"""Written out again here on purpose: widening the public list must change this test too."""

SIGN_IN = {
    Audience.DRIVER: "/app/sign-in",
    Audience.STAFF: "/review/sign-in",
    Audience.RELYING_PARTY: "/verify",
}


def licence(number: IdNumber, name: str, authority_code: str) -> Licence:
    authority = AUTHORITIES_BY_CODE[authority_code]
    return Licence(
        number=number,
        file_number=authority.code + "000001",
        holder=Holder(name, number.sex, "CHN", number.birth_date, "某市某区某路1号"),
        classes=(VehicleClass.C1,),
        first_issue=date(2015, 6, 1),
        validity=Validity.of(ValidityTerm.TEN_YEARS, date(2021, 6, 1)),
        authority=authority,
        statuses=frozenset({Status.NORMAL}),
        points=None,
        photo_ref=None,
    )


@pytest.fixture
def seeded(container: Container) -> Container:
    container.clock = lambda: NOW
    with container.sessions.begin() as session:
        for lic in (
            licence(LI_SI, "李四", CHENGDU.code),
            licence(ZHANG_SAN, "张三", TIANJIN.code),
            licence(WANG_WU, "王五", QINGDAO.code),
        ):
            session.add(LicenceRow(**row_values(lic, at=NOW), version=1))
    return container


@pytest.fixture
def client(seeded: Container) -> Iterator[TestClient]:
    with TestClient(create_app(seeded), follow_redirects=False) as c:
        yield c


def api_routes(client: TestClient) -> list[APIRoute]:
    return [route for route, _ in declared_routes(client.app.routes)]  # type: ignore[attr-defined]


def concrete(path: str) -> str:
    """A path with its parameters filled in (an existing licence, so a refusal is never a plain 404)."""
    values = {"number": str(ZHANG_SAN), "application_id": "0" * 32, "username": "admin1", "party_id": "0" * 32}
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: values.get(m.group(1), "x"), path)


def test_every_route_declares_exactly_one_audience(client: TestClient) -> None:
    assert len(api_routes(client)) >= 50
    undeclared = [(r.path, sorted(r.methods)) for r in api_routes(client) if len(audience_of(r.dependencies)) != 1]
    assert undeclared == []


def test_only_the_short_list_is_public(client: TestClient) -> None:
    assert PUBLIC_PATHS == EXPECTED_PUBLIC
    public = {r.path for r in api_routes(client) if audience_of(r.dependencies) == [Audience.PUBLIC]}
    assert public <= EXPECTED_PUBLIC, public - EXPECTED_PUBLIC
    mounts = [r.path for r in flat_routes(client.app.routes) if isinstance(r, Mount)]  # type: ignore[attr-defined]
    assert mounts == ["/static"]


def test_no_guarded_route_answers_a_visitor_who_is_not_signed_in(client: TestClient) -> None:
    token = csrf_of(client)
    checked = 0
    for route in api_routes(client):
        (audience,) = audience_of(route.dependencies)
        if audience is Audience.PUBLIC:
            continue
        for method in sorted(route.methods - {"HEAD"}):
            path = concrete(route.path)
            r = client.request(method, path, data={"csrf": token}, headers={"X-CSRF-Token": token})
            where = f"{method} {route.path} ({audience})"
            if audience is Audience.OPERATOR:
                assert r.status_code == 404, where
            elif route.path.startswith("/api/"):
                assert r.status_code == 401, where
                assert r.json()["error"] == "missing_key", where
            else:
                assert r.status_code == 303, f"{where} answered {r.status_code}"
                assert r.headers["location"].split("?")[0] == SIGN_IN[audience], where
            checked += 1
    assert checked >= 40


def test_a_driver_session_opens_no_staff_page(client: TestClient, seeded: Container) -> None:
    sign_in_holder(client, seeded)
    for path in ("/registry", f"/registry/{ZHANG_SAN}", f"/registry/{ZHANG_SAN}/photo", "/review", "/review/staff"):
        r = client.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/review/sign-in"), path


def test_the_registry_and_its_photos_need_a_staff_sign_in(client: TestClient) -> None:
    for path in ("/registry?page=1", f"/registry/{ZHANG_SAN}", f"/registry/{ZHANG_SAN}/photo"):
        r = client.get(path)
        assert r.status_code == 303, path
        assert "张三" not in r.text


def test_a_reviewer_sees_only_the_drivers_of_their_authorities(client: TestClient, seeded: Container) -> None:
    sign_in_staff(client, seeded, "cd-reviewer", Role.REVIEWER, [CHENGDU.code])
    listing = client.get("/registry")
    assert listing.status_code == 200
    assert "李四" in listing.text and "张三" not in listing.text and "王五" not in listing.text
    assert client.get(f"/registry/{LI_SI}").status_code == 200
    assert client.get(f"/registry/{LI_SI}/photo").status_code == 200
    for other in (ZHANG_SAN, WANG_WU):
        assert client.get(f"/registry/{other}").status_code == 404
        assert client.get(f"/registry/{other}/photo").status_code == 404
    assert "张三" not in client.get("/registry", params={"q": "张"}).text


def test_a_province_scope_covers_its_cities(client: TestClient, seeded: Container) -> None:
    sign_in_staff(client, seeded, "sd-reviewer", Role.REVIEWER, ["370000"])
    listing = client.get("/registry").text
    assert "王五" in listing and "李四" not in listing


def test_national_staff_see_every_driver(client: TestClient, seeded: Container) -> None:
    sign_in_staff(client, seeded, "national", Role.SUPERVISOR, None)
    listing = client.get("/registry").text
    assert all(name in listing for name in ("李四", "张三", "王五"))


def test_every_registry_view_is_audited(client: TestClient, seeded: Container) -> None:
    sign_in_staff(client, seeded, "cd-reviewer", Role.REVIEWER, [CHENGDU.code])
    client.get("/registry", params={"q": "李"})
    client.get(f"/registry/{LI_SI}")
    client.get(f"/registry/{LI_SI}/photo")
    with seeded.sessions() as s:
        rows = s.scalars(sa.select(AuditRow).where(AuditRow.action == "registry_view").order_by(AuditRow.id)).all()
    assert [(r.actor, r.subject, r.detail.get("view")) for r in rows] == [
        ("cd-reviewer", "search", None),
        ("cd-reviewer", str(LI_SI), "detail"),
        ("cd-reviewer", str(LI_SI), "photo"),
    ]
    assert rows[0].detail["q"] == "李"


def test_metrics_are_hidden_without_an_operator_token(client: TestClient) -> None:
    assert client.get("/metrics").status_code == 404


def test_metrics_answer_only_to_the_operator_token(seeded: Container) -> None:
    seeded.settings.metrics_token = "op-" + "s" * 40
    with TestClient(create_app(seeded), follow_redirects=False) as c:
        assert c.get("/metrics").status_code == 401
        assert c.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        ok = c.get("/metrics", headers={"Authorization": f"Bearer {seeded.settings.metrics_token}"})
        assert ok.status_code == 200
        assert "edl_http_requests" in ok.text


def test_home_page_is_a_public_landing_page_not_the_registry(client: TestClient) -> None:
    """`/` answers itself (no redirect into any audience's pages) and lists the ways in, the driver's app first."""
    r = client.get("/")
    assert r.status_code == 200
    links = re.findall(r'class="landing-link" href="([^"]+)"', r.text)
    assert links == ["/app", "/review", "/verify", "/api/v1/openapi.json"]


@pytest.mark.slow
def test_edl_serve_puts_metrics_on_the_operators_port_only(tmp_path: Path) -> None:
    """`EDL_METRICS_PORT`: /metrics on its own listener; the public listener still answers 404 for it."""
    port, metrics_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDL_")}
    env.update(EDL_DATA_DIR=str(tmp_path / "data"), EDL_DEMO="true", EDL_METRICS_PORT=str(metrics_port))
    proc = subprocess.Popen(
        [sys.executable, "-m", "edl", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "edl serve did not start"
            time.sleep(0.3)
        assert httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).status_code == 404
        operator = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5)
        assert operator.status_code == 200 and "edl_http_requests" in operator.text
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
