"""Response headers every page gets: a strict CSP (only our own scripts, CSS and images; no inline code), no referrer
(URLs carry licence numbers), no framing, no MIME sniffing; HSTS over https; long caching for versioned static files.

HSTS is sent when the request's scope says https: TLS at uvicorn itself, or a proxy's `X-Forwarded-Proto: https`
that uvicorn accepted because the proxy's address is trusted (`--forwarded-allow-ips` / `FORWARDED_ALLOW_IPS`;
uvicorn trusts only 127.0.0.1 and ::1 by default). The header itself is never read here. Over plain http it is
never sent (browsers ignore it there anyway, RFC 6797 §8.1).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def _content_security_policy(script_src: str) -> str:
    return (
        f"default-src 'none'; script-src {script_src}; style-src 'self'; img-src 'self' data: blob:; "
        "media-src 'self' blob:; connect-src 'self'; worker-src 'self'; manifest-src 'self'; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    )


CONTENT_SECURITY_POLICY = _content_security_policy("'self'")
SCANNER_CONTENT_SECURITY_POLICY = _content_security_policy("'self' 'wasm-unsafe-eval'")
"""The verifier page's CSP: the same, plus compiling our own WebAssembly barcode reader (static/vendor/
zxing_reader.wasm, fetched from this origin). 'wasm-unsafe-eval' allows WebAssembly compilation only, never eval."""
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
STRICT_TRANSPORT_SECURITY = "max-age=31536000; includeSubDomains"
"""One year, subdomains included; no `preload` (that is a decision for the operator of the domain)."""
STATIC_PREFIX = "/static/"


def add_security_headers(headers: MutableHeaders, *, https: bool) -> None:
    """SECURITY_HEADERS (unless the response set its own) and HSTS over https. Also used by the 500 handler, which
    answers outside every middleware."""
    for name, value in SECURITY_HEADERS.items():
        headers.setdefault(name, value)
    if https:
        headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)


class SecurityHeadersMiddleware:
    """Adds SECURITY_HEADERS (unless a route set them), HSTS over https, and Cache-Control for static files."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_static = scope["path"].startswith(STATIC_PREFIX)
        https = scope.get("scheme") == "https"
        versioned = b"v=" in scope.get("query_string", b"")

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                add_security_headers(headers, https=https)
                if is_static and message["status"] == 200:
                    headers["Cache-Control"] = (
                        "public, max-age=31536000, immutable" if versioned else "public, max-age=300"
                    )
            await send(message)

        await self.app(scope, receive, send_wrapper)
