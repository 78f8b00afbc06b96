"""The composition root: builds settings, database, stores and clock once, for the web app and the CLI alike."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from edl.config import Settings
from edl.db.session import make_engine, make_session_factory
from edl.domain import Rollout
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

    @property
    def rollout(self) -> Rollout:
        return Rollout(self.settings.rollout_codes)

    def dispose(self) -> None:
        self.engine.dispose()


def bootstrap(settings: Settings | None = None, *, clock: Clock = utc_now, migrate: bool = False) -> Container:
    """Build the container; with `migrate`, bring the database schema up to date first."""
    settings = settings or Settings()
    data_dir = settings.ensure_data_dir()
    engine = make_engine(settings.resolved_database_url)
    if migrate:
        from edl.db.migrate import upgrade

        upgrade(engine)
    return Container(
        settings=settings,
        engine=engine,
        sessions=make_session_factory(engine),
        photos=FilePhotoStore(data_dir / "photos"),
        clock=clock,
    )
