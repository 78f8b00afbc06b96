"""gzip for text responses (HTML, CSS, JS, JSON, SVG, WebAssembly), with a guard against BREACH.

What is compressed: a response of a compressible type (`COMPRESSIBLE`) of at least `MINIMUM_SIZE` bytes, to a
client that accepts gzip, that is not already encoded, not a range (206) and not a HEAD. Images (PNG, JPEG), PDFs
and anything else are passed on as they are: they are compressed already, or not ours to judge.

BREACH: an attacker who can make a victim's browser send many requests, and can see the size of the compressed
answers, learns a secret that sits in the same compressed body as text the attacker controls (a reflected search
term, a form value shown again). The secret that matters here is the CSRF token (`edl.web.csrf`), which stays the
same for a browser for 30 days. Pages carry it only under a fresh one-time mask (`csrf.mask_token`), so no two bodies
share its bytes and form pages are compressed like any other. As a second line, a body that still contains this
browser's token itself (the one its cookie holds, or the one this response sets) is never compressed: the check is
made on the body, so a page that ever prints the raw token is covered without a list of routes. Sign-in sessions
are in HttpOnly cookies and never in a body; the e-licence's live code changes with every request, so it cannot be
guessed byte by byte across requests.

A body that arrives in pieces (a streamed response: Starlette's FileResponse sends static files in 64 KiB chunks) is
compressed piece by piece only under `/static/`, whose files hold no secret; other streamed bodies pass unchanged,
since their later pieces cannot be checked before the first one is sent.
"""

from __future__ import annotations

import zlib

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from edl.web.csrf import CSRF_COOKIE

COMPRESSIBLE = frozenset(
    {
        "text/html",
        "text/css",
        "text/javascript",
        "text/plain",
        "application/javascript",
        "application/json",
        "application/problem+json",
        "application/manifest+json",
        "image/svg+xml",
        "application/wasm",
    }
)
MINIMUM_SIZE = 1024
"""Smaller bodies fit in a packet or two anyway; gzip's header and checksum would eat most of the gain."""
COMPRESS_LEVEL = 6
STREAMED_PREFIX = "/static/"
UNCOMPRESSED_PREFIXES = ("/api/v1/verifications",)
"""The online verification API: its answers are small JSON (a portrait in it is JPEG already), and it is the path
whose CPU per request sets the national throughput (issue 14): no gzip there."""


class CompressionMiddleware:
    """gzip, under the rules in the module docstring."""

    def __init__(self, app: ASGIApp, *, minimum_size: int = MINIMUM_SIZE) -> None:
        self.app = app
        self.minimum_size = minimum_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] == "HEAD"
            or str(scope.get("path", "")).startswith(UNCOMPRESSED_PREFIXES)
        ):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if "gzip" not in headers.get("accept-encoding", "").lower():
            await self.app(scope, receive, send)
            return
        responder = _GzipResponder(scope, send, self.minimum_size, cookie_parser(headers.get("cookie", "")))
        await self.app(scope, receive, responder.send)


def _media_type(headers: Headers) -> str:
    return headers.get("content-type", "").partition(";")[0].strip().lower()


def _set_cookie_token(headers: Headers) -> str | None:
    """The CSRF token this response sets (`Set-Cookie: edl_csrf=…`), if it sets one."""
    for value in headers.getlist("set-cookie"):
        name, _, rest = value.partition("=")
        if name.strip() == CSRF_COOKIE:
            return rest.partition(";")[0].strip().strip('"') or None
    return None


class _GzipResponder:
    def __init__(self, scope: Scope, send: Send, minimum_size: int, cookies: dict[str, str]) -> None:
        self.scope = scope
        self.downstream = send
        self.minimum_size = minimum_size
        self.secrets = [t.encode() for t in (cookies.get(CSRF_COOKIE),) if t]
        self.start: Message | None = None
        self.eligible = False
        self.decided = False
        self.compressor: zlib._Compress | None = None

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            headers = Headers(raw=message.get("headers", []))
            self.eligible = (
                message["status"] not in (204, 206, 304)
                and "content-encoding" not in headers
                and _media_type(headers) in COMPRESSIBLE
            )
            token = _set_cookie_token(headers)
            if token:
                self.secrets.append(token.encode())
            if not self.eligible:
                self.decided = True
                await self.downstream(message)
                return
            self.start = message
            return
        if kind != "http.response.body" or (self.decided and self.compressor is None):
            await self._flush_start()
            await self.downstream(message)
            return
        if self.compressor is not None:
            await self._send_compressed(message)
            return
        # The first body message of an eligible response: decide now.
        self.decided = True
        body: bytes = message.get("body", b"")
        more = bool(message.get("more_body", False))
        start = self.start
        assert start is not None
        start_headers = MutableHeaders(raw=start["headers"])
        start_headers.add_vary_header("Accept-Encoding")
        if more:
            compress = self.scope["path"].startswith(STREAMED_PREFIX)
        else:
            compress = len(body) >= self.minimum_size and not any(s in body for s in self.secrets)
        if not compress:
            await self._flush_start()
            await self.downstream(message)
            return
        self.compressor = zlib.compressobj(COMPRESS_LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        start_headers["Content-Encoding"] = "gzip"
        etag = start_headers.get("etag")
        if etag and not etag.startswith("W/"):
            start_headers["ETag"] = "W/" + etag  # a different body than the identity one: no longer strong
        if more:
            del start_headers["Content-Length"]
            await self._flush_start()
            await self._send_compressed(message)
            return
        data = self.compressor.compress(body) + self.compressor.flush()
        start_headers["Content-Length"] = str(len(data))
        await self._flush_start()
        await self.downstream({"type": "http.response.body", "body": data})

    async def _send_compressed(self, message: Message) -> None:
        assert self.compressor is not None
        more = bool(message.get("more_body", False))
        data = self.compressor.compress(message.get("body", b""))
        if not more:
            data += self.compressor.flush()
        await self.downstream({"type": "http.response.body", "body": data, "more_body": more})

    async def _flush_start(self) -> None:
        if self.start is not None:
            start, self.start = self.start, None
            await self.downstream(start)
