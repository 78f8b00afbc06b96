"""Relying parties in the staff console (parties.*) and the holder's "who checked my licence" (checks.*):
key -> (中文, English)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    # staff console: relying parties
    "parties.title": ("核验方管理", "Relying parties"),
    "parties.intro": (
        "核验方（执法终端、保险机构、汽车租赁、用人单位等）使用 API 密钥调用在线核验。"
        "每个核验方的用途决定它能看到哪些信息。",
        "Relying parties (law-enforcement terminals, insurers, car-rental desks, employers...) call online "
        "verification with an API key. Each one's purpose fixes what it may see.",
    ),
    "parties.problem": ("操作未完成", "Not done"),
    "parties.col_name": ("名称", "Name"),
    "parties.col_purpose": ("用途", "Purpose"),
    "parties.col_fields": ("可见信息", "Fields it sees"),
    "parties.col_key": ("密钥开头", "Key starts"),
    "parties.col_rate": ("每分钟上限", "Per minute"),
    "parties.col_created": ("登记时间", "Registered"),
    "parties.col_state": ("状态", "State"),
    "parties.col_scope": ("管辖范围", "Scope"),
    "parties.scope_all": ("全国（全部发证机关）", "national (all authorities)"),
    "parties.scope_label": ("管辖范围：发证机关代码", "Scope: issuing-authority codes"),
    "parties.scope_hint": (
        "只核验这些发证机关的驾驶证（省级代码如 370000 含全省）；范围外的驾驶证不返回任何个人信息。"
        "留空则为您的管辖范围（{scope}），且不能超出它。",
        "The party checks only licences of these authorities (a province code such as 370000 covers the whole "
        "province); outside them it gets no personal data. Empty means your own scope ({scope}), which it may not "
        "exceed.",
    ),
    "parties.scope_all_label": ("全国（全部发证机关）", "National (all issuing authorities)"),
    "parties.col_action": ("操作", "Action"),
    "parties.col_id": ("编号", "ID"),
    "parties.revoke": ("吊销密钥", "Revoke key"),
    "parties.confirm_revoke": ("确认吊销：密钥立即失效，不能恢复", "Confirm: the key stops working at once, for good"),
    "parties.confirm_required": (
        "请先勾选“确认吊销”，再吊销密钥。未作任何处理。",
        "Tick the confirmation box before revoking the key. Nothing was done.",
    ),
    "parties.empty": ("还没有登记核验方。", "No relying party is registered yet."),
    "parties.add_title": ("登记核验方", "Register a relying party"),
    "parties.name_label": ("名称", "Name"),
    "parties.name_hint": ("例如：某某汽车租赁有限公司前台", "For example: the front desk of a car-rental company"),
    "parties.purpose_label": ("用途", "Purpose"),
    "parties.configurable": ("可按机构配置", "configurable per party"),
    "parties.fields_label": ("可见信息（可选）", "Fields (optional)"),
    "parties.fields_hint": (
        "不选则使用该用途的全部信息。保险机构可按需配置；其他用途只能在其范围内减少。状态始终可见。",
        "Leave all unchecked for the purpose's own fields. An insurer's fields are configured here; other purposes "
        "may only narrow theirs. The status is always shown.",
    ),
    "parties.rate_label": ("每分钟请求上限（可选）", "Requests per minute (optional)"),
    "parties.rate_hint": ("留空则使用默认值（每分钟 {rate} 次）。", "Leave empty for the default ({rate} per minute)."),
    "parties.rate_default": ("默认（{rate}）", "default ({rate})"),
    "parties.add_button": ("登记并生成密钥", "Register and make a key"),
    "parties.added_title": ("已登记核验方：{name}", "Relying party registered: {name}"),
    "parties.key_once": (
        "API 密钥只显示这一次，请立即复制并妥善保管。丢失后只能吊销并重新登记。",
        "The API key is shown only this once: copy it now and keep it safe. If it is lost, revoke it and register "
        "again.",
    ),
    "parties.key_use": (
        "调用方式：POST /api/v1/verifications，请求头 Authorization: Bearer <密钥>。",
        "Use it as: POST /api/v1/verifications with the header Authorization: Bearer <key>.",
    ),
    "parties.back": ("返回核验方列表", "Back to relying parties"),
    "parties.state_active": ("有效", "active"),
    "parties.state_revoked": ("已吊销", "revoked"),
    "parties.unknown_refuse": ("状态无法确认时：拒绝。", "Status unknown: refused."),
    "parties.unknown_warn": ("状态无法确认时：通过并提示。", "Status unknown: accepted with a warning."),
    "parties.bad_purpose": (
        "请选择用途：执法核查、汽车租赁、用人单位或保险机构。",
        "Choose a purpose: law enforcement, car rental, employer or insurer.",
    ),
    "parties.bad_rate": (
        "每分钟请求上限应为正整数，或留空使用默认值。",
        "The requests per minute must be a whole number, or empty for the default.",
    ),
    # holder: who checked my licence
    "checks.title": ("谁查验了我的驾驶证", "Who checked my licence"),
    "checks.intro": (
        "每一次在线核验都会记录：核验方、用途、时间和结果。",
        "Every online check is recorded: who checked, for what purpose, when, and the result.",
    ),
    "checks.col_purpose": ("用途", "Purpose"),
    "checks.col_how": ("方式", "How"),
    "checks.col_result": ("结果", "Result"),
    "checks.limited": ("只显示最近 {limit} 次。", "Only the latest {limit} are shown."),
    "checks.empty": ("还没有人核验过您的电子驾驶证。", "Nobody has checked your e-licence yet."),
    "checks.back_home": ("返回首页", "Back to home"),
    "checks.time_note": ("时间均为北京时间。", "Times are Beijing time."),
    "checks.status_valid": ("有效", "valid"),
    "checks.status_suspended": ("暂停使用", "suspended"),
    "checks.status_revoked": ("已作废", "revoked"),
    "checks.status_unknown": ("无法确认", "unknown"),
    "checks.result_valid": ("核验通过（{status}）", "Passed ({status})"),
    "checks.result_invalid": ("未通过（{status}）", "Not passed ({status})"),
    "checks.method_code": ("扫描亮码", "scanned the live code"),
    "checks.method_barcode": ("条码编号", "barcode number"),
    "checks.method_page": ("核验页面", "verifier page"),
    "checks.method_openid4vp": ("您在手机上同意出示", "you presented it from your phone"),
    "checks.channel_api": ("系统接口", "API"),
    "checks.channel_web": ("网页", "web page"),
}
