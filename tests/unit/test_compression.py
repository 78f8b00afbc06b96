"""`edl.web.compression.CompressionMiddleware` on small stand-in apps: which answers are gzipped and which never are."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from edl.web.compression import MINIMUM_SIZE, CompressionMiddleware
from edl.web.csrf import CSRF_COOKIE, csrf_cookie_header

GZIP = {"Accept-Encoding": "gzip, deflate, br"}
TEXT = ("电子驾驶证 " * 400).encode()
TOKEN = "T" * 43
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 20
PDF = b"%PDF-1.7\n" + b"stream " * 800


def _respond(body: bytes, media_type: str, **headers: str) -> Response:
    return Response(body, media_type=media_type, headers=headers)


async def _pieces(prefix: bytes = b"") -> AsyncIterator[bytes]:
    yield prefix
    for _ in range(5):
        yield TEXT


async def echo_form(request: Request) -> Response:
    """A page that reflects input and carries the token, like a form shown again with an error."""
    q = request.query_params.get("q", "")
    html = f"<form><input name=csrf value={TOKEN}><input value='{q}'></form>" + "x" * 2000
    return Response(html, media_type="text/html", headers={"set-cookie": csrf_cookie_header(TOKEN, secure=False)})


APP = Starlette(
    routes=[
        Route("/html", lambda r: _respond(b"<p>" + TEXT, "text/html")),
        Route("/css", lambda r: _respond(TEXT, "text/css")),
        Route("/js", lambda r: _respond(TEXT, "text/javascript")),
        Route("/json", lambda r: _respond(TEXT, "application/json")),
        Route("/api/v1/verifications", lambda r: _respond(TEXT, "application/json"), methods=["POST"]),
        Route("/small", lambda r: _respond(b"x" * (MINIMUM_SIZE - 1), "text/html")),
        Route("/png", lambda r: _respond(PNG, "image/png")),
        Route("/jpeg", lambda r: _respond(JPEG, "image/jpeg")),
        Route("/pdf", lambda r: _respond(PDF, "application/pdf")),
        Route("/encoded", lambda r: _respond(gzip.compress(TEXT), "text/html", **{"content-encoding": "gzip"})),
        Route("/token-in-cookie", lambda r: _respond(f"<input value={TOKEN}>".encode() + TEXT, "text/html")),
        Route("/form", echo_form),
        Route("/static/big.js", lambda r: StreamingResponse(_pieces(), media_type="text/javascript")),
        Route("/stream", lambda r: StreamingResponse(_pieces(TOKEN.encode()), media_type="text/html")),
    ]
)
APP.add_middleware(CompressionMiddleware)


@pytest.fixture
def client() -> TestClient:
    return TestClient(APP)


@pytest.mark.parametrize("path", ["/html", "/css", "/js", "/json"])
def test_text_answers_over_the_minimum_are_gzipped(client: TestClient, path: str) -> None:
    r = client.get(path, headers=GZIP)
    assert r.headers["content-encoding"] == "gzip"
    assert int(r.headers["content-length"]) < len(TEXT) // 4
    assert r.content.endswith(TEXT)  # decoded by the client
    assert r.headers["vary"] == "Accept-Encoding"


@pytest.mark.parametrize(("path", "body"), [("/png", PNG), ("/jpeg", JPEG), ("/pdf", PDF)])
def test_already_compressed_formats_are_never_gzipped(client: TestClient, path: str, body: bytes) -> None:
    r = client.get(path, headers=GZIP)
    assert "content-encoding" not in r.headers
    assert r.content == body
    assert r.headers["content-length"] == str(len(body))


def test_small_answers_and_clients_without_gzip_get_the_body_as_is(client: TestClient) -> None:
    assert "content-encoding" not in client.get("/small", headers=GZIP).headers
    assert "content-encoding" not in client.get("/html", headers={"Accept-Encoding": "identity"}).headers


def test_an_answer_that_is_already_encoded_is_not_encoded_twice(client: TestClient) -> None:
    r = client.get("/encoded", headers=GZIP)
    assert r.headers["content-encoding"] == "gzip"
    assert r.content == TEXT


def test_head_answers_are_left_alone(client: TestClient) -> None:
    r = client.head("/html", headers=GZIP)
    assert "content-encoding" not in r.headers


def test_breach_a_body_with_the_browsers_csrf_token_is_not_compressed(client: TestClient) -> None:
    client.cookies.set(CSRF_COOKIE, TOKEN)
    r = client.get("/token-in-cookie", headers=GZIP)
    assert "content-encoding" not in r.headers
    assert TOKEN in r.text
    client.cookies.set(CSRF_COOKIE, "U" * 43)  # another browser's token is not in this body: compressed
    assert client.get("/token-in-cookie", headers=GZIP).headers["content-encoding"] == "gzip"


def test_breach_a_form_that_reflects_input_and_sets_the_token_is_not_compressed(client: TestClient) -> None:
    """No cookie yet: the token is the one this very response sets; the reflected `q` sits beside it."""
    r = client.get("/form", params={"q": "csrf value=T"}, headers=GZIP)
    assert "content-encoding" not in r.headers
    assert TOKEN in r.text


def test_a_streamed_static_file_is_gzipped_piece_by_piece(client: TestClient) -> None:
    with client.stream("GET", "/static/big.js", headers=GZIP) as r:
        raw = b"".join(r.iter_raw())
    assert r.headers["content-encoding"] == "gzip"
    assert gzip.decompress(raw) == TEXT * 5


def test_a_streamed_page_outside_static_is_passed_through(client: TestClient) -> None:
    """Its later pieces cannot be checked for the token before the first is sent, so it is not compressed."""
    with client.stream("GET", "/stream", headers=GZIP) as r:
        raw = b"".join(r.iter_raw())
    assert "content-encoding" not in r.headers
    assert raw == TOKEN.encode() + TEXT * 5


def test_the_verification_api_is_never_gzipped(client: TestClient) -> None:
    """Its CPU per request is the national throughput; its JSON is small and a portrait in it is JPEG already."""
    r = client.post("/api/v1/verifications", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and "content-encoding" not in r.headers and r.content == TEXT
