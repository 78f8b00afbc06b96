"""Licence statuses (驾驶证状态). Several may hold at once. Codes after the common GA code set (assumed)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from edl.domain.errors import UnknownStatus


class Status(StrEnum):
    NORMAL = "A"  # 正常
    POINTS_LIMIT = "B"  # 超分
    TRANSFERRED = "C"  # 转出
    SUSPENDED = "D"  # 暂扣
    ANNULLED = "E"  # 撤销
    REVOKED = "F"  # 吊销
    CANCELLED = "G"  # 注销
    OFFENCE_PENDING = "H"  # 违法未处理
    ACCIDENT_PENDING = "I"  # 事故未处理
    STOPPED = "J"  # 停止使用
    RENEWAL_OVERDUE = "M"  # 逾期未换证
    EXAM_OVERDUE = "P"  # 逾期未体检
    REVIEW_OVERDUE = "S"  # 逾期未审验

    @classmethod
    def parse(cls, code: str) -> Status:
        text = code.strip()
        for s in cls:
            if text.upper() == s.value or text == STATUS_TABLE[s].name_zh:
                return s
        raise UnknownStatus(f"未知的驾驶证状态: {code!r} / unknown licence status {code!r}")

    @property
    def info(self) -> StatusInfo:
        return STATUS_TABLE[self]


@dataclass(frozen=True, slots=True)
class StatusInfo:
    name_zh: str
    name_en: str
    blocks_issuance: bool
    reason_zh: str
    """Why an e-licence cannot be issued, and what to do, in plain words."""
    reason_en: str


def _i(zh: str, en: str, blocks: bool, why_zh: str = "", why_en: str = "") -> StatusInfo:
    return StatusInfo(zh, en, blocks, why_zh, why_en)


S = Status
STATUS_TABLE: dict[Status, StatusInfo] = {
    S.NORMAL: _i("正常", "valid", False),
    S.POINTS_LIMIT: _i(
        "超分",
        "points limit reached",
        True,
        "本记分周期记分已满12分，驾驶证被扣留。请参加道路交通安全法律法规学习并通过考试后再申领。",
        "You reached 12 points in this cycle and the licence is withheld. Complete the road-safety course "
        "and pass the exam, then apply again.",
    ),
    S.TRANSFERRED: _i(
        "转出",
        "transferred out",
        True,
        "驾驶证档案已转出，请到转入地车辆管理所办理后再申领。",
        "The licence record was transferred to another authority. Complete the transfer there, then apply.",
    ),
    S.SUSPENDED: _i(
        "暂扣",
        "suspended",
        True,
        "驾驶证处于暂扣状态，暂扣期满并发还驾驶证后方可申领。",
        "The licence is suspended. You can apply once the suspension ends and the licence is returned.",
    ),
    S.ANNULLED: _i(
        "撤销",
        "annulled",
        True,
        "驾驶许可已被撤销，不能申领电子驾驶证。",
        "The driving permit was annulled; no e-licence can be issued.",
    ),
    S.REVOKED: _i(
        "吊销",
        "revoked",
        True,
        "驾驶证已被吊销，不能申领电子驾驶证。",
        "The licence was revoked; no e-licence can be issued.",
    ),
    S.CANCELLED: _i(
        "注销",
        "cancelled",
        True,
        "驾驶证已注销，不能申领电子驾驶证。如需恢复驾驶资格，请到车辆管理所咨询。",
        "The licence was cancelled; no e-licence can be issued. Ask a vehicle administration office about "
        "restoring it.",
    ),
    S.OFFENCE_PENDING: _i("违法未处理", "unprocessed offence", False),
    S.ACCIDENT_PENDING: _i("事故未处理", "unprocessed accident", False),
    S.STOPPED: _i(
        "停止使用",
        "stopped by announcement",
        True,
        "驾驶证已被公告停止使用，请到车辆管理所处理。",
        "The licence was publicly announced as stopped. Please contact a vehicle administration office.",
    ),
    S.RENEWAL_OVERDUE: _i(
        "逾期未换证",
        "overdue for renewal",
        True,
        "驾驶证已超过有效期未换证，请先到车辆管理所或通过12123办理换证。",
        "The licence is past its validity and was not renewed. Renew it first (office or app), then apply.",
    ),
    S.EXAM_OVERDUE: _i(
        "逾期未体检",
        "overdue medical exam",
        True,
        "驾驶证逾期未提交身体条件证明，请到医疗机构体检并提交体检证明后再申领。",
        "The medical exam is overdue. Take the exam and submit the certificate, then apply.",
    ),
    S.REVIEW_OVERDUE: _i(
        "逾期未审验",
        "overdue review",
        True,
        "驾驶证逾期未审验，请到车辆管理所办理审验后再申领。",
        "The periodic review (审验) is overdue. Complete it at a vehicle administration office, then apply.",
    ),
}


def parse_statuses(text: str) -> frozenset[Status]:
    """Parse a status set: codes run together ("DH"), or separated by commas/spaces/'|', or 中文 names."""
    cleaned = text.replace(",", " ").replace("|", " ").replace("，", " ").replace("、", " ").strip()
    if not cleaned:
        return frozenset({Status.NORMAL})
    out: set[Status] = set()
    for token in cleaned.split():
        if token.isascii() and len(token) > 1:
            out.update(Status.parse(ch) for ch in token)
        else:
            out.add(Status.parse(token))
    return normalise_statuses(out)


def normalise_statuses(statuses: Iterable[Status]) -> frozenset[Status]:
    """正常 holds only when nothing else does; an empty set means 正常."""
    held = set(statuses)
    if len(held) > 1:
        held.discard(Status.NORMAL)
    return frozenset(held or {Status.NORMAL})


_ORDER: tuple[Status, ...] = tuple(Status)
"""The table order, as a tuple (iterating an Enum class is slow; imports format statuses per row)."""


def format_statuses(statuses: Iterable[Status]) -> str:
    """Codes in table order, run together ("DH")."""
    held = normalise_statuses(statuses)
    return "".join(s.value for s in _ORDER if s in held)


def blocking(statuses: Iterable[Status]) -> list[Status]:
    """The statuses that block e-licence issuance, in table order."""
    held = set(statuses)
    return [s for s in _ORDER if s in held and STATUS_TABLE[s].blocks_issuance]
