"""Every request body is capped before any route reads it, forms included (a visitor who is not signed in could
stream gigabytes to `/review/staff`: FastAPI parsed the form before the route's guard ran)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from starlette.types import Message

from edl.bootstrap import Container
from edl.web import create_app
from edl.web.bodylimit import DEFAULT_LIMIT
from tests.auth_helpers import csrf_of, run_async

pytestmark = pytest.mark.integration

FORM_ROUTES = ("/review/staff", "/review/relying-parties", "/review/sign-in", "/app/sign-in/code", "/verify/sign-in")


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container), follow_redirects=False) as c:
        yield c


@pytest.mark.parametrize("path", FORM_ROUTES)
def test_a_declared_oversized_form_is_refused_before_it_is_read(client: TestClient, path: str) -> None:
    token = csrf_of(client)
    body = b"csrf=" + token.encode() + b"&x=" + b"a" * (DEFAULT_LIMIT + 1)
    r = client.post(path, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413


def test_a_multipart_upload_to_a_form_route_is_refused(client: TestClient) -> None:
    files = {"f": ("big.bin", b"\0" * (2 * DEFAULT_LIMIT), "application/octet-stream")}
    r = client.post("/review/staff", files=files, data={"username": "x"})
    assert r.status_code == 413


def test_the_api_answers_its_documented_json_413(client: TestClient) -> None:
    r = client.post(
        "/api/v1/verifications",
        content=b'{"code": "' + b"A" * (DEFAULT_LIMIT + 10) + b'"}',
        headers={"Content-Type": "application/json", "Authorization": "Bearer edl_rp_" + "a" * 43},
    )
    assert r.status_code == 413
    assert r.json()["error"] == "too_large"


def test_a_streamed_body_without_length_is_cut_off_at_the_limit(container: Container) -> None:
    """No Content-Length: the body is counted as it arrives and nothing past the limit is pulled from the client."""
    run_async(_stream_to_form, container)


async def _stream_to_form(container: Container) -> None:
    app = create_app(container)
    pulled = 0
    chunk = b"a" * 8192

    async def receive() -> Message:
        nonlocal pulled
        pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": pulled < 50 * 1024 * 1024}

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/review/staff",
        "raw_path": b"/review/staff",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/x-www-form-urlencoded"), (b"host", b"testserver")],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
        "state": {},
    }
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 413
    assert pulled <= DEFAULT_LIMIT + len(chunk)
