"""Request-scoped dependencies: what the web layer may use of the composition root, a database session, pages.

The web app is built by `create_app(container)` (the one web module that knows `edl.bootstrap`); routes see the
container only through `AppServices`, the part of it the web layer uses, and hand each use case what it takes.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request

from edl.config import Settings
from edl.domain import Rollout
from edl.pki import Authority
from edl.storage.photos import PhotoStore
from edl.web.rendering import Pages

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
    from edl.verification.ratelimit import RateLimiter
    from edl.worker_pool import WorkerPool


class AppServices(Protocol):
    """The stores, providers and settings the web layer hands to use cases (`edl.bootstrap.Container` has them)."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    photos: PhotoStore
    clock: Callable[[], datetime]
    liveness_rng: random.Random

    @property
    def readers(self) -> sessionmaker[Session]: ...
    @property
    def authority(self) -> Authority: ...
    @property
    def rollout(self) -> Rollout: ...
    @property
    def face_verifier(self) -> FaceVerifier: ...
    @property
    def sms(self) -> SmsSender: ...
    @property
    def holder_sign_in(self) -> HolderSignIn: ...
    @property
    def notifier(self) -> Notifier: ...
    @property
    def calendar(self) -> WorkingCalendar: ...
    @property
    def rate_limiter(self) -> RateLimiter: ...
    @property
    def online_verifier(self) -> OnlineVerifier: ...
    @property
    def party_keys(self) -> PartyKeys: ...
    @property
    def barcodes(self) -> BarcodeScheme: ...
    @property
    def image_workers(self) -> WorkerPool: ...
    @property
    def issuer(self) -> Issuer: ...
    @property
    def face_checks(self) -> FaceChecks: ...
    @property
    def applications(self) -> Applications: ...
    @property
    def reviews(self) -> Reviews: ...
    @property
    def sanctions(self) -> Sanctions: ...
    @property
    def code_maker(self) -> CodeMaker: ...
    @property
    def openid4vci(self) -> CredentialIssuance: ...
    @property
    def status_list(self) -> StatusListPublisher: ...
    @property
    def trust_bundle(self) -> TrustBundlePublisher: ...
    def outbox_worker(self) -> OutboxWorker: ...
    def secret(self, name: str) -> bytes: ...


def get_container(request: Request) -> AppServices:
    services: AppServices = request.app.state.container
    return services


def get_pages(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


def db_session(request: Request) -> Iterator[Session]:
    """A read session (the replica when configured) for this request, closed afterwards."""
    with get_container(request).readers() as session:
        yield session
