"""Ending a binding: the holder unbinds their own licence (解除绑定), or staff release it (解除他人绑定) for a holder
whose licence another account holds (a takeover, a lost phone).

One licence, one account: a licence bound to one account cannot be bound by another until one of these happens.
Either way the live e-licence is voided (it was issued to the account's device), the registered mobile is texted,
and the step is audited, all in one transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from edl import audit
from edl.applications.errors import ApplicationRefused, NotFound
from edl.applications.results import Binding
from edl.applications.staff_scope import Reviewer
from edl.audit import Action, ActorKind
from edl.db.models import AccountRow, LicenceRow
from edl.db.session import transaction
from edl.issuance.voiding import void_elicence
from edl.notifications import messages
from edl.notifications.outbox import text_registered_mobile

RELEASE_ROLES = frozenset({"supervisor", "admin"})


def unbind_licence(sessions: sessionmaker[Session], account_id: str, *, at: datetime, client: str | None = None) -> str:
    """The holder ends their own binding; returns the licence number that was bound."""
    with transaction(sessions) as session:
        account = session.get(AccountRow, account_id, with_for_update=True)
        if account is None:
            raise NotFound("account", "账号不存在，请重新登录 / no such account: sign in again")
        number = account.licence_number
        if number is None:
            raise ApplicationRefused("not_bound", "此账号未绑定驾驶证 / this account is not bound to a licence")
        void_elicence(session, number, "unbound", at=at, actor=f"holder:{account_id}")
        account.licence_number = None
        account.bound_at = None
        audit.record(
            session,
            at=at,
            actor_kind=ActorKind.HOLDER,
            actor=f"holder:{account_id}",
            action=Action.UNBIND,
            subject=number,
            client=client,
        )
        text_registered_mobile(session, number, messages.sms_unbound(number, by_staff=False), at=at)
        return number


def release_binding(
    sessions: sessionmaker[Session], staff: Reviewer, number: str, *, at: datetime, client: str | None = None
) -> bool:
    """A supervisor or admin releases licence `number` from the account it is bound to (within their scope).

    Returns False when it was not bound (nothing to do; still audited)."""
    actor = f"staff:{staff.username}"
    with transaction(sessions) as session:
        row = session.get(LicenceRow, number)
        if row is None or not staff.may_act_for(row.authority_code):
            raise NotFound("no_licence", "没有此驾驶证，或不在您的管辖范围内 / no such licence within your scope")
        if str(staff.role) not in RELEASE_ROLES:
            raise ApplicationRefused(
                "forbidden", "只有主管或管理员可以解除绑定 / only a supervisor or an admin may release a binding"
            )
        account = session.scalar(select(AccountRow).where(AccountRow.licence_number == number).with_for_update())
        released = account is not None
        if account is not None:
            void_elicence(session, number, "released", at=at, actor=actor)
            account.licence_number = None
            account.bound_at = None
        audit.record(
            session,
            at=at,
            actor_kind=ActorKind.STAFF,
            actor=actor,
            action=Action.RELEASE,
            subject=number,
            outcome="ok" if released else "not_bound",
            detail={"account": account.id if account is not None else None},
            client=client,
        )
        if released:
            text_registered_mobile(session, number, messages.sms_unbound(number, by_staff=True), at=at)
        return released


def bound_account(session: Session, number: str) -> Binding | None:
    """The account licence `number` is bound to, if any."""
    account = session.scalar(select(AccountRow).where(AccountRow.licence_number == number))
    return Binding.of(account) if account is not None else None
