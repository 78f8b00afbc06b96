"""Page texts of the inbox pages (站内消息) and the push opt-in: key -> (中文, English)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "inbox.title": ("消息", "Messages"),
    "inbox.nav": ("消息", "Messages"),
    "inbox.badge_label": ("{count} 条未读消息", "{count} unread {count:plural:message|messages}"),
    "inbox.summary": ("{unread} 条未读消息", "{unread} unread {unread:plural:message|messages}"),
    "inbox.summary_none_unread": ("没有未读消息", "No unread messages"),
    "inbox.empty": (
        "暂无消息。申请进度和审核结果会在这里通知您。",
        "No messages yet. News about your applications will appear here.",
    ),
    "inbox.unread": ("未读", "Unread"),
    "inbox.read": ("已读", "Read"),
    "inbox.received_at": ("{at}（北京时间）", "{at} (Beijing time)"),
    "inbox.open": ("查看详情", "Open"),
    "inbox.mark_read": ("标为已读", "Mark as read"),
    "inbox.mark_all_read": ("全部标为已读", "Mark all as read"),
    "inbox.list_label": ("消息列表", "Your messages"),
    "inbox.bad_id": ("消息编号有误。", "The message number is not valid."),
    # Web Push opt-in (push.js reads these from data attributes: no strings live in scripts)
    "push.title": ("消息推送", "Push notifications"),
    "push.hint": (
        "开启后，审核结果等消息会推送到本机浏览器，即使未打开本页面。",
        "Once on, news such as review results reaches this browser even when this page is closed.",
    ),
    "push.enable": ("开启消息推送", "Turn on push notifications"),
    "push.disable": ("关闭本机消息推送", "Turn off push on this device"),
    "push.on": ("本机已开启消息推送。", "Push notifications are on for this device."),
    "push.off": ("本机已关闭消息推送。", "Push notifications are off for this device."),
    "push.working": ("正在设置…", "Setting up…"),
    "push.denied": (
        "浏览器已禁止本站发送通知。如需开启，请在浏览器的网站设置中允许通知。",
        "This browser blocks notifications from this site. To turn them on, allow notifications in the site settings.",
    ),
    "push.unsupported": (
        "此浏览器不支持消息推送，您仍可在本页查看全部消息。",
        "This browser does not support push notifications; all messages remain here.",
    ),
    "push.error": ("开启消息推送失败，请稍后重试。", "Push notifications could not be turned on. Try again later."),
    "push.unavailable": ("本服务暂未开启消息推送。", "Push notifications are not available on this service."),
}
