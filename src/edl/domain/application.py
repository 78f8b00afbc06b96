"""The e-licence application (申领) as a state machine, and the standard reasons a reviewer may reject a photo.

Cases (brief §3): a compliant stored photo → issued at once after real-person authentication; a camera photo or an
album ID photo → checked automatically, then reviewed by staff within one working day. After issuance the holder may
change the photo at will (the same review; the old e-licence stays until the new one is issued).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from edl.domain.errors import DomainError


class PhotoSource(StrEnum):
    STORED = "stored_photo"  # 使用存档照片
    CAMERA = "camera"  # 拍摄照片
    ALBUM = "album"  # 从相册选择证件照

    @property
    def needs_review(self) -> bool:
        return self is not PhotoSource.STORED


class ApplicationState(StrEnum):
    PENDING_REVIEW = "pending_review"  # 待审核
    ISSUED = "issued"  # 已发放
    REJECTED = "rejected"  # 审核未通过
    CANCELLED = "cancelled"  # 已撤回

    @property
    def is_final(self) -> bool:
        return self is not ApplicationState.PENDING_REVIEW


TRANSITIONS: dict[ApplicationState, frozenset[ApplicationState]] = {
    ApplicationState.PENDING_REVIEW: frozenset(
        {ApplicationState.ISSUED, ApplicationState.REJECTED, ApplicationState.CANCELLED}
    ),
    ApplicationState.ISSUED: frozenset(),
    ApplicationState.REJECTED: frozenset(),
    ApplicationState.CANCELLED: frozenset(),
}


class InvalidTransition(DomainError):
    pass


def check_transition(current: ApplicationState, wanted: ApplicationState) -> None:
    """Refuse a move the state machine does not allow (e.g. deciding an application twice)."""
    if wanted not in TRANSITIONS[current]:
        raise InvalidTransition(
            f"申请状态为“{STATE_NAMES[current][0]}”，不能再改为“{STATE_NAMES[wanted][0]}” / "
            f"the application is {STATE_NAMES[current][1]} and cannot become {STATE_NAMES[wanted][1]}"
        )


STATE_NAMES: dict[ApplicationState, tuple[str, str]] = {
    ApplicationState.PENDING_REVIEW: ("审核中", "in review"),
    ApplicationState.ISSUED: ("已发放电子驾驶证", "e-licence issued"),
    ApplicationState.REJECTED: ("审核未通过", "rejected"),
    ApplicationState.CANCELLED: ("已撤回", "withdrawn"),
}


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


@dataclass(frozen=True, slots=True)
class RejectReason:
    code: str
    zh: str
    en: str


# Standard rejection reasons (brief §4: what a machine cannot judge is the reviewer's). One table to correct.
REJECT_REASONS: tuple[RejectReason, ...] = (
    RejectReason(
        "background",
        "背景不是白色或不够纯净，请在白色墙前重新拍摄。",
        "The background is not plain white: take the photo again in front of a white wall.",
    ),
    RejectReason(
        "face_covered",
        "面部或耳朵被头发、帽子、口罩、围巾或饰品遮挡。",
        "The face or ears are covered by hair, a hat, a mask, a scarf or jewellery.",
    ),
    RejectReason(
        "posture",
        "姿势或表情不端正：请坐正、双肩平齐、表情自然、双眼平视镜头。",
        "Posture or expression: sit straight, shoulders level, natural expression, eyes on the lens.",
    ),
    RejectReason("clothing", "请穿深色便服，不得穿制式服装。", "Wear dark everyday clothes, not a uniform."),
    RejectReason(
        "retouched",
        "照片经过美颜或过度修饰，请使用未修饰的照片。",
        "The photo is beautified or heavily retouched: use an unedited photo.",
    ),
    RejectReason("quality", "照片模糊、曝光不当或光线不均匀。", "The photo is blurred, badly exposed or unevenly lit."),
    RejectReason(
        "marks",
        "照片含有标记、文字或有违公序良俗的内容。",
        "The photo contains marks, text or content that offends public order or decency.",
    ),
    RejectReason("not_holder", "照片与持证人本人不符。", "The photo does not show the licence holder."),
    RejectReason("other", "其他原因，见审核说明。", "Another reason: see the reviewer's note."),
)
REJECT_REASONS_BY_CODE: dict[str, RejectReason] = {r.code: r for r in REJECT_REASONS}


def reject_reason(code: str) -> RejectReason:
    try:
        return REJECT_REASONS_BY_CODE[code]
    except KeyError:
        raise DomainError(f"未知的退回原因: {code!r} / unknown rejection reason {code!r}") from None
