"""The online verification API's fast lane: `POST /api/v1/verifications` answered in front of FastAPI.

Every other request passes straight through. The API's own request is answered here, by the same function the
FastAPI route calls (`edl.web.verifier.api.answer`: key, body, rate limit, body shape, verification), so what it
checks and answers cannot differ; what it skips is the machinery a bearer-key JSON endpoint does not use, and which
cost about 0.35–0.45 ms of CPU per request here (bench/verify.py, docs/benchmarks.md):

- FastAPI's router (a regex per route tried), its dependency solver, `Request` and `Response` objects;
- the page middlewares: CSRF (the API takes no cookie: a browser's session cannot act through it), gzip (the API is
  never compressed: `edl.web.compression.UNCOMPRESSED_PREFIXES`), the general body cap (the API's own 8 KiB cap,
  counted while the body streams in, is tighter).

What every response of the app gets, this lane gives too: the security headers (`edl.web.security`), the request id
(`X-Request-ID`, the caller's when sane), the request metrics and the masked access line (`AccessRecorder`, the one
`ObservabilityMiddleware` uses). An unexpected exception propagates to Starlette's error middleware, whose handler
answers the API's JSON 500 with the request id, as for any route.

It is the outermost of the app's own middlewares (added last in `create_app`) and is on unless
`EDL_API_FAST_LANE=false`; tests/integration/test_api_fast_lane.py holds both ways to the same answers.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Final

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send

from edl.web.observability import REQUEST_ID_HEADER, AccessRecorder, RequestMetrics, request_id_from
from edl.web.security import SECURITY_HEADERS, STRICT_TRANSPORT_SECURITY
from edl.web.verifier.api import PATH, answer

_FIXED_HEADERS: Final = [(b"content-type", b"application/json")] + [
    (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in SECURITY_HEADERS.items()
]
_HSTS: Final = (b"strict-transport-security", STRICT_TRANSPORT_SECURITY.encode("latin-1"))
_REQUEST_ID: Final = REQUEST_ID_HEADER.encode("latin-1")


class VerificationFastLane:
    """ASGI middleware: answers `POST PATH` itself (see the module doc); everything else goes to `app`."""

    def __init__(self, app: ASGIApp, *, metrics: RequestMetrics) -> None:
        self.app = app
        self.recorder = AccessRecorder(metrics)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or _route_path(scope) != PATH:
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope)
        scope.setdefault("state", {})["request_id"] = request_id  # the 500 handler names it
        started = time.perf_counter()
        status = 500
        try:
            authorization = content_length = None
            for name, value in scope["headers"]:  # the first of each, as Starlette's `Headers.get` reads them
                if name == b"authorization" and authorization is None:
                    authorization = value.decode("latin-1")
                elif name == b"content-length" and content_length is None:
                    content_length = value.decode("latin-1")
            client = scope.get("client")
            host = client[0] if client else None
            try:
                async with aclosing(_chunks(receive)) as chunks:
                    found = await answer(scope["app"].state.container, authorization, host, content_length, chunks)
            except ClientDisconnect:
                status = 499  # the client went away before its body arrived: nothing verified, nothing to send
                return
            headers = [
                *_FIXED_HEADERS,
                (b"content-length", str(len(found.body)).encode("latin-1")),
                *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in found.headers.items()),
                (_REQUEST_ID, request_id.encode("latin-1")),
            ]
            if scope.get("scheme") == "https":
                headers.append(_HSTS)
            status = found.status
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": found.body})
        finally:
            self.recorder.record(scope, PATH, status, request_id, time.perf_counter() - started)


def _route_path(scope: Scope) -> str:
    """The path inside the app (without a proxy's root_path), as Starlette's router matches it."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if not root or not path.startswith(root) or path == root or path[len(root)] != "/":
        return "" if root and path == root else path  # (exactly Starlette's `get_route_path`)
    return path[len(root) :]


async def _chunks(receive: Receive) -> AsyncIterator[bytes]:
    """The request body's pieces as they arrive; `ClientDisconnect` if the client leaves first."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return
