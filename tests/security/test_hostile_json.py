"""Hostile JSON bodies (issue 10): deep nesting is a documented 400, never a RecursionError and an HTML 500; a huge
body is a 413 refused while it streams in, never read to its end; a bug under /api/ is a JSON 500.

The parser (`edl.boundedjson.loads`) is checked with hypothesis: any bytes or text give a value or `JsonRefused`.
The routes are driven twice: through `TestClient`, and as raw ASGI calls whose `receive` counts the bytes the app
pulls (TestClient reads a request body whole before the app sees it, so it cannot show where reading stopped).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient
from starlette.types import Message

from edl.bootstrap import Container
from edl.boundedjson import MAX_DEPTH, JsonRefused, loads
from edl.db.models import PushSubscriptionRow, VerificationRow
from edl.db.session import transaction
from edl.verification.parties import register_party
from edl.verification.purposes import Purpose
from edl.web import create_app
from edl.web.holder.inbox import MAX_SUBSCRIPTION_BODY
from edl.web.verifier.api import MAX_BODY
from edl.web.verifier.pages import MAX_JSON_BYTES
from tests.auth_helpers import csrf_of, run_async, sign_in_holder

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
DEEP = b"[" * 1000
"""The finding's body: 1,000 nested arrays (Python's json gives up near its recursion limit of 1,000)."""
HUGE = 50 * 1024 * 1024
CHUNK = 64 * 1024

# --- the parser: any input is a value or the documented refusal ------------------------------------------------


def nested(depth: int, open_: str = "[", close: str = "]") -> str:
    return open_ * depth + close * depth


def depth_of(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    return 0


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=60,
)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
@example(DEEP)
@example(b"[" * 100_000)
@example(b'{"a":' * 5000)
@example(b"\xef\xbb\xbf" + b"[" * 40)
@example(b"1" * 5000)
@example(b"\xff\xfe[\x00")
def test_any_bytes_give_a_value_or_the_refusal(data: bytes) -> None:
    try:
        loads(data)
    except JsonRefused as exc:
        assert exc.reason in ("not_json", "too_deep")


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet='[]{}",:\\ 0a-eE.tn', max_size=3000))
def test_any_bracket_heavy_text_gives_a_value_or_the_refusal_and_never_more_than_json_accepts(text: str) -> None:
    try:
        value = loads(text)
    except JsonRefused:
        return
    assert value == json.loads(text)
    assert depth_of(value) <= MAX_DEPTH


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_every_document_within_the_depth_limit_reads_as_json_reads_it(value: Any) -> None:
    text = json.dumps(value)
    assert depth_of(value) <= MAX_DEPTH
    assert loads(text) == json.loads(text)
    assert loads(text.encode()) == json.loads(text)


def deep_document(kind: str, depth: int) -> str:
    """A document whose arrays and objects nest exactly `depth` levels."""
    if kind == "arrays":
        return "[" * depth + "]" * depth
    if kind == "objects":
        return '{"k":' * depth + "0" + "}" * depth
    pairs, odd = divmod(depth, 2)
    return '[{"k":' * pairs + ("[0]" if odd else "0") + "}]" * pairs


@pytest.mark.parametrize("kind", ["arrays", "objects", "mixed"])
def test_nesting_is_accepted_up_to_the_limit_and_refused_past_it(kind: str) -> None:
    fits = loads(deep_document(kind, MAX_DEPTH))
    assert depth_of(fits) == MAX_DEPTH
    with pytest.raises(JsonRefused) as refused:
        loads(deep_document(kind, MAX_DEPTH + 1))
    assert refused.value.reason == "too_deep"


def test_brackets_inside_strings_do_not_count() -> None:
    text = json.dumps({"code": "[" * 5000, "x": ['"]]]]', "\\[[[["]})
    assert loads(text) == json.loads(text)


def _stack_depth() -> int:
    frame, depth = sys._getframe(), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1  # type: ignore[assignment]
    return depth


def test_the_finding_is_refused_without_recursion_even_with_little_stack_left() -> None:
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(_stack_depth() + 40)  # json would need a frame per level; the scan needs none
    try:
        for body in (DEEP, b"[" * 10_000_000, b'{"a":' * 100_000, '{"a": [' * 20 + "0" + "]}" * 20):
            with pytest.raises(JsonRefused) as refused:
                loads(body)
            assert refused.value.reason == "too_deep"
    finally:
        sys.setrecursionlimit(limit)


# --- the three routes ---------------------------------------------------------------------------------------------


def party_key(container: Container) -> str:
    with transaction(container.sessions) as s:
        _party, key = register_party(
            s, name="租车行", purpose=Purpose.RENTAL, actor="test", at=NOW - timedelta(hours=1)
        )
    return key


@pytest.fixture
def world(container: Container) -> Container:
    container.clock = lambda: NOW
    return container


@pytest.fixture
def app(world: Container) -> FastAPI:
    return create_app(world)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as c:
        yield c


def api_headers(container: Container) -> dict[str, str]:
    return {"Authorization": f"Bearer {party_key(container)}", "Content-Type": "application/json"}


def party_headers(client: TestClient, container: Container) -> dict[str, str]:
    """A party signed in on the verifier page: its cookies and the CSRF header `/verify/check` wants."""
    token = csrf_of(client, "/verify")
    r = client.post("/verify/sign-in", data={"csrf": token, "key": party_key(container)})
    assert r.status_code == 303, r.text
    return {"X-CSRF-Token": token, "Content-Type": "application/json"}


def holder_headers(client: TestClient, container: Container) -> dict[str, str]:
    sign_in_holder(client, container)
    return {"X-CSRF-Token": csrf_of(client), "Content-Type": "application/json"}


def verifications(container: Container) -> int:
    with container.sessions() as s:
        return int(s.scalar(sa.select(sa.func.count()).select_from(VerificationRow)) or 0)


def subscriptions(container: Container) -> int:
    with container.sessions() as s:
        return int(s.scalar(sa.select(sa.func.count()).select_from(PushSubscriptionRow)) or 0)


def assert_json_refusal(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert isinstance(body.get("error"), str) and body["error"]
    return body


@pytest.mark.parametrize(
    "body",
    [DEEP, b"[" * 100_000, b'{"code": ' + b"[" * 1000, b'{"code": "EDL1:x", "barcode": ' + b"{" * 40, b"\xff{}"],
)
def test_api_deep_or_broken_json_is_the_documented_400_and_logs_nothing(
    world: Container, client: TestClient, body: bytes
) -> None:
    headers = api_headers(world)
    if len(body) > MAX_BODY:
        body = body[:MAX_BODY]  # within the size cap, so the parser is what answers
    answer = assert_json_refusal(client.post("/api/v1/verifications", content=body, headers=headers), 400)
    assert answer["error"] == "not_json" and "JSON" in answer["message"]
    assert verifications(world) == 0


def test_verifier_check_deep_json_is_the_documented_400(world: Container, client: TestClient) -> None:
    headers = party_headers(client, world)
    for body in (DEEP, b'{"text": ' + b"[" * 1000, b'{"text": "x", "format": ' + b"{" * 40):
        answer = assert_json_refusal(client.post("/verify/check", content=body, headers=headers), 400)
        assert answer["error"] == "bad_body"
    assert verifications(world) == 0


@pytest.mark.parametrize("path", ["/app/push/subscribe", "/app/push/unsubscribe"])
def test_push_deep_json_is_the_documented_400_and_stores_nothing(
    world: Container, client: TestClient, path: str
) -> None:
    headers = holder_headers(client, world)
    for body in (DEEP, b'{"endpoint": "https://fcm.googleapis.com/x", "keys": ' + b"[" * 1000):
        assert_json_refusal(client.post(path, content=body, headers=headers), 400)
    assert subscriptions(world) == 0


def test_a_form_read_by_the_csrf_check_leaves_no_json_and_is_a_400_not_a_500(
    world: Container, client: TestClient
) -> None:
    headers = party_headers(client, world)
    token = headers["X-CSRF-Token"]
    r = client.post("/verify/check", data={"csrf": token, "text": "EDL1:x"})  # a form: the CSRF check reads it
    assert_json_refusal(r, 400)


# --- size: refused from the header, or while the body streams in ---------------------------------------------


async def post_raw(app: FastAPI, path: str, headers: dict[str, str], total: int) -> tuple[int, dict[str, str], int]:
    """POST `total` bytes of `[` to `app` in 64 KiB chunks; (status, headers, bytes the app pulled)."""
    pulled = 0
    start: Message = {}

    async def receive() -> Message:
        nonlocal pulled
        if pulled >= total:
            return {"type": "http.disconnect"}
        size = min(CHUNK, total - pulled)
        pulled += size
        return {"type": "http.request", "body": b"[" * size, "more_body": pulled < total}

    async def send(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    await app(scope, receive, send)
    answer = {k.decode("latin-1"): v.decode("latin-1") for k, v in start.get("headers", [])}
    return int(start["status"]), answer, pulled


def _with_cookies(client: TestClient, headers: dict[str, str]) -> dict[str, str]:
    cookies = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    return {"host": "testserver", **headers, **({"cookie": cookies} if cookies else {})}


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
@pytest.mark.parametrize(
    ("path", "limit", "who"),
    [
        ("/api/v1/verifications", MAX_BODY, "party_api"),
        ("/verify/check", MAX_JSON_BYTES, "party_page"),
        ("/app/push/subscribe", MAX_SUBSCRIPTION_BODY, "holder"),
        ("/app/push/unsubscribe", MAX_SUBSCRIPTION_BODY, "holder"),
    ],
)
def test_a_50_mb_body_is_a_413_and_is_never_read_past_the_limit(
    world: Container, app: FastAPI, client: TestClient, path: str, limit: int, who: str, declared: bool
) -> None:
    if who == "party_api":
        headers = api_headers(world)
    elif who == "party_page":
        headers = party_headers(client, world)
    else:
        headers = holder_headers(client, world)
    headers = _with_cookies(client, headers)
    if declared:
        headers["content-length"] = str(HUGE)
    else:
        headers["transfer-encoding"] = "chunked"

    status, answer, pulled = run_async(post_raw, app, path, headers, HUGE)

    assert status == 413
    assert answer["content-type"].startswith("application/json")
    assert pulled <= (0 if declared else limit + CHUNK), f"the app read {pulled:,} bytes of a {HUGE:,}-byte body"
    assert verifications(world) == 0 and subscriptions(world) == 0


# --- a bug under /api/ is JSON, never an HTML page ---------------------------------------------------------------


def test_an_unexpected_error_under_api_is_a_json_500_and_pages_keep_the_html_page(world: Container) -> None:
    app = create_app(world)

    @app.get("/api/v1/boom")
    def boom_api() -> None:
        raise RuntimeError("a bug")

    @app.get("/boom")
    def boom_page() -> None:
        raise RuntimeError("a bug")

    with TestClient(app, raise_server_exceptions=False) as c:
        api = c.get("/api/v1/boom")
        page = c.get("/boom", headers={"Accept": "text/html"})
    assert api.status_code == 500 and api.headers["content-type"].startswith("application/json")
    assert api.json()["error"] == "server_error" and api.json()["request_id"]
    assert "<html" not in api.text.lower()
    assert page.status_code == 500 and page.headers["content-type"].startswith("text/html")
