"""The sanction for malicious uploads (停止电子驾驶证申请使用): the rules, in plain Python.

The notice says that drivers who upload maliciously or use non-compliant photos have their e-licence application
and use stopped and are dealt with according to law. Here: a reviewer who rejects a photo for an abuse reason may
propose a sanction; a supervisor of the licence's authority (never the proposer: four eyes) confirms or declines it;
while it runs the e-licence answers as suspended and new applications are refused, with the reason and the way to
appeal (at a vehicle administration office counter); it ends by time or when a supervisor lifts it. The paper
licence's own statuses are never touched: the sanction is on the e-licence only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from edl.domain.errors import DomainError
from edl.domain.glossary import format_datetime

ABUSE_REASON_CODES: frozenset[str] = frozenset({"marks", "not_holder"})
"""The reject reasons (`edl.domain.application.REJECT_REASONS`) that count as abuse: ``marks`` (marks, text or
content offending public order or decency: put there on purpose) and ``not_holder`` (a photo of someone else: an
attempt to pass as the holder). The others (background, covered face, posture, clothing, retouching, quality,
other) are what an honest driver gets wrong; they are rejected and may be tried again at once. One table to correct."""

DURATION_DAYS: tuple[int | None, ...] = (30, 90, 180, 365, None)
"""The durations a reviewer may propose, in days; None runs until a supervisor lifts it. (assumed)"""
DEFAULT_DURATION_DAYS = 90

INDEFINITE_UNTIL = datetime(9999, 1, 1, tzinfo=UTC)
"""``elicences.suspended_until`` of a sanction without an end: far enough ahead, and still a valid datetime in
Beijing time (9999-12-31 UTC would overflow when shown at UTC+8). Lifting sets it back to NULL."""

NOTE_MAX = 500
MAY_PROPOSE = frozenset({"reviewer", "supervisor"})
MAY_DECIDE = frozenset({"supervisor"})
"""Who confirms, declines and lifts: a supervisor of the licence's authority (admins manage accounts, not cases)."""


class SanctionState(StrEnum):
    PROPOSED = "proposed"  # 待确认
    ACTIVE = "active"  # 执行中
    DECLINED = "declined"  # 未确认
    LIFTED = "lifted"  # 已解除
    ENDED = "ended"  # 已到期 (an active sanction whose end has passed; stored once housekeeping closes it)

    @property
    def holds(self) -> bool:
        """Whether a sanction in this state still stands (blocks another proposal)."""
        return self in (SanctionState.PROPOSED, SanctionState.ACTIVE)


STATE_NAMES: dict[SanctionState, tuple[str, str]] = {
    SanctionState.PROPOSED: ("待主管确认", "awaiting a supervisor"),
    SanctionState.ACTIVE: ("执行中", "in force"),
    SanctionState.DECLINED: ("主管未确认", "declined by a supervisor"),
    SanctionState.LIFTED: ("已解除", "lifted"),
    SanctionState.ENDED: ("已到期", "ended"),
}


@dataclass(frozen=True, slots=True)
class Proposal:
    """A reviewer's proposal made with a rejection: how long the stop should run (None: until lifted)."""

    days: int | None = DEFAULT_DURATION_DAYS


class SanctionRefused(DomainError):
    """A sanction step that the rules refuse; `code` is stable for tests and the audit log."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def is_abuse(reason_code: str | None) -> bool:
    return reason_code in ABUSE_REASON_CODES


def check_duration(days: int | None) -> int | None:
    if days not in DURATION_DAYS:
        raise SanctionRefused(
            "bad_duration",
            "停止期限无效，请从列表中选择 / choose a duration from the list",
        )
    return days


def ends_at(confirmed_at: datetime, days: int | None) -> datetime | None:
    """When a sanction confirmed at `confirmed_at` ends (None: when a supervisor lifts it)."""
    return None if days is None else confirmed_at + timedelta(days=days)


def suspended_until(end: datetime | None) -> datetime:
    """The e-licence's ``suspended_until`` for a sanction ending at `end` (None: `INDEFINITE_UNTIL`)."""
    return INDEFINITE_UNTIL if end is None else end


def suspends(until: datetime | None, at: datetime) -> bool:
    """Whether an e-licence whose ``suspended_until`` is `until` is suspended at `at` (set and still ahead)."""
    return until is not None and until > at


def effective_state(state: SanctionState, end: datetime | None, at: datetime) -> SanctionState:
    """An active sanction whose end has passed has ended, whether or not housekeeping has closed it yet."""
    if state is SanctionState.ACTIVE and end is not None and end <= at:
        return SanctionState.ENDED
    return state


def check_may_propose(role: str, reason_code: str | None) -> None:
    if role not in MAY_PROPOSE:
        raise SanctionRefused("forbidden", "您不能提出停止使用 / you may not propose a sanction")
    if not is_abuse(reason_code):
        raise SanctionRefused(
            "not_abuse",
            "只有恶意上传（含违规标记文字、冒用他人照片）可以提出停止使用 / only an abuse reason (offensive marks or "
            "text, someone else's photo) can lead to a sanction",
        )


def check_may_decide(role: str, *, actor: str, proposed_by: str, confirming: bool) -> None:
    """A supervisor decides; the proposer never confirms their own proposal (four eyes)."""
    if role not in MAY_DECIDE:
        raise SanctionRefused(
            "forbidden", "只有主管可以确认或解除停止使用 / only a supervisor confirms or lifts a sanction"
        )
    if confirming and actor == proposed_by:
        raise SanctionRefused(
            "own_proposal",
            "不能确认自己提出的停止使用，请由另一位主管确认 / another supervisor must confirm your proposal",
        )


APPEAL_ZH = "如有异议，请携带身份证到车管所业务窗口申请复核。"
APPEAL_EN = "To appeal, bring your ID card to a counter of a vehicle administration office."


@dataclass(frozen=True, slots=True)
class StopNotice:
    """What the driver is told while a sanction runs: why, until when, how to appeal (both languages)."""

    reason_zh: str
    reason_en: str
    until_zh: str
    until_en: str

    @property
    def zh(self) -> str:
        return f"您的电子驾驶证申请和使用已停止。原因：{self.reason_zh} 期限：{self.until_zh}。{APPEAL_ZH}"

    @property
    def en(self) -> str:
        return (
            f"Your e-licence and new applications are stopped. Reason: {self.reason_en} Until: {self.until_en}. "
            f"{APPEAL_EN}"
        )


def stop_notice(reason_zh: str, reason_en: str, end: datetime | None) -> StopNotice:
    """The notice for a sanction for `reason` ending at `end` (None: until lifted), dates in Beijing time."""
    if end is None:
        return StopNotice(reason_zh, reason_en, "直至解除", "until lifted")
    return StopNotice(
        reason_zh,
        reason_en,
        f"至 {format_datetime(end, 'zh')}（北京时间）",
        f"{format_datetime(end, 'en')} Beijing time",
    )
