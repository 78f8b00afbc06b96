"""`edl accounts purge`: delete expired sign-in codes and ended sessions (what `edl serve` also does periodically)."""

from __future__ import annotations

import typer

from edl.cli.common import open_container

accounts_app = typer.Typer(help="Driver and staff sign-in records (短信验证码、登录会话).", no_args_is_help=True)


@accounts_app.command("purge")
def purge() -> None:
    """Delete sign-in codes expired over an hour ago and sessions ended over a day ago; print how many."""
    from edl.accounts.purge import purge_expired
    from edl.db.session import transaction

    container = open_container()
    try:
        with transaction(container.sessions) as session:
            purged = purge_expired(session, at=container.clock())
    finally:
        container.dispose()
    typer.echo(purged.summary())
