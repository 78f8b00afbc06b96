"""The awaited Redis limiter (`edl.verification.ratelimit_async`) counts against the SAME limit as the blocking one:
same keys, same script, same answers; and refuses (RateLimiterUnavailable) when Redis cannot be reached."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from edl.verification.ratelimit import RateLimiterUnavailable, RedisRateLimiter
from edl.verification.ratelimit_async import AsyncRedisRateLimiter, aclose_all, limiter_for
from tests.unit.verification.test_ratelimit import REDIS_URL, needs_redis


@needs_redis
def test_awaited_and_blocking_limiters_share_one_limit() -> None:
    import redis.asyncio

    prefix = f"edl:test:{uuid.uuid4().hex}:"
    blocking = RedisRateLimiter.from_url(REDIS_URL, prefix=prefix)
    now = time.time()

    async def run() -> list[bool]:
        awaited = AsyncRedisRateLimiter(redis.asyncio.Redis.from_url(REDIS_URL), prefix=prefix)
        try:
            first = [(await awaited.hit("p", 4, now=now)).allowed for _ in range(3)]
            second = [blocking.hit("p", 4, now=now).allowed for _ in range(2)]
            third = [(await awaited.hit("p", 4, now=now)).allowed]
            return first + second + third
        finally:
            await awaited.aclose()

    assert asyncio.run(run()) == [True, True, True, True, False, False]
    blocking.close()


def test_an_unreachable_redis_is_refused_not_unlimited() -> None:
    async def run() -> None:
        limiter = limiter_for("redis://127.0.0.1:1/0")  # nobody listens on port 1
        try:
            with pytest.raises(RateLimiterUnavailable):
                await limiter.hit("p", 10, now=time.time())
        finally:
            await aclose_all()

    asyncio.run(run())
