"""`edl serve`: the web pages and API, after migrating the database. Refuses to start without a way to text
sign-in codes."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from edl.cli.common import fail, open_container, run_server
from edl.cli.common import settings as load_settings
from edl.config import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

    from edl.bootstrap import Container


def _require_sms_gateway(settings: Settings) -> None:
    """Refuse to serve, before anything is created or migrated, with no way to text sign-in codes."""
    from edl.accounts.sms import InvalidSmsGatewayUrl, check_gateway_url

    if settings.sms_url:
        try:
            check_gateway_url(settings.sms_url)
        except InvalidSmsGatewayUrl as exc:
            fail(str(exc))
    elif not settings.demo:
        fail(
            "no SMS gateway: set EDL_SMS_URL to the gateway's webhook (see docs/deploy.md), "
            "or EDL_DEMO=true for a demo whose sign-in codes appear on /dev/sms"
        )


def serve(
    host: Annotated[str | None, typer.Option(help="address to listen on (default EDL_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default EDL_PORT)")] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="server processes sharing the port (uvicorn workers; about one per core, docs/deploy.md)",
        ),
    ] = 1,
) -> None:
    """Serve the web pages and API (migrates the database first)."""
    _require_sms_gateway(load_settings())
    container = open_container(migrate=True)
    if host:
        container.settings.host = host
    if port:
        container.settings.port = port
    typer.echo(f"eDL listening on http://{container.settings.host}:{container.settings.port}/")
    if workers == 1:
        run_server(container)
        return
    _serve_workers(container, workers)


def _serve_workers(container: Container, workers: int) -> None:
    """`workers` processes under uvicorn's supervisor, each building its own container and app (`worker_app`) from
    the same EDL_* settings; the database was migrated once, here. Each process runs the purge and the outbox worker
    (both safe with several processes) and keeps its own per-process state (rate limits in memory unless
    EDL_REDIS_URL; metrics)."""
    import uvicorn

    from edl.cli.common import _check_providers

    settings = container.settings
    _check_providers(container)  # refuse a bad configuration once, before any worker starts
    container.dispose()
    os.environ["EDL_HOST"] = settings.host  # the workers read their settings (base URL) from the environment
    os.environ["EDL_PORT"] = str(settings.port)
    if settings.metrics_port:
        typer.echo(
            f"note: EDL_METRICS_PORT is served by one process only; with --workers {workers} the port is not opened "
            "(use --workers 1 per server behind the load balancer, or /metrics with EDL_METRICS_TOKEN per process)"
        )
    if not settings.redis_url:
        typer.echo(f"note: without EDL_REDIS_URL each of the {workers} processes counts rate limits on its own")
    typer.echo(f"{workers} worker processes")
    uvicorn.run(
        "edl.cli.serve:worker_app",
        factory=True,
        workers=workers,
        host=settings.host,
        port=settings.port,
        access_log=False,  # as `run_server`: paths may hold licence numbers
        proxy_headers=True,
        log_level=settings.log_level.lower(),
    )


def worker_app() -> FastAPI:
    """One worker process of `edl serve --workers N`: its container and app, with the purge and the outbox worker."""
    from edl.bootstrap import bootstrap
    from edl.web.app import create_app
    from edl.web.housekeeping import install_gc_freeze, install_outbox_worker, install_purge
    from edl.web.observability import configure_logging

    container = bootstrap()
    settings = container.settings
    configure_logging(settings.log_level)
    app = create_app(container)
    if settings.purge_interval_minutes:
        install_purge(app, container, every=timedelta(minutes=settings.purge_interval_minutes))
    install_outbox_worker(app, container, every=settings.outbox_poll_seconds)
    install_gc_freeze(app)
    return app
