"""What an online verification answers a relying party: `OnlineResult`, its `Problem`s and warnings.

Every `Problem` online verification can answer besides the code's own (`edl.credentials.errors.ErrorCode`) is kept
here, so the API's documented codes (`edl.web.openapi_rp`) can be checked against one module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from edl.credentials.errors import ErrorCode, VerificationError
from edl.domain.credential_status import CredentialStatus
from edl.verification.purposes import Purpose

METHOD_CODE: Final = "code"
METHOD_BARCODE: Final = "barcode"
METHOD_OPENID4VP: Final = "openid4vp"
"""A device-signed mdoc presented to an OpenID4VP request (`edl.verification.presentations`)."""
CHANNELS: Final = frozenset({"api", "web"})
ELICENCE_NOT_FOUND: Final = "elicence_not_found"
OUTSIDE_SCOPE: Final = "outside_scope"

BARCODE_WARNING: Final = (
    "条码只含一个短时有效的号码，没有签名：结果仅来自登记库的实时查询，请核对照片与本人 / "
    "a barcode holds only a short-lived number and no signature: this result rests on the live registry alone; "
    "compare the photo with the person"
)
UNKNOWN_WARNING: Final = (
    "无法确认电子驾驶证状态：登记库中没有此电子驾驶证，只能依据码内信息 / "
    "the e-licence's status could not be confirmed: the registry does not know this e-licence, so only what the "
    "code itself says is shown"
)


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason a verification is not valid: a stable code and a message ('中文 / English' or the verifier's)."""

    code: str
    message: str

    def to_json_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}

    @classmethod
    def of(cls, error: VerificationError) -> Problem:
        return cls(error.code.value, error.message)


NOT_FOUND: Final = Problem(ELICENCE_NOT_FOUND, "登记库中没有此电子驾驶证 / the registry has no such e-licence")
DEVICE_NOT_CURRENT: Final = Problem(
    "device_key_not_current",
    "出示的电子驾驶证绑定的设备密钥不是该证当前绑定的密钥（已在其他设备领取或已重新签发） / "
    "the presented mdoc is bound to a device key that is not its e-licence's current one (taken to another "
    "device, or the e-licence was issued again)",
)
OUTSIDE: Final = Problem(
    OUTSIDE_SCOPE,
    "此驾驶证的发证机关不在本核验方的管辖范围内，不提供信息 / "
    "the licence's issuing authority is outside this relying party's scope: nothing about it is shown",
)
STATUS_PROBLEMS: Final[dict[CredentialStatus, Problem]] = {
    CredentialStatus.SUSPENDED: Problem(
        ErrorCode.STATUS_SUSPENDED.value,
        "驾驶证当前处于暂扣等不能使用的状态 / the licence is currently suspended or otherwise not usable",
    ),
    CredentialStatus.REVOKED: Problem(
        ErrorCode.STATUS_REVOKED.value,
        "电子驾驶证已作废或驾驶证已被吊销、撤销、注销 / the e-licence was voided or the licence revoked",
    ),
    CredentialStatus.UNKNOWN: Problem(
        ErrorCode.STATUS_UNKNOWN.value, "无法确认电子驾驶证状态 / the e-licence's status could not be confirmed"
    ),
}
"""Why a verified e-licence is not valid, by its credential status."""


@dataclass(frozen=True)
class OnlineResult:
    """The answer to one online verification, already cut down to what the party's purpose allows."""

    valid: bool
    status: CredentialStatus
    purpose: Purpose
    method: str
    fields: Mapping[str, Any]
    registry_status: Mapping[str, Any] | None
    errors: tuple[Problem, ...]
    warnings: tuple[str, ...]
    checked_at: datetime
    verification_id: int | None
    elicence_id: str | None = field(default=None, repr=False)
    licence_number: str | None = field(default=None, repr=False)
    code_expires_at: datetime | None = None

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "status": self.status.value,
            "registry_status": dict(self.registry_status) if self.registry_status is not None else None,
            "purpose": self.purpose.value,
            "method": self.method,
            "fields": dict(self.fields),
            "errors": [e.to_json_dict() for e in self.errors],
            "warnings": list(self.warnings),
            "checked_at": _iso(self.checked_at),
            "code_expires_at": _iso(self.code_expires_at) if self.code_expires_at else None,
            "verification_id": self.verification_id,
        }


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat() + "Z"


__all__ = [
    "BARCODE_WARNING",
    "CHANNELS",
    "ELICENCE_NOT_FOUND",
    "METHOD_BARCODE",
    "METHOD_CODE",
    "METHOD_OPENID4VP",
    "NOT_FOUND",
    "OUTSIDE",
    "OUTSIDE_SCOPE",
    "STATUS_PROBLEMS",
    "UNKNOWN_WARNING",
    "OnlineResult",
    "Problem",
]
