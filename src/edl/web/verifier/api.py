"""`POST /api/v1/verifications`: online verification of a 亮码 or a barcode by an authenticated relying party.

    POST /api/v1/verifications
    Authorization: Bearer edl_rp_...
    Content-Type: application/json

    {"code": "EDL1:..."}   or   {"barcode": "<e-licence id>"}

Answers (JSON, never cached): 200 with the result (`OnlineResult.to_json_dict()`, valid or not); 401 without a
key or with an unknown or revoked one (`WWW-Authenticate: Bearer`); 429 over the key's limit (`Retry-After`);
400 for a body that is not a JSON object (UTF-8, nested at most `edl.boundedjson.MAX_DEPTH` deep) with exactly one
of `code` / `barcode` as a non-empty string; 413 past the size cap (counted while the body streams in); 503 when
the rate limiter or the database cannot be reached. Error bodies are `{"error": code, "message": "中文 / English"}`.
docs/verification-api.md is the reference.

The handler runs in the event loop: body, key check (a cached key costs one hash; an uncached one is looked up in a
worker thread), rate limit (in memory; or in Redis, awaited: `edl.verification.ratelimit_async`), then
`edl.verification.online.OnlineVerifier.averify`: on PostgreSQL in the loop (asyncpg, prepared select on the
replica or the primary, the log row through the group commit: `edl.verification.online_pg`), on SQLite in ONE
worker-thread hop. The answer is serialised once, by orjson (the same JSON as `JSONResponse`'s: UTF-8, compact).
The container is read from the app, not through a sync dependency (which would cost a thread hop of its own).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, Final

import anyio.to_thread
import orjson
import structlog
from fastapi import APIRouter, FastAPI
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from edl.boundedjson import loads
from edl.verification.online import VerificationUnavailable
from edl.verification.parties import Party
from edl.verification.ratelimit import MemoryRateLimiter, RateLimiterUnavailable, RedisRateLimiter
from edl.verification.ratelimit_async import aclose_all, limiter_for
from edl.web.audience import relying_party_api
from edl.web.deps import AppServices
from edl.web.jsonbody import BodyTooLarge, JsonRefused, collect_body, declared_over
from edl.web.party_auth import API_MESSAGES, ApiRefused, authenticate_api_key

router = APIRouter(tags=["api"])
log = structlog.get_logger("edl.web.api")

PATH: Final = "/api/v1/verifications"
MAX_BODY: Final = 8 * 1024
"""A code fits a version-10 QR (a few hundred characters); with its JSON wrapper 8 KiB is ample."""
MAX_TEXT: Final = 4096
BODY_KEYS: Final = frozenset({"code", "barcode"})
NO_STORE: Final = {"Cache-Control": "no-store"}

MESSAGES: Final[dict[str, str]] = {
    **API_MESSAGES,
    "rate_limited": "请求过于频繁，请稍后重试 / too many requests for this key: retry after the time in Retry-After",
    "too_large": f"请求体过大（最多 {MAX_BODY} 字节） / the request body is larger than {MAX_BODY} bytes",
    "not_json": "请求体不是 JSON 对象 / the body is not a JSON object",
    "one_of": '请求体应只含 "code" 或 "barcode" 之一 / the body must hold exactly one of "code" and "barcode"',
    "unknown_keys": '请求体含有未知字段 / the body holds keys other than "code" and "barcode"',
    "not_text": f'"code" 或 "barcode" 应为非空字符串（最多 {MAX_TEXT} 个字符） / '
    f'"code" or "barcode" must be a non-empty string of at most {MAX_TEXT} characters',
}


@dataclass(frozen=True, slots=True)
class ApiAnswer:
    """One answer of the API: status, JSON body (bytes, serialised once) and the headers beyond the content type."""

    status: int
    body: bytes
    headers: dict[str, str]

    def response(self) -> Response:
        return Response(self.body, status_code=self.status, media_type="application/json", headers=self.headers)


def _error(status: int, code: str, headers: dict[str, str] | None = None) -> ApiAnswer:
    return ApiAnswer(status, orjson.dumps({"error": code, "message": MESSAGES[code]}), {**NO_STORE, **(headers or {})})


def parse_body(body: bytes) -> tuple[str | None, str | None] | str:
    """(code, barcode) from the JSON body, or the message key of why it is refused."""
    try:
        data: Any = loads(body)  # depth-limited: deep nesting is "not_json", never a RecursionError
    except JsonRefused:
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


async def answer(
    container: AppServices,
    authorization: str | None,
    client: str | None,
    content_length: str | None,
    chunks: AsyncIterator[bytes],
) -> ApiAnswer:
    """The whole API request, from the `Authorization` header to the answer: key, body (streamed, at most MAX_BODY
    bytes), rate limit, body shape, verification. Both ways in call it: the FastAPI route below and the ASGI fast
    lane (`edl.web.verifier.fastlane`), so they cannot answer differently. A declared `Content-Length` over the cap
    is refused first, from the header alone, as the app's body limit does for every route (nothing is read)."""
    if declared_over(content_length, MAX_BODY):
        return _error(413, "too_large")
    try:
        party = await authenticate_api_key(container, authorization, client)
    except ApiRefused as refused:
        return _error(refused.status, refused.code, refused.headers)
    try:
        body = await collect_body(content_length, chunks, MAX_BODY)  # nothing past MAX_BODY is read
    except BodyTooLarge:
        return _error(413, "too_large")
    return await _verify(container, client, party, body)


async def rate_check(container: AppServices, party: Party) -> tuple[dict[str, str], ApiAnswer | None]:
    """Count one call against `party`'s per-minute limit: (the RateLimit headers, None) when allowed, else the
    429 (or 503 when the limiter cannot be reached) to answer instead. Every API route of a party calls this."""
    limiter = container.rate_limiter
    limit = party.limit(container.settings.rate_limit_per_minute)
    hit = partial(limiter.hit, party.id, limit, now=time.time())
    redis_url = container.settings.redis_url
    try:
        if isinstance(limiter, MemoryRateLimiter):
            decision = hit()
        elif isinstance(limiter, RedisRateLimiter) and redis_url:  # the same script, awaited in the loop
            decision = await limiter_for(redis_url).hit(party.id, limit, now=time.time())
        else:
            decision = await anyio.to_thread.run_sync(hit)
    except RateLimiterUnavailable as exc:
        log.error("api_unavailable", stage="rate_limit", error=str(exc))
        return {}, _error(503, "unavailable", {"Retry-After": "5"})
    limits = {"RateLimit-Limit": str(decision.limit), "RateLimit-Remaining": str(decision.remaining)}
    if not decision.allowed:
        log.info("api_rate_limited", party=party.id)
        return limits, _error(429, "rate_limited", {"Retry-After": decision.retry_after_header, **limits})
    return limits, None


async def _verify(container: AppServices, client: str | None, party: Party, body: bytes) -> ApiAnswer:
    limits, refused = await rate_check(container, party)
    if refused is not None:
        return refused
    parsed = parse_body(body)
    if isinstance(parsed, str):
        return _error(400, parsed, limits)
    code, barcode = parsed
    try:
        result = await container.online_verifier.averify(
            party, code=code, barcode=barcode, channel="api", client=client, at=container.clock()
        )
    except (SQLAlchemyError, VerificationUnavailable) as exc:
        cause = str(exc)[:200] if isinstance(exc, VerificationUnavailable) else None  # driver error names only
        log.error("api_unavailable", stage="verify", error=type(exc).__name__, cause=cause)
        return _error(503, "unavailable", {"Retry-After": "5"})
    return ApiAnswer(200, orjson.dumps(result.to_json_dict()), {**NO_STORE, **limits})


def install_close(app: FastAPI) -> None:
    """At the app's shutdown, close the event loop's verification connections (pending log rows written first)."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(served: Any) -> AsyncIterator[Any]:
        async with inner(served) as state:
            try:
                yield state
            finally:
                container: AppServices = app.state.container
                if "online_verifier" in getattr(container, "__dict__", {}):  # only if it was ever built
                    await container.online_verifier.aclose()
                await aclose_all()

    app.router.lifespan_context = lifespan


@router.post(PATH, name="api_verifications", dependencies=relying_party_api())
async def create_verification(request: Request) -> Response:
    """Verify a code or a barcode for the relying party whose key is in `Authorization: Bearer` (see module doc).

    With `Settings.api_fast_lane` (the default) a POST to this path is answered by `edl.web.verifier.fastlane`
    before FastAPI's router is reached; this route is the same `answer` behind FastAPI's stack (the reference the
    fast lane is tested against, and what serves when the lane is turned off). The guard (`relying_party_api`)
    refuses a missing or unknown key before the body is read; `answer` checks the key again from its cache.
    """
    container: AppServices = request.app.state.container
    client = request.client.host if request.client else None
    try:
        stream = request.stream()
        async with aclosing(stream):
            found = await answer(
                container, request.headers.get("authorization"), client, request.headers.get("content-length"), stream
            )
    except ClientDisconnect:
        return Response(status_code=400)  # nobody is listening: nothing is verified or logged
    return found.response()
