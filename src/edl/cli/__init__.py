"""The `edl` command. Thin: parse, call a service, print. Bad input → one line on stderr and exit 2.

This root builds the Typer `app` from one module per command group (`edl.cli.keys`, `edl.cli.trust`, …); the
group modules share `edl.cli.common` and never import this root or each other.
"""

from __future__ import annotations

import sys

import typer

from edl.cli.accounts import accounts_app
from edl.cli.credential import credential_app
from edl.cli.db import db_app
from edl.cli.demo import demo
from edl.cli.keys import keys_app
from edl.cli.licence import licence_app
from edl.cli.photo import photo_app
from edl.cli.registry import registry_app
from edl.cli.relying_party import relying_app
from edl.cli.serve import serve
from edl.cli.staff import staff_app
from edl.cli.trust import trust_app
from edl.cli.verify import verify_command
from edl.cli.worker import worker

__all__ = ["app", "main"]

app = typer.Typer(
    name="edl",
    help="eDL: electronic driving licences (电子驾驶证) on ISO/IEC 18013-5.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
app.add_typer(trust_app, name="trust")
app.add_typer(registry_app, name="registry")
app.add_typer(licence_app, name="licence")
app.add_typer(credential_app, name="credential")
app.add_typer(staff_app, name="staff")
app.add_typer(relying_app, name="relying-party")
app.add_typer(accounts_app, name="accounts")
app.add_typer(photo_app, name="photo")
app.command("verify")(verify_command)
app.command("serve")(serve)
app.command("demo")(demo)
app.command("worker")(worker)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
