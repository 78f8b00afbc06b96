"""Applying for the e-licence (申领): what the holder may do now, the stored-photo case (issued at once), the
reviewed-photo cases (camera or album photo, checked automatically, then reviewed), cancelling, tracking.

Every step runs in one transaction with its audit entry and inbox message; a refused step writes only its audit
entry. Push delivery of the inbox messages and the SMS notices to the registered mobile go through the outbox
(`edl.notifications.outbox`), written in the step's transaction and delivered by the worker after commit. Applying
needs a fresh real-person authentication (`edl.applications.face_checks`).

The photo checks run in the bounded image pool; when it is full the step raises `PoolBusy` before anything is
written. Call these methods off the event loop.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from edl.applications import realperson
from edl.applications.errors import ApplicationRefused, NotFound
from edl.applications.holder_steps import (
    audited,
    bound_licence_row,
    holder_actor,
    holder_audit,
    live_elicence,
    load_account,
    pending_application,
)
from edl.applications.photo_rules import DEFAULT_RULES
from edl.applications.photos import check_photo
from edl.applications.results import Application, ElicenceSummary
from edl.applications.sanctions import Sanction, refuse_if_sanctioned, running_sanction
from edl.audit import Action, ActorKind
from edl.config import Settings
from edl.db.models import AccountRow, ApplicationRow, ElicenceRow, LicenceRow
from edl.db.session import transaction
from edl.domain import Eligibility, Licence, Rollout
from edl.domain.application import ApplicationState, PhotoSource, check_transition
from edl.domain.calendar import WorkingCalendar
from edl.domain.dates import china_date
from edl.domain.glossary import format_datetime
from edl.issuance.elicences import IssuanceRefused, Issuer, issue_in_session
from edl.notifications import messages
from edl.notifications.inbox import notify
from edl.registry.mapping import licence_from_row
from edl.storage.photos import PhotoStore
from edl.worker_pool import WorkerPool

IDEMPOTENCY_KEY_MAX = 64
HISTORY = 20
"""Applications the overview lists, the newest first."""


@dataclass(frozen=True)
class Overview:
    """What the holder's home page shows: the licence, whether and how they may apply, and where things stand."""

    licence_number: str | None
    """The licence the account is bound to (None: not bound)."""
    licence: Licence | None
    eligibility: Eligibility | None
    stored_photo_usable: bool
    """Case 1: the registry holds a compliant photo that can be used at once."""
    elicence: ElicenceSummary | None
    """The live e-licence."""
    pending: Application | None
    applications: tuple[Application, ...]
    face_check_fresh: bool
    face_attempts_left: int
    sanction: Sanction | None = None
    """The sanction in force (停止电子驾驶证申请使用): the e-licence is stopped and applying is refused."""

    @property
    def bound(self) -> bool:
        return self.licence_number is not None


def _check_key(key: str) -> str:
    key = key.strip()
    if not key or len(key) > IDEMPOTENCY_KEY_MAX or not key.isascii():
        raise ApplicationRefused(
            "bad_idempotency_key", "请求缺少有效的提交编号，请刷新页面后重试 / the form is stale: reload and try again"
        )
    return key


def _by_key(session: Session, account_id: str, key: str) -> ApplicationRow | None:
    return session.scalar(
        select(ApplicationRow).where(ApplicationRow.account_id == account_id, ApplicationRow.idempotency_key == key)
    )


class Applications:
    """The holder's applications, with what they use: the database, the photo store, the image pool (photo checks),
    the working calendar (review deadlines), `settings` (rollout, upload limit, real-person limits) and issuance."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        photos: PhotoStore,
        workers: WorkerPool,
        calendar: WorkingCalendar,
        settings: Settings,
        *,
        issuer: Issuer,
    ) -> None:
        self._sessions = sessions
        self._photos = photos
        self._workers = workers
        self._calendar = calendar
        self._settings = settings
        self._issuer = issuer

    # --- what stands --------------------------------------------------------------------------------------------

    def overview(self, account_id: str, *, at: datetime) -> Overview:
        with self._sessions() as session:
            account = load_account(session, account_id)
            licence = eligibility = None
            stored_ok = fresh = False
            elicence = pending = sanction = None
            apps: list[ApplicationRow] = []
            if account.licence_number is not None:
                row = session.get(LicenceRow, account.licence_number)
                if row is not None:
                    licence = licence_from_row(row)
                    eligibility = licence.eligibility(china_date(at), self._rollout)
                    stored_ok = bool(licence.photo_ref and licence.photo_compliant)
                elicence = live_elicence(session, account.licence_number)
                pending = pending_application(session, account.id)
                apps = list(
                    session.scalars(
                        select(ApplicationRow)
                        .where(ApplicationRow.account_id == account.id)
                        .order_by(ApplicationRow.submitted_at.desc())
                        .limit(HISTORY)
                    )
                )
                fresh = self._face_check_fresh(session, account, at=at)
                sanction = running_sanction(session, account.licence_number, at=at)
            left = realperson.attempts_left(session, account.id, at=at, per_day=self._settings.face_attempts_per_day)
            return Overview(
                licence_number=account.licence_number,
                licence=licence,
                eligibility=eligibility,
                stored_photo_usable=stored_ok,
                elicence=ElicenceSummary.of(elicence) if elicence else None,
                pending=Application.of(pending) if pending else None,
                applications=tuple(Application.of(a) for a in apps),
                face_check_fresh=fresh,
                face_attempts_left=left,
                sanction=sanction,
            )

    def get_application(self, account_id: str, application_id: str) -> Application:
        with self._sessions() as session:
            app = session.get(ApplicationRow, application_id)
            if app is None or app.account_id != account_id:
                raise NotFound("no_application", "没有这份申请 / no such application")
            return Application.of(app)

    def bound_licence_number(self, account_id: str) -> str | None:
        """The licence the account is bound to now (None: not bound, or no such account)."""
        with self._sessions() as session:
            account = session.get(AccountRow, account_id)
            return account.licence_number if account is not None else None

    def running_sanction(self, number: str, *, at: datetime) -> Sanction | None:
        """The sanction in force on licence `number` at `at` (its e-licence is stopped), or None."""
        with self._sessions() as session:
            return running_sanction(session, number, at=at)

    def latest_elicence(self, number: str) -> ElicenceSummary | None:
        """The newest e-licence of licence `number`, live or voided (its void reason says why there is none now)."""
        with self._sessions() as session:
            row = session.scalar(
                select(ElicenceRow).where(ElicenceRow.licence_number == number).order_by(ElicenceRow.issued_at.desc())
            )
            return ElicenceSummary.of(row) if row is not None else None

    # --- applying -----------------------------------------------------------------------------------------------

    def apply_with_stored_photo(
        self,
        account_id: str,
        *,
        idempotency_key: str,
        at: datetime,
        client: str | None = None,
        device_key: ec.EllipticCurvePublicKey | None = None,
    ) -> Application:
        """Case 1: the registry's compliant stored photo; after real-person authentication the e-licence is issued
        now."""
        key = _check_key(idempotency_key)

        def make() -> ApplicationRow:
            with transaction(self._sessions) as session:
                account = load_account(session, account_id)
                row = bound_licence_row(session, account, lock=True)
                licence = licence_from_row(row)
                self._refuse_if_ineligible(licence, at=at)
                refuse_if_sanctioned(session, row.number, at=at)
                if not (licence.photo_ref and licence.photo_compliant):
                    raise ApplicationRefused(
                        "no_stored_photo",
                        "登记库中没有符合要求的存档照片，请拍摄或上传照片 / the registry holds no compliant photo of "
                        "you: take or upload one",
                    )
                if pending_application(session, account.id) is not None:
                    raise ApplicationRefused(
                        "pending", "您有一份申请正在审核中 / you already have an application in review"
                    )
                self._require_fresh_face_check(session, account, at=at)
                app = ApplicationRow(
                    id=uuid.uuid4().hex,
                    account_id=account.id,
                    licence_number=row.number,
                    authority_code=row.authority_code,
                    kind=PhotoSource.STORED.value,
                    photo_change=live_elicence(session, row.number) is not None,
                    state=ApplicationState.ISSUED.value,
                    photo_ref=licence.photo_ref,
                    photo_checks={},
                    idempotency_key=key,
                    submitted_at=at,
                    decided_at=at,
                    decided_by="system",
                )
                session.add(app)
                session.flush()  # a racing duplicate fails here, before anything is signed
                try:
                    issued = issue_in_session(
                        session,
                        self._issuer,
                        row.number,
                        device_key=device_key,
                        photo_ref=licence.photo_ref,
                        actor=holder_actor(account.id),
                        actor_kind=ActorKind.HOLDER,
                        at=at,
                        photo_change=app.photo_change,
                    )
                except IssuanceRefused as exc:
                    raise ApplicationRefused("issuance_refused", str(exc)) from None
                app.elicence_id = issued.elicence_id
                holder_audit(
                    session,
                    account.id,
                    at=at,
                    action=Action.SUBMIT,
                    subject=row.number,
                    detail={"application": app.id, "kind": app.kind},
                    client=client,
                )
                notify(session, account.id, messages.issued(photo_change=app.photo_change), at=at)
                return app

        return self._submit_once(account_id, key, make, at=at, client=client)

    def submit_photo(
        self,
        account_id: str,
        data: bytes,
        *,
        source: PhotoSource,
        idempotency_key: str,
        at: datetime,
        client: str | None = None,
    ) -> Application:
        """Cases 2 and 3 (and a voluntary photo change): automatic checks, then the review queue.

        A photo that fails a check is refused with the reason and never stored.
        """
        if not source.needs_review:
            raise ApplicationRefused("bad_source", "照片来源无效 / unknown photo source")
        key = _check_key(idempotency_key)

        def make() -> ApplicationRow:
            with self._sessions() as session:
                account = load_account(session, account_id)
                row = bound_licence_row(session, account)
                self._refuse_if_ineligible(licence_from_row(row), at=at)
                refuse_if_sanctioned(session, row.number, at=at)
                if pending_application(session, account.id) is not None:
                    raise ApplicationRefused(
                        "pending",
                        "您有一份申请正在审核中，请等待审核结果或撤回后再提交 / you already have an application in "
                        "review: wait for the decision or withdraw it first",
                    )
                self._require_fresh_face_check(session, account, at=at)
            rules = replace(DEFAULT_RULES, max_bytes=self._settings.max_upload_bytes)
            checked = self._workers.call(check_photo, data, rules=rules)
            due = self._calendar.review_deadline(at)
            with transaction(self._sessions) as session:
                account = load_account(session, account_id)
                row = bound_licence_row(session, account, lock=True)
                refuse_if_sanctioned(session, row.number, at=at)  # confirmed while the photo was being checked
                if pending_application(session, account.id) is not None:
                    raise ApplicationRefused(
                        "pending", "您有一份申请正在审核中 / you already have an application in review"
                    )
                ref = self._photos.put(checked.jpeg)
                app = ApplicationRow(
                    id=uuid.uuid4().hex,
                    account_id=account.id,
                    licence_number=row.number,
                    authority_code=row.authority_code,
                    kind=source.value,
                    photo_change=live_elicence(session, row.number) is not None,
                    state=ApplicationState.PENDING_REVIEW.value,
                    photo_ref=ref,
                    photo_checks=checked.measurements,
                    idempotency_key=key,
                    submitted_at=at,
                    due_at=due,
                )
                session.add(app)
                session.flush()
                holder_audit(
                    session,
                    account.id,
                    at=at,
                    action=Action.SUBMIT,
                    subject=row.number,
                    detail={"application": app.id, "kind": app.kind, "photo_change": app.photo_change},
                    client=client,
                )
                notify(
                    session,
                    account.id,
                    messages.submitted(
                        due_zh=f"{format_datetime(due, 'zh')}（北京时间）",
                        due_en=f"{format_datetime(due, 'en')} Beijing time",
                    ),
                    at=at,
                )
                return app

        return self._submit_once(account_id, key, make, at=at, client=client)

    def cancel_application(self, account_id: str, application_id: str, *, at: datetime) -> Application:
        """Withdraw an application that is still in review."""
        with transaction(self._sessions) as session:
            app = session.get(ApplicationRow, application_id, with_for_update=True)
            if app is None or app.account_id != account_id:
                raise NotFound("no_application", "没有这份申请 / no such application")
            check_transition(ApplicationState(app.state), ApplicationState.CANCELLED)
            app.state = ApplicationState.CANCELLED.value
            app.decided_at = at
            app.decided_by = holder_actor(account_id)
            holder_audit(
                session,
                account_id,
                at=at,
                action=Action.SUBMIT,
                subject=app.licence_number,
                outcome="cancelled",
                detail={"application": app.id},
            )
            session.flush()
            return Application.of(app)

    # --- the rules every application step applies ----------------------------------------------------------------

    @property
    def _rollout(self) -> Rollout:
        return Rollout(self._settings.rollout_codes)

    def _refuse_if_ineligible(self, licence: Licence, *, at: datetime) -> None:
        verdict = licence.eligibility(china_date(at), self._rollout)
        if not verdict.eligible:
            raise ApplicationRefused(
                verdict.reasons[0][0],
                "；".join(r[1] for r in verdict.reasons) + " / " + " ".join(r[2] for r in verdict.reasons),
            )

    def _face_check_fresh(self, session: Session, account: AccountRow, *, at: datetime) -> bool:
        return realperson.face_check_fresh(
            session,
            account.id,
            account.licence_number,
            at=at,
            valid_minutes=self._settings.face_check_valid_minutes,
        )

    def _require_fresh_face_check(self, session: Session, account: AccountRow, *, at: datetime) -> None:
        if not self._face_check_fresh(session, account, at=at):
            minutes = self._settings.face_check_valid_minutes
            raise ApplicationRefused(
                "face_check_required",
                f"请先完成实人认证（{minutes}分钟内有效） / complete real-person authentication first (it is valid "
                f"for {minutes} minutes)",
            )

    def _submit_once(
        self, account_id: str, key: str, make: Callable[[], ApplicationRow], *, at: datetime, client: str | None
    ) -> Application:
        """Submit once per idempotency key; a refusal is audited (`audited`)."""
        return audited(
            self._sessions,
            account_id,
            account_id,
            Action.SUBMIT,
            lambda: self._once(account_id, key, make),
            at=at,
            client=client,
        )

    def _once(self, account_id: str, key: str, make: Callable[[], ApplicationRow]) -> Application:
        """Idempotency: the same key returns the application it made, even when two requests race."""
        with self._sessions() as session:
            existing = _by_key(session, account_id, key)
            if existing is not None:
                return Application.of(existing)
        try:
            return Application.of(make())
        except IntegrityError:
            with self._sessions() as session:
                existing = _by_key(session, account_id, key)
                if existing is None:
                    raise
                return Application.of(existing)
