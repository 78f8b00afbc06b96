"""The verifier web page (/verify, 电子驾驶证核验) for relying parties: key -> (中文, English)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "verify.site": ("电子驾驶证核验", "e-Licence verifier"),
    "verify.footer": (
        "仅供已登记的核验机构使用。每次核验都会记录（机构、用途、时间、结果），持证人可查看。",
        "For registered relying parties only. Every check is logged (who, purpose, when, result) and the holder can "
        "see it.",
    ),
    # sign-in
    "verify.sign_in_title": ("核验机构登录", "Relying party sign-in"),
    "verify.sign_in_intro": (
        "请输入管理员为贵机构签发的 API 密钥（以 edl_rp_ 开头）。密钥只在本机浏览器会话中使用，不会显示在页面上。",
        "Enter the API key an administrator issued to your organisation (it starts with edl_rp_). It is used only "
        "for this browser session and never shown on the page.",
    ),
    "verify.key_label": ("API 密钥", "API key"),
    "verify.sign_in": ("登录", "Sign in"),
    "verify.sign_out": ("退出", "Sign out"),
    "verify.key_refused": (
        "密钥无效或已被撤销。请向管理员确认密钥。",
        "The key is not valid or has been revoked. Check the key with your administrator.",
    ),
    "verify.key_missing": ("请输入 API 密钥。", "Enter the API key."),
    "verify.too_many": (
        "请求过于频繁，请 {seconds} 秒后再试。",
        "Too many requests: try again in {seconds} s.",
    ),
    "verify.unavailable": (
        "核验服务暂时不可用，请稍后再试。",
        "The verification service is unavailable for the moment: try again shortly.",
    ),
    "verify.problem": ("未能完成", "Not done"),
    # the scan page
    "verify.scan_title": ("核验电子驾驶证", "Check an e-licence"),
    "verify.signed_in_as": ("核验机构：{name}", "Relying party: {name}"),
    "verify.purpose": ("用途：{purpose}", "Purpose: {purpose}"),
    "verify.fields_allowed": ("可查看的信息：{fields}", "Details you may see: {fields}"),
    "verify.camera_title": ("扫码核验", "Scan with the camera"),
    "verify.camera_hint": (
        "请持证人打开“亮码”，将二维码或条形码置于取景框内。",
        "Ask the holder to show the code (亮码) and hold the QR code or barcode inside the frame.",
    ),
    "verify.camera_start": ("打开摄像头", "Start the camera"),
    "verify.camera_stop": ("关闭摄像头", "Stop the camera"),
    "verify.camera_scanning": ("正在识别…", "Looking for a code…"),
    "verify.camera_found": ("已识别，正在核验…", "Code read, checking…"),
    "verify.camera_denied": (
        "无法使用摄像头（未授权或不可用）。请改用下方的上传图片。",
        "The camera cannot be used (not allowed or not available). Upload a photo below instead.",
    ),
    "verify.camera_error": ("核验请求失败，请重试。", "The check could not be sent: try again."),
    "verify.camera_label": ("摄像头取景", "Camera view"),
    "verify.upload_title": ("上传图片核验", "Check a photo or screenshot"),
    "verify.upload_hint": (
        "拍摄或截取持证人出示的二维码（亮码）或条形码，上传后由服务器识别。",
        "Take a photo or screenshot of the QR code (亮码) or barcode the holder shows; the server reads it.",
    ),
    "verify.upload_label": ("二维码或条形码图片", "Image of the QR code or barcode"),
    "verify.typed_label": ("或输入条形码下方的号码", "Or type the number under the barcode"),
    "verify.barcode_offline": (
        "条形码号码每分钟更新，只能在本页联网核验，过期号码和固定的电子驾驶证编号不被接受；条形码本身没有签名，离线时不能证明任何事，"
        "离线核验请扫描二维码（亮码）。",
        "The barcode number changes every minute and is checked online here only; an old number or the fixed "
        "e-licence id is refused. A barcode carries no signature and proves nothing offline: offline, scan the QR "
        "code (亮码).",
    ),
    "verify.upload_submit": ("核验", "Check"),
    "verify.upload_nothing": (
        "请选择一张图片，或输入条形码号码。",
        "Choose an image, or type the barcode number.",
    ),
    "verify.upload_bad_image": (
        "无法读取该图片。请上传 PNG 或 JPEG 格式的照片或截图。",
        "The image cannot be read. Upload a PNG or JPEG photo or screenshot.",
    ),
    "verify.upload_too_large": ("图片过大（上限 {limit_mb} MB）。", "The image is too large (limit {limit_mb} MB)."),
    "verify.bad_body": (
        "请求格式不正确：需要 JSON 对象，其 text 字段为扫描到的内容。",
        "The request is malformed: a JSON object whose text field holds what was scanned is expected.",
    ),
    "verify.body_too_large": ("请求过大（上限 {limit_kb} KB）。", "The request is too large (limit {limit_kb} KB)."),
    # the result
    "verify.result_title": ("核验结果", "Result"),
    "verify.valid": ("有效", "Valid"),
    "verify.valid_detail": ("该电子驾驶证真实有效。", "This e-licence is genuine and valid."),
    "verify.valid_warn": ("有效（请注意）", "Valid (take note)"),
    "verify.invalid": ("无效", "Not valid"),
    "verify.invalid_detail": ("不能据此认可该驾驶证。", "Do not rely on this licence."),
    "verify.reasons": ("原因", "Why"),
    "verify.result_allowed": ("本次用途可查看：{fields}", "This purpose may see: {fields}"),
    "verify.retry_title": ("未能读取亮码，请重新扫描或输入", "Could not read a code: scan again or type the number"),
    "verify.retry_malformed": (
        "这不是电子驾驶证的条码号码：条码号码为 24 位数字（可按印刷分组输入）。请核对后重新输入，或扫描持证人的亮码。",
        "This is not an e-licence barcode number: it has 24 digits (you may type the groups as printed). Check it "
        "and type it again, or scan the holder's code.",
    ),
    "verify.retry_not_edl": (
        "这个二维码不是电子驾驶证亮码（例如付款码或网址）。请让持证人打开交管 12123 的电子驾驶证亮码后再扫描。",
        "This QR code is not an e-licence code (a payment code or a web link, say). Ask the holder to open the "
        "e-licence code in the app, then scan again.",
    ),
    "verify.warnings": ("提示", "Note"),
    "verify.status_line": ("驾驶证状态：{status}", "Licence status: {status}"),
    "verify.status_valid": ("正常", "valid"),
    "verify.status_suspended": ("暂停使用（暂扣等）", "suspended"),
    "verify.status_revoked": ("已撤销或作废", "revoked"),
    "verify.status_unknown": ("无法确认", "unknown"),
    "verify.registry_status": ("登记状态：{status}", "Registry status: {status}"),
    "verify.method": ("方式：{method}", "Method: {method}"),
    "verify.method_code": ("签名亮码", "signed code"),
    "verify.method_barcode": ("条形码号码（无签名）", "barcode number (not signed)"),
    "verify.method_openid4vp": ("驾驶人手机出示（设备签名）", "presented from the driver's phone (device-signed)"),
    "verify.present_title": ("请驾驶人在手机上出示", "Ask the driver to present from their phone"),
    "verify.present_intro": (
        "生成二维码，驾驶人用电子驾驶证应用扫码并同意后，这里显示核验结果（签名与实时状态均已核验）。",
        "Make a QR code; once the driver opens it in the e-licence app and agrees, the verified result appears "
        "here (signatures and live status checked).",
    ),
    "verify.present_start": ("生成出示请求二维码", "Make a presentation request"),
    "verify.present_again": ("重新生成请求", "Make a new request"),
    "verify.present_back": ("返回扫码核验", "Back to scanning"),
    "verify.present_qr": ("出示请求二维码", "Presentation request QR code"),
    "verify.present_pending": ("等待驾驶人在手机上同意……", "Waiting for the driver to agree…"),
    "verify.present_check": ("查看结果", "Check for the result"),
    "verify.present_scan_hint": (
        "请驾驶人用手机扫描此二维码（或打开下方链接）。",
        "Ask the driver to scan this code with their phone (or open the link below).",
    ),
    "verify.present_link": ("在电子驾驶证应用中打开", "Open in the e-licence app"),
    "verify.present_wallet_link": ("其他 OpenID4VP 钱包", "another OpenID4VP wallet"),
    "verify.present_expires": ("请求有效至 {at}（北京时间）", "Open until {at} (Beijing time)"),
    "verify.present_declined": (
        "收到拒绝出示的答复（未经验证，可能并非驾驶人本人发送）。驾驶人仍可在有效期内同意出示。",
        "A decline was received (not authenticated: it may not come from the driver). The driver can still agree "
        "until the request expires.",
    ),
    "verify.present_refused": (
        "收到的出示无法核验，请求已关闭。请重新生成。",
        "The responses received did not verify; the request is closed. Make a new one.",
    ),
    "verify.present_expired": ("请求已过期，请重新生成。", "The request has expired: make a new one."),
    "verify.present_not_found": ("没有此出示请求。", "There is no such presentation request."),
    "verify.checked_at": ("核验时间：{at}", "Checked at {at}"),
    "verify.record_id": ("记录编号：{id}", "Record no. {id}"),
    "verify.again": ("继续核验", "Check another"),
    "verify.photo_alt": ("持证人照片", "Holder's photo"),
    "verify.no_fields": ("（用途不允许查看其他信息）", "(your purpose allows no other details)"),
    "verify.yes": ("是", "yes"),
    "verify.no": ("否", "no"),
    # reasons in plain words
    "verify.reason_expired": (
        "码已过期：亮码只在生成后 3 分钟内有效。请持证人刷新后重新出示。",
        "The code has expired: a code is valid for 3 minutes. Ask the holder to show a fresh one.",
    ),
    "verify.reason_not_yet_valid": (
        "码的生成时间晚于当前时间，请检查双方设备时间。",
        "The code was made later than now: check the clocks of both devices.",
    ),
    "verify.reason_suspended": (
        "驾驶证已被暂扣或暂停使用（登记系统中的最新状态）。",
        "The licence is suspended (its current status in the registry).",
    ),
    "verify.reason_revoked": (
        "电子驾驶证已被撤销或作废（驾驶证被吊销、注销，或已重新申领）。",
        "The e-licence is revoked (the licence was revoked or cancelled, or the e-licence was re-issued).",
    ),
    "verify.reason_unknown": (
        "无法确认驾驶证的当前状态。按贵机构用途的规定，不能认可。",
        "The licence's current status could not be confirmed; your purpose's rules refuse it then.",
    ),
    "verify.reason_forged": (
        "签名无效：该码是伪造的，或不是由受信任的发证机关签发。",
        "Not signed by a trusted authority: the code is forged or comes from an unknown issuer.",
    ),
    "verify.reason_unreadable": (
        "这不是电子驾驶证的码，或码已损坏、不完整。",
        "This is not an e-licence code, or the code is damaged or incomplete.",
    ),
    "verify.reason_no_code": (
        "图片中未找到二维码或条形码。请拍清楚、完整后重试。",
        "No QR code or barcode was found in the image. Take a sharper, complete picture and try again.",
    ),
    "verify.reason_barcode_expired": (
        "条形码已过期：号码每分钟更新，只在约 1 至 2 分钟内有效（截图或旧页面不被接受）。请持证人刷新后重新出示。",
        "The barcode has expired: its number changes every minute and is valid for about 1 to 2 minutes (a "
        "screenshot or an old page is refused). Ask the holder to show a fresh one.",
    ),
    "verify.reason_barcode_invalid": (
        "条形码号码无效：不是本系统生成的号码，或输入有误。请重新扫描或核对号码。",
        "The barcode number is not valid: eDL did not make it, or it was mistyped. Scan again or check the number.",
    ),
    "verify.reason_barcode_static_id": (
        "这是固定的电子驾驶证编号，不能用于核验。请扫描持证人当前页面上的条形码或二维码。",
        "This is the fixed e-licence id, which is not accepted. Scan the barcode or QR code on the holder's "
        "current page.",
    ),
    "verify.reason_not_found": (
        "登记系统中没有这个电子驾驶证。",
        "The registry holds no such e-licence.",
    ),
    "verify.reason_outside_scope": (
        "此驾驶证不在本核验方的管辖范围内，不显示任何信息。",
        "This licence is outside the area this verifier may check: nothing about it is shown.",
    ),
    "verify.reason_rate_limited": (
        "核验过于频繁，请稍后再试。",
        "Too many checks: try again shortly.",
    ),
}
