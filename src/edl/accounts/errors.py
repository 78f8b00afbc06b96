"""Why a sign-in or a staff-account change was refused: one class per reason, each message '中文 / English'.

The web layer shows the message in the page's language (`edl.web.errors.localise`) with the status code of
`status_code`; the CLI prints it on one line and exits 2.
"""

from __future__ import annotations

from edl.domain import DomainError


class AccountError(DomainError):
    """Base of every refusal in `edl.accounts`."""

    status_code = 400


class InvalidMobile(AccountError):
    """Not a mainland China mobile number (11 digits starting 13–19)."""

    def __init__(self) -> None:
        super().__init__(
            "手机号码格式有误：请输入11位中国大陆手机号码，如 13800138000 / "
            "not a mainland China mobile number: enter its 11 digits, e.g. 13800138000"
        )


class MalformedCode(AccountError):
    """What was typed is not six digits (it cannot be a code we sent; no attempt is counted)."""

    def __init__(self) -> None:
        super().__init__("验证码应为6位数字，请重新输入 / the code is 6 digits: type it again")


class RateLimited(AccountError):
    """Too many codes asked for: try again after `retry_after` seconds."""

    status_code = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)


class CodeTooSoon(RateLimited):
    """A code was sent to this number moments ago."""

    def __init__(self, retry_after: int) -> None:
        n = max(1, retry_after)
        super().__init__(
            f"验证码已发送，请 {n} 秒后再重新获取 / a code was just sent: wait {n} seconds before asking again", n
        )


class TooManyCodesForMobile(RateLimited):
    def __init__(self, retry_after: int) -> None:
        minutes = max(1, -(-retry_after // 60))
        super().__init__(
            f"此号码获取验证码次数过多，请 {minutes} 分钟后再试 / "
            f"too many codes for this number: try again in {minutes} minutes",
            retry_after,
        )


class TooManyCodesForClient(RateLimited):
    def __init__(self, retry_after: int) -> None:
        minutes = max(1, -(-retry_after // 60))
        super().__init__(
            f"此网络获取验证码次数过多，请 {minutes} 分钟后再试 / "
            f"too many codes asked for from this network: try again in {minutes} minutes",
            retry_after,
        )


class CodeRefused(AccountError):
    """A code that does not sign in; `reason` goes to the audit log (never the code itself)."""

    reason = "refused"


class WrongCode(CodeRefused):
    reason = "wrong_code"

    def __init__(self, tries_left: int) -> None:
        super().__init__(f"验证码错误，还可再试 {tries_left} 次 / wrong code: {tries_left} more tries for this code")
        self.tries_left = tries_left


class NoLiveCode(CodeRefused):
    """No code is waiting for this number: never sent, expired, already used, or tried too often."""

    reason = "no_live_code"

    def __init__(self) -> None:
        super().__init__("验证码已失效或不存在，请重新获取验证码 / this code is no longer valid: ask for a new code")


class CodeExpired(NoLiveCode):
    reason = "expired"

    def __init__(self) -> None:
        AccountError.__init__(self, "验证码已过期，请重新获取验证码 / the code has expired: ask for a new code")


class CodeExhausted(NoLiveCode):
    reason = "too_many_tries"

    def __init__(self) -> None:
        AccountError.__init__(
            self, "验证码错误次数过多，已失效，请重新获取验证码 / too many wrong tries: ask for a new code"
        )


class ConsentRequired(AccountError):
    """The first sign-in would create an account, and the privacy notice was not accepted (nothing is created)."""

    reason = "consent_required"

    def __init__(self) -> None:
        super().__init__(
            "首次登录将注册账号，请先阅读并勾选同意《个人信息保护告知》 / "
            "your first sign-in creates an account: read and accept the privacy notice first"
        )


class StaffSignInFailed(AccountError):
    """Wrong username or password (deliberately not saying which), or a disabled account."""

    status_code = 401

    def __init__(self) -> None:
        super().__init__("用户名或密码错误 / wrong username or password")


class StaffSignInThrottled(RateLimited):
    """Too many failed staff sign-ins from this address, or for this username (whether or not it exists).

    One message for every throttle, so the answer says nothing about which usernames are real.
    """

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, -(-retry_after // 60))
        super().__init__(
            f"登录尝试次数过多，请 {minutes} 分钟后再试 / too many sign-in attempts: try again in {minutes} minutes",
            retry_after,
        )


class InvalidStaffInput(AccountError):
    """A username, name, role, authority code or password that cannot be used; the message says which."""


class StaffUserExists(AccountError):
    status_code = 409

    def __init__(self, username: str) -> None:
        super().__init__(f"用户名 {username} 已存在 / a staff user {username} already exists")


class OutsideScope(AccountError):
    """A scoped admin tried to manage an account or a relying party beyond its own authorities (管辖范围)."""

    status_code = 403


class LastNationalAdmin(AccountError):
    """Disabling this admin would leave no active all-authority admin (nobody could manage national staff)."""

    def __init__(self, username: str) -> None:
        super().__init__(
            f"{username} 是最后一个在用的全国范围管理员，不能停用 / "
            f"{username} is the last active all-authority admin and cannot be disabled"
        )


class UnknownStaffUser(AccountError):
    status_code = 404

    def __init__(self, username: str) -> None:
        super().__init__(f"没有用户名为 {username} 的工作人员 / no staff user {username}")
