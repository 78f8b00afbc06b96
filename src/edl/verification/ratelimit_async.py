"""The Redis rate limit for an event loop: the same GCRA script as `edl.verification.ratelimit.RedisRateLimiter`,
awaited with redis-py's asyncio client, so the API's hot path needs no worker thread with Redis either.

Same keys (`DEFAULT_REDIS_PREFIX` + party id), same script, same answers, so blocking callers and the API count
against one limit. An asyncio client belongs to one event loop: one per loop and URL, closed by `aclose_all` (the
app's shutdown) or dropped with its loop.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from edl.verification.ratelimit import (
    _GCRA_LUA,
    DEFAULT_REDIS_PREFIX,
    WINDOW_SECONDS,
    RateDecision,
    RateLimiterUnavailable,
)


class AsyncRedisRateLimiter:
    """GCRA in Redis, awaited: one atomic script per request (see the module doc)."""

    def __init__(self, client: Any, *, prefix: str = DEFAULT_REDIS_PREFIX) -> None:
        self._client = client
        self._prefix = prefix
        self._script = client.register_script(_GCRA_LUA)

    async def hit(self, key: str, limit_per_minute: int, *, now: float) -> RateDecision:
        import redis

        limit = max(1, int(limit_per_minute))
        window_us = int(WINDOW_SECONDS * 1_000_000)
        interval_us = max(1, window_us // limit)
        try:
            allowed, remaining, retry_us = await self._script(
                keys=[self._prefix + key], args=[int(now * 1_000_000), interval_us, window_us]
            )
        except (redis.RedisError, OSError, TimeoutError) as exc:
            raise RateLimiterUnavailable(f"the rate limiter (Redis) cannot be reached: {type(exc).__name__}") from exc
        return RateDecision(bool(allowed), limit, int(remaining), int(retry_us) / 1_000_000)

    async def aclose(self) -> None:
        await self._client.aclose()


_LIMITERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, AsyncRedisRateLimiter]] = (
    weakref.WeakKeyDictionary()
)


def limiter_for(url: str) -> AsyncRedisRateLimiter:
    """This event loop's limiter on the Redis at `url` (made on first use; timeouts as the blocking limiter's)."""
    import redis.asyncio

    loop = asyncio.get_running_loop()
    mine = _LIMITERS.setdefault(loop, {})
    hit = mine.get(url)
    if hit is None:
        client = redis.asyncio.Redis.from_url(
            url, socket_timeout=1.0, socket_connect_timeout=1.0, health_check_interval=30
        )
        hit = mine[url] = AsyncRedisRateLimiter(client)
    return hit


async def aclose_all() -> None:
    """Close this event loop's clients (the app's shutdown)."""
    for limiter in _LIMITERS.pop(asyncio.get_running_loop(), {}).values():
        await limiter.aclose()


__all__ = ["AsyncRedisRateLimiter", "aclose_all", "limiter_for"]
