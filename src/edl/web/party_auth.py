"""Who a relying party (核验方) is: on the verifier web page by its session cookie, on the API by its bearer key.

`current_party` (pages) and `api_party` (API) are the relying-party guards of `edl.web.audience`. The API guard
answers refusals as the API documents them (`{"error", "message"}` JSON, 401 with `WWW-Authenticate`, 503 when the
database cannot be reached) through `ApiRefused`, whose handler `install_party_handlers` adds.
"""

from __future__ import annotations

from functools import partial
from typing import Final

import anyio.to_thread
import structlog
from fastapi import FastAPI
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from edl.accounts.sessions import SessionKind, live_session
from edl.verification.parties import Party, active_party
from edl.web.auth_deps import SignInRequired
from edl.web.deps import AppServices

PARTY_COOKIE: Final = "edl_party"
NO_STORE: Final = {"Cache-Control": "no-store"}
log = structlog.get_logger("edl.web.party")

API_MESSAGES: Final[dict[str, str]] = {
    "missing_key": "缺少 API 密钥：请在 Authorization 头中使用 Bearer 方式提供 / "
    "no API key: send it as `Authorization: Bearer <key>`",
    "invalid_key": "API 密钥无效或已被吊销 / the API key is unknown or revoked",
    "unavailable": "核验服务暂时不可用，请稍后重试 / the verification service is unavailable: retry shortly",
}


class ApiRefused(Exception):
    """An API request refused before its handler ran: status, error code and extra headers."""

    def __init__(self, status: int, code: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.headers = headers or {}


def api_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": code, "message": message}, status_code=status, headers={**NO_STORE, **(headers or {})}
    )


def _container(request: Request) -> AppServices:
    container: AppServices = request.app.state.container
    return container


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


def optional_party(request: Request) -> Party | None:
    """The party signed in on the verifier page, or None (none, expired, signed out, or its key revoked)."""
    token = request.cookies.get(PARTY_COOKIE)
    if not token:
        return None
    container = _container(request)
    with container.sessions() as session:  # the primary: a revoked key or a sign-out counts at once
        row = live_session(session, SessionKind.PARTY, token, at=container.clock())
        if row is None:
            return None
        return active_party(session, row.subject_id)


def current_party(request: Request) -> Party:
    """The party signed in on the verifier page; otherwise its sign-in page (401 for JSON)."""
    party = optional_party(request)
    if party is None:
        raise SignInRequired(SessionKind.PARTY)
    return party


def parse_bearer(value: str | None) -> str | None:
    """The key of an `Authorization` header value of the form `Bearer <key>` (scheme in any case), or None."""
    if not value:
        return None
    scheme, _, key = value.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    key = key.strip()
    return key or None


async def authenticate_api_key(container: AppServices, authorization: str | None, client: str | None) -> Party:
    """The party whose key is in the `Authorization: Bearer` header value given, or `ApiRefused` (401 without a key
    or with an unknown or revoked one, 503 when the database cannot be reached). A cached key costs one hash and
    no thread hop. Shared by the FastAPI guard below and the API's ASGI fast lane (`edl.web.verifier.fastlane`)."""
    key = parse_bearer(authorization)
    if key is None:
        raise ApiRefused(401, "missing_key", {"WWW-Authenticate": 'Bearer realm="edl"'})
    party = container.party_keys.cached(key)
    if party is None:
        try:
            party = await anyio.to_thread.run_sync(
                partial(container.party_keys.authenticate, key, at=container.clock())
            )
        except SQLAlchemyError as exc:
            log.error("api_unavailable", stage="authenticate", error=type(exc).__name__)
            raise ApiRefused(503, "unavailable", {"Retry-After": "5"}) from None
    if party is None:
        log.info("api_key_refused", client=client)
        raise ApiRefused(401, "invalid_key", {"WWW-Authenticate": 'Bearer realm="edl", error="invalid_token"'})
    return party


async def api_party(request: Request) -> Party:
    """The party whose API key is in `Authorization: Bearer` (see `authenticate_api_key`)."""
    party = await authenticate_api_key(_container(request), request.headers.get("authorization"), _client(request))
    request.state.party = party
    return party


def install_party_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiRefused)
    async def on_api_refused(request: Request, exc: ApiRefused) -> Response:
        return api_error(exc.status, exc.code, API_MESSAGES[exc.code], exc.headers)
