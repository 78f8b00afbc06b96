"""The language switch (切换语言): a setting kept in the `lang` cookie, not a re-request of the page.

Every page links its switch to `GET /language?to=en&next=<this page>`: that route remembers the language and sends
the browser back to `next` with a 303. `next` is where the page can be shown again by GET:

- a page shown by GET: its own path and query (without `lang`);
- a page shown as the answer to a form POST (`/app/sign-in/code`, `/verify/upload`, …): the page that holds that
  form (`POST_RETURNS`), or the nearest enclosing path with a GET page, else `/`. Re-sending the POST would repeat
  what it did (text a code again, count a check), so the switch never does that.

The route checks `next` again (it comes from the browser): only a same-site relative path, never `//host`, a
scheme, a backslash or a control character (no open redirect), and only a path a GET route answers.
`?lang=` on any link keeps working: the page is shown in that language and the cookie set.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match

from edl.web.i18n import COOKIE_MAX_AGE, COOKIE_NAME, Lang

SWITCH_PATH: Final = "/language"
MAX_NEXT: Final = 2048

POST_RETURNS: Final[Mapping[str, str]] = {
    "/app/sign-in/code": "/app/sign-in",
    "/app/sign-in/verify": "/app/sign-in",
    "/app/sign-out": "/app/sign-in",
    "/app/bind": "/app",
    "/app/unbind": "/app",
    "/verify/sign-in": "/verify",
    "/verify/sign-out": "/verify",
    "/verify/check": "/verify",
    "/verify/upload": "/verify",
    "/review/sign-out": "/review/sign-in",
}
"""Pages answering a form POST whose form is not on the same path's GET page (any other POST-only path goes to the
nearest enclosing path that has a GET page)."""

_SAFE_METHODS = frozenset({"GET", "HEAD"})


def remember(response: Response, request: Request, lang: Lang) -> None:
    """Set the `lang` cookie (a year, whole site, not readable by scripts)."""
    response.set_cookie(
        COOKIE_NAME,
        lang.value,
        max_age=COOKIE_MAX_AGE,
        path="/",
        samesite="lax",
        httponly=True,
        secure=request.url.scheme == "https",
    )


def _app_path(request: Request) -> str:
    """This request's path inside the app (without the proxy's root path)."""
    root: str = request.scope.get("root_path", "")
    path: str = request.scope.get("path", "/")
    return path[len(root) :] or "/" if root and path.startswith(root) else path


def here(request: Request) -> str:
    """Where this page can be shown again by GET, as a path inside the app (the switch's `next`)."""
    path = _app_path(request)
    if request.method not in _SAFE_METHODS:
        return get_page(request, path)
    query = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "lang"])
    return f"{path}?{query}" if query else path


def switch_url(request: Request, lang: Lang) -> str:
    """The switch link of this page, to `lang` (relative, right behind any proxy)."""
    root: str = request.scope.get("root_path", "")
    return f"{root}{SWITCH_PATH}?{urlencode({'to': lang.value, 'next': here(request)})}"


def _answers_get(request: Request, path: str) -> bool:
    scope = {"type": "http", "path": path, "method": "GET", "root_path": ""}
    routes = getattr(request.app, "routes", ()) if "app" in request.scope else ()
    return any(route.matches(scope)[0] is Match.FULL for route in routes)


def get_page(request: Request, path: str) -> str:
    """`path` when a GET route answers it, else the page its form is on, else the nearest enclosing GET page."""
    if path != SWITCH_PATH and _answers_get(request, path):
        return path
    if path in POST_RETURNS:
        return POST_RETURNS[path]
    parts = path.rstrip("/").split("/")
    while len(parts) > 1:
        parts.pop()
        parent = "/".join(parts) or "/"
        if parent != SWITCH_PATH and _answers_get(request, parent):
            return parent
    return "/"


def safe_return(request: Request, value: str | None) -> str:
    """The switch's `next`, checked: a same-site path a GET route answers (else its GET page, else `/`), without
    `lang` in its query, with the proxy's root path in front."""
    root: str = request.scope.get("root_path", "")
    if (
        not value
        or len(value) > MAX_NEXT
        or not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
        or any(ord(c) < 0x21 or ord(c) == 0x7F for c in value)
    ):
        return root + "/"
    try:
        parts = urlsplit(value)
    except ValueError:
        return root + "/"
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith("//"):
        return root + "/"
    path = get_page(request, parts.path)
    query = ""
    if path == parts.path:
        query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "lang"])
    return f"{root}{path}?{query}" if query else f"{root}{path}"
