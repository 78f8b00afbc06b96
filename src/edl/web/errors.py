"""Map errors to pages a person can act on: domain errors → 400, unknown licence → 404, bugs → 500 without a trace.

The message shown is the domain's own (it says what is wrong and what to do), in the page's language. A bug under
/api/ (or for a caller that accepts only JSON) is a JSON 500 `{"error": "server_error", "message", "request_id"}`.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from edl.applications.errors import AlreadyDecided, NotFound
from edl.domain import DomainError, InvalidIdNumber
from edl.registry.queries import LicenceNotFound
from edl.web.audience import Audience
from edl.web.i18n import Lang, Translator, negotiate
from edl.web.masking import mask_numbers_in
from edl.web.rendering import Pages
from edl.web.security import add_security_headers

API_PREFIX = "/api/"
SERVER_ERROR_MESSAGE = "服务器内部错误，请稍后重试 / internal server error: retry shortly, or quote the request_id"


class PageError(Exception):
    """Raised by a route to answer with an error page: status, a catalogue key for the heading, and the detail."""

    def __init__(self, status_code: int, title_key: str, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.title_key = title_key
        self.detail = detail


def localise(message: str, lang: Lang) -> str:
    """Domain messages read '中文 / English': keep the half in the page's language."""
    zh, sep, en = message.partition(" / ")
    if not sep:
        return message
    return zh.strip() if lang is Lang.ZH else en.strip()


AUDIENCE_PREFIXES: tuple[tuple[str, Audience], ...] = (
    ("/app", Audience.DRIVER),
    ("/holder", Audience.DRIVER),
    ("/privacy", Audience.DRIVER),
    ("/dev/sms", Audience.DRIVER),
    ("/review", Audience.STAFF),
    ("/registry", Audience.STAFF),
    ("/verify", Audience.RELYING_PARTY),
)
"""Whose pages live under a path: the driver app (with its sign-in pages, the old `/holder/…` aliases, the privacy
notice read before signing in and the demo's SMS inbox), the staff console (review, staff and relying-party admin,
registry), the verifier page. The prefixes the routes are declared under with their audience (`edl.web.audience`;
a test walks the route table); anything else is public."""

ERROR_PAGES: dict[Audience, tuple[str, str, str]] = {
    Audience.DRIVER: ("holder/error.html", "/app", "error.home_app"),
    Audience.STAFF: ("staff/error.html", "/review", "error.home_console"),
    Audience.RELYING_PARTY: ("verifier/error.html", "/verify", "error.home_verify"),
    Audience.PUBLIC: ("public/error.html", "/", "error.home_public"),
}
"""Each audience's error page: its template (in that audience's chrome), the home it links back to, and the label."""


def audience_at(path: str) -> Audience:
    """The audience whose chrome a page at this path (inside the app) wears: decided from the path alone, as an
    error may come before any route or guard ran."""
    for prefix, audience in AUDIENCE_PREFIXES:
        if path == prefix or path.startswith(prefix + "/"):
            return audience
    return Audience.PUBLIC


def error_page(request: Request, status_code: int, title: str, detail: str) -> Response:
    """The error page in the chrome of the audience the path belongs to, linking to that audience's home only."""
    pages: Pages = request.app.state.pages
    template, home, label = ERROR_PAGES[audience_at(_path(request))]
    root = str(request.scope.get("root_path", ""))
    context = {"title": title, "detail": detail, "home_url": root + home, "home_label": label}
    return pages.render(request, template, context, status_code=status_code)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on `app` (called by the app factory)."""

    @app.exception_handler(PageError)
    async def on_page_error(request: Request, exc: PageError) -> Response:
        t = Translator(negotiate(request))
        return error_page(request, exc.status_code, t(exc.title_key), exc.detail)

    @app.exception_handler(LicenceNotFound)
    async def on_licence_not_found(request: Request, exc: LicenceNotFound) -> Response:
        t = Translator(negotiate(request))
        return error_page(
            request, 404, t("error.licence_not_found"), t("error.licence_not_found_detail", number=exc.number)
        )

    @app.exception_handler(NotFound)
    async def on_application_not_found(request: Request, exc: NotFound) -> Response:
        lang = negotiate(request)
        return error_page(request, 404, Translator(lang)("error.not_found"), localise(str(exc), lang))

    @app.exception_handler(AlreadyDecided)
    async def on_already_decided(request: Request, exc: AlreadyDecided) -> Response:
        lang = negotiate(request)
        return error_page(request, 409, Translator(lang)("error.bad_request"), localise(str(exc), lang))

    @app.exception_handler(DomainError)
    async def on_domain_error(request: Request, exc: DomainError) -> Response:
        lang = negotiate(request)
        title = "error.bad_number" if isinstance(exc, InvalidIdNumber) else "error.bad_request"
        return error_page(request, 400, Translator(lang)(title), localise(str(exc), lang))

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(request: Request, exc: RequestValidationError) -> Response:
        t = Translator(negotiate(request))
        detail = "; ".join(_describe(e) for e in exc.errors())
        return error_page(request, 422, t("error.bad_request"), t("error.invalid_input", detail=detail))

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
        t = Translator(negotiate(request))
        if exc.status_code == 404:
            title, detail = t("error.not_found"), t("error.not_found_detail")
        elif exc.status_code == 405:
            title, detail = t("error.method"), t("error.method_detail")
        else:
            title, detail = t("error.title"), str(exc.detail)
        response = error_page(request, exc.status_code, title, detail)
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> Response:
        request_id = str(getattr(request.state, "request_id", "-"))
        structlog.get_logger("edl.web").error(
            "unhandled_error",
            request_id=request_id,
            error=type(exc).__name__,
            message=mask_numbers_in(str(exc))[:300],
            route=_route(request),
        )
        if answers_json(request):  # an API client or fetch() gets JSON, never an HTML page
            response: Response = JSONResponse(
                {"error": "server_error", "message": SERVER_ERROR_MESSAGE, "request_id": request_id},
                status_code=500,
                headers={"Cache-Control": "no-store"},
            )
        else:
            t = Translator(negotiate(request))
            response = error_page(request, 500, t("error.server"), t("error.server_detail", request_id=request_id))
        # Starlette answers this outside every middleware: the security headers are added here.
        add_security_headers(response.headers, https=request.url.scheme == "https")
        return response


def answers_json(request: Request) -> bool:
    """Whether errors are answered as JSON: every path under /api/, and callers that ask for JSON only."""
    accept = request.headers.get("accept", "")
    return _path(request).startswith(API_PREFIX) or ("application/json" in accept and "text/html" not in accept)


def _path(request: Request) -> str:
    """The request's path inside the app (without the mount's root_path)."""
    path = str(request.scope.get("path", ""))
    root = str(request.scope.get("root_path", ""))
    if root and path.startswith(root):
        path = path[len(root) :]
    return path


def _describe(error: dict[str, Any]) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()) if part not in ("query", "path"))
    return f"{where}: {error.get('msg', '')}" if where else str(error.get("msg", ""))


def _route(request: Request) -> str:
    return str(getattr(request.scope.get("route"), "path", "-"))
