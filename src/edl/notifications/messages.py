"""What holders are told (推送消息), in both languages: one builder per occasion, shared by every code path."""

from __future__ import annotations

from edl.notifications.inbox import Message

HOME = "/app"
APPLICATIONS = "/app/applications"

_VOID_CAUSE: dict[str, tuple[str, str]] = {
    "classes_changed": ("准驾车型变更", "your vehicle classes changed"),
    "renewed": ("驾驶证有效期变更（换证）", "your licence was renewed"),
    "authority_changed": ("发证机关变更", "your issuing authority changed"),
    "unbound": ("驾驶证已与账号解除绑定", "the licence was unbound from your account"),
    "released": ("交警部门解除了驾驶证与账号的绑定", "staff released the licence from your account"),
}

_SMS_SIGN = "【电子驾驶证】"
_NOT_YOU = "如非本人操作，请立即携带身份证到车管所办理窗口处理。 / Not you? Visit a vehicle administration office now."


def _tail(number: str) -> str:
    return number[-4:]


def sms_bound(number: str, account_mobile: str) -> str:
    """To the registered mobile: the licence was bound to an app account (a takeover cannot stay silent)."""
    masked = account_mobile[:3] + "****" + account_mobile[-4:]
    return (
        f"{_SMS_SIGN}您的驾驶证（证号尾号{_tail(number)}）已绑定电子驾驶证账号（{masked}）。"
        f" / Your licence (…{_tail(number)}) was bound to an eDL account ({masked}). {_NOT_YOU}"
    )


def sms_unbound(number: str, *, by_staff: bool) -> str:
    """To the registered mobile: the licence is no longer bound (the holder unbound it, or staff released it)."""
    who_zh, who_en = ("交警部门已解除", "Staff released") if by_staff else ("已解除", "You unbound")
    return (
        f"{_SMS_SIGN}您的驾驶证（证号尾号{_tail(number)}）{who_zh}与电子驾驶证账号的绑定。"
        f" / {who_en} your licence (…{_tail(number)}) from its eDL account. {_NOT_YOU}"
    )


def sms_added_to_wallet(number: str) -> str:
    """To the registered mobile: the e-licence was added to a digital wallet (OpenID4VCI): it moves there from any
    phone it was on, so a driver who did not do it must learn at once."""
    tail = _tail(number)
    return (
        f"{_SMS_SIGN}您的电子驾驶证（证号尾号{tail}）已添加到一个数字钱包，原设备上的电子驾驶证需重新领取。"
        f" / Your e-licence (…{tail}) was added to a digital wallet; the device it was on must fetch it again. "
        f"{_NOT_YOU}"
    )


def sms_issued(number: str, *, photo_change: bool) -> str:
    """To the registered mobile: an e-licence was issued, or its photo changed."""
    if photo_change:
        what_zh, what_en = "电子驾驶证照片已更换", "the photo of your e-licence was changed"
    else:
        what_zh, what_en = "电子驾驶证已签发", "your e-licence was issued"
    tail = _tail(number)
    return f"{_SMS_SIGN}您的驾驶证（证号尾号{tail}）{what_zh}。 / For licence …{tail}, {what_en}. {_NOT_YOU}"


def issued(*, photo_change: bool) -> Message:
    if photo_change:
        return Message(
            "issued",
            "照片更换成功",
            "Photo changed",
            "您的新照片已审核通过，电子驾驶证已更新。",
            "Your new photo was approved and your e-licence has been updated.",
            HOME,
        )
    return Message(
        "issued",
        "电子驾驶证申请成功",
        "E-licence issued",
        "您的电子驾驶证已生成，可在“我的电子驾驶证”中查看和出示。",
        "Your electronic driving licence is ready: open “My e-licence” to view and show it.",
        HOME,
    )


def submitted(*, due_zh: str, due_en: str) -> Message:
    return Message(
        "submitted",
        "照片已提交审核",
        "Photo submitted for review",
        f"您的照片已通过自动检测，交警部门将在1个工作日内（{due_zh}前）完成审核。",
        f"Your photo passed the automatic checks. Staff will review it within one working day (by {due_en}).",
        APPLICATIONS,
    )


def rejected(reason_zh: str, reason_en: str, note: str | None) -> Message:
    extra_zh = f" 审核说明：{note}" if note else ""
    extra_en = f" Reviewer's note: {note}" if note else ""
    return Message(
        "rejected",
        "照片审核未通过",
        "Photo not approved",
        f"{reason_zh}{extra_zh} 请按要求重新提交照片。",
        f"{reason_en}{extra_en} Please submit a new photo that meets the rules.",
        APPLICATIONS,
    )


def voided(reason: str) -> Message:
    zh, en = _VOID_CAUSE.get(reason, ("驾驶证信息变更", "your licence record changed"))
    return Message(
        "voided",
        "电子驾驶证已失效，请重新申领",
        "E-licence void: please apply again",
        f"因{zh}，您的电子驾驶证已失效。请重新申领电子驾驶证。",
        f"Because {en}, your e-licence is no longer valid. Please apply for a new e-licence.",
        HOME,
    )


def sanctioned(notice_zh: str, notice_en: str) -> Message:
    """Issue 16: the e-licence and new applications are stopped (the notice says why, until when, how to appeal)."""
    return Message("sanctioned", "电子驾驶证已停止使用", "E-licence stopped", notice_zh, notice_en, HOME)


def sanction_lifted(*, ended: bool) -> Message:
    """Issue 16: the sanction was lifted by a supervisor, or ran out; the e-licence is valid again."""
    if ended:
        zh, en = "停止期限已到", "The stop has run its term"
    else:
        zh, en = "交警部门已解除停止", "Staff lifted the stop"
    return Message(
        "sanction_lifted",
        "电子驾驶证已恢复使用",
        "E-licence in use again",
        f"{zh}：您的电子驾驶证已恢复使用，也可以重新提交申请。",
        f"{en}: your e-licence can be used again, and you may apply again.",
        HOME,
    )
