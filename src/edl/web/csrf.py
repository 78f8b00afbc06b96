"""CSRF protection for every form: a per-browser double-submit token, plus refusing cross-site requests.

The cookie `edl_csrf` (random, SameSite=Strict) must equal the form field `csrf` or the header `X-CSRF-Token`
(compared in constant time). The same token serves before and after sign-in. `CsrfCookieMiddleware` sets the
cookie on a response only when a page asked for the token (`csrf_token`) and the browser had none, so static
files and JSON answers never carry a Set-Cookie.

Pages never show the token itself: `csrf_token` hands out a fresh mask of it each time (a random pad, then the token
XOR the pad, as Django and Rails do), so no two responses carry the same secret bytes and a compressed page leaks
nothing about the token (BREACH); `require_csrf` unmasks what is sent. A script may also send the cookie's value
as it is.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSRF_COOKIE = "edl_csrf"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_COOKIE_MAX_AGE = 30 * 24 * 3600
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ALLOWED_FETCH_SITES = frozenset({"same-origin", "none"})
_STATE_KEY = "edl_csrf"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32,128}$")
_TOKEN_MASKED = re.compile(r"^[A-Za-z0-9_-]{86,344}$")
"""A masked token: twice the token's bytes in base64url (43 characters of token give 115)."""


class CsrfRefused(Exception):
    """An unsafe request without this browser's token, or from another site; `reason` is for the log only."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(slots=True)
class _CsrfState:
    token: str | None
    issued: bool = False


def _well_formed(value: str | None) -> str | None:
    return value if value and _TOKEN.match(value) else None


def csrf_cookie_header(token: str, *, secure: bool) -> str:
    response = Response()
    response.set_cookie(
        CSRF_COOKIE, token, max_age=CSRF_COOKIE_MAX_AGE, path="/", samesite="strict", httponly=False, secure=secure
    )
    return response.headers["set-cookie"]


class CsrfCookieMiddleware:
    """Reads this browser's token at the start of a request and sets the cookie when a page handed out a new one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = _CsrfState(_well_formed(Request(scope).cookies.get(CSRF_COOKIE)))
        scope.setdefault("state", {})[_STATE_KEY] = state
        secure = scope.get("scheme") == "https"

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start" and state.issued and state.token:
                MutableHeaders(scope=message).append("set-cookie", csrf_cookie_header(state.token, secure=secure))
            await send(message)

        await self.app(scope, receive, send_wrapper)


def _state(request: Request) -> _CsrfState:
    state = request.scope.get("state", {}).get(_STATE_KEY)
    if not isinstance(state, _CsrfState):
        raise RuntimeError("CsrfCookieMiddleware is not installed: call install_auth_handlers(app) in create_app")
    return state


def csrf_token(request: Request) -> str:
    """A fresh mask of this browser's token, for `<input type="hidden" name="csrf">` (a new token, and its cookie,
    when the browser had none). Every call gives other bytes; each unmasks to the same token."""
    state = _state(request)
    if state.token is None:
        state.token = secrets.token_urlsafe(32)
        state.issued = True
    return mask_token(state.token)


def mask_token(token: str) -> str:
    """`token` under a one-time pad: base64url(pad + (token XOR pad)), no padding characters."""
    raw = token.encode("ascii")
    pad = secrets.token_bytes(len(raw))
    masked = bytes(a ^ b for a, b in zip(raw, pad, strict=True))
    return base64.urlsafe_b64encode(pad + masked).rstrip(b"=").decode("ascii")


def unmask_token(sent: str) -> str | None:
    """The token inside a masked value, or None when `sent` is not one (wrong length, not base64url)."""
    if not _TOKEN_MASKED.match(sent):
        return None
    try:
        both = base64.urlsafe_b64decode(sent + "=" * (-len(sent) % 4))
    except (binascii.Error, ValueError):
        return None
    half = len(both) // 2
    if len(both) % 2 or half == 0:
        return None
    raw = bytes(a ^ b for a, b in zip(both[half:], both[:half], strict=True))
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        return None


def cross_site(request: Request) -> str | None:
    """Why the request comes from another site (Sec-Fetch-Site, Origin), or None when it does not."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        # The browser's own statement. It is the one to trust: our pages send no referrer, so Chromium sends
        # `Origin: null` with same-origin form posts, and Origin alone cannot tell them from cross-site ones.
        if fetch_site.lower() not in ALLOWED_FETCH_SITES:
            return f"sec-fetch-site:{fetch_site[:20]}"
        return None
    origin = request.headers.get("origin")
    if origin is not None:
        host = (request.headers.get("host") or "").lower()
        try:
            netloc = urlsplit(origin).netloc.lower()
        except ValueError:
            netloc = ""
        if origin == "null" or not netloc or netloc != host:
            return "origin"
    return None


MAX_FORM_FIELDS = 64
"""Our largest form (registering a relying party with its field list) has about 25 fields."""


async def require_csrf(request: Request) -> None:
    """For unsafe methods: same site, and the form field `csrf` or header `X-CSRF-Token` equals the cookie."""
    if request.method in SAFE_METHODS:
        return
    reason = cross_site(request)
    if reason:
        raise CsrfRefused(reason)
    expected = _well_formed(request.cookies.get(CSRF_COOKIE))
    if expected is None:
        raise CsrfRefused("no_cookie")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        try:
            form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
        except Exception:  # not a form body (e.g. JSON without the header): no token
            form = None
        value = form.get(CSRF_FIELD) if form is not None else None
        sent = value if isinstance(value, str) else None
    if not sent:
        raise CsrfRefused("no_token")
    unmasked = unmask_token(sent) if len(sent) > len(expected) else sent  # a page's masked copy, or a script's raw one
    if unmasked is None or not hmac.compare_digest(unmasked.encode(), expected.encode()):
        raise CsrfRefused("token_mismatch")
