"""Page texts of showing the licence and the code (亮证 / 亮码) on the holder's licence page: key -> (中文, English).

The rendered licence pages themselves print their labels in both languages (as the card does); see
`edl.rendering.pages`.
"""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "show.nav_code": ("亮码", "Code"),
    "show.code_title": ("亮码 · 电子驾驶证二维码", "Show the code · e-licence QR code"),
    "show.code_valid_until": ("有效至", "Valid until"),
    "show.beijing_time": ("（北京时间）", " (Beijing time)"),
    "show.code_left": ("剩余 {time}", "{time} left"),
    "show.code_expired": ("已过期，请刷新", "Expired: refresh it"),
    "show.code_failed": (
        "网络异常，二维码暂未更新，正在重试…",
        "No connection: the code was not renewed; retrying…",
    ),
    "show.code_refresh": ("刷新二维码", "Refresh the code"),
    "show.code_hint": (
        "请查验人员扫描此二维码。二维码约每分钟自动更新，过期后不能用于查验，请勿截图转发。",
        "Let the checker scan this QR code. It renews about every minute and cannot be used once expired; do not "
        "send screenshots of it.",
    ),
    "show.mark_label": ("防伪动态标识，随二维码更新", "Moving security mark, renewed with the code"),
    "show.mark_now": ("当前时间", "Time now"),
    "show.card_holder": ("持证人", "Holder"),
    "show.more_title": ("记分、下载与更换照片", "Points, downloads and photo change"),
    "show.downloads_title": ("下载电子驾驶证", "Download the e-licence"),
    "show.download_pdf": ("正页和副页（PDF）", "Front and secondary page (PDF)"),
    "show.download_front": ("下载正页图片（PNG）", "Download the front page (PNG)"),
    "show.download_back": ("下载副页图片（PNG）", "Download the secondary page (PNG)"),
    "show.download_hint": (
        "下载文件中的二维码 {minutes} 分钟后过期，仅作留存；接受查验时请出示本页的实时二维码。",
        "The QR code in a download expires after {minutes} {minutes:plural:minute|minutes} and is for your records; "
        "for a check, show the live code on this page.",
    ),
    "show.render_unavailable": ("暂时无法生成驾驶证图片", "The licence pages cannot be made now"),
    "show.no_elicence": ("没有有效的电子驾驶证", "No live e-licence"),
    "show.no_elicence_detail": (
        "您的账号下没有有效的电子驾驶证，请先申领。",
        "There is no live e-licence for your account: apply for one first.",
    ),
}
