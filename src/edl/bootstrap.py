"""The composition root: builds settings, database, stores and clock once, for the web app and the CLI alike."""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from edl.config import Settings
from edl.db.session import make_engine, make_session_factory
from edl.domain import Rollout
from edl.pki import Authority
from edl.storage.photos import FilePhotoStore, PhotoStore

if TYPE_CHECKING:
    from edl.accounts.sms import SmsSender
    from edl.applications.face import FaceVerifier
    from edl.credentials.barcode import BarcodeScheme
    from edl.domain.calendar import WorkingCalendar
    from edl.notifications.push import Notifier
    from edl.notifications.worker import OutboxWorker
    from edl.verification.ratelimit import RateLimiter
    from edl.worker_pool import WorkerPool

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
    liveness_rng: random.Random = field(default_factory=secrets.SystemRandom)
    """Draws the actions of liveness challenges. Only tests replace it (a seeded `random.Random`, so that a fake
    camera's fixed video answers the challenge); no setting or environment variable reaches it."""

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

    # Outside providers: built on first use (the face model takes a moment to load), swappable in tests by
    # assigning the attribute before use.

    @cached_property
    def face_verifier(self) -> FaceVerifier:
        """Real-person authentication (实人认证): dlib face descriptors, or a named lenient provider in the demo."""
        from edl.applications.face import build_verifier

        return build_verifier(self.settings)

    @cached_property
    def sms(self) -> SmsSender:
        """Where sign-in codes go: the signed webhook of the SMS gateway (EDL_SMS_URL), else the log sender (codes
        masked; in the demo, kept for the dev inbox page)."""
        from edl.accounts.sms import WEBHOOK_KEY_NAME, LogSmsSender, WebhookSmsSender

        if self.settings.sms_url:
            return WebhookSmsSender(
                self.settings.sms_url,
                self.secret(WEBHOOK_KEY_NAME),
                timeout_seconds=self.settings.sms_timeout_seconds,
                clock=lambda: self.clock(),  # follows a clock swapped in later (tests)
            )
        return LogSmsSender(dev_inbox=self.settings.demo)

    @cached_property
    def notifier(self) -> Notifier:
        """Delivery of in-app notifications beyond the inbox (Web Push to subscribed browsers)."""
        from edl.notifications.push import build_notifier

        return build_notifier(self)

    def outbox_worker(self) -> OutboxWorker:
        """A worker that delivers the outbox's notices with this container's SMS sender and Web Push notifier."""
        from edl.notifications.worker import OutboxWorker

        return OutboxWorker(self.sessions, sms=self.sms, push=self.notifier, clock=lambda: self.clock())

    @cached_property
    def calendar(self) -> WorkingCalendar:
        """Working days on the Chinese statutory calendar (chinese-calendar, extended by EDL_HOLIDAYS_FILE)."""
        from edl.applications.holidays import load_calendar

        return load_calendar(self.settings.holidays_file)

    @cached_property
    def rate_limiter(self) -> RateLimiter:
        """Per-key request limits of relying parties: in memory, or in Redis when EDL_REDIS_URL is set."""
        from edl.verification.ratelimit import build_rate_limiter

        return build_rate_limiter(self.settings)

    @cached_property
    def barcodes(self) -> BarcodeScheme:
        """The expiring numbers under the Code 128 barcode: HMAC key `barcode` from the data directory's secrets, the
        step from settings, the clock-skew leeway for numbers made by a server whose clock is ahead."""
        from edl.credentials.barcode import BarcodeScheme

        return BarcodeScheme(
            self.secret("barcode"),
            step_seconds=self.settings.barcode_step_seconds,
            leeway_seconds=self.settings.clock_skew_seconds,
        )

    @cached_property
    def image_workers(self) -> WorkerPool:
        """The bounded pool that runs image work (photo checks, face comparison, reading an uploaded code) off the
        event loop: EDL_IMAGE_WORKERS threads, EDL_IMAGE_QUEUE waiting jobs, then `PoolBusy` (503)."""
        from edl.worker_pool import WorkerPool

        return WorkerPool(self.settings.image_workers, queue=self.settings.image_queue, name="edl-image")

    def secret(self, name: str) -> bytes:
        """A server secret (HMAC key) from the data directory, created on first use, owner-only."""
        from edl.secrets import load_or_create_secret

        return load_or_create_secret(self.settings.data_dir, name)

    def dispose(self) -> None:
        for name in ("notifier", "rate_limiter", "sms", "image_workers"):
            close = getattr(self.__dict__.get(name), "close", None)
            if callable(close):
                close()
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
