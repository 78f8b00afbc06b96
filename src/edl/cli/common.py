"""What the command groups share: refusing bad input (`fail`), the composition root for a command
(`open_container`), the data-directory option, and running the web server (`edl serve`, `edl demo`).

Group modules import this module (and services), never the root `edl.cli` nor each other.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, NoReturn
from urllib.parse import urlsplit

import typer

from edl.bootstrap import Container, bootstrap
from edl.config import Settings

DATA_DIR_ENV = "EDL_DATA_DIR"
DEFAULT_DATA_DIR = Path(".edl-data")

DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", help=f"data directory (default: ${DATA_DIR_ENV} or ./{DEFAULT_DATA_DIR})"),
]


def fail(message: str) -> NoReturn:
    """Refuse bad input: one line on stderr, exit code 2."""
    typer.echo(f"edl: error: {message}", err=True)
    raise typer.Exit(2)


def cli_actor() -> str:
    """Who runs a command, as recorded in audit entries: ``cli:<login name>``."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"[:64]
    except (KeyError, OSError):
        return "cli"


def settings() -> Settings:
    return Settings()


def open_container(*, migrate: bool = False) -> Container:
    """The composition root for a command; refuses a database that is not at the newest schema."""
    from edl.db.migrate import head_revision, schema_is_current

    container = bootstrap(settings(), migrate=migrate)
    if not schema_is_current(container.engine):
        container.dispose()
        fail(f"the database is not at schema {head_revision()}: run `edl db upgrade` first")
    return container


def resolve_data_dir(value: Path | None) -> Path:
    """The data directory: the option, else $EDL_DATA_DIR, else ./.edl-data (decided only here)."""
    if value is not None:
        return value
    return Settings().data_dir


def now() -> datetime:
    return datetime.now(UTC)


def run_server(container: Container) -> None:
    """Serve the web pages and API with `container` until stopped (after checking its providers)."""
    import uvicorn

    from edl.web.app import create_app
    from edl.web.observability import configure_logging

    settings = container.settings
    configure_logging(settings.log_level)
    _check_providers(container)
    app = create_app(container)
    if settings.purge_interval_minutes:
        from edl.web.housekeeping import install_purge

        install_purge(app, container, every=timedelta(minutes=settings.purge_interval_minutes))
    from edl.web.housekeeping import install_gc_freeze, install_outbox_worker

    install_outbox_worker(app, container, every=settings.outbox_poll_seconds)
    install_gc_freeze(app)
    if settings.metrics_port:
        from prometheus_client import start_http_server

        # The operator's listener: /metrics only, on its own port (bind it to an address the public cannot reach).
        start_http_server(settings.metrics_port, addr=settings.metrics_host, registry=app.state.metrics.registry)
        typer.echo(f"metrics on http://{settings.metrics_host}:{settings.metrics_port}/metrics")
    # uvicorn's own access log is off: it would log paths that contain licence numbers in full.
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        access_log=False,
        proxy_headers=True,
        log_level=settings.log_level.lower(),
    )


def _check_providers(container: Container) -> None:
    """Fail fast on a bad configuration (holiday file, face provider, SMS gateway) instead of at the first holder
    request."""
    from edl.accounts.sms import InvalidSmsGatewayUrl
    from edl.applications.face import FaceVerifierUnavailable
    from edl.applications.holidays import HolidayFileInvalid
    from edl.notifications.push import InvalidVapidKey
    from edl.server_secrets import InsecureSecretFile

    try:
        verifier = container.face_verifier
        container.calendar  # noqa: B018 - built now so that a malformed holiday file is refused at start
        container.notifier  # noqa: B018 - and an unusable Web Push (VAPID) key
        container.sms  # noqa: B018 - and the SMS gateway (its shared secret is made now, owner-only)
    except (
        FaceVerifierUnavailable,
        HolidayFileInvalid,
        InsecureSecretFile,
        InvalidVapidKey,
        InvalidSmsGatewayUrl,
    ) as exc:
        fail(str(exc))
    typer.echo(f"real-person authentication: {verifier.name} ({verifier.label_en})")
    gateway = urlsplit(container.settings.sms_url or "").hostname
    typer.echo(f"sign-in codes: SMS gateway at {gateway}" if gateway else "sign-in codes: the demo's /dev/sms inbox")
