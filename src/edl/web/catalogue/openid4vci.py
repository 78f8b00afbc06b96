"""Page texts of adding the e-licence to another wallet (OpenID4VCI credential offer, issue 15)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "vci.title": ("添加到其他数字钱包", "Add to another wallet"),
    "vci.intro": (
        "在支持 OpenID4VCI 和 ISO 18013-5 移动驾驶证（mDL）的数字钱包中保存您的电子驾驶证。钱包会生成自己的密钥，"
        "电子驾驶证将与该密钥绑定；之前绑定的设备将不能再通过在线核验。",
        "Keep your e-licence in a wallet that supports OpenID4VCI and the ISO 18013-5 mobile driving licence (mDL). "
        "The wallet makes its own key and the e-licence is bound to it; a device bound before no longer passes "
        "online checks.",
    ),
    "vci.entry_hint": (
        "用支持 ISO 移动驾驶证的数字钱包（OpenID4VCI）保存电子驾驶证。",
        "Keep the e-licence in a wallet that supports the ISO mobile driving licence (OpenID4VCI).",
    ),
    "vci.face_note": (
        "为保护您的驾驶证，生成添加码前需完成实人认证（{minutes}分钟内有效）。",
        "To protect your licence, real-person authentication comes first (valid for {minutes} min).",
    ),
    "vci.make": ("生成添加码", "Make an offer code"),
    "vci.scan": (
        "请用数字钱包扫描二维码，或在本机打开链接",
        "Scan the QR code with the wallet, or open the link on this phone",
    ),
    "vci.qr_label": ("电子驾驶证添加二维码", "QR code to add the e-licence"),
    "vci.open_link": ("在本机钱包中打开", "Open in a wallet on this phone"),
    "vci.tx_code": ("钱包要求输入时，请输入以下6位数字", "When the wallet asks, enter these 6 digits"),
    "vci.expires": (
        "二维码仅可使用一次，有效至 {at}（北京时间）。请勿给他人查看或截图。",
        "The code works once, until {at} (Beijing time). Do not show it to anyone or share a screenshot.",
    ),
    "vci.refused_title": ("暂时无法添加", "Cannot add the e-licence now"),
    "vci.again": ("重新生成", "Make a new code"),
}
