"""Per-key rate limits: GCRA in memory and in the real local Redis (two limiters = two app servers share one limit).

Time is passed in (`now`), so nothing sleeps; Redis keys get a unique prefix per test and expire by themselves.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edl.config import Settings
from edl.verification.ratelimit import (
    MemoryRateLimiter,
    RateLimiter,
    RateLimiterUnavailable,
    RedisRateLimiter,
    build_rate_limiter,
)

REDIS_URL = "redis://127.0.0.1:6379/0"
T0 = 1_790_000_000.0


def _redis_up() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


needs_redis = pytest.mark.skipif(not _redis_up(), reason="no Redis at 127.0.0.1:6379")


@pytest.fixture
def prefix() -> str:
    return f"edl-test:{uuid.uuid4().hex}:"


@pytest.fixture
def redis_pair(prefix: str) -> Iterator[tuple[RedisRateLimiter, RedisRateLimiter]]:
    a = RedisRateLimiter.from_url(REDIS_URL, prefix=prefix)
    b = RedisRateLimiter.from_url(REDIS_URL, prefix=prefix)
    yield a, b
    a.close()
    b.close()


def make(kind: str, prefix: str) -> RateLimiter:
    return MemoryRateLimiter() if kind == "memory" else RedisRateLimiter.from_url(REDIS_URL, prefix=prefix)


def allowed_count(limiter: RateLimiter, key: str, limit: int, now: float, tries: int) -> int:
    return sum(limiter.hit(key, limit, now=now).allowed for _ in range(tries))


@pytest.mark.parametrize("kind", ["memory", pytest.param("redis", marks=needs_redis)])
def test_a_burst_up_to_the_limit_is_allowed_then_refused_with_retry_after(kind: str, prefix: str) -> None:
    limiter = make(kind, prefix)
    decisions = [limiter.hit("party-1", 6, now=T0) for _ in range(7)]
    assert [d.allowed for d in decisions] == [True] * 6 + [False]
    assert [d.remaining for d in decisions[:6]] == [5, 4, 3, 2, 1, 0]
    assert decisions[6].retry_after == pytest.approx(10.0, abs=0.01)  # one request per 60/6 s
    assert decisions[6].retry_after_header == "10"


@pytest.mark.parametrize("kind", ["memory", pytest.param("redis", marks=needs_redis)])
def test_the_limit_refills_at_its_rate(kind: str, prefix: str) -> None:
    limiter = make(kind, prefix)
    assert allowed_count(limiter, "k", 60, T0, 100) == 60
    assert not limiter.hit("k", 60, now=T0 + 0.5).allowed
    assert allowed_count(limiter, "k", 60, T0 + 1.0, 5) == 1  # one per second comes back
    assert allowed_count(limiter, "k", 60, T0 + 11.0, 20) == 10
    assert allowed_count(limiter, "k", 60, T0 + 200.0, 100) == 60  # idle for a minute: a full burst again


@pytest.mark.parametrize("kind", ["memory", pytest.param("redis", marks=needs_redis)])
def test_keys_are_limited_separately(kind: str, prefix: str) -> None:
    limiter = make(kind, prefix)
    assert allowed_count(limiter, "a", 3, T0, 5) == 3
    assert allowed_count(limiter, "b", 3, T0, 5) == 3


@needs_redis
def test_two_redis_limiters_like_two_app_servers_share_one_limit(
    redis_pair: tuple[RedisRateLimiter, RedisRateLimiter],
) -> None:
    a, b = redis_pair
    verdicts = [(a if i % 2 else b).hit("shared", 10, now=T0).allowed for i in range(14)]
    assert sum(verdicts) == 10 and verdicts[10:] == [False] * 4
    assert not a.hit("shared", 10, now=T0 + 1).allowed and not b.hit("shared", 10, now=T0 + 1).allowed
    assert a.hit("shared", 10, now=T0 + 6.01).allowed  # the next slot, seen by either server
    assert not b.hit("shared", 10, now=T0 + 6.02).allowed


def test_two_memory_limiters_do_not_share() -> None:
    a, b = MemoryRateLimiter(), MemoryRateLimiter()
    assert allowed_count(a, "k", 4, T0, 10) == 4 and allowed_count(b, "k", 4, T0, 10) == 4


@needs_redis
def test_redis_limit_is_exact_under_concurrent_servers(prefix: str) -> None:
    limiters = [RedisRateLimiter.from_url(REDIS_URL, prefix=prefix) for _ in range(4)]
    allowed: list[bool] = []
    lock = threading.Lock()

    def work(limiter: RedisRateLimiter) -> None:
        for _ in range(50):
            verdict = limiter.hit("hot", 100, now=T0).allowed
            with lock:
                allowed.append(verdict)

    threads = [threading.Thread(target=work, args=(lim,)) for lim in limiters]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(allowed) == 200 and sum(allowed) == 100
    for lim in limiters:
        lim.close()


def test_memory_limiter_is_thread_safe() -> None:
    limiter = MemoryRateLimiter()
    allowed: list[bool] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(500):
            verdict = limiter.hit("hot", 1000, now=T0).allowed
            with lock:
                allowed.append(verdict)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(allowed) == 1000


@settings(max_examples=200, deadline=None)
@given(
    limit=st.integers(min_value=1, max_value=500),
    gaps=st.lists(st.floats(min_value=0, max_value=5, allow_nan=False), min_size=1, max_size=200),
)
def test_memory_limiter_never_allows_more_than_limit_in_any_minute(limit: int, gaps: list[float]) -> None:
    limiter = MemoryRateLimiter()
    now = T0
    allowed_at: list[float] = []
    for gap in gaps:
        now += gap
        if limiter.hit("k", limit, now=now).allowed:
            allowed_at.append(now)
    # GCRA: a burst of at most `limit`, then one per 60/limit s: between the i-th and j-th allowed requests,
    # j - i + 1 <= limit + (t_j - t_i) * limit / 60.
    for i, start in enumerate(allowed_at):
        for j in range(i, len(allowed_at)):
            assert j - i + 1 <= limit + (allowed_at[j] - start) * limit / 60 + 1e-6


def test_unreachable_redis_raises_rather_than_allowing() -> None:
    limiter = RedisRateLimiter.from_url("redis://127.0.0.1:1/0")
    with pytest.raises(RateLimiterUnavailable):
        limiter.hit("k", 10, now=T0)
    limiter.close()


def test_build_rate_limiter_chooses_redis_only_when_configured() -> None:
    assert isinstance(build_rate_limiter(Settings(redis_url=None)), MemoryRateLimiter)
    shared = build_rate_limiter(Settings(redis_url=REDIS_URL))
    assert isinstance(shared, RedisRateLimiter)
    shared.close()
