"""The sanction for malicious uploads (停止电子驾驶证申请使用), as a use case: propose (with a rejection), confirm or
decline, lift, end by time; and what the driver's side asks (is this licence stopped now, and why).

The rules are `edl.domain.sanction`. Each step locks the licence row, then the sanction, and writes in one transaction
the sanction, the e-licences' ``suspended_until`` (what online verification and the status list read), the status
list's change mark (`edl.issuance.status.mark_changed`, taken last), its audit entry and the driver's inbox message.
A refused step writes only its audit entry. Staff act only inside their authority scope: a sanction outside it is
"not found" (404), as an application is.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from edl import audit
from edl.applications.errors import AlreadyDecided, ApplicationRefused, NotFound
from edl.applications.staff_scope import Reviewer
from edl.audit import Action, ActorKind
from edl.db.models import AccountRow, ApplicationRow, ElicenceRow, LicenceRow, SanctionRow
from edl.db.scope import authority_in_scope
from edl.db.session import transaction
from edl.domain import sanction as rules
from edl.domain.application import reject_reason
from edl.domain.sanction import SanctionRefused, SanctionState, StopNotice
from edl.issuance.status import mark_changed
from edl.notifications import messages
from edl.notifications.inbox import Message, notify
from edl.registry.events import load_for_update

LIST_LIMIT = 200
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Sanction:
    """One sanction as it stands at the moment it was read (`state` is the effective one: an active sanction whose
    end has passed is `ended`)."""

    id: str
    licence_number: str
    authority_code: str
    holder_name: str
    application_id: str | None
    state: SanctionState
    reason_code: str
    reason_zh: str
    reason_en: str
    reason_text: str | None
    duration_days: int | None
    proposed_by: str
    proposed_at: datetime
    confirmed_by: str | None
    confirmed_at: datetime | None
    ends_at: datetime | None
    lifted_by: str | None
    lifted_at: datetime | None
    lift_reason: str | None

    @property
    def notice(self) -> StopNotice:
        return rules.stop_notice(self.reason_zh, self.reason_en, self.ends_at)

    @classmethod
    def of(cls, row: SanctionRow, holder_name: str, at: datetime) -> Sanction:
        reason = reject_reason(row.reason_code)
        state = rules.effective_state(SanctionState(row.state), row.ends_at, at)
        return cls(
            row.id, row.licence_number, row.authority_code, holder_name, row.application_id, state, row.reason_code,
            reason.zh, reason.en, row.reason_text, row.duration_days, row.proposed_by, row.proposed_at,
            row.confirmed_by, row.confirmed_at, row.ends_at, row.lifted_by, row.lifted_at, row.lift_reason,
        )  # fmt: skip


def _staff(staff: Reviewer) -> str:
    return f"staff:{staff.username}"


def _running(number: str, at: datetime):  # type: ignore[no-untyped-def]
    """The select of licence `number`'s sanction in force at `at` (confirmed, not lifted, not yet ended)."""
    return select(SanctionRow).where(
        SanctionRow.licence_number == number,
        SanctionRow.state == SanctionState.ACTIVE.value,
        (SanctionRow.ends_at.is_(None)) | (SanctionRow.ends_at > at),
    )


def running_sanction(session: Session, number: str, *, at: datetime) -> Sanction | None:
    """Licence `number`'s sanction in force at `at`, or None."""
    row = session.scalars(_running(number, at).limit(1)).first()
    if row is None:
        return None
    name = session.scalar(select(LicenceRow.name).where(LicenceRow.number == number)) or ""
    return Sanction.of(row, name, at)


def refuse_if_sanctioned(session: Session, number: str, *, at: datetime) -> None:
    """Refuse a new application (or an approval) while licence `number` is under a sanction: why, until when, and
    the way to appeal (at a counter)."""
    running = running_sanction(session, number, at=at)
    if running is not None:
        notice = running.notice
        raise ApplicationRefused("sanctioned", f"{notice.zh} / {notice.en}")


def propose_in_session(
    session: Session,
    staff: Reviewer,
    app: ApplicationRow,
    *,
    reason_code: str,
    note: str | None,
    days: int | None,
    at: datetime,
    client: str | None,
) -> SanctionRow:
    """A reviewer's proposal, made with the rejection of `app` for an abuse reason, in the decision's transaction
    (the caller holds the application in scope). One standing sanction per licence."""
    rules.check_may_propose(staff.role, reason_code)
    rules.check_duration(days)
    load_for_update(session, app.licence_number)
    standing = session.scalar(
        select(SanctionRow.id).where(
            SanctionRow.licence_number == app.licence_number,
            SanctionRow.state.in_([SanctionState.PROPOSED.value, SanctionState.ACTIVE.value]),
            (SanctionRow.ends_at.is_(None)) | (SanctionRow.ends_at > at),
        )
    )
    if standing is not None:
        raise SanctionRefused(
            "already_sanctioned", "此驾驶证已有待确认或执行中的停止 / this licence already has a sanction in hand"
        )
    row = SanctionRow(
        id=uuid.uuid4().hex,
        licence_number=app.licence_number,
        authority_code=app.authority_code,
        application_id=app.id,
        state=SanctionState.PROPOSED.value,
        reason_code=reason_code,
        reason_text=note,
        duration_days=days,
        proposed_by=_staff(staff),
        proposed_at=at,
    )
    session.add(row)
    _audit(session, staff, row, "proposed", at=at, client=client, days=days)
    return row


def _audit(
    session: Session, staff: Reviewer | None, row: SanctionRow, outcome: str, *, at: datetime, client: str | None,
    **detail: object,
) -> None:  # fmt: skip
    audit.record(
        session,
        at=at,
        actor_kind=ActorKind.STAFF if staff is not None else ActorKind.SYSTEM,
        actor=_staff(staff) if staff is not None else "system",
        action=Action.SANCTION,
        subject=row.licence_number,
        outcome=outcome,
        detail={"sanction": row.id, "reason": row.reason_code, **detail},
        client=client,
    )


def _tell_driver(session: Session, number: str, message: Message, *, at: datetime) -> None:
    account = session.scalar(select(AccountRow.id).where(AccountRow.licence_number == number))
    if account is not None:
        notify(session, account, message, at=at)


def _suspend(session: Session, number: str, until: datetime | None) -> None:
    """Set (or clear, None) the suspension of licence `number`'s e-licences."""
    session.execute(
        update(ElicenceRow)
        .where(ElicenceRow.licence_number == number)
        .values(suspended_until=until)
        .execution_options(synchronize_session=False)
    )


class Sanctions:
    """The supervisor's side of sanctions: the list, confirm, decline, lift; and housekeeping (`close_ended`)."""

    def __init__(self, sessions: sessionmaker[Session], readers: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._readers = readers

    def listing(self, staff: Reviewer, *, at: datetime, limit: int = LIST_LIMIT) -> list[Sanction]:
        """Proposed and running sanctions in this staff member's authorities, the oldest proposal first."""
        stmt = (
            select(SanctionRow, LicenceRow.name)
            .join(LicenceRow, LicenceRow.number == SanctionRow.licence_number)
            .where(
                SanctionRow.state.in_([SanctionState.PROPOSED.value, SanctionState.ACTIVE.value]),
                authority_in_scope(SanctionRow.authority_code, staff.scope),
            )
            .order_by(SanctionRow.proposed_at, SanctionRow.id)
            .limit(limit)
        )
        with self._readers() as session:
            items = [Sanction.of(row, name, at) for row, name in session.execute(stmt).all()]
        return [s for s in items if s.state.holds]

    def get(self, staff: Reviewer, sanction_id: str, *, at: datetime) -> Sanction:
        with self._sessions() as session:
            row = self._load(session, staff, sanction_id)
            name = session.scalar(select(LicenceRow.name).where(LicenceRow.number == row.licence_number)) or ""
            return Sanction.of(row, name, at)

    def confirm(self, staff: Reviewer, sanction_id: str, *, at: datetime, client: str | None = None) -> Sanction:
        """A supervisor (not the proposer) puts a proposal in force: the e-licence is suspended, the driver told."""

        def step(session: Session, row: SanctionRow) -> None:
            if row.state != SanctionState.PROPOSED.value:
                raise AlreadyDecided("not_proposed", "这项停止已处理 / this sanction was already decided")
            rules.check_may_decide(staff.role, actor=_staff(staff), proposed_by=row.proposed_by, confirming=True)
            _claim(session, row, SanctionState.PROPOSED, SanctionState.ACTIVE, at=at)
            row.confirmed_by, row.confirmed_at = _staff(staff), at
            row.ends_at = rules.ends_at(at, row.duration_days)
            _suspend(session, row.licence_number, rules.suspended_until(row.ends_at))
            mark_changed(session, at=at)
            _audit(session, staff, row, "confirmed", at=at, client=client, ends_at=_iso(row.ends_at))
            reason = reject_reason(row.reason_code)
            notice = rules.stop_notice(reason.zh, reason.en, row.ends_at)
            _tell_driver(session, row.licence_number, messages.sanctioned(notice.zh, notice.en), at=at)

        return self._step(staff, sanction_id, "confirm", step, at=at, client=client)

    def decline(
        self, staff: Reviewer, sanction_id: str, *, note: str | None = None, at: datetime, client: str | None = None
    ) -> Sanction:
        """A supervisor does not confirm a proposal (nothing happens to the driver, who was never told of it)."""
        note = _note(note, required=False)

        def step(session: Session, row: SanctionRow) -> None:
            if row.state != SanctionState.PROPOSED.value:
                raise AlreadyDecided("not_proposed", "这项停止已处理 / this sanction was already decided")
            rules.check_may_decide(staff.role, actor=_staff(staff), proposed_by=row.proposed_by, confirming=False)
            _claim(session, row, SanctionState.PROPOSED, SanctionState.DECLINED, at=at)
            row.lifted_by, row.lifted_at, row.lift_reason = _staff(staff), at, note
            _audit(session, staff, row, "declined", at=at, client=client)

        return self._step(staff, sanction_id, "decline", step, at=at, client=client)

    def lift(
        self, staff: Reviewer, sanction_id: str, *, reason: str | None, at: datetime, client: str | None = None
    ) -> Sanction:
        """A supervisor ends a running sanction early (e.g. after an appeal at the counter): valid again at once."""
        text = _note(reason, required=True)

        def step(session: Session, row: SanctionRow) -> None:
            state = rules.effective_state(SanctionState(row.state), row.ends_at, at)
            if state is not SanctionState.ACTIVE:
                raise AlreadyDecided("not_running", "这项停止不在执行中 / this sanction is not in force")
            rules.check_may_decide(staff.role, actor=_staff(staff), proposed_by=row.proposed_by, confirming=False)
            _claim(session, row, SanctionState.ACTIVE, SanctionState.LIFTED, at=at)
            row.lifted_by, row.lifted_at, row.lift_reason = _staff(staff), at, text
            _suspend(session, row.licence_number, None)
            mark_changed(session, at=at)
            _audit(session, staff, row, "lifted", at=at, client=client)
            _tell_driver(session, row.licence_number, messages.sanction_lifted(ended=False), at=at)

        return self._step(staff, sanction_id, "lift", step, at=at, client=client)

    def close_ended(self, *, at: datetime) -> int:
        """Housekeeping: record the sanctions whose term has passed as ended, clear the e-licences' suspension and
        tell the drivers. Verification does not wait for this (it compares ``suspended_until`` with the time)."""
        closed = 0
        with self._sessions() as session:
            due = list(
                session.scalars(
                    select(SanctionRow.id).where(
                        SanctionRow.state == SanctionState.ACTIVE.value, SanctionRow.ends_at <= at
                    )
                )
            )
        for sanction_id in due:
            with transaction(self._sessions) as session:
                row = session.get(SanctionRow, sanction_id)
                if row is None:
                    continue
                load_for_update(session, row.licence_number)
                session.refresh(row, with_for_update=True)
                if row.state != SanctionState.ACTIVE.value or row.ends_at is None or row.ends_at > at:
                    continue
                try:
                    _claim(session, row, SanctionState.ACTIVE, SanctionState.ENDED, at=at)
                except AlreadyDecided:  # lifted meanwhile
                    continue
                session.execute(
                    update(ElicenceRow)
                    .where(ElicenceRow.licence_number == row.licence_number, ElicenceRow.suspended_until <= at)
                    .values(suspended_until=None)
                    .execution_options(synchronize_session=False)
                )
                mark_changed(session, at=at)  # the list must not look fresh once the end leaves `next_end`
                _audit(session, None, row, "ended", at=at, client=None)
                _tell_driver(session, row.licence_number, messages.sanction_lifted(ended=True), at=at)
                closed += 1
        return closed

    # --- shared --------------------------------------------------------------------------------------------------

    def _load(self, session: Session, staff: Reviewer, sanction_id: str, *, lock: bool = False) -> SanctionRow:
        row = session.get(SanctionRow, sanction_id, with_for_update=lock)
        if row is None or not staff.may_act_for(row.authority_code):
            raise NotFound("no_sanction", "没有这项停止，或不在您的管辖范围内 / no such sanction in your authorities")
        return row

    def _step(
        self,
        staff: Reviewer,
        sanction_id: str,
        what: str,
        step: Callable[[Session, SanctionRow], None],
        *,
        at: datetime,
        client: str | None,
    ) -> Sanction:
        """Run `step` on the sanction (licence row locked first, then the sanction); a refusal is audited alone."""
        try:
            with transaction(self._sessions) as session:
                number = self._load(session, staff, sanction_id).licence_number
                load_for_update(session, number)
                row = self._load(session, staff, sanction_id, lock=True)
                session.refresh(row)
                step(session, row)
                session.flush()
                name = session.scalar(select(LicenceRow.name).where(LicenceRow.number == number)) or ""
                return Sanction.of(row, name, at)
        except (SanctionRefused, ApplicationRefused) as exc:
            if isinstance(exc, NotFound):
                raise
            with transaction(self._sessions) as session:
                row = self._load(session, staff, sanction_id)
                _audit(session, staff, row, "refused", at=at, client=client, step=what, code=exc.code)
            raise


def _claim(session: Session, row: SanctionRow, expected: SanctionState, new: SanctionState, *, at: datetime) -> None:
    """Move the sanction from `expected` to `new` with a compare-and-set UPDATE, the step's first write.

    On SQLite the locks taken before are no-ops (pysqlite runs the SELECTs outside the transaction), so two
    supervisors could both find a proposal and both confirm it, or one confirm and one decline (the e-licence then
    stays suspended under a declined sanction that no one can lift). This UPDATE waits for the other writer and then
    sees its state. On PostgreSQL the row is already locked and this only restates the check."""
    stmt = update(SanctionRow).where(SanctionRow.id == row.id, SanctionRow.state == expected.value)
    if expected is SanctionState.ACTIVE and new is not SanctionState.ENDED:  # a running one: not ended by time
        stmt = stmt.where((SanctionRow.ends_at.is_(None)) | (SanctionRow.ends_at > at))
    result = session.execute(stmt.values(state=new.value).execution_options(synchronize_session=False))
    if getattr(result, "rowcount", 0) != 1:
        if expected is SanctionState.ACTIVE:
            raise AlreadyDecided("not_running", "这项停止不在执行中 / this sanction is not in force")
        raise AlreadyDecided("not_proposed", "这项停止已处理 / this sanction was already decided")
    row.state = new.value


def _note(text: str | None, *, required: bool) -> str | None:
    text = (text or "").strip() or None
    if text is None and required:
        raise SanctionRefused("reason_required", "请填写解除原因 / give the reason for lifting")
    if text is not None and len(text) > rules.NOTE_MAX:
        raise SanctionRefused("note_too_long", f"说明最多{rules.NOTE_MAX}字 / at most {rules.NOTE_MAX} characters")
    return text


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None
