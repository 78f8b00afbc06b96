"""The API's fast lane (`edl.web.verifier.fastlane`) answers exactly as the FastAPI route behind it.

Each request below is sent twice: to an app with the fast lane (the default) and to one without it
(`EDL_API_FAST_LANE=false`, the API through FastAPI's router and the page middlewares). The status, the headers a
client acts on (content type, caching, authentication challenge, rate limit, retry, the security headers) and the
JSON body must match, apart from the log row's own id; each side writes its own log row when it verifies. Both
databases (the fast lane is the same code on SQLite, where the verification keeps its one thread hop).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from edl.bootstrap import Container
from edl.verification.purposes import Purpose
from edl.verification.ratelimit import MemoryRateLimiter
from edl.web import create_app
from edl.web.verifier.api import MAX_BODY
from tests.integration.test_online_verification import NOW, Clock, live_barcode, live_code, party_key, seeded
from tests.workflow import prepare

pytestmark = pytest.mark.integration
API = "/api/v1/verifications"

COMPARED = (
    "content-type",
    "cache-control",
    "www-authenticate",
    "retry-after",
    "ratelimit-limit",
    "ratelimit-remaining",
    "content-security-policy",
    "referrer-policy",
    "x-content-type-options",
    "x-frame-options",
    "strict-transport-security",
    "content-encoding",
)


@pytest.fixture
def ready(container: Container) -> Container:
    prepare(container, NOW)
    container.clock = Clock(NOW)
    container.rate_limiter = MemoryRateLimiter()
    return container


@pytest.fixture
def both(ready: Container) -> Iterator[Callable[..., tuple[Any, Any]]]:
    """`send(method, path, **httpx kwargs)` → (fast lane's response, FastAPI route's response), each side with a
    fresh rate limiter so that both see the same remaining count."""
    ready.settings.api_fast_lane = True
    fast_app = create_app(ready)
    ready.settings.api_fast_lane = False
    slow_app = create_app(ready)
    ready.settings.api_fast_lane = True
    with (
        TestClient(fast_app, follow_redirects=False, base_url="https://edl.test") as fast,
        TestClient(slow_app, follow_redirects=False, base_url="https://edl.test") as slow,
    ):

        def send(method: str, path: str = API, **kwargs: Any) -> tuple[Any, Any]:
            answers = []
            for client in (fast, slow):
                ready.rate_limiter = MemoryRateLimiter()
                sent = dict(kwargs)
                if "chunks" in sent:  # a streamed body (no Content-Length): a fresh iterator for each side
                    sent["content"] = iter(sent.pop("chunks"))
                answers.append(client.request(method, path, **sent))
            return answers[0], answers[1]

        yield send


def assert_same(fast: Any, slow: Any, *, skip: tuple[str, ...] = ()) -> None:
    assert fast.status_code == slow.status_code, (fast.text[:300], slow.text[:300])
    for name in set(COMPARED) - set(skip):
        assert fast.headers.get(name) == slow.headers.get(name), name
    assert fast.headers.get("x-request-id") and slow.headers.get("x-request-id")
    if "json" in slow.headers.get("content-type", ""):
        a, b = fast.json(), slow.json()
        for body in (a, b):
            if isinstance(body, dict):
                body.pop("verification_id", None)
                body.pop("request_id", None)
        assert a == b


def test_valid_and_refused_verifications_answer_alike(
    ready: Container, both: Callable[..., tuple[Any, Any]], tmp_path: Path
) -> None:
    number, _ = seeded(ready, tmp_path)
    _, police = party_key(ready, Purpose.POLICE)
    _, rental = party_key(ready, Purpose.RENTAL)
    code = live_code(ready, number)
    bearer = {"Authorization": f"Bearer {police}"}
    cases: list[tuple[str, dict[str, Any]]] = [
        ("POST", {"json": {"code": code}, "headers": bearer}),
        ("POST", {"json": {"code": code}, "headers": {"Authorization": f"bearer   {rental}  "}}),
        ("POST", {"json": {"barcode": live_barcode(ready, number)}, "headers": bearer}),
        ("POST", {"json": {"code": "EDL1:not-a-code"}, "headers": bearer}),
        ("POST", {"json": {"code": code}}),  # no key
        ("POST", {"json": {"code": code}, "headers": {"Cookie": "edl_party=a-signed-in-browser"}}),  # no cookie auth
        ("POST", {"json": {"code": code}, "headers": {"Authorization": f"Basic {police}"}}),
        ("POST", {"json": {"code": code}, "headers": {"Authorization": "Bearer edl_rp_unknown"}}),
        ("POST", {"json": {"code": code}, "headers": {"Authorization": "Bearer " + "x" * 5000}}),
        ("POST", {"json": [code], "headers": bearer}),
        ("POST", {"json": {"code": code, "barcode": "1"}, "headers": bearer}),
        ("POST", {"json": {"code": code, "extra": 1}, "headers": bearer}),
        ("POST", {"json": {"code": ""}, "headers": bearer}),
        ("POST", {"json": {"code": 7}, "headers": bearer}),
        ("POST", {"content": b"\xff\xfe", "headers": {**bearer, "Content-Type": "application/json"}}),
        ("POST", {"content": b"[" * 5000, "headers": {**bearer, "Content-Type": "application/json"}}),
        ("POST", {"content": b" " * (MAX_BODY + 1), "headers": {**bearer, "Content-Type": "application/json"}}),
        ("POST", {"chunks": [b" " * 4096] * 3, "headers": {**bearer, "Content-Type": "application/json"}}),
        ("POST", {"json": {"code": code}, "headers": {**bearer, "Accept-Encoding": "gzip"}}),
        ("GET", {"headers": bearer}),  # not the lane's: FastAPI's 405, on both
        # repeated headers: the first of each counts on both ways in (the attack review found the lane took the last)
        (
            "POST",
            {
                "json": {"code": code},
                "headers": [("Authorization", "Bearer edl_rp_bad"), ("Authorization", f"Bearer {police}")],
            },
        ),
        (
            "POST",
            {
                "json": {"code": code},
                "headers": [("Authorization", f"Bearer {police}"), ("Authorization", "Bearer edl_rp_bad")],
            },
        ),
    ]
    for method, kwargs in cases:
        fast, slow = both(method, **kwargs)
        assert_same(fast, slow)


def test_the_rate_limit_refuses_alike(ready: Container, tmp_path: Path) -> None:
    number, _ = seeded(ready, tmp_path)
    _, key = party_key(ready, Purpose.RENTAL, rate=1)
    code = live_code(ready, number)
    refusals = []
    for lane in (True, False):  # each side its own limiter: the first call passes, the second is over the limit
        ready.settings.api_fast_lane = lane
        ready.rate_limiter = MemoryRateLimiter()
        with TestClient(create_app(ready)) as client:
            first, second = (
                client.post(API, json={"code": code}, headers={"Authorization": f"Bearer {key}"}) for _ in "12"
            )
        assert first.status_code == 200
        refusals.append(second)
    ready.settings.api_fast_lane = True
    assert refusals[0].status_code == 429 and refusals[0].headers["retry-after"]
    assert abs(int(refusals[0].headers["retry-after"]) - int(refusals[1].headers["retry-after"])) <= 1
    assert_same(*refusals, skip=("retry-after",))  # seconds left in the window: the two sides ran moments apart


def test_the_lane_answers_only_its_own_path_and_method(ready: Container, tmp_path: Path) -> None:
    """Near misses go to FastAPI: a trailing slash (its redirect), another method, another API path, a page."""
    app = create_app(ready)
    with TestClient(app, follow_redirects=False) as client:
        assert client.post(API + "/", json={}).status_code in (307, 404, 405)
        assert client.put(API, json={}).status_code == 405
        assert client.post("/api/v1/verificationsX", json={}).status_code == 404
        assert client.get("/healthz").json() == {"status": "ok"}


def test_the_lane_logs_and_counts_like_every_route(
    ready: Container, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    number, _ = seeded(ready, tmp_path)
    _, key = party_key(ready, Purpose.RENTAL)
    code = live_code(ready, number)
    app = create_app(ready)
    with TestClient(app) as client:
        capsys.readouterr()
        ok = client.post(API, json={"code": code}, headers={"Authorization": f"Bearer {key}", "X-Request-ID": "rp-1"})
        refused = client.post(API, json={"code": code})
    assert ok.status_code == 200 and ok.headers["x-request-id"] == "rp-1"
    assert refused.status_code == 401
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"http_request"' in line]
    assert [(line["route"], line["status"]) for line in lines] == [(API, 200), (API, 401)]
    assert lines[0]["request_id"] == "rp-1"
    registry = app.state.metrics.registry
    assert registry.get_sample_value("edl_http_requests_total", {"method": "POST", "route": API, "status": "200"}) == 1
    assert number not in json.dumps(lines)


def test_an_unexpected_error_in_the_lane_is_the_apis_json_500(
    ready: Container, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    number, _ = seeded(ready, tmp_path)
    _, key = party_key(ready, Purpose.RENTAL)
    code = live_code(ready, number)

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom 110101199001011234")

    monkeypatch.setattr(ready.online_verifier, "averify", broken)
    with TestClient(create_app(ready), raise_server_exceptions=False) as client:
        answer = client.post(API, json={"code": code}, headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 500
    body = answer.json()
    assert body["error"] == "server_error" and body["request_id"] not in ("", "-")
    assert "110101199001011234" not in answer.text
    assert answer.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize(
    ("path", "root"),
    [
        ("/api/v1/verifications", ""),
        ("/edl/api/v1/verifications", "/edl"),
        ("/api/v1/verifications", "/ap"),  # a root_path that is only a prefix of a segment: not stripped
        ("/edl", "/edl"),
        ("/edlx/api/v1/verifications", "/edl"),
    ],
)
def test_the_lane_sees_the_path_as_starlettes_router_does(path: str, root: str) -> None:
    """Behind a proxy's root_path the lane answers exactly the requests FastAPI's route would match."""
    from starlette._utils import get_route_path

    from edl.web.verifier.fastlane import _route_path

    scope = {"path": path, "root_path": root}
    assert _route_path(scope) == get_route_path(scope)


def test_a_content_length_of_thousands_of_digits_is_413_not_a_crash(ready: Container) -> None:
    """`int()` refuses more than 4,300 digits; a server that passes such a header on must still get a 413."""
    from edl.web.jsonbody import declared_over

    assert declared_over("9" * 5000, 8192) and declared_over("9" * 19, 8192) and not declared_over("8192", 8192)
    with TestClient(create_app(ready)) as client:
        answer = client.post(
            API, content=b"{}", headers={"Content-Length": "9" * 5000, "Content-Type": "application/json"}
        )
    assert answer.status_code in (400, 413)  # 400 where the client library refuses to send it as declared


def test_a_request_id_ending_in_a_newline_is_replaced_not_echoed() -> None:
    from edl.web.observability import request_id_from

    assert request_id_from({"headers": [(b"x-request-id", b"rp-1")]}) == "rp-1"
    assert request_id_from({"headers": [(b"x-request-id", b"rp-1\n")]}) != "rp-1\n"
