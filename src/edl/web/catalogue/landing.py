"""The public landing page (/): key -> (中文, English)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "landing.title": ("电子驾驶证服务", "Electronic driving licence"),
    "landing.intro": (
        "申领、出示和核验电子驾驶证。请选择您要使用的入口。",
        "Apply for, show and check electronic driving licences. Choose where you want to go.",
    ),
    "landing.demo_banner": (
        "演示环境：所有驾驶人均为合成数据，短信验证码显示在开发收件箱中。",
        "Demo: every driver here is synthetic, and sign-in codes appear in the dev inbox.",
    ),
    "landing.entries": ("服务入口", "Ways in"),
    "landing.app": ("驾驶人端", "Driver app"),
    "landing.app_for": (
        "驾驶人：用手机号登录，绑定驾驶证，申领并出示电子驾驶证。",
        "For drivers: sign in with your mobile, bind your licence, apply for and show the e-licence.",
    ),
    "landing.review": ("审核工作台", "Review console"),
    "landing.review_for": (
        "车管所工作人员：审核申领照片，查询驾驶证登记库。",
        "For licensing staff: review application photos and search the licence registry.",
    ),
    "landing.registry": ("登记库查询", "Licence registry"),
    "landing.verify": ("核验页面", "Verifier page"),
    "landing.verify_for": (
        "核验机构（交警、租车门店、用人单位、保险公司）：扫码或上传截图核验电子驾驶证。",
        "For relying parties (police, car rental, employers, insurers): scan or upload a code to check a licence.",
    ),
    "landing.api": ("核验接口文档", "Verification API"),
    "landing.api_for": (
        "开发人员：核验机构系统对接用的 OpenAPI 文档。",
        "For developers: the OpenAPI document relying-party systems integrate with.",
    ),
    "landing.samples": ("试用驾驶人（演示）", "Drivers to try (demo)"),
    "landing.samples_intro": (
        "用下列手机号登录驾驶人端，验证码在开发收件箱中；绑定时填写证号和姓名。",
        "Sign in to the driver app with one of these numbers (the code is in the dev inbox), then bind with the "
        "licence number and name.",
    ),
    "landing.samples_none": (
        "演示数据中暂无可推荐的驾驶人。重新运行 edl demo 后再试。",
        "The demo data has no driver to suggest yet. Run edl demo again.",
    ),
    "landing.sample_mobile": ("手机号", "Mobile"),
    "landing.case_stored": ("登记照片合规：直接使用登记照片申领", "Compliant registry photo: apply with it as is"),
    "landing.case_camera": ("登记照片不合规：拍摄新照片申领", "Old registry photo: apply with a camera photo"),
    "landing.case_album": ("登记照片不合规：从相册选择证件照申领", "Old registry photo: apply with an album ID photo"),
    "landing.dev_inbox": ("开发收件箱（短信验证码）", "Dev inbox (sign-in codes)"),
    "landing.credentials": ("工作人员与核验机构账号", "Staff and relying-party accounts"),
    "landing.credentials_staff": (
        "审核员、主管和管理员的用户名和密码：启动 edl demo 的终端里已经列出，"
        "也保存在数据目录中的 {file}（仅本机所有者可读）。",
        "Usernames and passwords of the reviewer, supervisor and admin: listed in the terminal where edl demo "
        "started, and kept in {file} in the data directory (readable by its owner only).",
    ),
    "landing.review_waiting": (
        "审核台已有 {n} 份待审核申请（演示驾驶人提交的证件照），用其中的审核员账号登录即可处理。",
        "{n} {n:plural:application is|applications are} waiting for review (ID photos sent by demo drivers): "
        "sign in with the reviewer account from that file to decide {n:plural:it|them}.",
    ),
    "landing.credentials_parties": (
        "各用途核验机构的 API 密钥：同样列在启动 edl demo 的终端里，也保存在数据目录中的 {file}（仅本机所有者可读）。",
        "API keys of the relying parties, one per purpose: listed in the same terminal, and kept in {file} in the "
        "data directory (readable by its owner only).",
    ),
    "landing.credentials_never": (
        "本页面不会显示任何密码或密钥。",
        "No password or key is ever shown on this page.",
    ),
    "landing.footer": (
        "电子驾驶证服务。个人信息仅用于办理和核验驾驶证。",
        "Electronic driving licence service. Personal data is used only to issue and check licences.",
    ),
}
