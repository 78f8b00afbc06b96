"""The composition root: builds settings, database, stores and clock once, for the web app and the CLI alike."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from edl.config import Settings
from edl.db.session import make_engine, make_session_factory
from edl.domain import Rollout
from edl.pki import Authority
from edl.storage.photos import FilePhotoStore, PhotoStore

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Container:
    """Everything a use case needs, built in one place and passed in (never global)."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    photos: PhotoStore
    clock: Clock = field(default=utc_now)
    read_sessions: sessionmaker[Session] | None = None
    """Sessions on the read replica (verification and search traffic); the primary when none is configured."""

    @property
    def readers(self) -> sessionmaker[Session]:
        return self.read_sessions or self.sessions

    @cached_property
    def authority(self) -> Authority:
        """The issuing authority's PKI (root, document signers) in the data directory's key store."""
        return Authority.open(self.settings.data_dir)

    @property
    def rollout(self) -> Rollout:
        return Rollout(self.settings.rollout_codes)

    def dispose(self) -> None:
        self.engine.dispose()
        if self.read_sessions is not None and self.read_sessions.kw.get("bind") is not self.engine:
            bind = self.read_sessions.kw.get("bind")
            if isinstance(bind, Engine):
                bind.dispose()


def bootstrap(settings: Settings | None = None, *, clock: Clock = utc_now, migrate: bool = False) -> Container:
    """Build the container; with `migrate`, bring the database schema up to date first."""
    settings = settings or Settings()
    data_dir = settings.ensure_data_dir()
    engine = make_engine(settings.resolved_database_url)
    if migrate:
        from edl.db.migrate import upgrade

        upgrade(engine)
    replica = settings.database_replica_url
    return Container(
        settings=settings,
        engine=engine,
        sessions=make_session_factory(engine),
        photos=FilePhotoStore(data_dir / "photos"),
        clock=clock,
        read_sessions=make_session_factory(make_engine(replica)) if replica else None,
    )
