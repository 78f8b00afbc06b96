"""Staff accounts of the review console (审核工作人员): roles, issuing-authority scope, password sign-in.

Every change is audited (`staff_changed`); every sign-in attempt too (`sign_in` / `sign_in_failed`). Passwords
never reach the audit log or the server log. Changes follow the scope rule of `edl.accounts.admin_scope` (an admin
manages only accounts within its own scope; the last active all-authority admin stays); sign-in is throttled per
client address and per username by `edl.accounts.throttle`, with answers that never tell real usernames apart.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from edl.accounts.admin_scope import ADMIN_ROLE, check_may_grant, check_may_manage, manager_of
from edl.accounts.errors import (
    AccountError,
    InvalidStaffInput,
    LastNationalAdmin,
    StaffSignInFailed,
    StaffSignInThrottled,
    StaffUserExists,
    UnknownStaffUser,
)
from edl.accounts.passwords import (
    DUMMY_HASH,
    MAX_LENGTH,
    check_password_rules,
    generate_password,
    hash_password,
    password_matches,
)
from edl.accounts.sessions import SessionKind, SignedIn, live_session, open_session, revoke_all, revoke_session
from edl.accounts.throttle import REFUSED, THROTTLED, sign_in_wait
from edl.audit import Action, ActorKind, record
from edl.db.models import StaffUserRow
from edl.db.session import transaction
from edl.domain.scope import AuthorityScope

ALL_AUTHORITIES = "*"
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
_AUTHORITY = re.compile(r"^[0-9]{6}$")


class Role(StrEnum):
    """What a staff member may do: review applications, also supervise reviewers, or also manage staff."""

    REVIEWER = "reviewer"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class StaffUser:
    id: str
    username: str
    display_name: str
    role: Role
    authorities: frozenset[str] | None
    """Issuing-authority codes this user acts for; None means all."""
    created_at: datetime
    disabled_at: datetime | None

    @property
    def active(self) -> bool:
        return self.disabled_at is None

    @property
    def scope(self) -> AuthorityScope:
        """The authorities this user acts for, as the one scope rule sees them."""
        return AuthorityScope.of(self.authorities)


@dataclass(frozen=True, slots=True)
class NewStaffUser:
    user: StaffUser
    password: str | None
    """The generated password, to be shown once; None when the caller chose it."""


def normalise_username(raw: str) -> str:
    value = (raw or "").strip().lower()
    if not _USERNAME.match(value):
        raise InvalidStaffInput(
            "用户名应为2到64位小写字母、数字或 . _ -，并以字母或数字开头 / "
            "a username is 2 to 64 lower-case letters, digits or . _ -, starting with a letter or digit"
        )
    return value


def parse_role(raw: str) -> Role:
    try:
        return Role((raw or "").strip().lower())
    except ValueError:
        raise InvalidStaffInput(
            f"角色“{raw}”无效：应为 reviewer、supervisor 或 admin / "
            f"role {raw!r} is not valid: use reviewer, supervisor or admin"
        ) from None


def parse_authorities(codes: Iterable[str], *, all_authorities: bool) -> frozenset[str] | None:
    """Codes (6 digits each; commas or spaces between several) or all; exactly one of the two."""
    found = {c for item in codes for c in re.split(r"[\s,，]+", item) if c}
    if all_authorities:
        if found:
            raise InvalidStaffInput(
                "请只选择一种：指定发证机关代码，或全部发证机关 / "
                "give either authority codes or all authorities, not both"
            )
        return None
    if not found:
        raise InvalidStaffInput(
            "请至少指定一个发证机关代码（6位数字），或选择全部发证机关 / "
            "give at least one issuing-authority code (6 digits), or all authorities"
        )
    bad = sorted(c for c in found if not _AUTHORITY.match(c))
    if bad:
        raise InvalidStaffInput(
            f"发证机关代码应为6位数字：{', '.join(bad)[:60]} / authority codes are 6 digits: {', '.join(bad)[:60]}"
        )
    if len(",".join(sorted(found))) > 512:
        raise InvalidStaffInput("发证机关代码过多 / too many authority codes for one user")
    return frozenset(found)


def _display_name(raw: str | None, username: str) -> str:
    value = " ".join((raw or "").split())
    if not value:
        return username
    if len(value) > 64:
        raise InvalidStaffInput("姓名最多64个字符 / the name may have at most 64 characters")
    return value


def _authorities_column(authorities: frozenset[str] | None) -> str:
    return AuthorityScope.of(authorities).column()


def _authorities_of(column: str) -> frozenset[str] | None:
    return AuthorityScope.from_column(column).codes


def staff_user(row: StaffUserRow) -> StaffUser:
    return StaffUser(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        role=Role(row.role),
        authorities=_authorities_of(row.authorities),
        created_at=row.created_at,
        disabled_at=row.disabled_at,
    )


def add_staff_user(
    session: Session,
    username: str,
    *,
    role: Role,
    authorities: frozenset[str] | None,
    display_name: str | None = None,
    password: str | None = None,
    actor_kind: ActorKind,
    actor: str,
    at: datetime,
    client: str | None = None,
    by_user_id: str | None = None,
) -> NewStaffUser:
    """Create a staff user (in `session`'s transaction); without `password`, one is generated and returned once.

    `by_user_id` is the admin doing it (from the console): the new account's scope must lie within the admin's
    (`edl.accounts.admin_scope`), else OutsideScope. None is the operator (CLI), who is national.
    """
    manager = manager_of(session, actor_kind, by_user_id)
    username = normalise_username(username)
    name = _display_name(display_name, username)
    if password is not None:
        check_password_rules(password)
    check_may_grant(manager, AuthorityScope.of(authorities))
    if session.scalar(select(StaffUserRow.id).where(StaffUserRow.username == username)) is not None:
        raise StaffUserExists(username)
    generated = generate_password() if password is None else None
    row = StaffUserRow(
        id=uuid.uuid4().hex,
        username=username,
        display_name=name,
        password_hash=hash_password(password if password is not None else str(generated)),
        role=role.value,
        authorities=_authorities_column(authorities),
        created_at=at,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        raise StaffUserExists(username) from None
    record(
        session,
        at=at,
        actor_kind=actor_kind,
        actor=actor,
        action=Action.STAFF_CHANGED,
        subject=username,
        detail={"change": "added", "role": role.value, "authorities": row.authorities},
        client=client,
    )
    return NewStaffUser(staff_user(row), generated)


def list_staff_users(session: Session, *, within: AuthorityScope | None = None) -> list[StaffUser]:
    """Every staff user by username; with `within`, only those whose scope lies within it (what an admin manages)."""
    users = [staff_user(r) for r in session.scalars(select(StaffUserRow).order_by(StaffUserRow.username))]
    return users if within is None else [u for u in users if u.scope.within(within)]


def _active_national_admins(session: Session) -> list[str]:
    """Ids of the active all-authority admins, locked (FOR UPDATE, in id order: no deadlock) so that two national
    admins disabling each other at once cannot leave none."""
    return list(
        session.scalars(
            select(StaffUserRow.id)
            .where(
                StaffUserRow.role == ADMIN_ROLE,
                StaffUserRow.authorities == ALL_AUTHORITIES,
                StaffUserRow.disabled_at.is_(None),
            )
            .order_by(StaffUserRow.id)
            .with_for_update()
        )
    )


def disable_staff_user(
    session: Session,
    username: str,
    *,
    actor_kind: ActorKind,
    actor: str,
    at: datetime,
    by_user_id: str | None = None,
    client: str | None = None,
) -> StaffUser:
    """Disable a user and end their sessions at once.

    `by_user_id` is the admin doing it (None: the operator). Refused: one's own account; an account whose scope is
    wider than or outside the admin's (OutsideScope); the last active all-authority admin (LastNationalAdmin, from
    the CLI too: nobody would be left to manage national staff).
    """
    manager = manager_of(session, actor_kind, by_user_id)
    name = (username or "").strip().lower()
    row = session.scalars(select(StaffUserRow).where(StaffUserRow.username == name)).first()
    if row is None:
        raise UnknownStaffUser(name[:64])
    if by_user_id is not None and row.id == by_user_id:
        raise InvalidStaffInput("不能停用自己的账号 / you cannot disable your own account")
    check_may_manage(manager, AuthorityScope.from_column(row.authorities), row.username)
    national_admin = row.role == ADMIN_ROLE and row.authorities == ALL_AUTHORITIES
    if row.disabled_at is None and national_admin and not set(_active_national_admins(session)) - {row.id}:
        raise LastNationalAdmin(row.username)
    if row.disabled_at is None:
        row.disabled_at = at
        ended = revoke_all(session, SessionKind.STAFF, row.id, at=at)
        record(
            session,
            at=at,
            actor_kind=actor_kind,
            actor=actor,
            action=Action.STAFF_CHANGED,
            subject=row.username,
            detail={"change": "disabled", "sessions_ended": ended},
            client=client,
        )
    return staff_user(row)


def sign_in_staff(
    sessions: sessionmaker[Session],
    username: str,
    password: str,
    *,
    client: str | None,
    at: datetime,
    session_hours: int,
    previous_token: str | None = None,
) -> tuple[StaffUser, SignedIn]:
    """Check the password and open a session.

    Every refusal is the same StaffSignInFailed (401) for an unknown username, a wrong password or a disabled
    account, with the same password-hashing work; a throttled attempt (`edl.accounts.throttle`: too many refusals
    from this address, or for this username) is StaffSignInThrottled (429) before any password is checked, whether
    the username exists or not. Refusals are audited and committed before the error is raised (they are what the
    throttle counts).
    """
    name = (username or "").strip().lower()
    subject = _loggable(name)
    address = (client or "unknown")[:64]
    failure: AccountError | None = None
    reason, outcome = "", REFUSED
    with transaction(sessions) as s:
        row: StaffUserRow | None = None
        wait = sign_in_wait(s, username=subject, client=address, at=at)
        if wait is not None:
            failure, reason, outcome = StaffSignInThrottled(wait), "throttled", THROTTLED
        else:
            row = s.scalars(select(StaffUserRow).where(StaffUserRow.username == name)).first()
            if row is None:
                password_matches(password[:MAX_LENGTH], DUMMY_HASH)  # same work as for a real user
                failure, reason = StaffSignInFailed(), "unknown_user"
            elif not password_matches(password[:MAX_LENGTH], row.password_hash) or len(password) > MAX_LENGTH:
                # the hash runs first whatever the length: an over-long password costs what it costs for an
                # unknown name, so timing tells no username apart
                failure, reason = StaffSignInFailed(), "wrong_password"
            elif row.disabled_at is not None:
                failure, reason = StaffSignInFailed(), "disabled"
        if failure is not None:
            record(
                s,
                at=at,
                actor_kind=ActorKind.STAFF,
                actor=subject,
                action=Action.SIGN_IN_FAILED,
                subject=subject,
                outcome=outcome,
                detail={"reason": reason},
                client=address,
            )
        else:
            assert row is not None
            revoke_session(s, SessionKind.STAFF, previous_token, at=at)
            signed = open_session(s, SessionKind.STAFF, row.id, at=at, hours=session_hours)
            record(
                s,
                at=at,
                actor_kind=ActorKind.STAFF,
                actor=row.username,
                action=Action.SIGN_IN,
                subject=row.username,
                detail={"role": row.role},
                client=address,
            )
            user = staff_user(row)
    if failure is not None:
        raise failure
    return user, signed


def staff_for_session(session: Session, token: str | None, *, at: datetime) -> StaffUser | None:
    """The active staff user behind a cookie value, or None (no session, expired, revoked or user disabled)."""
    found = live_session(session, SessionKind.STAFF, token, at=at)
    if found is None:
        return None
    row = session.get(StaffUserRow, found.subject_id)
    if row is None or row.disabled_at is not None:
        return None
    return staff_user(row)


def sign_out_staff(sessions: sessionmaker[Session], token: str | None, *, client: str | None, at: datetime) -> bool:
    """Revoke the staff session behind `token`; False when it was not live (nothing to do)."""
    with transaction(sessions) as s:
        found = revoke_session(s, SessionKind.STAFF, token, at=at)
        if found is None:
            return False
        row = s.get(StaffUserRow, found.subject_id)
        name = row.username if row is not None else found.subject_id
        record(s, at=at, actor_kind=ActorKind.STAFF, actor=name, action=Action.SIGN_OUT, subject=name, client=client)
    return True


def _loggable(name: str) -> str:
    """A typed username, only when it looks like one (a password typed into the wrong field is not recorded)."""
    return name if _USERNAME.match(name) else "-"
