"""Background housekeeping of a serving process: the periodic purge of expired sign-in codes and ended sessions
(and the closing of sanctions whose term has run out), and the outbox worker that delivers notices
(`install_outbox_worker`).

`install_purge(app, container, every=...)` wraps the app's lifespan (whatever it already is), so the loop starts
with the server and is cancelled when it stops. `edl serve` and `edl demo` install it; tests that build the app
with `create_app` alone do not get it. Several processes on one database may all purge: the deletes are idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from functools import partial
from typing import Any

import structlog
from fastapi import FastAPI

from edl.accounts.purge import Purged, purge_expired
from edl.db.session import transaction
from edl.web.deps import AppServices

log = structlog.get_logger("edl.housekeeping")


def purge_once(container: AppServices) -> Purged:
    """One purge as of the container's clock, in its own transaction."""
    with transaction(container.sessions) as session:
        return purge_expired(session, at=container.clock())


def _purge_round(container: AppServices) -> None:
    purged = purge_once(container)
    if purged.codes or purged.sessions:
        log.info("purge_done", codes=purged.codes, sessions=purged.sessions)
    ended = container.sanctions.close_ended(at=container.clock())  # issue 16: record ended stops, tell the drivers
    if ended:
        log.info("sanctions_ended", count=ended)


def _outbox_round(container: AppServices) -> None:
    report = container.outbox_worker().run_once()
    if report.delivered or report.failed:
        log.info("outbox_round", delivered=report.delivered, failed=report.failed)


async def _forever(name: str, round_: Callable[[], None], every: float) -> None:
    while True:
        try:
            await asyncio.to_thread(round_)
        except Exception as exc:  # the database may be away for a moment: try again next time, keep serving
            log.warning(f"{name}_failed", error=type(exc).__name__)
        await asyncio.sleep(every)


def install_periodic(app: FastAPI, name: str, round_: Callable[[], None], *, every: float) -> None:
    """Run `round_` (in a worker thread) at start and then every `every` seconds while `app` is served."""
    if every <= 0:
        raise ValueError(f"the {name} interval must be positive")
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(served: Any) -> AsyncIterator[Any]:
        async with inner(served) as state:
            task = asyncio.create_task(_forever(name, round_, every), name=f"edl-{name}")
            try:
                yield state
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app.router.lifespan_context = lifespan


def install_purge(app: FastAPI, container: AppServices, *, every: timedelta) -> None:
    """Purge expired sign-in codes and ended sessions at start and then every `every`."""
    install_periodic(app, "purge", partial(_purge_round, container), every=every.total_seconds())


def install_outbox_worker(app: FastAPI, container: AppServices, *, every: float) -> None:
    """Deliver the outbox's notices (SMS, Web Push) every `every` seconds while `app` is served (`edl serve`, `edl
    demo`); several processes may all run it, claiming keeps each notice to one of them."""
    install_periodic(app, "outbox", partial(_outbox_round, container), every=every)


def install_gc_freeze(app: FastAPI) -> None:
    """Once the served app has started, move every object made so far (modules, the app, the container, caches) into
    the garbage collector's permanent generation (`gc.freeze`): they live as long as the process, and a full
    collection no longer walks them. A full collection walked ~400,000 such objects (tens of milliseconds in which
    the event loop answers nothing: the API's p99); after the freeze it walks only what requests made. Served
    processes only (`edl serve`, `edl demo`, `edl.asgi:create`); tests that build many apps do not freeze."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(served: Any) -> AsyncIterator[Any]:
        async with inner(served) as state:
            gc.collect()
            gc.freeze()
            log.info("gc_frozen", objects=gc.get_freeze_count())
            yield state

    app.router.lifespan_context = lifespan
