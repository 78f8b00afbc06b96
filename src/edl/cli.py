"""The `edl` command. Thin: parse, call a service, print. Bad input → one line on stderr and exit 2."""

from __future__ import annotations

import sys
from typing import NoReturn

import typer

from edl.bootstrap import Container, bootstrap
from edl.config import Settings

app = typer.Typer(
    name="edl",
    help="eDL: electronic driving licences (电子驾驶证) on ISO/IEC 18013-5.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")


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


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="target revision")) -> None:
    """Migrate the database to the newest schema (or REVISION)."""
    from edl.db.migrate import current_revision, upgrade
    from edl.db.session import make_engine

    s = settings()
    s.ensure_data_dir()
    engine = make_engine(s.resolved_database_url)
    upgrade(engine, revision)
    typer.echo(f"database at revision {current_revision(engine)}")


def _register() -> None:
    from edl.cli_accounts import accounts_app
    from edl.cli_code import credential_code
    from edl.cli_keys import keys_app, trust_app, verify_command
    from edl.cli_licence import licence_app
    from edl.cli_registry import registry_app
    from edl.cli_relying import relying_app
    from edl.cli_render import credential_render
    from edl.cli_serve import credential_app, demo, serve, worker
    from edl.cli_staff import staff_app
    from edl.cli_trust import trust_fetch

    app.add_typer(keys_app, name="keys")
    app.add_typer(trust_app, name="trust")
    app.add_typer(registry_app, name="registry")
    app.add_typer(licence_app, name="licence")
    app.add_typer(credential_app, name="credential")
    app.add_typer(staff_app, name="staff")
    app.add_typer(relying_app, name="relying-party")
    app.add_typer(accounts_app, name="accounts")
    credential_app.command("code")(credential_code)
    credential_app.command("render")(credential_render)
    trust_app.command("fetch")(trust_fetch)
    app.command("verify")(verify_command)
    app.command("serve")(serve)
    app.command("demo")(demo)
    app.command("worker")(worker)


def main() -> None:
    _register()
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
