"""`edl db ...`: the database schema (Alembic migrations)."""

from __future__ import annotations

import typer

from edl.cli.common import settings

db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)


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
