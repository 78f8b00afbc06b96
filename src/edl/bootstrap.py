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
    from edl.accounts.holders import HolderSignIn
    from edl.accounts.sms import SmsSender
    from edl.applications.face import FaceVerifier
    from edl.applications.face_checks import FaceChecks
    from edl.applications.review import Reviews
    from edl.applications.sanctions import Sanctions
    from edl.applications.service import Applications
    from edl.credentials.barcode import BarcodeScheme
    from edl.domain.calendar import WorkingCalendar
    from edl.issuance.bundle import TrustBundlePublisher
    from edl.issuance.elicences import Issuer
    from edl.issuance.livecodes import CodeMaker
    from edl.issuance.openid4vci import CredentialIssuance
    from edl.issuance.status import StatusListPublisher
    from edl.notifications.push import Notifier
    from edl.notifications.worker import OutboxWorker
    from edl.verification.online import OnlineVerifier
    from edl.verification.parties import PartyKeys
    from edl.verification.presentations import PresentationService
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

    @property
    def holder_sign_in(self) -> HolderSignIn:
        """Driver sign-in by SMS code. Built on each use, so it follows an SMS sender or settings swapped in later
        (tests), and reads the `otp` secret as each sign-in step did before."""
        from edl.accounts.holders import HolderSignIn
        from edl.accounts.otp import OtpPolicy

        return HolderSignIn(
            self.sessions,
            self.sms,
            otp_key=self.secret("otp"),
            policy=OtpPolicy.from_settings(self.settings),
            session_hours=self.settings.session_hours,
        )

    @cached_property
    def notifier(self) -> Notifier:
        """Delivery of in-app notifications beyond the inbox (Web Push to subscribed browsers)."""
        from edl.notifications.push import build_notifier, load_or_create_vapid_key

        key = load_or_create_vapid_key(self.settings.ensure_data_dir())
        return build_notifier(self.sessions, key, subject=self.settings.vapid_subject, clock=self.clock)

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
    def party_keys(self) -> PartyKeys:
        """Relying parties' API keys, checked against the read replica when one is configured (verification reads,
        `EDL_DATABASE_REPLICA_URL`), else the primary, and kept a few seconds in this process."""
        from edl.verification.parties import PartyKeys

        return PartyKeys(self.readers)

    @cached_property
    def online_verifier(self) -> OnlineVerifier:
        """Online verification for relying parties (API and verifier page): it owns the dedicated verification
        engine on PostgreSQL, the trust anchors and the portrait cache of this container."""
        from datetime import timedelta

        from edl.verification.online import OnlineVerifier

        return OnlineVerifier(
            self.engine,
            self.authority,
            self.barcodes,
            self.photos,
            pool_size=self.settings.verification_pool_size,
            durable_log=self.settings.verification_durable_log,
            log_window=self.settings.verification_log_window_ms / 1000,
            leeway=timedelta(seconds=self.settings.clock_skew_seconds),
            replica_url=self.settings.database_replica_url,
        )

    @cached_property
    def presentations(self) -> PresentationService:
        """OpenID4VP presentation requests of relying parties (issue 15): secret `openid4vp` derives each request's
        response encryption key."""
        from edl.verification.presentations import PresentationService

        return PresentationService(
            self.sessions, self.online_verifier, self.secret("openid4vp"), base_url=self.settings.base_url
        )

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

    # The application side (edl.applications): built on each use from the parts above, so that a provider a test
    # swaps in (the face verifier, the image pool, the challenge generator) is the one they use.

    @property
    def face_checks(self) -> FaceChecks:
        """Real-person authentication (实人认证): liveness challenges, face checks, binding a licence."""
        from edl.applications.face_checks import FaceChecks

        return FaceChecks(
            self.sessions,
            self.photos,
            lambda: self.face_verifier,  # built on first use: a challenge needs no face model
            self.image_workers,
            self.settings,
            rng=self.liveness_rng,
        )

    @property
    def applications(self) -> Applications:
        """Applying for the e-licence (申领): the stored photo or a reviewed one, cancelling, the holder's overview."""
        from edl.applications.service import Applications

        return Applications(
            self.sessions, self.photos, self.image_workers, self.calendar, self.settings, issuer=self.issuer
        )

    @property
    def reviews(self) -> Reviews:
        """The staff review queue and decisions (审核)."""
        from edl.applications.review import Reviews

        return Reviews(self.sessions, self.readers, issuer=self.issuer)

    @property
    def sanctions(self) -> Sanctions:
        """Sanctions for malicious uploads (停止电子驾驶证申请使用): confirm, decline, lift, close ended ones."""
        from edl.applications.sanctions import Sanctions

        return Sanctions(self.sessions, self.readers)

    # The issuer side (edl.issuance): what issuing, live codes and publication use, built once.

    @cached_property
    def issuer(self) -> Issuer:
        """Issues e-licences with the authority's document signers, the photo store and the rollout."""
        from edl.issuance.elicences import Issuer

        return Issuer(self.authority, self.photos, self.rollout, self.settings.mso_validity_hours)

    @cached_property
    def openid4vci(self) -> CredentialIssuance:
        """OpenID4VCI issuance to a standard wallet (offers, tokens, credentials; issue 15)."""
        from edl.applications.realperson import face_check_fresh
        from edl.issuance.openid4vci import FACE_CHECK_MINUTES, CredentialIssuance

        return CredentialIssuance(
            self.sessions,
            self.issuer,
            base_url=self.settings.base_url,
            nonce_key=self.secret("openid4vci-nonce"),
            real_person_checked=face_check_fresh,
            face_check_minutes=min(FACE_CHECK_MINUTES, self.settings.face_check_valid_minutes),
        )

    @cached_property
    def code_maker(self) -> CodeMaker:
        """Makes live codes (亮码) and the barcode number shown with them."""
        from edl.issuance.livecodes import CodeMaker

        return CodeMaker(self.authority, self.barcodes, self.settings.code_lifetime_seconds)

    @cached_property
    def status_list(self) -> StatusListPublisher:
        """The published status list (this process's copy of the newest token)."""
        from edl.issuance.status import StatusListPublisher

        return StatusListPublisher(self.sessions, self.authority, self.settings)

    @cached_property
    def trust_bundle(self) -> TrustBundlePublisher:
        """The published, signed trust bundle (this process's copy of the newest one)."""
        from edl.issuance.bundle import TrustBundlePublisher

        return TrustBundlePublisher(self.authority, self.settings)

    def secret(self, name: str) -> bytes:
        """A server secret (HMAC key) from the data directory, created on first use, owner-only."""
        from edl.server_secrets import load_or_create_secret

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
