"""`POST /api/v1/verifications`: online verification of a 亮码 or a barcode by an authenticated relying party.

    POST /api/v1/verifications
    Authorization: Bearer edl_rp_...
    Content-Type: application/json

    {"code": "EDL1:..."}   or   {"barcode": "<e-licence id>"}

Answers (JSON, never cached): 200 with the result (`OnlineResult.to_json_dict()`, valid or not); 401 without a
key or with an unknown or revoked one (`WWW-Authenticate: Bearer`); 429 over the key's limit (`Retry-After`);
400 for a body that is not a JSON object with exactly one of `code` / `barcode` as a non-empty string; 413 past the
size cap; 503 when the rate limiter or the database cannot be reached. Error bodies are
`{"error": code, "message": "中文 / English"}`. docs/verification-api.md is the reference.

The handler runs in the event loop: body, key check (a cached key costs one hash; an uncached one is looked up in a
worker thread), rate limit (in memory: in the loop; Redis: in a worker thread), then
`edl.verification.online.averify_for_party`: signature, select and insert in ONE worker-thread hop, at most
`EDL_VERIFICATION_POOL_SIZE` at once. The container is read from the app, not through a sync dependency (which
would cost a thread hop of its own).
"""

from __future__ import annotations

import json
import time
from functools import partial
from typing import Any, Final

import anyio.to_thread
import structlog
from fastapi import APIRouter
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from edl.bootstrap import Container
from edl.verification import parties
from edl.verification.online import averify_for_party
from edl.verification.parties import authenticate
from edl.verification.ratelimit import MemoryRateLimiter, RateLimiterUnavailable

router = APIRouter(tags=["api"])
log = structlog.get_logger("edl.web.api")

PATH: Final = "/api/v1/verifications"
MAX_BODY: Final = 8 * 1024
"""A code fits a version-10 QR (a few hundred characters); with its JSON wrapper 8 KiB is ample."""
MAX_TEXT: Final = 4096
BODY_KEYS: Final = frozenset({"code", "barcode"})
NO_STORE: Final = {"Cache-Control": "no-store"}

MESSAGES: Final[dict[str, str]] = {
    "missing_key": "缺少 API 密钥：请在 Authorization 头中使用 Bearer 方式提供 / "
    "no API key: send it as `Authorization: Bearer <key>`",
    "invalid_key": "API 密钥无效或已被吊销 / the API key is unknown or revoked",
    "rate_limited": "请求过于频繁，请稍后重试 / too many requests for this key: retry after the time in Retry-After",
    "too_large": f"请求体过大（最多 {MAX_BODY} 字节） / the request body is larger than {MAX_BODY} bytes",
    "not_json": "请求体不是 JSON 对象 / the body is not a JSON object",
    "one_of": '请求体应只含 "code" 或 "barcode" 之一 / the body must hold exactly one of "code" and "barcode"',
    "unknown_keys": '请求体含有未知字段 / the body holds keys other than "code" and "barcode"',
    "not_text": f'"code" 或 "barcode" 应为非空字符串（最多 {MAX_TEXT} 个字符） / '
    f'"code" or "barcode" must be a non-empty string of at most {MAX_TEXT} characters',
    "unavailable": "核验服务暂时不可用，请稍后重试 / the verification service is unavailable: retry shortly",
}


def _error(status: int, code: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": code, "message": MESSAGES[code]}, status_code=status, headers={**NO_STORE, **(headers or {})}
    )


def bearer_key(request: Request) -> str | None:
    """The key of an `Authorization: Bearer <key>` header, or None."""
    value = request.headers.get("authorization")
    if not value:
        return None
    scheme, _, key = value.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    key = key.strip()
    return key or None


def parse_body(body: bytes) -> tuple[str | None, str | None] | str:
    """(code, barcode) from the JSON body, or the message key of why it is refused."""
    try:
        data: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return "not_json"
    if not isinstance(data, dict):
        return "not_json"
    if set(data) - BODY_KEYS:
        return "unknown_keys"
    present = [k for k in ("code", "barcode") if data.get(k) is not None]
    if len(present) != 1:
        return "one_of"
    value = data[present[0]]
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        return "not_text"
    return (value.strip(), None) if present[0] == "code" else (None, value.strip())


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


async def _verify(container: Container, request: Request, body: bytes) -> Response:
    key = bearer_key(request)
    if key is None:
        return _error(401, "missing_key", {"WWW-Authenticate": 'Bearer realm="edl"'})
    at = container.clock()
    party = parties.cached_party(key)
    if party is None:
        try:
            party = await anyio.to_thread.run_sync(partial(authenticate, container.sessions, key, at=at))
        except SQLAlchemyError as exc:
            log.error("api_unavailable", stage="authenticate", error=type(exc).__name__)
            return _error(503, "unavailable", {"Retry-After": "5"})
    if party is None:
        log.info("api_key_refused", client=_client(request))
        return _error(401, "invalid_key", {"WWW-Authenticate": 'Bearer realm="edl", error="invalid_token"'})
    limiter = container.rate_limiter
    hit = partial(limiter.hit, party.id, party.limit(container.settings.rate_limit_per_minute), now=time.time())
    try:
        decision = hit() if isinstance(limiter, MemoryRateLimiter) else await anyio.to_thread.run_sync(hit)
    except RateLimiterUnavailable as exc:
        log.error("api_unavailable", stage="rate_limit", error=str(exc))
        return _error(503, "unavailable", {"Retry-After": "5"})
    limits = {"RateLimit-Limit": str(decision.limit), "RateLimit-Remaining": str(decision.remaining)}
    if not decision.allowed:
        log.info("api_rate_limited", party=party.id)
        return _error(429, "rate_limited", {"Retry-After": decision.retry_after_header, **limits})
    parsed = parse_body(body)
    if isinstance(parsed, str):
        return _error(400, parsed, limits)
    code, barcode = parsed
    try:
        result = await averify_for_party(
            container, party, code=code, barcode=barcode, channel="api", client=_client(request)
        )
    except SQLAlchemyError as exc:
        log.error("api_unavailable", stage="verify", error=type(exc).__name__)
        return _error(503, "unavailable", {"Retry-After": "5"})
    return JSONResponse(result.to_json_dict(), headers={**NO_STORE, **limits})


@router.post(PATH, name="api_verifications")
async def create_verification(request: Request) -> Response:
    """Verify a code or a barcode for the relying party whose key is in `Authorization: Bearer` (see module doc).

    The container is read from the app directly: a sync dependency (`get_container`) would cost a thread hop.
    """
    container: Container = request.app.state.container
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return _error(413, "too_large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return _error(413, "too_large")
        chunks.append(chunk)
    return await _verify(container, request, b"".join(chunks))
