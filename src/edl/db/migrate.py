"""Run Alembic migrations programmatically (`edl db upgrade`; `edl demo` and `edl serve` upgrade on start)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (default: the newest)."""
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    command.downgrade(alembic_config(engine), revision)


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg).get_current_head()


def schema_is_current(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def include_object(dialect: str) -> Callable[[object, str | None, str, bool, object], bool]:
    """Alembic's filter when it compares the models with a `dialect` database: an object of the models declared
    for other databases only (`Index(...).ddl_if(dialect="sqlite")`) is not expected there."""

    def include(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
        only = getattr(obj, "_ddl_if", None)  # SQLAlchemy's record of ddl_if(); Alembic does not read it itself
        if reflected or only is None or only.dialect is None:
            return True
        return dialect in ((only.dialect,) if isinstance(only.dialect, str) else only.dialect)

    return include
