"""Per-key request limits of relying parties: in this process by default, in Redis when several app servers run.

Both limiters use the same algorithm, GCRA (the generic cell rate algorithm, a token bucket kept as one number): a
key with a limit of N per minute may send N requests at once, then one every 60/N seconds. The state of a key is
its "theoretical arrival time" (TAT); a request is allowed when the TAT after it is at most one minute ahead of now.

- `MemoryRateLimiter`: a dict under a lock (thread-safe: FastAPI runs sync endpoints in a thread pool). Each process
  has its own counts, so with several processes the effective limit is N per process.
- `RedisRateLimiter`: one atomic Lua script per request (read TAT, decide, write TAT with an expiry), so any number of
  app servers share one limit. Keys are `<prefix><key>`; the prefix is configurable (one Redis for several
  deployments or tests). Time comes from the caller (`now`, seconds since the epoch) so app servers must keep their
  clocks in step (NTP); a skew of a few hundred milliseconds shifts a single request's verdict, not the rate.

A Redis that cannot be reached makes `hit` raise `RateLimiterUnavailable`; the API answers 503 rather than serve
unlimited traffic.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from edl.config import Settings

WINDOW_SECONDS = 60.0
DEFAULT_REDIS_PREFIX = "edl:rl:"


@dataclass(frozen=True, slots=True)
class RateDecision:
    """The verdict on one request: allowed or not, how many more may follow now, and when to retry."""

    allowed: bool
    limit: int
    remaining: int
    retry_after: float
    """Seconds until one more request would be allowed (0 when allowed)."""

    @property
    def retry_after_header(self) -> str:
        """The `Retry-After` value: whole seconds, at least 1."""
        return str(max(1, math.ceil(self.retry_after)))


class RateLimiter(Protocol):
    def hit(self, key: str, limit_per_minute: int, *, now: float) -> RateDecision:
        """Count one request of `key` at `now` (epoch seconds) against `limit_per_minute`."""
        ...


class RateLimiterUnavailable(RuntimeError):
    """The shared limiter (Redis) cannot be reached: refuse rather than serve without a limit."""


def _gcra(tat: float | None, now: float, limit: int) -> tuple[bool, float, int, float]:
    """(allowed, new TAT, remaining, retry after) for one request at `now` with the key's stored `tat`."""
    interval = WINDOW_SECONDS / limit
    start = now if tat is None or tat < now else tat
    new_tat = start + interval
    ahead = new_tat - now
    if ahead > WINDOW_SECONDS + 1e-9:
        return False, start, 0, ahead - WINDOW_SECONDS
    remaining = int((WINDOW_SECONDS - ahead) / interval + 1e-9)
    return True, new_tat, remaining, 0.0


class MemoryRateLimiter:
    """GCRA in this process (thread-safe). Idle keys are dropped once they would allow a full burst again."""

    def __init__(self, *, max_keys: int = 100_000) -> None:
        self._tat: dict[str, float] = {}
        self._lock = threading.Lock()
        self._max_keys = max_keys

    def hit(self, key: str, limit_per_minute: int, *, now: float) -> RateDecision:
        limit = max(1, int(limit_per_minute))
        with self._lock:
            allowed, tat, remaining, retry = _gcra(self._tat.get(key), now, limit)
            if allowed:
                if len(self._tat) >= self._max_keys and key not in self._tat:
                    self._prune(now)
                self._tat[key] = tat
        return RateDecision(allowed, limit, remaining, retry)

    def _prune(self, now: float) -> None:
        for k in [k for k, tat in self._tat.items() if tat <= now]:
            del self._tat[k]

    def close(self) -> None:
        with self._lock:
            self._tat.clear()


# KEYS[1] the key; ARGV: now, interval, window, all in microseconds. Returns {allowed, remaining, retry_after_us}.
# The TAT is written with string.format('%.0f'): Lua's own number-to-string keeps only 14 digits.
_GCRA_LUA = """
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local new_tat = tat + interval
local ahead = new_tat - now
if ahead > window then
  return {0, 0, string.format('%.0f', ahead - window)}
end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil(ahead / 1000))
return {1, math.floor((window - ahead) / interval), '0'}
"""


class RedisRateLimiter:
    """GCRA in Redis: one atomic script per request, so every app server counts against the same limit."""

    def __init__(self, client: Any, *, prefix: str = DEFAULT_REDIS_PREFIX) -> None:
        self._client = client
        self._prefix = prefix
        self._script = client.register_script(_GCRA_LUA)

    @classmethod
    def from_url(cls, url: str, *, prefix: str = DEFAULT_REDIS_PREFIX) -> RedisRateLimiter:
        import redis

        client = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0, health_check_interval=30)
        return cls(client, prefix=prefix)

    def hit(self, key: str, limit_per_minute: int, *, now: float) -> RateDecision:
        import redis

        limit = max(1, int(limit_per_minute))
        window_us = int(WINDOW_SECONDS * 1_000_000)
        interval_us = max(1, window_us // limit)
        try:
            allowed, remaining, retry_us = self._script(
                keys=[self._prefix + key], args=[int(now * 1_000_000), interval_us, window_us]
            )
        except redis.RedisError as exc:
            raise RateLimiterUnavailable(f"the rate limiter (Redis) cannot be reached: {type(exc).__name__}") from exc
        return RateDecision(bool(allowed), limit, int(remaining), int(retry_us) / 1_000_000)

    def close(self) -> None:
        self._client.close()


def build_rate_limiter(settings: Settings) -> RateLimiter:
    """Redis when `settings.redis_url` is set (EDL_REDIS_URL), else in this process."""
    if settings.redis_url:
        return RedisRateLimiter.from_url(settings.redis_url)
    return MemoryRateLimiter()
