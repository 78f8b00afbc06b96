"""The staff side: the review queue ordered by deadline, and decisions (approve → issue, reject → tell the holder).

A decision is a conditional update (`WHERE state = 'pending_review'`), so when two reviewers decide the same
application at once exactly one decision is recorded and the other is told it was already decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from edl import audit
from edl.applications.errors import AlreadyDecided, ApplicationRefused, NotFound
from edl.applications.results import Application, FaceCheck
from edl.applications.sanctions import propose_in_session, refuse_if_sanctioned
from edl.applications.staff_scope import Reviewer
from edl.audit import Action, ActorKind
from edl.db.models import AccountRow, ApplicationRow, FaceCheckRow, LicenceRow
from edl.db.scope import authority_in_scope
from edl.db.session import transaction
from edl.domain import Licence
from edl.domain.application import ApplicationState, Decision, reject_reason
from edl.domain.sanction import Proposal, check_duration, check_may_propose
from edl.issuance.elicences import IssuanceRefused, Issuer, issue_in_session
from edl.notifications import messages
from edl.notifications.inbox import notify
from edl.registry.mapping import licence_from_row

QUEUE_LIMIT = 200
NOTE_MAX = 500
MAY_REVIEW = frozenset({"reviewer", "supervisor", "admin"})
MAY_SEE_OVERDUE = frozenset({"supervisor", "admin"})


@dataclass(frozen=True)
class QueueItem:
    application: Application
    holder_name: str
    overdue: bool


@dataclass(frozen=True)
class ReviewItem:
    application: Application
    licence: Licence
    face_check: FaceCheck | None
    """The holder's latest real-person authentication before submitting."""
    overdue: bool


@dataclass(frozen=True)
class QueueCounts:
    pending: int
    overdue: int


def _staff(staff: Reviewer) -> str:
    return f"staff:{staff.username}"


def _scoped(stmt, staff: Reviewer):  # type: ignore[no-untyped-def]
    """Only applications whose authority is inside the staff member's scope (a province code covers its cities)."""
    return stmt.where(authority_in_scope(ApplicationRow.authority_code, staff.scope))


def _overdue(app: ApplicationRow, at: datetime) -> bool:
    return app.state == ApplicationState.PENDING_REVIEW.value and app.due_at is not None and app.due_at < at


def _load_in_scope(session: Session, staff: Reviewer, application_id: str, *, lock: bool = False) -> ApplicationRow:
    app = session.get(ApplicationRow, application_id, with_for_update=lock)
    if app is None or not staff.may_act_for(app.authority_code):
        raise NotFound("no_application", "没有这份申请，或不在您的管辖范围内 / no such application in your authorities")
    return app


class Reviews:
    """The review queue and decisions, with what they use: the database (`readers` for the queue, the replica when
    there is one) and issuance (an approval issues the e-licence in the decision's transaction)."""

    def __init__(self, sessions: sessionmaker[Session], readers: sessionmaker[Session], *, issuer: Issuer) -> None:
        self._sessions = sessions
        self._readers = readers
        self._issuer = issuer

    def queue(
        self, staff: Reviewer, *, at: datetime, overdue_only: bool = False, limit: int = QUEUE_LIMIT
    ) -> list[QueueItem]:
        """Applications waiting for review in this staff member's authorities, the nearest deadline first."""
        if overdue_only and staff.role not in MAY_SEE_OVERDUE:
            raise ApplicationRefused("forbidden", "只有主管可以查看超期申请 / only supervisors see the overdue list")
        stmt = (
            select(ApplicationRow, LicenceRow.name)
            .join(LicenceRow, LicenceRow.number == ApplicationRow.licence_number)
            .where(ApplicationRow.state == ApplicationState.PENDING_REVIEW.value)
            .order_by(ApplicationRow.due_at, ApplicationRow.submitted_at, ApplicationRow.id)
            .limit(limit)
        )
        if overdue_only:
            stmt = stmt.where(ApplicationRow.due_at < at)
        with self._readers() as session:
            rows = session.execute(_scoped(stmt, staff)).all()
            return [QueueItem(Application.of(app), name, _overdue(app, at)) for app, name in rows]

    def counts(self, staff: Reviewer, *, at: datetime) -> QueueCounts:
        base = (
            select(func.count())
            .select_from(ApplicationRow)
            .where(ApplicationRow.state == ApplicationState.PENDING_REVIEW.value)
        )
        with self._readers() as session:
            pending = session.scalar(_scoped(base, staff)) or 0
            overdue = session.scalar(_scoped(base.where(ApplicationRow.due_at < at), staff)) or 0
        return QueueCounts(int(pending), int(overdue))

    def review_item(self, staff: Reviewer, application_id: str, *, at: datetime) -> ReviewItem:
        with self._sessions() as session:
            app = _load_in_scope(session, staff, application_id)
            row = session.get(LicenceRow, app.licence_number)
            if row is None:
                raise NotFound("no_licence", "登记库中已没有此驾驶证 / the registry no longer holds this licence")
            face = session.scalar(
                select(FaceCheckRow)
                .where(FaceCheckRow.account_id == app.account_id, FaceCheckRow.at <= app.submitted_at)
                .order_by(FaceCheckRow.at.desc())
                .limit(1)
            )
            return ReviewItem(
                Application.of(app), licence_from_row(row), FaceCheck.of(face) if face else None, _overdue(app, at)
            )

    def decide(
        self,
        staff: Reviewer,
        application_id: str,
        decision: Decision,
        *,
        reason_code: str | None = None,
        note: str | None = None,
        propose: Proposal | None = None,
        at: datetime,
        client: str | None = None,
    ) -> Application:
        """Approve (the e-licence is issued with the reviewed photo) or reject (with a standard reason and a note);
        a rejection for an abuse reason may `propose` a sanction (`edl.applications.sanctions`), in the same
        transaction. An approval is refused while the licence is under a sanction."""
        if staff.role not in MAY_REVIEW:
            raise ApplicationRefused("forbidden", "您没有审核权限 / you may not review applications")
        note = (note or "").strip() or None
        if note is not None and len(note) > NOTE_MAX:
            raise ApplicationRefused(
                "note_too_long", f"审核说明最多{NOTE_MAX}字 / the note may have at most {NOTE_MAX} characters"
            )
        reason = None
        if decision is Decision.REJECT:
            if not reason_code:
                raise ApplicationRefused("reason_required", "请选择退回原因 / choose a reason for the rejection")
            reason = reject_reason(reason_code)
            if reason.code == "other" and note is None:
                raise ApplicationRefused("note_required", "选择“其他原因”时请填写说明 / explain the reason in the note")
        if propose is not None:
            if reason is None:
                raise ApplicationRefused("propose_needs_reject", "只有退回时可以提出停止 / propose with a rejection")
            check_may_propose(staff.role, reason.code)
            check_duration(propose.days)
        new_state = ApplicationState.ISSUED if decision is Decision.APPROVE else ApplicationState.REJECTED
        with transaction(self._sessions) as session:
            app = _load_in_scope(session, staff, application_id)
            won = session.execute(
                update(ApplicationRow)
                .where(ApplicationRow.id == app.id, ApplicationRow.state == ApplicationState.PENDING_REVIEW.value)
                .values(
                    state=new_state.value,
                    decided_at=at,
                    decided_by=_staff(staff),
                    reject_code=reason.code if reason else None,
                    reject_note=note,
                )
                .execution_options(synchronize_session=False)
            )
            if (getattr(won, "rowcount", 0) or 0) != 1:
                raise AlreadyDecided(
                    "already_decided", "这份申请已由其他审核员处理 / another reviewer already decided this"
                )
            session.refresh(app)
            if decision is Decision.APPROVE:
                refuse_if_sanctioned(session, app.licence_number, at=at)
                try:
                    issued = issue_in_session(
                        session,
                        self._issuer,
                        app.licence_number,
                        photo_ref=app.photo_ref,
                        actor=_staff(staff),
                        actor_kind=ActorKind.STAFF,
                        at=at,
                        photo_change=app.photo_change,
                    )
                except IssuanceRefused as exc:
                    raise ApplicationRefused(
                        "not_eligible_now", f"不能通过：{exc} / cannot approve now; reject it with a reason instead"
                    ) from None
                app.elicence_id = issued.elicence_id
                message = messages.issued(photo_change=app.photo_change)
            else:
                assert reason is not None
                message = messages.rejected(reason.zh, reason.en, note)
                if propose is not None:
                    propose_in_session(
                        session, staff, app, reason_code=reason.code, note=note, days=propose.days, at=at,
                        client=client,
                    )  # fmt: skip
            audit.record(
                session,
                at=at,
                actor_kind=ActorKind.STAFF,
                actor=_staff(staff),
                action=Action.REVIEW,
                subject=app.licence_number,
                outcome=decision.value,
                detail={"application": app.id, "reason": reason.code if reason else None},
                client=client,
            )
            account = session.get(AccountRow, app.account_id)
            if account is not None:
                notify(session, account.id, message, at=at)
            session.flush()
            return Application.of(app)
