"""OpenID4VCI 1.0 over HTTP (issue 15): the endpoints a standard wallet talks to. All public by nature; what guards
them is the pre-authorized code, the access token and the key proof (`edl.issuance.openid4vci`).

    GET  /.well-known/openid-credential-issuer     Credential Issuer Metadata (cacheable)
    GET  /.well-known/oauth-authorization-server   RFC 8414 metadata (eDL is its own authorization server)
    POST /openid4vci/token                         pre-authorized code (+ tx_code) → Bearer access token
    POST /openid4vci/nonce                         a fresh c_nonce
    POST /openid4vci/credential                    Bearer token + one JWT key proof → the mDL (IssuerSigned)

The offer itself is made in the driver's app (`edl.web.holder.credential_offer`).
"""

from __future__ import annotations

from typing import Final

import anyio.to_thread
import orjson
from fastapi import APIRouter
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from edl.boundedjson import loads
from edl.credentials.openid4vci import (
    CREDENTIAL_PATH,
    NONCE_PATH,
    PRE_AUTHORIZED_GRANT,
    TOKEN_PATH,
    CredentialRequestRefused,
    ProofRefused,
    authorization_server_metadata,
    issuer_metadata,
    read_credential_request,
)
from edl.credentials.openid4vp import b64encode
from edl.issuance.openid4vci import VciRefused
from edl.web.audience import public
from edl.web.deps import AppServices

router = APIRouter(tags=["openid4vci"])

ISSUER_METADATA_PATH: Final = "/.well-known/openid-credential-issuer"
AS_METADATA_PATH: Final = "/.well-known/oauth-authorization-server"
NO_STORE: Final = {"Cache-Control": "no-store", "Pragma": "no-cache"}
METADATA_CACHE: Final = {"Cache-Control": "public, max-age=3600", "Access-Control-Allow-Origin": "*"}
MAX_TOKEN_BODY: Final = 2048
MAX_CREDENTIAL_BODY: Final = 8192


def _json(status: int, body: object, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return _json(status, {"error": code, "error_description": message}, {**NO_STORE, **(headers or {})})


@router.get(ISSUER_METADATA_PATH, name="openid4vci_issuer_metadata", dependencies=public())
async def credential_issuer_metadata(request: Request) -> Response:
    """What eDL issues (the mDL as ``mso_mdoc``), where, and the key proofs it accepts."""
    container: AppServices = request.app.state.container
    return _json(200, issuer_metadata(container.settings.base_url), METADATA_CACHE)


@router.get(AS_METADATA_PATH, name="openid4vci_as_metadata", dependencies=public())
async def oauth_authorization_server_metadata(request: Request) -> Response:
    """The token endpoint and the one grant (pre-authorized code, no client authentication)."""
    container: AppServices = request.app.state.container
    return _json(200, authorization_server_metadata(container.settings.base_url), METADATA_CACHE)


@router.post(TOKEN_PATH, name="openid4vci_token", dependencies=public())
async def token(request: Request) -> Response:
    """RFC 6749 §5 answers: 200 with a Bearer token, or 400 ``invalid_request`` / ``unsupported_grant_type`` /
    ``invalid_grant`` (an unknown, used or expired code, a wrong tx_code)."""
    container: AppServices = request.app.state.container
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        return _error(400, "invalid_request", "请求须为表单编码 / the body must be application/x-www-form-urlencoded")
    body = await request.body()
    if len(body) > MAX_TOKEN_BODY:
        return _error(400, "invalid_request", f"请求体过大 / the body is larger than {MAX_TOKEN_BODY} bytes")
    try:
        form = await request.form(max_files=0, max_fields=10, max_part_size=MAX_TOKEN_BODY)
    except (HTTPException, ValueError):  # too many fields, or a body the form parser cannot read
        return _error(400, "invalid_request", "表单字段过多或无法解析 / too many form fields, or an unreadable form")
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    if fields.get("grant_type") != PRE_AUTHORIZED_GRANT:
        return _error(
            400, "unsupported_grant_type", f"只支持 {PRE_AUTHORIZED_GRANT} / only the pre-authorized code grant"
        )
    service = container.openid4vci
    try:
        issued = await anyio.to_thread.run_sync(
            lambda: service.exchange_code(
                fields.get("pre-authorized_code"), fields.get("tx_code"), at=container.clock()
            )
        )
    except VciRefused as exc:
        return _error(400, exc.code, str(exc))
    return _json(200, {"access_token": issued.token, "token_type": "Bearer", "expires_in": issued.expires_in}, NO_STORE)


@router.post(NONCE_PATH, name="openid4vci_nonce", dependencies=public())
async def nonce(request: Request) -> Response:
    """A fresh c_nonce (§7.2), to put in the key proof; single use, valid 5 minutes."""
    container: AppServices = request.app.state.container
    return _json(200, {"c_nonce": container.openid4vci.nonce(at=container.clock())}, NO_STORE)


@router.post(CREDENTIAL_PATH, name="openid4vci_credential", dependencies=public())
async def credential(request: Request) -> Response:
    """The mDL bound to the proof's key: ``{"credentials": [{"credential": <base64url IssuerSigned>}]}``.
    401 ``invalid_token``; 400 ``invalid_credential_request``, ``unknown_credential_configuration``,
    ``invalid_proof``, ``invalid_nonce`` (get a fresh c_nonce), ``credential_request_denied`` (the licence may
    not have an e-licence now)."""
    container: AppServices = request.app.state.container
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return _error(
            401,
            "invalid_token",
            "缺少访问令牌 / send the access token as Authorization: Bearer",
            {"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    service = container.openid4vci
    token = given.strip()
    try:  # the token first: a request without a valid one learns nothing else
        await anyio.to_thread.run_sync(lambda: service.token_holder(token, at=container.clock()))
    except VciRefused as exc:
        return _error(401, exc.code, str(exc), {"WWW-Authenticate": 'Bearer error="invalid_token"'})
    body = await request.body()
    if len(body) > MAX_CREDENTIAL_BODY:
        return _error(400, "invalid_credential_request", f"请求体过大 / at most {MAX_CREDENTIAL_BODY} bytes")
    try:
        data: object = loads(body)
    except ValueError:
        data = None
    try:
        proof = read_credential_request(data)
        bound = await anyio.to_thread.run_sync(lambda: service.issue_credential(token, proof, at=container.clock()))
    except VciRefused as exc:
        if exc.code == "invalid_token":
            return _error(401, exc.code, str(exc), {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return _error(400, exc.code, str(exc))
    except (ProofRefused, CredentialRequestRefused) as exc:
        return _error(400, exc.code, str(exc))
    return _json(200, {"credentials": [{"credential": b64encode(bound.issuer_signed)}]}, NO_STORE)
