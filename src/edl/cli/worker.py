"""`edl worker`: deliver the notice outbox (SMS, Web Push) with retries, until stopped."""

from __future__ import annotations

from typing import Annotated

import typer

from edl.cli.common import open_container


def worker(
    once: Annotated[bool, typer.Option("--once", help="deliver what is due now, then exit")] = False,
) -> None:
    """Deliver the notice outbox (SMS to registered mobiles, Web Push) with retries, until stopped (Ctrl+C)."""
    import signal
    import threading

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
