"""A bounded pool of worker threads for CPU-heavy work (image checks), so that it never runs on the event loop.

At most `workers` jobs run at once and at most `queue` more wait for a worker; a job beyond that is refused at once
with `PoolBusy` (the web answers 503 with Retry-After) rather than waiting without bound. The container owns the pool
for image work (`Container.image_workers`, sized by `EDL_IMAGE_WORKERS` and `EDL_IMAGE_QUEUE`) and closes it.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

RETRY_AFTER_SECONDS = 5
"""What a refused caller is told to wait: a job takes well under a second to a few seconds, within the budget."""


class PoolBusy(Exception):
    """Every worker is busy and the queue is full: nothing was done; try again after `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"the server is busy: try again in {retry_after} s")
        self.retry_after = retry_after


class WorkerPool:
    """`workers` threads and room for `queue` waiting jobs. Thread-safe; usable from sync code and from async code."""

    def __init__(
        self, workers: int, *, queue: int, name: str = "edl-worker", retry_after: int = RETRY_AFTER_SECONDS
    ) -> None:
        if workers < 1 or queue < 0:
            raise ValueError("a worker pool needs at least one worker and a queue of zero or more")
        self.workers = workers
        self.queue = queue
        self.retry_after = retry_after
        self._slots = threading.BoundedSemaphore(workers + queue)
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Queue `fn(*args, **kwargs)`, or raise `PoolBusy` at once when the pool and its queue are full."""
        if not self._slots.acquire(blocking=False):
            raise PoolBusy(self.retry_after)
        try:
            job = functools.partial(contextvars.copy_context().run, functools.partial(fn, *args, **kwargs))
            future = self._executor.submit(job)
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(self._release)
        return future

    def _release(self, _future: Future[T]) -> None:
        self._slots.release()

    def call(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run `fn` in the pool and wait for its result. For sync code off the event loop (a service in a thread)."""
        return self.submit(fn, *args, **kwargs).result()

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run `fn` in the pool while the event loop serves others. A cancelled caller drops a job not yet started;
        a started one finishes and keeps its worker until then (the bound stays true)."""
        return await asyncio.wrap_future(self.submit(fn, *args, **kwargs))

    def close(self) -> None:
        """Stop taking jobs and drop those still waiting; running ones finish in their threads."""
        self._executor.shutdown(wait=False, cancel_futures=True)
