"""`edl serve`, `edl demo` and `edl credential ...`: the long-running and operator commands."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import typer

from edl.bootstrap import Container
from edl.config import Settings
from edl.pki.files import PRIVATE_FILE_MODE, PUBLIC_FILE_MODE, write_atomic

MAX_OUT_NAME_BYTES = 200
"""Room in a 255-byte file name for the ".device-key.pem" written beside --out and the temporary name while writing."""

credential_app = typer.Typer(help="Issue e-licence credentials (ISO/IEC 18013-5 mdoc).", no_args_is_help=True)


def _serve(container: Container) -> None:
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
    from edl.web.housekeeping import install_outbox_worker

    install_outbox_worker(app, container, every=settings.outbox_poll_seconds)
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
    from edl.cli import fail
    from edl.notifications.push import InvalidVapidKey
    from edl.secrets import InsecureSecretFile

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


def _require_sms_gateway(settings: Settings) -> None:
    """Refuse to serve, before anything is created or migrated, with no way to text sign-in codes."""
    from edl.accounts.sms import InvalidSmsGatewayUrl, check_gateway_url
    from edl.cli import fail

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
    from edl.cli import open_container
    from edl.cli import settings as load_settings

    _require_sms_gateway(load_settings())
    container = open_container(migrate=True)
    if host:
        container.settings.host = host
    if port:
        container.settings.port = port
    typer.echo(f"eDL listening on http://{container.settings.host}:{container.settings.port}/")
    _serve(container)


def demo(
    count: Annotated[int, typer.Option(min=1, max=100_000, help="synthetic drivers to load on first start")] = 1000,
    port: Annotated[int | None, typer.Option(help="port (default EDL_PORT, 8000)")] = None,
    seed: Annotated[int, typer.Option(help="seed for the synthetic data")] = 2021,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="prepare everything, then exit")] = False,
) -> None:
    """The main job: data directory, migrations, keys, synthetic drivers, then the web server on 127.0.0.1."""
    from edl.cli import open_container
    from edl.demo import prepare_demo

    container = open_container(migrate=True)
    container.settings.demo = True
    container.settings.host = "127.0.0.1"
    if "EDL_FACE_PROVIDER" not in os.environ:
        # The demo's drivers have drawn portraits that no face model recognises: a named lenient provider.
        container.settings.face_provider = "lenient-demo"
    if port:
        container.settings.port = port
    summary = prepare_demo(container, count=count, seed=seed, echo=typer.echo)
    for line in summary:
        typer.echo(line)
    if no_serve:
        container.dispose()
        return
    typer.echo(f"eDL demo: open http://127.0.0.1:{container.settings.port}/  (Ctrl+C stops)")
    _serve(container)


def worker(
    once: Annotated[bool, typer.Option("--once", help="deliver what is due now, then exit")] = False,
) -> None:
    """Deliver the notice outbox (SMS to registered mobiles, Web Push) with retries, until stopped (Ctrl+C)."""
    import signal
    import threading

    from edl.cli import open_container

    container = open_container()
    try:
        outbox = container.outbox_worker()
        if once:
            typer.echo(outbox.run_once().summary())
            return
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        typer.echo(f"delivering notices every {container.settings.outbox_poll_seconds:g} s (Ctrl+C stops)")
        try:
            outbox.run_until(stop, every=container.settings.outbox_poll_seconds)
        except KeyboardInterrupt:
            stop.set()
    finally:
        container.dispose()


@credential_app.command("issue")
def credential_issue(
    number: Annotated[str, typer.Argument(help="licence number (证号)")],
    out: Annotated[Path, typer.Option("--out", help="where to write the mdoc (CBOR DeviceResponse)")],
    device_key: Annotated[
        Path | None, typer.Option(help="holder device public key (PEM); default: generate one")
    ] = None,
    actor: Annotated[str, typer.Option(help="who issues (recorded)")] = "cli",
) -> None:
    """Issue an ISO/IEC 18013-5 mdoc for a registry licence (refused, with the reason, if it is not eligible)."""
    from edl.cli import fail, open_container
    from edl.issuance.elicences import IssuanceRefused, issue_elicence, load_device_public_key

    folder = out.resolve().parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        fail(f"{out}: cannot write there (no such folder, or not writable)")
    if out.is_dir():
        fail(f"{out} is a folder: give a file name")
    if len(os.fsencode(out.name)) > MAX_OUT_NAME_BYTES:
        fail(f"{out}: the file name is longer than {MAX_OUT_NAME_BYTES} bytes")
    container = open_container()
    try:
        holder_key = load_device_public_key(device_key) if device_key else None
        issued = issue_elicence(container, number, device_key=holder_key, actor=actor)
    except IssuanceRefused as exc:
        fail(str(exc))
    finally:
        container.dispose()
    write_atomic(out, issued.device_response, mode=PUBLIC_FILE_MODE)
    typer.echo(f"wrote {out} (e-licence {issued.elicence_id}, valid until {issued.valid_until:%Y-%m-%dT%H:%M:%SZ})")
    if issued.device_private_key_pem is not None:
        key_path = out.with_name(out.name + ".device-key.pem")
        write_atomic(key_path, issued.device_private_key_pem, mode=PRIVATE_FILE_MODE)
        typer.echo(f"wrote the generated holder device key to {key_path} (owner-only)")
