"""What holders are told (推送消息), in both languages: one builder per occasion, shared by every code path."""

from __future__ import annotations

from edl.notifications.inbox import Message

HOME = "/app"
APPLICATIONS = "/app/applications"

_VOID_CAUSE: dict[str, tuple[str, str]] = {
    "classes_changed": ("准驾车型变更", "your vehicle classes changed"),
    "renewed": ("驾驶证有效期变更（换证）", "your licence was renewed"),
    "authority_changed": ("发证机关变更", "your issuing authority changed"),
}


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
