"""Page texts of the auth pages: key -> (中文, English)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    # holder sign-in
    "auth.holder_title": ("登录电子驾驶证", "Sign in to eDL"),
    "auth.holder_intro": (
        "请输入您的手机号码，我们将发送短信验证码。首次登录将自动注册。",
        "Enter your mobile number and we will text you a sign-in code. Your first sign-in creates your account.",
    ),
    "auth.mobile_label": ("手机号码", "Mobile number"),
    "auth.mobile_hint": (
        "中国大陆11位手机号码，如 13800138000",
        "11-digit mainland China mobile number, e.g. 13800138000",
    ),
    "auth.send_code": ("获取验证码", "Send code"),
    "auth.code_title": ("输入验证码", "Enter the code"),
    "auth.code_sent": (
        "验证码已发送至 {mobile}，{minutes} 分钟内有效。",
        "We texted a code to {mobile}. It is valid for {minutes} {minutes:plural:minute|minutes}.",
    ),
    "auth.code_label": ("短信验证码", "Code from the text message"),
    "auth.code_hint": ("6位数字", "6 digits"),
    "auth.sign_in": ("登录", "Sign in"),
    "auth.resend": ("重新获取验证码", "Send a new code"),
    "auth.resend_wait": ("{n} 秒后可重新获取", "New code in {n} s"),
    "auth.change_mobile": ("更换手机号码", "Use another number"),
    "auth.dev_inbox_link": ("演示模式：在开发收件箱查看短信", "Demo mode: read the text in the dev inbox"),
    "auth.sign_out": ("退出登录", "Sign out"),
    "auth.problem": ("请注意", "Please note"),
    # dev inbox (demo only)
    "auth.dev_inbox_title": ("开发收件箱（演示）", "Dev inbox (demo)"),
    "auth.dev_inbox_intro": (
        "演示模式下发送的短信（最近50条，仅保存在本服务器的内存中）。",
        "Text messages sent in demo mode (the last 50, kept in this server's memory only).",
    ),
    "auth.dev_inbox_empty": ("还没有短信。", "No messages yet."),
    "auth.dev_inbox_at": ("时间（北京时间）", "Time (Beijing)"),
    "auth.dev_inbox_to": ("收件号码", "To"),
    "auth.dev_inbox_text": ("内容", "Text"),
    "auth.dev_inbox_back": ("返回登录", "Back to sign-in"),
    # staff sign-in
    "auth.staff_title": ("工作人员登录", "Staff sign-in"),
    "auth.staff_intro": (
        "审核工作台仅供授权工作人员使用。同一网络或同一用户名多次登录失败后，须等待15分钟再试。",
        "The review console is for authorised staff only. After repeated failed sign-ins from one network or for "
        "one username, wait 15 minutes before trying again.",
    ),
    "auth.username_label": ("用户名", "Username"),
    "auth.password_label": ("密码", "Password"),
    "auth.signed_in_as": ("当前用户：{name}", "Signed in as {name}"),
    # refusals
    "auth.csrf_title": ("页面已过期", "This page has expired"),
    "auth.csrf_detail": (
        "为保护您的账号，此次提交未被处理。请刷新页面后重试（并确认浏览器允许 Cookie）。",
        "To protect your account, this form was not processed. Reload the page and try again "
        "(and check that your browser accepts cookies).",
    ),
    "auth.forbidden_title": ("无权访问", "Not allowed"),
    "auth.forbidden_detail": (
        "您的账号没有使用此页面的权限。如确有需要，请联系管理员。",
        "Your account may not use this page. Ask an administrator if you need it.",
    ),
    "auth.sign_in_required": ("请先登录", "Sign in first"),
    # staff administration
    "auth.staff_list_title": ("工作人员账号", "Staff accounts"),
    "auth.col_username": ("用户名", "Username"),
    "auth.col_name": ("姓名", "Name"),
    "auth.col_role": ("角色", "Role"),
    "auth.col_authorities": ("发证机关", "Issuing authorities"),
    "auth.col_created": ("创建时间", "Created"),
    "auth.col_state": ("状态", "State"),
    "auth.col_actions": ("操作", "Actions"),
    "auth.state_active": ("正常", "active"),
    "auth.state_disabled": ("已停用", "disabled"),
    "auth.authorities_all": ("全部", "all"),
    "auth.disable": ("停用", "Disable"),
    "auth.disable_label": ("停用 {username}", "Disable {username}"),
    "auth.confirm_disable": (
        "确认停用：该账号立即不能登录，已登录的会话随即结束",
        "Confirm: the account can no longer sign in and its sessions end at once",
    ),
    "auth.confirm_disable_required": (
        "停用账号前请先勾选确认框。本次未做任何更改。",
        "Tick the confirmation box before disabling the account. Nothing was done.",
    ),
    "auth.add_title": ("添加工作人员", "Add a staff member"),
    "auth.name_label": ("姓名", "Name"),
    "auth.name_hint": ("可不填，默认为用户名", "Optional: the username when left empty"),
    "auth.username_hint": (
        "2到64位小写字母、数字或 . _ -",
        "2 to 64 lower-case letters, digits or . _ -",
    ),
    "auth.role_label": ("角色", "Role"),
    "auth.authorities_label": ("发证机关代码", "Issuing-authority codes"),
    "auth.authorities_hint": (
        "每个6位数字，多个用逗号或空格分隔，如 120000, 510100",
        "6 digits each, separated by commas or spaces, e.g. 120000, 510100",
    ),
    "auth.all_authorities_label": ("全部发证机关", "All issuing authorities"),
    "auth.my_scope": (
        "您的管辖范围：{scope}。您只能管理此范围内的账号，新账号的发证机关也须在此范围内（省级代码如 370000 含全省）。",
        "Your scope: {scope}. You manage only accounts inside it, and a new account's authorities must lie inside it "
        "too (a province code such as 370000 covers the whole province).",
    ),
    "auth.add_button": ("添加", "Add"),
    "auth.added_title": ("已添加 {username}", "Added {username}"),
    "auth.added_password": (
        "初始密码（只显示这一次，请立即当面转交本人）：",
        "Initial password (shown only this once: hand it to the person now):",
    ),
    "auth.role_reviewer": ("审核员", "Reviewer"),
    "auth.role_supervisor": ("审核主管", "Supervisor"),
    "auth.role_admin": ("管理员", "Administrator"),
}
