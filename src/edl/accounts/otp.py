"""One-time sign-in codes (短信验证码): mobile numbers, issuing a code under rate limits, and consuming it once.

Only an HMAC-SHA256 of (number, code) is stored, keyed by the server secret `otp`. Limits are counted in the
`otp_challenges` table, so every app server sharing the database shares them. Time is always an argument.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from edl.accounts.errors import (
    CodeExhausted,
    CodeExpired,
    CodeTooSoon,
    InvalidMobile,
    MalformedCode,
    NoLiveCode,
    TooManyCodesForClient,
    TooManyCodesForMobile,
    WrongCode,
)
from edl.accounts.sms import SmsSender
from edl.config import Settings
from edl.db.models import OtpChallengeRow

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_CODE = re.compile(r"^\d{6}$")
_SEPARATORS = re.compile(r"[\s\-()]")
HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class OtpPolicy:
    """How long a code lives, how often it may be guessed, and how many may be sent."""

    ttl: timedelta = timedelta(seconds=300)
    max_attempts: int = 5
    per_mobile_per_hour: int = 5
    per_client_per_hour: int = 20
    min_gap: timedelta = timedelta(seconds=60)
    """Between two codes to one number."""

    @classmethod
    def from_settings(cls, settings: Settings) -> OtpPolicy:
        return cls(
            ttl=timedelta(seconds=settings.otp_ttl_seconds),
            max_attempts=settings.otp_max_attempts,
            per_mobile_per_hour=settings.otp_per_mobile_per_hour,
            per_client_per_hour=settings.otp_per_client_per_hour,
        )


@dataclass(frozen=True, slots=True)
class SentCode:
    mobile: str
    """The normalised number (11 digits)."""
    expires_at: datetime
    resend_after: datetime
    challenge_id: int


def normalise_mobile(raw: str) -> str:
    """'+86 138-0013-8000', '008613800138000', full-width digits … → '13800138000'; else InvalidMobile."""
    value = _SEPARATORS.sub("", unicodedata.normalize("NFKC", raw or ""))
    for prefix in ("+86", "0086"):
        if value.startswith(prefix):
            value = value[len(prefix) :]
            break
    else:
        if len(value) == 13 and value.startswith("86"):
            value = value[2:]
    if not (value.isascii() and _MOBILE.match(value)):
        raise InvalidMobile()
    return value


def normalise_code(raw: str) -> str:
    value = _SEPARATORS.sub("", unicodedata.normalize("NFKC", raw or ""))
    if not (value.isascii() and _CODE.match(value)):
        raise MalformedCode()
    return value


def code_mac(key: bytes, mobile: str, code: str) -> str:
    """HMAC-SHA256 over number and code (a code is only good for the number it was sent to), hex."""
    return hmac.new(key, f"{mobile}:{code}".encode(), hashlib.sha256).hexdigest()


def sms_text(code: str, ttl: timedelta) -> str:
    minutes = max(1, int(ttl.total_seconds()) // 60)
    return (
        f"【电子驾驶证】您的登录验证码为 {code}，{minutes}分钟内有效。请勿告诉他人。"
        f" / eDL sign-in code {code}, valid for {minutes} minutes. Do not share it."
    )


def issue_code(
    session: Session,
    mobile: str,
    *,
    client: str,
    at: datetime,
    policy: OtpPolicy,
    key: bytes,
    sms: SmsSender,
) -> SentCode:
    """Store a new code for `mobile` (normalised) and text it; refuse when a limit is reached (nothing written)."""
    client = client[:64]
    _serialise_per_number(session, mobile)
    last = session.scalar(select(func.max(OtpChallengeRow.created_at)).where(OtpChallengeRow.mobile == mobile))
    if last is not None and at - last < policy.min_gap:
        raise CodeTooSoon(_seconds_until(last + policy.min_gap, at))
    window = at - HOUR
    by_mobile = _in_window(session, OtpChallengeRow.mobile == mobile, window, at)
    if len(by_mobile) >= policy.per_mobile_per_hour:
        raise TooManyCodesForMobile(_seconds_until(by_mobile[-policy.per_mobile_per_hour] + HOUR, at))
    by_client = _in_window(session, OtpChallengeRow.client == client, window, at)
    if len(by_client) >= policy.per_client_per_hour:
        raise TooManyCodesForClient(_seconds_until(by_client[-policy.per_client_per_hour] + HOUR, at))

    code = f"{secrets.randbelow(10**6):06d}"
    row = OtpChallengeRow(
        mobile=mobile,
        client=client,
        code_mac=code_mac(key, mobile, code),
        created_at=at,
        expires_at=at + policy.ttl,
        attempts=0,
    )
    session.add(row)
    session.flush()
    sms.send(mobile, sms_text(code, policy.ttl))
    return SentCode(mobile, at + policy.ttl, at + policy.min_gap, row.id)


def seconds_until_next_code(session: Session, mobile: str, *, at: datetime, policy: OtpPolicy) -> int:
    """How long until `issue_code` would send `mobile` another code (0: now), by the same rules it applies per
    number (the gap between two codes, the hourly limit), so a page can count down to exactly that moment."""
    last = session.scalar(select(func.max(OtpChallengeRow.created_at)).where(OtpChallengeRow.mobile == mobile))
    wait = _seconds_until(last + policy.min_gap, at) if last is not None and at - last < policy.min_gap else 0
    by_mobile = _in_window(session, OtpChallengeRow.mobile == mobile, at - HOUR, at)
    if len(by_mobile) >= policy.per_mobile_per_hour:
        wait = max(wait, _seconds_until(by_mobile[-policy.per_mobile_per_hour] + HOUR, at))
    return wait


def consume_code(session: Session, mobile: str, code: str, *, at: datetime, policy: OtpPolicy, key: bytes) -> None:
    """Accept `code` for `mobile` once, or raise a CodeRefused (a wrong guess is counted in `session`).

    Only the newest code sent to the number counts; a new code replaces the old one.
    """
    row = session.scalars(
        select(OtpChallengeRow)
        .where(OtpChallengeRow.mobile == mobile)
        .order_by(OtpChallengeRow.created_at.desc(), OtpChallengeRow.id.desc())
        .limit(1)
    ).first()
    if row is None or row.consumed_at is not None:
        raise NoLiveCode()
    if row.expires_at <= at:
        raise CodeExpired()
    if row.attempts >= policy.max_attempts:
        raise CodeExhausted()
    live = (
        (OtpChallengeRow.id == row.id)
        & OtpChallengeRow.consumed_at.is_(None)
        & (OtpChallengeRow.attempts < policy.max_attempts)
    )
    if hmac.compare_digest(row.code_mac, code_mac(key, mobile, code)):
        # The conditional update makes the code single-use even when two requests race.
        done = session.execute(
            update(OtpChallengeRow).where(live).values(consumed_at=at).execution_options(synchronize_session=False)
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            raise NoLiveCode()
        return
    counted = session.execute(
        update(OtpChallengeRow)
        .where(live)
        .values(attempts=OtpChallengeRow.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    if counted.rowcount != 1:  # type: ignore[attr-defined]
        raise CodeExhausted()
    tries_left = policy.max_attempts - row.attempts - 1
    if tries_left <= 0:
        raise CodeExhausted()
    raise WrongCode(tries_left)


def _in_window(session: Session, condition: object, start: datetime, end: datetime) -> list[datetime]:
    """Creation times of the challenges matching `condition` in (start, end], oldest first."""
    return list(
        session.scalars(
            select(OtpChallengeRow.created_at)
            .where(condition, OtpChallengeRow.created_at > start, OtpChallengeRow.created_at <= end)  # type: ignore[arg-type]
            .order_by(OtpChallengeRow.created_at)
        )
    )


def _seconds_until(moment: datetime, at: datetime) -> int:
    return max(1, int(-(-(moment - at).total_seconds() // 1)))


def _serialise_per_number(session: Session, mobile: str) -> None:
    """On PostgreSQL, one code request per number at a time (limits hold across app servers under races)."""
    if session.get_bind().dialect.name == "postgresql":
        lock = int.from_bytes(hashlib.sha256(b"otp:" + mobile.encode()).digest()[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock})
