"""Page texts of presenting the e-licence to a relying party's OpenID4VP request (the app as a wallet)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "wallet.title": ("出示电子驾驶证", "Present your e-licence"),
    "wallet.asks": ("{party} 请求查看您的电子驾驶证", "{party} asks to see your e-licence"),
    "wallet.purpose": ("用途：{purpose}", "Purpose: {purpose}"),
    "wallet.fields": ("将提供以下信息", "It will receive"),
    "wallet.expires": ("请求有效至 {at}（北京时间）", "The request is open until {at} (Beijing time)"),
    "wallet.explain": (
        "同意后，本机将用仅保存在本设备上的密钥签名，只提供上列信息；核验方还会向登记库确认驾驶证当前状态。"
        "每次核验都记录在“核验记录”中。",
        "If you agree, this phone signs with a key that never leaves it and sends only the data above; the relying "
        "party also learns the licence's current status from the registry. Every check is listed in your "
        "verification log.",
    ),
    "wallet.approve": ("同意出示", "Present"),
    "wallet.decline": ("拒绝", "Decline"),
    "wallet.working": ("正在签名并发送……", "Signing and sending…"),
    "wallet.done": ("已出示。核验方将看到核验结果。", "Presented. The relying party now sees the result."),
    "wallet.declined": ("已拒绝，核验方不会收到任何信息。", "Declined: the relying party receives nothing."),
    "wallet.failed": ("未能出示：", "Could not present:"),
    "wallet.no_script": (
        "出示需要启用 JavaScript（密钥在浏览器中签名）。",
        "Presenting needs JavaScript (the key signs in the browser).",
    ),
    "wallet.no_licence": ("您还没有电子驾驶证，无法出示。", "You have no e-licence to present."),
    "wallet.bad_request_title": ("无法打开核验请求", "Cannot open this request"),
    "wallet.bad_request": ("此链接不是本系统的核验请求。", "This link is not a verification request of this service."),
    "wallet.no_request": ("没有此核验请求。", "There is no such verification request."),
    "wallet.closed": (
        "此核验请求已结束或已过期，请核验方重新发起。",
        "This request is closed or has expired: ask for a new one.",
    ),
    "wallet.el_note_number": ("用于向登记库核验状态", "used to check the status with the registry"),
    "wallet.el.family_name_national_character": ("姓", "Family name"),
    "wallet.el.given_name_national_character": ("名", "Given name"),
    "wallet.el.family_name": ("姓（拼音）", "Family name (Latin)"),
    "wallet.el.given_name": ("名（拼音）", "Given name (Latin)"),
    "wallet.el.portrait": ("照片", "Photo"),
    "wallet.el.sex": ("性别", "Sex"),
    "wallet.el.nationality": ("国籍", "Nationality"),
    "wallet.el.birth_date": ("出生日期", "Date of birth"),
    "wallet.el.resident_address": ("住址", "Address"),
    "wallet.el.document_number": ("证号", "Licence number"),
    "wallet.el.file_number": ("档案编号", "File number"),
    "wallet.el.driving_privileges": ("准驾车型", "Vehicle classes"),
    "wallet.el.vehicle_classes": ("准驾车型代号", "Vehicle class codes"),
    "wallet.el.first_issue_date": ("初次领证日期", "First issued"),
    "wallet.el.issue_date": ("有效期起始日期", "Valid from"),
    "wallet.el.expiry_date": ("有效期至", "Valid until"),
    "wallet.el.issuing_authority": ("发证机关", "Issuing authority"),
    "wallet.el.authority_code": ("发证机关代码", "Issuing authority code"),
}
