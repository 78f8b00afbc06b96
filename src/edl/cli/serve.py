"""`edl serve`: the web pages and API, after migrating the database. Refuses to start without a way to text
sign-in codes."""

from __future__ import annotations

from typing import Annotated

import typer

from edl.cli.common import fail, open_container, run_server
from edl.cli.common import settings as load_settings
from edl.config import Settings


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
) -> None:
    """Serve the web pages and API (migrates the database first)."""
    _require_sms_gateway(load_settings())
    container = open_container(migrate=True)
    if host:
        container.settings.host = host
    if port:
        container.settings.port = port
    typer.echo(f"eDL listening on http://{container.settings.host}:{container.settings.port}/")
    run_server(container)
