"""Engine and session factories. Nothing is built at import time: `bootstrap` calls these."""

from __future__ import annotations

import select
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets foreign keys on, WAL and a busy timeout so readers never block writers."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    kwargs.setdefault("hide_parameters", True)  # SQL errors must not carry names or ID numbers into logs
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {}).setdefault("timeout", 30)
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with factory() as session, session.begin():
        yield session


VERIFICATION_POOL_RECYCLE_SECONDS = 1800
"""Verification connections are replaced after this long (instead of a pre-ping on every checkout)."""


def verification_engine_options(url: str, *, pool_size: int, durable: bool) -> tuple[URL, dict[str, Any]]:
    """URL and engine options of the dedicated verification engine on PostgreSQL.

    - ``AUTOCOMMIT``: each statement is its own transaction, so a verification costs two round trips (the registry
      select, the log insert) and no BEGIN / COMMIT; the select alone is a consistent snapshot.
    - ``synchronous_commit=off`` as a connection option (unless `durable`): the log insert returns before its WAL
      reaches disk. Only this engine's connections have it (registry writes go through the main engine); a database
      crash may lose the last fraction of a second of verification-log rows, never registry data.
    - A fixed pool of `pool_size` connections (no overflow: no connection churn) and no pre-ping (one round trip
      less per request): a dead connection is detected by SQLAlchemy when a statement fails, and every connection is
      recycled after `VERIFICATION_POOL_RECYCLE_SECONDS`.
    """
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if not durable:
        existing = parsed.query.get("options", "")
        if isinstance(existing, tuple):
            existing = " ".join(existing)
        parsed = parsed.update_query_dict({"options": f"{existing} -c synchronous_commit=off".strip()})
    return parsed, {
        "isolation_level": "AUTOCOMMIT",
        "pool_size": pool_size,
        "max_overflow": 0,
        "pool_pre_ping": False,
        "pool_recycle": VERIFICATION_POOL_RECYCLE_SECONDS,
        "pool_reset_on_return": None,  # autocommit: nothing to roll back
        "hide_parameters": True,
    }


def make_verification_engine(url: str, *, pool_size: int, durable: bool) -> Engine:
    """The dedicated verification engine on PostgreSQL; see `verification_engine_options`."""
    parsed, options = verification_engine_options(url, pool_size=pool_size, durable=durable)
    engine = create_engine(parsed, **options)
    event.listen(engine, "checkout", discard_if_server_hung_up)
    return engine


def discard_if_server_hung_up(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
    """Checkout hook of engines without pre-ping: a pooled connection whose socket has something to read while
    idle was hung up on by the server (a restart or failover sends its FATAL notice, then closes), so the pool is
    told to replace it (`DisconnectionError`) instead of the request failing on it. One `poll` system call, no round
    trip. Without it the first check on each such connection after a quiet database restart failed with the database
    back: 503 from the API's blocking path, 500 from the verifier page (tests/scaleout)."""
    pgconn = getattr(dbapi_conn, "pgconn", None)
    if pgconn is None:
        return
    try:
        fd = pgconn.socket
    except Exception as exc:  # psycopg raises once the connection is closed
        raise DisconnectionError("the verification connection is closed") from exc
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
    if poller.poll(0):
        raise DisconnectionError("the database hung up on this pooled connection")
