"""OpenID4VP over HTTP (issue 15): the relying party's API and the two endpoints a wallet talks to.

    POST /api/v1/presentation-requests          (party key)  {"response_mode": "direct_post.jwt" | "direct_post"}
    GET  /api/v1/presentation-requests/{id}     (party key)  the request's state and, once answered, the result
    GET  /openid4vp/requests/{id}               (anyone)     the request object (application/oauth-authz-req+jwt)
    POST /openid4vp/responses/{id}              (anyone)     the wallet's direct_post (form-encoded)

The party's routes count against its key's rate limit like `POST /api/v1/verifications`; a party reads only its
own requests (another's id answers 404 exactly like an unknown one). The wallet's routes are public by nature (any
standard wallet may answer): what protects them is the verification itself (`edl.verification.presentations`).
docs/verification-api.md is the reference.
"""

from __future__ import annotations

from typing import Final

import anyio.to_thread
import orjson
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from edl.boundedjson import loads
from edl.credentials.openid4vp import DIRECT_POST_JWT, REQUEST_TYPE, RESPONSE_MODES, ResponseRefused
from edl.verification.parties import Party
from edl.verification.presentations import RequestClosed, RequestNotFound
from edl.web.audience import public, relying_party_api
from edl.web.deps import AppServices
from edl.web.verifier.api import NO_STORE, rate_check

router = APIRouter(tags=["api"])

MAX_CREATE_BODY: Final = 1024
MAX_RESPONSE_BODY: Final = 2 * 1024 * 1024
"""A wallet's response: a DeviceResponse with a portrait in base64url, maybe inside a JWE."""


def _json(status: int, body: object, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json", headers={**NO_STORE, **(headers or {})}
    )


def _oauth_error(status: int, code: str, message: str) -> Response:
    return _json(status, {"error": code, "error_description": message})


@router.post("/api/v1/presentation-requests", name="api_presentation_requests", dependencies=relying_party_api())
async def create_presentation_request(request: Request) -> Response:
    """Make an OpenID4VP request for the fields this party's purpose allows; 201 with its addresses (show
    `authorization_request_uri` or `app_uri` as a QR code or a link) and `expires_at`."""
    container: AppServices = request.app.state.container
    party: Party = request.state.party
    limits, refused = await rate_check(container, party)
    if refused is not None:
        return refused.response()
    body = await request.body()
    mode = DIRECT_POST_JWT
    if body.strip():
        if len(body) > MAX_CREATE_BODY:
            return _json(413, {"error": "too_large", "message": f"at most {MAX_CREATE_BODY} bytes / 请求体过大"})
        try:
            data = loads(body)
        except ValueError:
            data = None
        if not isinstance(data, dict) or set(data) - {"response_mode"}:
            return _json(
                400,
                {
                    "error": "invalid_request",
                    "message": '请求体应为 {"response_mode": ...} / the body may hold only "response_mode"',
                },
                limits,
            )
        mode = data.get("response_mode", DIRECT_POST_JWT)
        if mode not in RESPONSE_MODES:
            return _json(
                400,
                {
                    "error": "invalid_request",
                    "message": f"response_mode: one of {', '.join(RESPONSE_MODES)} / 响应方式不受支持",
                },
                limits,
            )
    service = container.presentations
    made = await anyio.to_thread.run_sync(lambda: service.create(party, response_mode=str(mode), at=container.clock()))
    return _json(201, made.to_json_dict(service.base_url), limits)


@router.get(
    "/api/v1/presentation-requests/{request_id}", name="api_presentation_request", dependencies=relying_party_api()
)
async def get_presentation_request(request: Request, request_id: str) -> Response:
    """The party's own request: `state` (pending, answered, declined, refused, expired) and `result` (the verified
    presentation judged against the live registry, only this purpose's fields) once answered."""
    container: AppServices = request.app.state.container
    party: Party = request.state.party
    limits, refused = await rate_check(container, party)
    if refused is not None:
        return refused.response()
    service = container.presentations
    try:
        found = await anyio.to_thread.run_sync(lambda: service.get(party, request_id, at=container.clock()))
    except RequestNotFound as exc:
        return _json(404, {"error": "not_found", "message": str(exc)}, limits)
    return _json(200, found.to_json_dict(service.base_url), limits)


@router.get("/openid4vp/requests/{request_id}", name="openid4vp_request", dependencies=public())
async def get_request_object(request: Request, request_id: str) -> Response:
    """The request object of an open request, for the wallet (RFC 9101 by reference)."""
    container: AppServices = request.app.state.container
    service = container.presentations
    try:
        token = await anyio.to_thread.run_sync(lambda: service.request_object(request_id, at=container.clock()))
    except RequestNotFound as exc:
        return _oauth_error(404, "invalid_request_uri", str(exc))
    except RequestClosed as exc:
        return _oauth_error(400, "invalid_request_uri", str(exc))
    return Response(token, media_type=f"application/{REQUEST_TYPE}", headers=NO_STORE)


@router.post("/openid4vp/responses/{request_id}", name="openid4vp_response", dependencies=public())
async def post_response(request: Request, request_id: str) -> Response:
    """The wallet's response (`direct_post` / `direct_post.jwt`, form-encoded). 200 `{}` once verified and recorded
    (the party reads the verdict: a verified mdoc of a suspended licence is recorded, not valid) or declined;
    400 with an OAuth error for a response that does not verify, 404 for no such request."""
    container: AppServices = request.app.state.container
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        return _oauth_error(400, "invalid_request", "the response must be application/x-www-form-urlencoded")
    form = await request.form(max_files=0, max_fields=8, max_part_size=MAX_RESPONSE_BODY)
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    client = request.client.host if request.client else None
    service = container.presentations
    try:
        outcome = await anyio.to_thread.run_sync(
            lambda: service.answer(request_id, fields, client=client, at=container.clock())
        )
    except RequestNotFound as exc:
        return _oauth_error(404, "invalid_request", str(exc))
    except RequestClosed as exc:
        return _oauth_error(400, "invalid_request", str(exc))
    except ResponseRefused as exc:
        return _oauth_error(400, exc.code, exc.message)
    if not outcome.accepted:
        return _oauth_error(400, outcome.error or "invalid_request", outcome.message or "refused")
    return _json(200, {})
