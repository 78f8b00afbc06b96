"""Driver sign-in (驾驶人登录) by SMS code: ask for a code, sign in with it, sign out.

The first successful sign-in with a number creates its account, and only when the privacy notice in force was
accepted (`edl.accounts.privacy`): when and which version is kept on the account. Each step is one transaction and
is audited; a refused code is counted and audited before the refusal is raised.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from edl.accounts.errors import CodeRefused, ConsentRequired, InvalidMobile
from edl.accounts.otp import (
    OtpPolicy,
    SentCode,
    consume_code,
    issue_code,
    normalise_code,
    normalise_mobile,
    seconds_until_next_code,
)
from edl.accounts.privacy import is_current
from edl.accounts.sessions import SessionKind, SignedIn, live_session, open_session, revoke_session
from edl.accounts.sms import SmsSender, mask_mobile
from edl.audit import Action, ActorKind, record
from edl.db.models import AccountRow
from edl.db.session import transaction


@dataclass(frozen=True, slots=True)
class HolderAccount:
    id: str
    mobile: str
    licence_number: str | None


def _account(row: AccountRow) -> HolderAccount:
    return HolderAccount(row.id, row.mobile, row.licence_number)


def find_account(session: Session, mobile: str) -> AccountRow | None:
    return session.scalars(select(AccountRow).where(AccountRow.mobile == mobile)).first()


def _who(row: AccountRow | None, mobile: str) -> str:
    """The audit actor/subject: the account id once there is one, else the masked number."""
    return row.id if row is not None else f"mobile:{mask_mobile(mobile)}"


class HolderSignIn:
    """Asking for a code and signing in with it, with what they use: the database, the SMS sender, the code rules
    (`OtpPolicy`), the HMAC key of stored codes (server secret `otp`) and how long a session lasts. Signing out
    needs only the database (`sign_out`)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        sms: SmsSender,
        *,
        otp_key: bytes,
        policy: OtpPolicy,
        session_hours: int,
    ) -> None:
        self._sessions = sessions
        self._sms = sms
        self._otp_key = otp_key
        self._policy = policy
        self._session_hours = session_hours

    def request_code(self, raw_mobile: str, *, client: str, at: datetime) -> SentCode:
        """Text a sign-in code to the number typed (refusals write nothing)."""
        mobile = normalise_mobile(raw_mobile)
        with transaction(self._sessions) as s:
            sent = issue_code(s, mobile, client=client, at=at, policy=self._policy, key=self._otp_key, sms=self._sms)
            who = _who(find_account(s, mobile), mobile)
            record(
                s,
                at=at,
                actor_kind=ActorKind.HOLDER,
                actor=who,
                action=Action.OTP_SENT,
                subject=who,
                detail={"mobile": mask_mobile(mobile), "challenge": sent.challenge_id},
                client=client,
            )
        return sent

    def resend_wait(self, raw_mobile: str, *, at: datetime) -> int:
        """Seconds until a new code may be sent to the number (0: now; a malformed number: 0, it is refused anyway)."""
        try:
            mobile = normalise_mobile(raw_mobile)
        except InvalidMobile:
            return 0
        with self._sessions() as s:
            return seconds_until_next_code(s, mobile, at=at, policy=self._policy)

    def sign_in(
        self,
        raw_mobile: str,
        raw_code: str,
        *,
        client: str,
        at: datetime,
        previous_token: str | None = None,
        consent_version: str | None = None,
    ) -> tuple[HolderAccount, SignedIn]:
        """Consume the code and open a holder session, creating the account on first sign-in.

        `previous_token` (this browser's old cookie, if any) is revoked: one browser, one live session.
        `consent_version` is the privacy notice version the driver accepted on the form (None: not accepted). A
        first sign-in without consent to the notice in force raises ConsentRequired before the code is used, so
        nothing is created and the same code still works once the notice is accepted.
        """
        consented = is_current(consent_version)
        mobile = normalise_mobile(raw_mobile)
        code = normalise_code(raw_code)
        refused: CodeRefused | None = None
        with transaction(self._sessions) as s:
            row = find_account(s, mobile)
            if row is None and not consented:
                raise ConsentRequired()
            try:
                consume_code(s, mobile, code, at=at, policy=self._policy, key=self._otp_key)
            except CodeRefused as exc:
                refused = exc
                record(
                    s,
                    at=at,
                    actor_kind=ActorKind.HOLDER,
                    actor=_who(row, mobile),
                    action=Action.SIGN_IN_FAILED,
                    subject=_who(row, mobile),
                    outcome="refused",
                    detail={"reason": exc.reason, "mobile": mask_mobile(mobile)},
                    client=client,
                )
            else:
                created = row is None
                if row is None:
                    row = AccountRow(id=uuid.uuid4().hex, mobile=mobile, created_at=at, lang="zh")
                    s.add(row)
                if consented and row.privacy_notice_version != consent_version:
                    row.privacy_consent_at, row.privacy_notice_version = at, consent_version
                s.flush()
                revoke_session(s, SessionKind.HOLDER, previous_token, at=at)
                signed = open_session(s, SessionKind.HOLDER, row.id, at=at, hours=self._session_hours)
                record(
                    s,
                    at=at,
                    actor_kind=ActorKind.HOLDER,
                    actor=row.id,
                    action=Action.SIGN_IN,
                    subject=row.id,
                    detail={
                        "mobile": mask_mobile(mobile),
                        "new_account": created,
                        "privacy_notice": consent_version if consented else None,
                    },
                    client=client,
                )
                account = _account(row)
        if refused is not None:
            raise refused
        return account, signed


def holder_for_session(session: Session, token: str | None, *, at: datetime) -> HolderAccount | None:
    """The account behind a holder cookie value, or None (no session, expired or revoked)."""
    found = live_session(session, SessionKind.HOLDER, token, at=at)
    if found is None:
        return None
    row = session.get(AccountRow, found.subject_id)
    return _account(row) if row is not None else None


def sign_out(sessions: sessionmaker[Session], token: str | None, *, client: str | None, at: datetime) -> bool:
    """Revoke the holder session behind `token`; False when it was not live (nothing to do)."""
    with transaction(sessions) as s:
        row = revoke_session(s, SessionKind.HOLDER, token, at=at)
        if row is None:
            return False
        record(
            s,
            at=at,
            actor_kind=ActorKind.HOLDER,
            actor=row.subject_id,
            action=Action.SIGN_OUT,
            subject=row.subject_id,
            client=client,
        )
    return True
