"""Background housekeeping of a serving process: the periodic purge of expired sign-in codes and ended sessions,
and the outbox worker that delivers notices (`install_outbox_worker`).

`install_purge(app, container, every=...)` wraps the app's lifespan (whatever it already is), so the loop starts
with the server and is cancelled when it stops. `edl serve` and `edl demo` install it; tests that build the app
with `create_app` alone do not get it. Several processes on one database may all purge: the deletes are idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import structlog
from fastapi import FastAPI

from edl.accounts.purge import Purged, purge_expired
from edl.bootstrap import Container
from edl.db.session import transaction

log = structlog.get_logger("edl.housekeeping")


def purge_once(container: Container) -> Purged:
    """One purge as of the container's clock, in its own transaction."""
    with transaction(container.sessions) as session:
        return purge_expired(session, at=container.clock())


async def _purge_forever(container: Container, every: timedelta) -> None:
    while True:
        try:
            purged = await asyncio.to_thread(purge_once, container)
        except Exception as exc:  # a database hiccup must not stop the loop (or the server); try again next time
            log.warning("purge_failed", error=type(exc).__name__)
        else:
            if purged.codes or purged.sessions:
                log.info("purge_done", codes=purged.codes, sessions=purged.sessions)
        await asyncio.sleep(every.total_seconds())


def install_purge(app: FastAPI, container: Container, *, every: timedelta) -> None:
    """Run a purge at start and then every `every` while `app` is served."""
    if every <= timedelta(0):
        raise ValueError("the purge interval must be positive")
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(served: Any) -> AsyncIterator[Any]:
        async with inner(served) as state:
            task = asyncio.create_task(_purge_forever(container, every), name="edl-purge")
            try:
                yield state
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app.router.lifespan_context = lifespan


async def _deliver_forever(container: Container, every: float) -> None:
    from edl.notifications.worker import build_worker

    worker = build_worker(container)
    while True:
        try:
            report = await asyncio.to_thread(worker.run_once)
        except Exception as exc:  # the database may be away for a moment: the notices wait in the outbox
            log.warning("outbox_round_failed", error=type(exc).__name__)
        else:
            if report.delivered or report.failed:
                log.info("outbox_round", delivered=report.delivered, failed=report.failed)
        await asyncio.sleep(every)


def install_outbox_worker(app: FastAPI, container: Container, *, every: float) -> None:
    """Deliver the outbox's notices (SMS, Web Push) every `every` seconds while `app` is served (`edl serve`, `edl
    demo`); several processes may all run it, claiming keeps each notice to one of them."""
    if every <= 0:
        raise ValueError("the outbox interval must be positive")
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(served: Any) -> AsyncIterator[Any]:
        async with inner(served) as state:
            task = asyncio.create_task(_deliver_forever(container, every), name="edl-outbox")
            try:
                yield state
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app.router.lifespan_context = lifespan
