"""A cap on every request body, before any route reads it (forms included).

FastAPI parses a route's `Form()` body before the route's guards run, and Starlette spools uploaded files to disk
without a total limit, so without this a visitor who is not signed in could stream gigabytes to any form. Every
request body is limited here: `Content-Length` over the limit is refused at once (413), and a streamed body is
counted while it arrives and cut off at the limit. Upload routes get the upload limit; everything else a small one.
Routes with their own tighter limits (the JSON endpoints, the upload forms) keep them.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_LIMIT = 64 * 1024
"""Forms, JSON and sign-in posts: far more than any of them needs."""


class BodyTooLarge(HTTPException):
    """Raised from `receive` once a body passes its limit; nothing after that is read. An HTTPException, so a
    route's body parser passes it on (FastAPI would turn any other error into a 400) and it is answered 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"请求体过大（最多 {limit} 字节） / the request body is larger than {limit} bytes")


class BodyLimitMiddleware:
    """413 for a body over its route's limit: `limits` by exact path, `prefixes` by path prefix (paths with an id in
    them), `default` for every other path."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limits: Mapping[str, int],
        prefixes: Mapping[str, int] | None = None,
        default: int = DEFAULT_LIMIT,
    ) -> None:
        self.app = app
        self.limits = dict(limits)
        self.prefixes = tuple((prefixes or {}).items())
        self.default = default

    def limit_of(self, path: str) -> int:
        hit = self.limits.get(path)
        if hit is not None:
            return hit
        return next((limit for prefix, limit in self.prefixes if path.startswith(prefix)), self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_of(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _too_large(scope, receive, send, limit)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _too_large(scope, receive, send, limit)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isascii() and text.isdigit() and len(text) < 19 else None
    return None


async def _too_large(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    """413, as JSON (`{"error": "too_large", "message"}`, the API's shape) under /api/ or for a JSON body."""
    message = f"请求体过大（最多 {limit} 字节） / the request body is larger than {limit} bytes"
    headers = {"Connection": "close", "Cache-Control": "no-store"}
    content_type = dict(scope.get("headers", [])).get(b"content-type", b"").split(b";")[0].strip().lower()
    response: Response
    if str(scope["path"]).startswith("/api/") or content_type == b"application/json":
        response = JSONResponse({"error": "too_large", "message": message}, status_code=413, headers=headers)
    else:
        response = PlainTextResponse(message, status_code=413, headers=headers)
    await response(scope, receive, send)
