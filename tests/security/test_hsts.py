"""HSTS over https, never over plain http (issue 10).

The app reads only the scope's scheme: https when uvicorn terminated TLS, or when uvicorn's proxy-headers middleware
accepted `X-Forwarded-Proto: https` from a trusted proxy address. A client that sends the header itself over plain
http gets no HSTS.
"""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from edl.bootstrap import Container
from edl.web import create_app
from edl.web.security import STRICT_TRANSPORT_SECURITY

pytestmark = pytest.mark.integration

HSTS = "max-age=31536000; includeSubDomains"
PATHS = ["/healthz", "/app/sign-in", "/verify", "/static/app.css", "/no-such-page"]


def test_the_policy_is_a_year_with_subdomains() -> None:
    assert STRICT_TRANSPORT_SECURITY == HSTS


@pytest.mark.parametrize("path", PATHS)
def test_https_answers_carry_hsts(container: Container, path: str) -> None:
    with TestClient(create_app(container), base_url="https://testserver", follow_redirects=False) as client:
        response = client.get(path)
    assert response.headers.get("strict-transport-security") == HSTS


@pytest.mark.parametrize("path", PATHS)
def test_plain_http_never_carries_hsts_even_when_the_client_claims_https(container: Container, path: str) -> None:
    with TestClient(create_app(container), follow_redirects=False) as client:
        plain = client.get(path)
        claimed = client.get(path, headers={"X-Forwarded-Proto": "https"})
    assert "strict-transport-security" not in plain.headers
    assert "strict-transport-security" not in claimed.headers


def test_a_trusted_proxys_forwarded_https_gets_hsts_and_an_untrusted_clients_does_not(container: Container) -> None:
    app = create_app(container)
    behind_proxy = ProxyHeadersMiddleware(app, trusted_hosts="127.0.0.1")  # uvicorn's default, as `edl serve` runs
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.7"}
    with TestClient(behind_proxy, client=("127.0.0.1", 40000)) as proxy:
        assert proxy.get("/healthz", headers=forwarded).headers.get("strict-transport-security") == HSTS
    with TestClient(behind_proxy, client=("203.0.113.9", 40000)) as stranger:
        assert "strict-transport-security" not in stranger.get("/healthz", headers=forwarded).headers
