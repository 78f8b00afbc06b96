"""Real-person authentication (实人认证) in the database: one-time liveness challenges, the attempt limits (per
account and per licence, per day), and the face hashes of earlier attempts that a burst must not repeat.

The check itself is the verifier's (`edl.applications.face`); the rules are `edl.domain.liveness`.
"""

from __future__ import annotations

import base64
import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from edl.applications.errors import ApplicationRefused
from edl.applications.face import FaceOutcome
from edl.db.models import FaceCheckRow, LivenessChallengeRow
from edl.db.session import transaction
from edl.domain.dates import CHINA_TZ
from edl.domain.liveness import (
    CHALLENGE_SECONDS,
    Action,
    Window,
    capture_ms,
    draw_actions,
    frame_times,
    parse_actions,
    timeline,
)


class FacePurpose:
    """What an attempt is for: binding a licence, or applying for its e-licence."""

    BIND = "bind"
    APPLY = "apply"


PURPOSES = frozenset({FacePurpose.BIND, FacePurpose.APPLY})
PENDING = "pending"
"""The outcome of an attempt whose frames are still being checked."""
CHALLENGES_PER_HOUR = 20
"""Challenges one account may ask for in an hour (each costs a row; an attempt is counted when frames arrive)."""
HASH_HISTORY = 20
"""Earlier attempts on the same licence whose frames a new burst may not repeat."""


@dataclass(frozen=True, slots=True)
class Challenge:
    nonce: str
    actions: tuple[Action, ...]
    expires_at: datetime

    @property
    def windows(self) -> tuple[Window, ...]:
        return timeline(self.actions)

    @property
    def capture_ms(self) -> int:
        return capture_ms(self.actions)

    @property
    def frame_times(self) -> tuple[int, ...]:
        return frame_times(self.actions)


def day_start(at: datetime) -> datetime:
    """Midnight Beijing time of `at`'s day: the attempt limits are per calendar day in China."""
    local = at.astimezone(CHINA_TZ)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def attempts_today(session: Session, *, at: datetime, account_id: str | None = None, number: str | None = None) -> int:
    query = select(func.count()).select_from(FaceCheckRow).where(FaceCheckRow.at >= day_start(at))
    if account_id is not None:
        query = query.where(FaceCheckRow.account_id == account_id)
    if number is not None:
        query = query.where(FaceCheckRow.licence_number == number)
    return int(session.scalar(query) or 0)


def attempts_left(session: Session, account_id: str, *, at: datetime, per_day: int) -> int:
    """The attempts the account has left today under its daily limit `per_day`."""
    return max(0, per_day - attempts_today(session, at=at, account_id=account_id))


def face_check_fresh(
    session: Session, account_id: str, number: str | None, *, at: datetime, valid_minutes: int
) -> bool:
    """Whether the account passed real-person authentication on licence `number` in the last `valid_minutes`."""
    since = at - timedelta(minutes=valid_minutes)
    found = session.scalar(
        select(FaceCheckRow.id).where(
            FaceCheckRow.account_id == account_id,
            FaceCheckRow.licence_number == number,
            FaceCheckRow.outcome == FaceOutcome.PASSED.value,
            FaceCheckRow.at >= since,
        )
    )
    return found is not None


def refuse_unless_attempts_left(
    session: Session, *, at: datetime, account_id: str, number: str | None, per_account: int, per_licence: int
) -> None:
    """The account's daily limit, and (when the licence is known) the licence's, over all accounts."""
    if attempts_today(session, at=at, account_id=account_id) >= per_account:
        raise ApplicationRefused(
            "face_attempts_exhausted",
            f"今日实人认证次数（{per_account}次）已用完，请明天再试 / you have used today's {per_account} real-person "
            "authentication attempts: try tomorrow",
        )
    if number is not None and attempts_today(session, at=at, number=number) >= per_licence:
        raise ApplicationRefused(
            "face_attempts_exhausted_licence",
            "此驾驶证今日的实人认证次数已达上限，请明天再试；如非本人操作，请到车辆管理所办理窗口核实 / "
            "this licence has reached today's limit of real-person authentication attempts: try tomorrow; "
            "if this was not you, report it at a vehicle administration office counter",
        )


def issue_challenge(
    sessions: sessionmaker[Session],
    account_id: str,
    purpose: str,
    *,
    at: datetime,
    rng: random.Random,
    per_day: int = 10,
) -> Challenge:
    """A new one-time challenge for `account_id`: at most CHALLENGES_PER_HOUR an hour and `per_day` a day, answered
    or not, so that redrawing challenges until one suits a recording is not free."""
    if purpose not in PURPOSES:
        raise ApplicationRefused("bad_purpose", "未知的认证用途 / unknown purpose of the check")
    nonce = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode("ascii")
    actions = draw_actions(rng)
    expires = at + timedelta(seconds=CHALLENGE_SECONDS)
    with transaction(sessions) as session:
        recent = session.scalar(
            select(func.count())
            .select_from(LivenessChallengeRow)
            .where(
                LivenessChallengeRow.account_id == account_id,
                LivenessChallengeRow.issued_at >= at - timedelta(hours=1),
            )
        )
        today = session.scalar(
            select(func.count())
            .select_from(LivenessChallengeRow)
            .where(LivenessChallengeRow.account_id == account_id, LivenessChallengeRow.issued_at >= day_start(at))
        )
        if int(recent or 0) >= CHALLENGES_PER_HOUR or int(today or 0) >= per_day:
            raise ApplicationRefused(
                "too_many_challenges",
                "认证开始次数过多，请稍后再试 / too many checks were started: try again later",
            )
        session.add(
            LivenessChallengeRow(
                id=nonce,
                account_id=account_id,
                purpose=purpose,
                actions=",".join(a.value for a in actions),
                issued_at=at,
                expires_at=expires,
            )
        )
    return Challenge(nonce, actions, expires)


_STALE = (
    "challenge_invalid",
    "本次认证已过期或已使用，请重新开始认证 / this check has expired or was already used: start the check again",
)


def take_challenge(session: Session, account_id: str, nonce: str, purpose: str, *, at: datetime) -> tuple[Action, ...]:
    """Mark challenge `nonce` used (once, by its own account, for its purpose, before it expires); its actions.

    One UPDATE decides, so two submissions of one challenge cannot both win."""
    if not nonce or len(nonce) > 43 or not nonce.isascii():
        raise ApplicationRefused(*_STALE)
    taken = session.execute(
        update(LivenessChallengeRow)
        .where(
            LivenessChallengeRow.id == nonce,
            LivenessChallengeRow.account_id == account_id,
            LivenessChallengeRow.purpose == purpose,
            LivenessChallengeRow.used_at.is_(None),
            LivenessChallengeRow.expires_at > at,
            LivenessChallengeRow.issued_at <= at,
        )
        .values(used_at=at)
        .execution_options(synchronize_session=False)
    )
    if getattr(taken, "rowcount", 0) != 1:
        raise ApplicationRefused(*_STALE)
    text = session.scalar(select(LivenessChallengeRow.actions).where(LivenessChallengeRow.id == nonce))
    return parse_actions(text or "")


def earlier_hashes(session: Session, number: str) -> list[int]:
    """The face hashes of the latest attempts on licence `number` (any account)."""
    rows = session.scalars(
        select(FaceCheckRow.frame_hashes)
        .where(FaceCheckRow.licence_number == number, FaceCheckRow.frame_hashes.is_not(None))
        .order_by(FaceCheckRow.at.desc())
        .limit(HASH_HISTORY)
    )
    found: list[int] = []
    for text in rows:
        for part in (text or "").split(","):
            if part:
                try:
                    found.append(int(part, 16))
                except ValueError:
                    continue
    return found


def hashes_text(hashes: tuple[int, ...]) -> str | None:
    return ",".join(f"{h:064x}" for h in hashes) or None
