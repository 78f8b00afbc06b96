"""Page texts of the privacy notice (/privacy, the consent on sign-in) and the "我的" page: key -> (中文, English)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    # consent on the sign-in pages
    "privacy.summary_lead": (
        "首次登录将注册账号。请阅读以下个人信息处理说明：",
        "Your first sign-in registers an account. How we handle your personal data:",
    ),
    "privacy.summary_collect": (
        "收集：手机号码、绑定的驾驶证信息、人脸核验（实人认证）记录、核验方查验您驾驶证的记录。",
        "We collect: your mobile number, the licence you bind, your face checks, and the log of who checked "
        "your licence.",
    ),
    "privacy.summary_why": (
        "用途：登录、绑定驾驶证并核实本人、签发和出示电子驾驶证、让您查看谁查验过您的驾驶证。",
        "Why: to sign you in, bind the licence and confirm it is you, issue and show the e-licence, and show you "
        "who checked it.",
    ),
    "privacy.summary_keep": (
        "保存期限：账号存续期间；查验与核验记录保存3年，人脸核验照片仅用于当次比对，不另行保存。",
        "How long: while you keep the account; check and verification logs 3 years; face-check frames are used "
        "for that comparison only and not kept.",
    ),
    "privacy.consent_label": ("我已阅读并同意", "I have read and accept the"),
    "privacy.notice_link": ("《个人信息保护告知》", "privacy notice"),
    # the full notice (/privacy)
    "privacy.title": ("个人信息保护告知", "Privacy notice"),
    "privacy.version": ("版本：{version}", "Version: {version}"),
    "privacy.intro": (
        "电子驾驶证由发证的公安机关交通管理部门提供。我们依照《个人信息保护法》处理您的个人信息，只收集提供服务所必需的信息。",
        "The e-licence is provided by the traffic administration that issued your licence. We handle your personal "
        "data under the Personal Information Protection Law and collect only what the service needs.",
    ),
    "privacy.h_collect": ("我们收集的信息", "What we collect"),
    "privacy.collect_mobile": (
        "手机号码：用于短信验证码登录，以及在驾驶证绑定或解绑时通知您。",
        "Mobile number: to sign you in with a text-message code and to tell you when a licence is bound or unbound.",
    ),
    "privacy.collect_binding": (
        "驾驶证绑定：您输入的证号和姓名与登记库比对，绑定后账号显示驾驶证信息并可申领电子驾驶证。",
        "Licence binding: the number and name you enter are matched against the registry; once bound, the account "
        "shows the licence and may apply for the e-licence.",
    ),
    "privacy.collect_face": (
        "人脸核验：绑定、申领和实人认证时拍摄的画面与登记照片比对，记录比对结果；画面本身不另行保存。",
        "Face checks: the frames taken when you bind, apply or confirm it is you are compared with the registry "
        "photo; the result is recorded, the frames themselves are not kept.",
    ),
    "privacy.collect_log": (
        "查验记录：核验方（如租车公司）查验您的电子驾驶证时，记录核验方名称、用途、时间和结果，您可在“谁查验了我的驾驶证”中查看。",
        "Verification log: when a relying party (a car-rental firm, say) checks your e-licence, its name, purpose, "
        'time and result are logged; you can see them under "who checked my licence".',
    ),
    "privacy.h_why": ("为什么需要", "Why"),
    "privacy.why": (
        "这些信息仅用于登录、确认您是驾驶证本人、签发和出示电子驾驶证、防止冒用，以及让您了解谁查验过您的驾驶证。我们不会将其用于其他目的。",
        "Only to sign you in, confirm you are the licence holder, issue and show the e-licence, prevent misuse, "
        "and let you see who checked your licence. We use it for nothing else.",
    ),
    "privacy.h_keep": ("保存多久", "How long we keep it"),
    "privacy.keep": (
        "账号信息在账号存续期间保存；查验记录和人脸核验结果保存3年后删除；短信验证码只保存其摘要，过期即失效。",
        "Account data while the account exists; verification logs and face-check results for 3 years, then deleted; "
        "sign-in codes are stored only as a keyed hash and lapse when they expire.",
    ),
    "privacy.h_rights": ("您的权利", "Your rights"),
    "privacy.rights": (
        "您可以随时在“我的”页面解除驾驶证绑定、退出登录、查看查验记录；如需更正或删除个人信息，请联系发证机关。",
        'You can unbind the licence, sign out and see the verification log on the "Me" page at any time; to '
        "correct or erase your data, contact the issuing authority.",
    ),
    "privacy.back_sign_in": ("返回登录", "Back to sign-in"),
    "privacy.back_me": ("返回“我的”", "Back to Me"),
    # the "我的" page
    "me.nav": ("我的", "Me"),
    "me.title": ("我的", "Me"),
    "me.mobile": ("手机号码", "Mobile number"),
    "me.licence": ("绑定的驾驶证", "Bound licence"),
    "me.not_bound": ("未绑定", "Not bound"),
    "me.bind_now": ("去绑定", "Bind a licence"),
    "me.checks": ("谁查验了我的驾驶证", "Who checked my licence"),
    "me.privacy": ("个人信息保护告知", "Privacy notice"),
    "me.consent_on_record": ("已于 {at} 同意（版本 {version}）", "Accepted {at} (version {version})"),
    "me.unbind": ("解除绑定", "Unbind the licence"),
    "me.sign_out": ("退出登录", "Sign out"),
    "me.account_label": ("账号", "Account"),
    "me.services_label": ("服务", "Services"),
    # unbind confirmation
    "me.unbind_title": ("确认解除绑定？", "Unbind this licence?"),
    "me.unbind_licence": ("驾驶证：{number}", "Licence: {number}"),
    "me.unbind_effects": (
        "解除后：此账号不再关联该驾驶证；电子驾驶证立即失效，已出示的二维码无法再通过核验；驾驶证登记的手机号会收到短信通知。如需再次使用，须重新绑定并申领。",
        "After unbinding: this account no longer holds the licence; the e-licence is void at once and codes already "
        "shown no longer verify; the mobile registered with the licence is texted. To use it again you must bind "
        "and apply again.",
    ),
    "me.unbind_confirm": ("确认解除绑定", "Yes, unbind"),
    "me.unbind_cancel": ("取消", "Cancel"),
}
