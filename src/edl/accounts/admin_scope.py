"""Who may manage whom (管辖范围内的管理): the scope rule of staff administration and relying-party registration.

One rule: an admin manages (creates, disables, registers, revokes) only what lies `within` its own authority scope
(`edl.domain.scope.AuthorityScope`). It follows that a scoped admin cannot grant all authorities, cannot create an
account (any role) or a party reaching beyond itself, and cannot touch a wider account. The operator at the command
line (`edl staff ...`, `edl relying-party ...`) is national. The acting admin is read again in the caller's
transaction, so an admin disabled or narrowed a moment ago acts with what it has now, not what its page showed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from edl.accounts.errors import OutsideScope
from edl.audit import ActorKind
from edl.db.models import StaffUserRow
from edl.domain.scope import AuthorityScope

ADMIN_ROLE = "admin"


@dataclass(frozen=True, slots=True)
class Manager:
    """An admin account acting within its scope, or the operator (national, no account: `user_id` None)."""

    scope: AuthorityScope
    user_id: str | None = None
    username: str | None = None


OPERATOR = Manager(AuthorityScope.national())
"""The operator at the command line (and the demo, and tests' fixtures): national."""


def scope_text(scope: AuthorityScope) -> tuple[str, str]:
    """(中文, English) of a scope for messages: '全部发证机关' / 'all authorities', or the codes."""
    if scope.codes is None:
        return "全部发证机关", "all authorities"
    codes = ", ".join(sorted(scope.codes))[:80]
    return codes, codes


def acting_admin(session: Session, user_id: str | None) -> Manager:
    """The manager behind a staff user id (None: the operator); refused unless it is an active admin now."""
    if user_id is None:
        return OPERATOR
    row = session.get(StaffUserRow, user_id)
    if row is None or row.disabled_at is not None or row.role != ADMIN_ROLE:
        raise OutsideScope(
            "只有在用的管理员可以管理工作人员和核验方 / only an active admin manages staff and relying parties"
        )
    return Manager(AuthorityScope.from_column(row.authorities), row.id, row.username)


def manager_of(session: Session, actor_kind: ActorKind, by_user_id: str | None) -> Manager:
    """Who is acting: the admin `by_user_id` (`acting_admin`), or the operator when it is None. A change made by
    staff without its user id is a caller's bug (ValueError), never silently national."""
    if actor_kind is ActorKind.STAFF and by_user_id is None:
        raise ValueError("a change made by staff needs by_user_id (the acting admin), so its scope can be checked")
    return acting_admin(session, by_user_id)


def check_may_grant(manager: Manager, scope: AuthorityScope) -> None:
    """Refuse (OutsideScope) giving `scope` to a new account or party unless it lies within the manager's own."""
    if scope.within(manager.scope):
        return
    mine_zh, mine_en = scope_text(manager.scope)
    if scope.codes is None:
        raise OutsideScope(
            f"您不能授予全部发证机关：您的管辖范围是 {mine_zh} / "
            f"you cannot grant all authorities: your scope is {mine_en}"
        )
    outside = ", ".join(sorted(c for c in scope.codes if not AuthorityScope.of([c]).within(manager.scope)))[:80]
    raise OutsideScope(
        f"发证机关 {outside} 超出您的管辖范围（{mine_zh}） / authority {outside} is outside your scope ({mine_en})"
    )


def check_may_manage(manager: Manager, scope: AuthorityScope, name: str) -> None:
    """Refuse (OutsideScope) changing an account or party `name` whose scope is wider than or outside the manager's."""
    if scope.within(manager.scope):
        return
    theirs_zh, theirs_en = scope_text(scope)
    mine_zh, mine_en = scope_text(manager.scope)
    raise OutsideScope(
        f"{name} 的范围（{theirs_zh}）超出您的管辖范围（{mine_zh}），您不能管理 / "
        f"{name} acts for {theirs_en}, beyond your scope ({mine_en}): you cannot manage it"
    )


def may_manage(manager: Manager, scope: AuthorityScope) -> bool:
    """The same rule as a question (for lists: which rows get a button)."""
    return scope.within(manager.scope)
