"""Attacks on the API's ASGI fast lane (`edl.web.verifier.fastlane`) that it refuses.

Each request is sent as raw ASGI messages to `create_app(container)` (the lane on, the default), so that the scope,
the headers and the body's pieces are exactly what a hostile client or a misbehaving server could hand it. Nothing
refused may verify (no row in the verification log), and every answer the lane gives carries the security headers
and an `X-Request-ID`. Both databases.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from starlette.testclient import TestClient
from starlette.types import Message

from edl.bootstrap import Container
from edl.verification.purposes import Purpose
from edl.verification.ratelimit import MemoryRateLimiter
from edl.web import create_app
from edl.web.verifier.api import MAX_BODY
from tests.integration.test_online_verification import NOW, Clock, live_code, party_key, seeded
from tests.workflow import prepare

pytestmark = pytest.mark.integration
API = "/api/v1/verifications"
SECURITY = ("content-security-policy", "referrer-policy", "x-content-type-options", "x-frame-options")


@dataclass
class Sent:
    status: int | None
    headers: dict[str, str]
    body: bytes
    reads: int
    received: int = 0
    verified: int = 0

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Lane:
    client: TestClient
    app: FastAPI
    container: Container
    key: str
    code: str

    @property
    def body(self) -> bytes:
        return json.dumps({"code": self.code}).encode()

    def auth(self) -> list[tuple[str, str]]:
        return [("authorization", f"Bearer {self.key}")]

    def send(
        self,
        *,
        method: str = "POST",
        path: str = API,
        headers: list[tuple[str, str]] | None = None,
        messages: list[dict[str, Any]] | None = None,
        root_path: str = "",
        scheme: str = "http",
        query: bytes = b"",
    ) -> Sent:
        before = self.rows()
        portal = self.client.portal
        assert portal is not None  # inside the TestClient's `with`
        sent: Sent = portal.call(self._call, method, path, headers or [], messages, root_path, scheme, query)
        sent.verified = self.rows() - before
        return sent

    def rows(self) -> int:
        with self.container.sessions() as session:
            return int(session.scalar(sa.text("SELECT count(*) FROM verifications")) or 0)

    async def _call(
        self,
        method: str,
        path: str,
        headers: list[tuple[str, str]],
        messages: list[dict[str, Any]] | None,
        root_path: str,
        scheme: str,
        query: bytes,
    ) -> Sent:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": scheme,
            "path": path,
            "raw_path": path.encode(),
            "root_path": root_path,
            "query_string": query,
            "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers],
            "client": ("203.0.113.9", 40000),
            "server": ("edl.test", 443 if scheme == "https" else 80),
        }
        pending = list(messages if messages is not None else [one(self.body)])
        reads = received = 0

        async def receive() -> dict[str, Any]:
            nonlocal reads, received
            reads += 1
            if pending:
                message = pending.pop(0)
                received += len(message.get("body", b""))
                return message
            await asyncio.sleep(3600)  # a client that never sends more
            raise AssertionError("unreachable")

        out: list[dict[str, Any]] = []

        async def send(message: Message) -> None:
            out.append(dict(message))

        await self.app(scope, receive, send)
        start = next((m for m in out if m["type"] == "http.response.start"), None)
        return Sent(
            status=start["status"] if start else None,
            headers={k.decode("latin-1"): v.decode("latin-1") for k, v in (start or {"headers": []})["headers"]},
            body=b"".join(m.get("body", b"") for m in out if m["type"] == "http.response.body"),
            reads=reads,
            received=received,
        )


def one(body: bytes) -> dict[str, Any]:
    return {"type": "http.request", "body": body, "more_body": False}


@pytest.fixture
def lane(container: Container, tmp_path: Path) -> Iterator[Lane]:
    prepare(container, NOW)
    container.clock = Clock(NOW)
    container.rate_limiter = MemoryRateLimiter()
    container.settings.api_fast_lane = True
    number, _ = seeded(container, tmp_path)
    _, key = party_key(container, Purpose.RENTAL)
    code = live_code(container, number)
    app = create_app(container)
    with TestClient(app) as client:
        yield Lane(client, app, container, key, code)


def assert_lane_answer(sent: Sent, status: int) -> None:
    assert sent.status == status, sent.body[:300]
    for name in SECURITY:
        assert sent.headers.get(name), name
    assert sent.headers.get("x-request-id")


def test_the_harness_verifies_with_a_valid_key(lane: Lane) -> None:
    sent = lane.send(headers=lane.auth())
    assert_lane_answer(sent, 200)
    assert sent.verified == 1 and sent.json()["valid"] is True


@pytest.mark.parametrize(
    "headers",
    [
        [],
        [("cookie", "edl_party=a-signed-in-browser; edl_csrf=x")],  # a browser's session is not a key
        [("authorization", "Basic dXNlcjpwYXNz")],  # a browser's cached Basic credentials
        [("authorization", "Bearer")],
        [("authorization", "Bearer edl_rp_")],
        [("authorization", "Bearer edl_rp_unknown")],
        [("authorization", "Bearer " + "x" * 5000)],
        [("x-api-key", "edl_rp_unknown")],
    ],
)
def test_no_valid_bearer_key_never_verifies(lane: Lane, headers: list[tuple[str, str]]) -> None:
    sent = lane.send(headers=headers)
    assert_lane_answer(sent, 401)
    assert sent.headers["www-authenticate"].startswith("Bearer")
    assert sent.headers["cache-control"] == "no-store"
    assert sent.verified == 0 and sent.reads == 0  # refused before a byte of the body is read


@pytest.mark.parametrize(
    "value",
    ["Bearer\t{key}", "Bearer\xa0{key}", "Bearer {key} extra", "Bearer {key}x", "Token {key}", "{key}", "Bearer:{key}"],
)
def test_a_valid_key_in_a_malformed_header_is_refused(lane: Lane, value: str) -> None:
    sent = lane.send(headers=[("authorization", value.format(key=lane.key))])
    assert_lane_answer(sent, 401)
    assert sent.verified == 0


def test_the_key_is_not_taken_from_the_query_string_or_the_body(lane: Lane) -> None:
    body = json.dumps({"code": lane.code, "key": lane.key}).encode()
    query = f"key={lane.key}&access_token={lane.key}&authorization=Bearer+{lane.key}".encode()
    sent = lane.send(query=query, messages=[one(body)])
    assert_lane_answer(sent, 401)
    assert sent.verified == 0


@pytest.mark.parametrize(
    ("method", "path", "root_path"),
    [
        ("post", API, ""),  # method names are case-sensitive: FastAPI's 405, not the lane
        ("HEAD", API, ""),
        ("GET", API, ""),
        ("PUT", API, ""),
        ("POST", API + "/", ""),  # FastAPI's redirect; the key must be sent again to the real path
        ("POST", "/" + API, ""),
        ("POST", API.upper(), ""),
        ("POST", API + "%2F", ""),
        ("POST", "/api/v1/verifications/../verifications", ""),
        ("POST", "/edlx" + API, "/edl"),  # a root_path that is only a prefix of the path's first segment
    ],
)
def test_near_miss_paths_and_methods_do_not_verify(lane: Lane, method: str, path: str, root_path: str) -> None:
    sent = lane.send(method=method, path=path, root_path=root_path, headers=lane.auth())
    assert sent.status != 200
    assert sent.verified == 0
    assert sent.headers.get("x-request-id") and sent.headers.get("x-frame-options") == "DENY"


def test_behind_a_root_path_the_key_is_still_required(lane: Lane) -> None:
    refused = lane.send(path="/edl" + API, root_path="/edl")
    assert_lane_answer(refused, 401)
    assert refused.verified == 0
    served = lane.send(path="/edl" + API, root_path="/edl", headers=lane.auth())
    assert_lane_answer(served, 200)


@pytest.mark.parametrize("declared", [str(MAX_BODY + 1), "9" * 18, "9" * 40])
def test_a_declared_oversized_body_is_refused_unread(lane: Lane, declared: str) -> None:
    for headers in ([("content-length", declared)], [*lane.auth(), ("content-length", declared)]):
        sent = lane.send(headers=headers, messages=[one(b" " * (MAX_BODY + 1))])
        assert_lane_answer(sent, 413)
        assert sent.reads == 0 and sent.verified == 0


ARABIC_TEN = "\u0661\u0660".encode().decode("latin-1")
"""Arabic-Indic digits (str.isdigit() says yes), as a client sends them: UTF-8 bytes in the header."""


@pytest.mark.parametrize("declared", [None, "10", "-1", "+10", " 10", "0x10", ARABIC_TEN])
def test_a_streamed_body_past_the_cap_is_cut_off(lane: Lane, declared: str | None) -> None:
    """Chunked (no length), a lying length, a negative or malformed one: counted while it streams, cut at the cap."""
    piece = 1000
    messages = [{"type": "http.request", "body": b" " * piece, "more_body": True} for _ in range(100)]
    headers = lane.auth() + ([("content-length", declared)] if declared is not None else [])
    sent = lane.send(headers=headers, messages=messages)
    assert_lane_answer(sent, 413)
    assert sent.received <= MAX_BODY + piece  # nothing read after the first piece past the cap
    assert sent.verified == 0


def test_a_single_piece_past_the_cap_is_refused(lane: Lane) -> None:
    padded = lane.body + b" " * (MAX_BODY + 1 - len(lane.body))
    sent = lane.send(headers=[*lane.auth(), ("content-length", "10")], messages=[one(padded)])
    assert_lane_answer(sent, 413)
    assert sent.verified == 0


def test_a_body_exactly_at_the_cap_is_read(lane: Lane) -> None:
    padded = lane.body + b" " * (MAX_BODY - len(lane.body))
    sent = lane.send(headers=[*lane.auth(), ("content-length", str(MAX_BODY))], messages=[one(padded)])
    assert_lane_answer(sent, 200)


@pytest.mark.parametrize("cut", [0, 5])
def test_a_client_that_leaves_mid_body_is_not_verified(lane: Lane, cut: int) -> None:
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": lane.body[:cut], "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent = lane.send(headers=lane.auth(), messages=messages)
    assert sent.status is None and sent.body == b""  # nobody listens: nothing sent
    assert sent.verified == 0
    registry = lane.app.state.metrics.registry
    assert registry.get_sample_value("edl_http_requests_total", {"method": "POST", "route": API, "status": "499"}) == 1


def test_hsts_over_https_on_every_lane_answer(lane: Lane) -> None:
    for headers, status in (([], 401), (lane.auth(), 200)):
        sent = lane.send(headers=headers, scheme="https")
        assert_lane_answer(sent, status)
        assert sent.headers["strict-transport-security"].startswith("max-age=")
    assert "strict-transport-security" not in lane.send(headers=lane.auth()).headers


@pytest.mark.parametrize("rid", ["a" * 65, "a b", "a\r\nset-cookie: x=1", "<script>", ""])
def test_an_insane_request_id_is_replaced(lane: Lane, rid: str) -> None:
    sent = lane.send(headers=[*lane.auth(), ("x-request-id", rid)])
    assert_lane_answer(sent, 200)
    assert sent.headers["x-request-id"] != rid and len(sent.headers["x-request-id"]) == 32
    assert "set-cookie" not in sent.headers


def test_the_rate_limit_counts_the_party_however_its_key_is_spelt(lane: Lane, container: Container) -> None:
    _, key = party_key(container, Purpose.POLICE, name="limited desk", rate=2)
    spellings = [f"Bearer {key}", f"bearer   {key}  ", f"BEARER {key}"]
    answers = [lane.send(headers=[("authorization", value)]) for value in spellings]
    assert [a.status for a in answers] == [200, 200, 429]
    assert answers[2].verified == 0 and answers[2].headers["retry-after"]
    assert_lane_answer(answers[2], 429)


def test_refused_bodies_never_verify_and_leak_nothing(lane: Lane) -> None:
    bodies = [
        b"\xff\xfe",
        b"[" * 5000,
        b'{"code": "' + lane.code.encode() + b'", "code": 1}',
        json.dumps({"code": lane.code, "barcode": "1"}).encode(),
        json.dumps({"code": {"$ne": ""}}).encode(),
        json.dumps({"code": "x" * 4097}).encode(),
        b'{"code": "' + lane.code.encode() + b'"} trailing',
    ]
    for body in bodies:
        sent = lane.send(headers=lane.auth(), messages=[one(body)])
        assert_lane_answer(sent, 400)
        assert sent.verified == 0
        assert set(sent.json()) == {"error", "message"}
        assert "Traceback" not in sent.body.decode("utf-8", "replace")
