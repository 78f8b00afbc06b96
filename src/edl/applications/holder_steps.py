"""What every step the holder takes shares (binding, real-person authentication, applying): the account and its bound
licence, the audit entry, and recording a refused step (the step itself wrote nothing)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from edl import audit
from edl.applications.errors import ApplicationRefused, NotFound
from edl.applications.photo_rules import PhotoRejected
from edl.audit import Action, ActorKind
from edl.db.models import AccountRow, ApplicationRow, ElicenceRow, LicenceRow
from edl.db.session import transaction
from edl.domain.application import ApplicationState
from edl.registry.events import load_for_update

T = TypeVar("T")


def holder_actor(account_id: str) -> str:
    """How the audit log and the decisions name a holder."""
    return f"holder:{account_id}"


def load_account(session: Session, account_id: str) -> AccountRow:
    account = session.get(AccountRow, account_id)
    if account is None:
        raise NotFound("account", "账号不存在，请重新登录 / no such account: sign in again")
    return account


def bound_licence_row(session: Session, account: AccountRow, *, lock: bool = False) -> LicenceRow:
    """The registry row of the licence `account` is bound to (locked with `lock`); refused when it is not bound."""
    if account.licence_number is None:
        raise ApplicationRefused("not_bound", "请先绑定您的驾驶证 / bind your driving licence to this account first")
    if lock:
        return load_for_update(session, account.licence_number)
    row = session.get(LicenceRow, account.licence_number)
    if row is None:  # the registry no longer holds it
        raise ApplicationRefused("no_licence", "登记库中已没有此驾驶证 / the registry no longer holds this licence")
    return row


def live_elicence(session: Session, number: str) -> ElicenceRow | None:
    return session.scalar(
        select(ElicenceRow).where(ElicenceRow.licence_number == number, ElicenceRow.voided_at.is_(None))
    )


def pending_application(session: Session, account_id: str) -> ApplicationRow | None:
    return session.scalar(
        select(ApplicationRow).where(
            ApplicationRow.account_id == account_id,
            ApplicationRow.state == ApplicationState.PENDING_REVIEW.value,
        )
    )


def holder_audit(
    session: Session,
    account_id: str,
    *,
    at: datetime,
    action: Action,
    subject: str,
    outcome: str = "ok",
    detail: dict[str, object] | None = None,
    client: str | None = None,
) -> None:
    """An audit entry for something the holder did, in `session`'s transaction."""
    audit.record(
        session,
        at=at,
        actor_kind=ActorKind.HOLDER,
        actor=holder_actor(account_id),
        action=action,
        subject=subject,
        outcome=outcome,
        detail=detail,
        client=client,
    )


def audited(
    sessions: sessionmaker[Session],
    account_id: str,
    subject: str,
    action: Action,
    step: Callable[[], T],
    *,
    at: datetime,
    client: str | None,
) -> T:
    """Run `step`; when it is refused, record the refusal in its own transaction (the step itself wrote nothing)."""
    try:
        return step()
    except (ApplicationRefused, PhotoRejected) as exc:
        kind = Action.PHOTO_REJECTED if isinstance(exc, PhotoRejected) else action
        with transaction(sessions) as session:
            holder_audit(
                session,
                account_id,
                at=at,
                action=kind,
                subject=subject,
                outcome="refused",
                detail={"code": exc.code},
                client=client,
            )
        raise
