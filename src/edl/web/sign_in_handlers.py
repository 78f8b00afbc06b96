"""What every audience's protected route answers when the caller is not signed in, fails the CSRF check or lacks
the role: `install_auth_handlers(app)` adds the CSRF cookie middleware and turns SignInRequired / CsrfRefused /
Forbidden into a redirect to that audience's own sign-in page (401 JSON for JSON requests) or a 403 page in that
audience's chrome (`edl.web.errors.error_page` picks it).
"""

from __future__ import annotations

from urllib.parse import urlencode

import structlog
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from edl.accounts.sessions import SessionKind
from edl.web.auth_deps import HOLDER_SIGN_IN, STAFF_SIGN_IN, Forbidden, SignInRequired, this_page, wants_json
from edl.web.csrf import CsrfCookieMiddleware, CsrfRefused
from edl.web.errors import error_page
from edl.web.holder.sign_in import request_root
from edl.web.i18n import Translator, negotiate

log = structlog.get_logger("edl.web.auth")
SIGN_IN_PAGES = {SessionKind.HOLDER: HOLDER_SIGN_IN, SessionKind.STAFF: STAFF_SIGN_IN, SessionKind.PARTY: "/verify"}


def install_auth_handlers(app: FastAPI) -> None:
    """Add the CSRF cookie middleware and the answers to SignInRequired, CsrfRefused and Forbidden."""
    app.add_middleware(CsrfCookieMiddleware)

    @app.exception_handler(SignInRequired)
    async def on_sign_in_required(request: Request, exc: SignInRequired) -> Response:
        target = SIGN_IN_PAGES[exc.kind]
        url = request_root(request) + target
        if wants_json(request):
            t = Translator(negotiate(request))
            return JSONResponse(
                {"error": "sign_in_required", "message": t("auth.sign_in_required"), "sign_in": url},
                status_code=401,
                headers={"Cache-Control": "no-store"},
            )
        back = this_page(request) if exc.kind is not SessionKind.PARTY else None
        if back:
            url += "?" + urlencode({"next": back})
        return RedirectResponse(url, 303, headers={"Cache-Control": "no-store"})

    @app.exception_handler(CsrfRefused)
    async def on_csrf_refused(request: Request, exc: CsrfRefused) -> Response:
        log.warning("csrf_refused", reason=exc.reason, route=str(getattr(request.scope.get("route"), "path", "-")))
        t = Translator(negotiate(request))
        if wants_json(request):
            return JSONResponse({"error": "csrf", "message": t("auth.csrf_detail")}, status_code=403)
        return error_page(request, 403, t("auth.csrf_title"), t("auth.csrf_detail"))

    @app.exception_handler(Forbidden)
    async def on_forbidden(request: Request, exc: Forbidden) -> Response:
        t = Translator(negotiate(request))
        if wants_json(request):
            return JSONResponse({"error": "forbidden", "message": t("auth.forbidden_detail")}, status_code=403)
        return error_page(request, 403, t("auth.forbidden_title"), t("auth.forbidden_detail"))
