"""Shared fixtures. Integration tests run on SQLite and on PostgreSQL (a fresh schema per test run)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import structlog

from edl.bootstrap import Container, bootstrap
from edl.config import Settings
from edl.db.migrate import upgrade
from edl.db.models import Base

PG_URL = os.environ.get("EDL_TEST_PG_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
BACKENDS = ["sqlite"] if os.environ.get("EDL_TEST_SKIP_PG") == "1" else ["sqlite", "postgresql"]


@pytest.fixture(autouse=True)
def fresh_logging() -> Iterator[None]:
    """Each test starts with structlog unconfigured: a test that configured a quieter level (the live API server
    logs warnings only) must not hide another test's info events from `capture_logs`."""
    structlog.reset_defaults()
    yield


@pytest.fixture(scope="session")
def pg_schema_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a schema made for this run and dropped after it."""
    schema = f"edl_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session")
def migrated_urls(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> dict[str, str]:
    """Database URLs per backend, migrated once per run."""
    urls: dict[str, str] = {}
    for backend in BACKENDS:
        if backend == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'edl.db'}"
        else:
            url = request.getfixturevalue("pg_schema_url")
        engine = sa.create_engine(url)
        upgrade(engine)
        engine.dispose()
        urls[backend] = url
    return urls


def _truncate(container: Container) -> None:
    """Empty every table between tests (the append-only triggers are bypassed only here, for isolation)."""
    with container.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            conn.execute(sa.text("PRAGMA foreign_keys=OFF"))
            for table in reversed(Base.metadata.sorted_tables):
                trig = [
                    r[0]
                    for r in conn.execute(
                        sa.text("SELECT name FROM sqlite_master WHERE type='trigger' AND tbl_name=:t"),
                        {"t": table.name},
                    )
                ]
                sqls = [
                    r[0]
                    for r in conn.execute(
                        sa.text("SELECT sql FROM sqlite_master WHERE type='trigger' AND tbl_name=:t"), {"t": table.name}
                    )
                ]
                for name in trig:
                    conn.execute(sa.text(f'DROP TRIGGER "{name}"'))
                conn.execute(table.delete())
                for sql in sqls:
                    conn.execute(sa.text(sql))
            conn.execute(sa.text("PRAGMA foreign_keys=ON"))


@pytest.fixture(params=BACKENDS)
def container(request: pytest.FixtureRequest, migrated_urls: dict[str, str], tmp_path: Path) -> Iterator[Container]:
    """A wired container on a clean, migrated database (each backend in turn)."""
    settings = Settings(data_dir=tmp_path / "data", database_url=migrated_urls[request.param])
    c = bootstrap(settings)
    _truncate(c)
    yield c
    c.dispose()
