"""The driving licence record (机动车驾驶证) as the registry (信息系统) holds it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from edl.domain.authority import IssuingAuthority, Rollout
from edl.domain.classes import VehicleClass, may_drive, normalise_classes
from edl.domain.dates import add_years
from edl.domain.errors import InvalidLicence
from edl.domain.idcard import IdNumber
from edl.domain.points import PointsCycle
from edl.domain.status import STATUS_TABLE, Status, blocking, normalise_statuses

MIN_DRIVING_AGE = 18
"""No class may be first issued before this age (公安部令第162号 §13)."""


class ValidityTerm(StrEnum):
    """有效期: first licence 6 years, then 10 years, then long-term (长期)."""

    SIX_YEARS = "6"
    TEN_YEARS = "10"
    LONG_TERM = "long"

    @classmethod
    def parse(cls, text: str) -> ValidityTerm:
        t = text.strip().lower()
        aliases = {
            "6": cls.SIX_YEARS,
            "6y": cls.SIX_YEARS,
            "六年": cls.SIX_YEARS,
            "10": cls.TEN_YEARS,
            "10y": cls.TEN_YEARS,
            "十年": cls.TEN_YEARS,
            "long": cls.LONG_TERM,
            "长期": cls.LONG_TERM,
            "long-term": cls.LONG_TERM,
        }
        try:
            return aliases[t]
        except KeyError:
            raise InvalidLicence(f"有效期限应为6、10或长期: {text!r} / validity must be 6, 10 or long") from None


@dataclass(frozen=True, slots=True)
class Validity:
    """Validity period: from `start`, until `end` inclusive; `end` is None for 长期 (long-term)."""

    term: ValidityTerm
    start: date
    end: date | None

    def __post_init__(self) -> None:
        if self.term is ValidityTerm.LONG_TERM:
            if self.end is not None:
                raise InvalidLicence("长期有效的驾驶证不应有截止日期 / a long-term licence has no end date")
        elif self.end is None or self.end <= self.start:
            raise InvalidLicence("有效期截止日期必须晚于起始日期 / validity end must be after its start")

    @classmethod
    def of(cls, term: ValidityTerm, start: date) -> Validity:
        years = {ValidityTerm.SIX_YEARS: 6, ValidityTerm.TEN_YEARS: 10}.get(term)
        # The card reads e.g. 2020-05-01 to 2026-05-01; the last day it is valid is the end date.
        return cls(term, start, None if years is None else add_years(start, years))

    def is_expired(self, on: date) -> bool:
        return self.end is not None and on > self.end

    def label_zh(self) -> str:
        return f"{self.start:%Y-%m-%d} 至 {'长期' if self.end is None else f'{self.end:%Y-%m-%d}'}"


def is_mobile(text: str) -> bool:
    """An 11-digit mainland mobile number in normal form ('13800138000')."""
    return len(text) == 11 and text.isascii() and text.isdigit() and text[0] == "1" and text[1] in "3456789"


def mask_mobile(mobile: str) -> str:
    """The registered mobile as pages show it: the first three and last four digits, '138****8000'."""
    return mobile[:3] + "****" + mobile[-4:] if len(mobile) >= 8 else "*" * len(mobile)


@dataclass(frozen=True, slots=True)
class Holder:
    """The licence holder (持证人)."""

    name: str
    """汉字 name as on the card."""
    sex: int
    """ISO/IEC 5218: 1 male, 2 female."""
    nationality: str
    """ISO 3166-1 alpha-3, "CHN" for 中国."""
    birth_date: date
    address: str
    mobile: str | None = None
    """登记手机号, the registered mobile number (11 digits, normalised), or None when the registry holds none.
    Binding the licence to an app account needs a sign-in with this number."""

    def __post_init__(self) -> None:
        if self.mobile is not None and not is_mobile(self.mobile):
            raise InvalidLicence(f"登记手机号应为11位手机号码: {self.mobile!r} / mobile must be an 11-digit number")
        if not self.name.strip() or len(self.name) > 64:
            raise InvalidLicence("姓名不能为空且不超过64个字符 / name is required (at most 64 characters)")
        if self.sex not in (1, 2):
            raise InvalidLicence(f"性别代码应为1或2: {self.sex!r} / sex must be 1 (male) or 2 (female)")
        if len(self.nationality) != 3 or not self.nationality.isalpha() or not self.nationality.isupper():
            raise InvalidLicence(f"国籍应为三位字母代码: {self.nationality!r} / nationality must be ISO alpha-3")
        if not self.address.strip() or len(self.address) > 256:
            raise InvalidLicence("住址不能为空且不超过256个字符 / address is required (at most 256 characters)")


class RecordKind(StrEnum):
    OFFENCE = "offence"  # 违法记分
    RENEWAL = "renewal"  # 换证
    CLASS_CHANGE = "class_change"  # 增驾/降级
    STATUS = "status"  # 状态变更
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class RecordEntry:
    """One line of the driving record (驾驶记录) shown on the secondary page."""

    on: date
    kind: RecordKind
    description: str
    points: int = 0


@dataclass(frozen=True, slots=True)
class Eligibility:
    """Whether an e-licence may be issued, and if not, every reason in plain words."""

    reasons: tuple[tuple[str, str, str], ...]
    """(code, 中文, English) for each refusal reason."""

    @property
    def eligible(self) -> bool:
        return not self.reasons


@dataclass(frozen=True, slots=True)
class Licence:
    """A driving licence record. Immutable: events produce a new value (see `edl.registry.events`)."""

    number: IdNumber
    """证号 = the holder's ID number."""
    file_number: str
    """档案编号, 12 digits."""
    holder: Holder
    classes: tuple[VehicleClass, ...]
    first_issue: date
    """初次领证日期."""
    validity: Validity
    authority: IssuingAuthority
    statuses: frozenset[Status] = frozenset({Status.NORMAL})
    points: PointsCycle | None = None
    record: tuple[RecordEntry, ...] = ()
    photo_ref: str | None = None
    """SHA-256 of the stored photo in the photo store, or None."""
    photo_compliant: bool = False
    """Whether the stored photo meets the e-licence photo rules (case 1 of the application)."""
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if not self.classes:
            raise InvalidLicence("准驾车型不能为空 / at least one vehicle class is required")
        object.__setattr__(self, "classes", normalise_classes(self.classes))
        object.__setattr__(self, "statuses", normalise_statuses(self.statuses))
        if self.holder.birth_date != self.number.birth_date:
            raise InvalidLicence("出生日期与证号不一致 / birth date does not match the licence number")
        if self.first_issue < add_years(self.holder.birth_date, MIN_DRIVING_AGE):
            raise InvalidLicence(
                f"初次领证时未满{MIN_DRIVING_AGE}周岁 / the holder was under {MIN_DRIVING_AGE} at the first issue date"
            )
        if self.validity.start < self.first_issue:
            raise InvalidLicence("有效期起始早于初次领证日期 / validity starts before the first issue date")

    def may_drive(self, wanted: VehicleClass) -> bool:
        """准驾: may this licence drive class `wanted` (by its classes alone, ignoring status)?"""
        return may_drive(self.classes, wanted)

    def points_on(self, on: date) -> int:
        """Points (记分) in the cycle that contains `on`; a finished cycle counts as 0 (brief: assumed reset)."""
        if self.points is None:
            return 0
        return self.points.points_on(on, self.first_issue)

    def effective_statuses(self, on: date) -> frozenset[Status]:
        """Statuses as of `on`: the recorded ones, plus 逾期未换证 once the validity has ended."""
        held = set(self.statuses)
        if self.validity.is_expired(on):
            held.add(Status.RENEWAL_OVERDUE)
        return normalise_statuses(held)

    def eligibility(self, on: date, rollout: Rollout | None = None) -> Eligibility:
        """May an e-licence be issued on `on`? Every refusal reason is listed, in plain words."""
        reasons: list[tuple[str, str, str]] = []
        if self.validity.is_expired(on):
            reasons.append(
                (
                    "expired",
                    f"驾驶证已于{self.validity.end}过期，请先办理换证。",
                    f"The licence expired on {self.validity.end}. Renew it first.",
                )
            )
        for s in blocking(self.statuses):
            info = STATUS_TABLE[s]
            reasons.append(
                (
                    f"status_{s.value}",
                    f"驾驶证状态为{info.name_zh}：{info.reason_zh}",
                    f"Licence status is {info.name_en}: {info.reason_en}",
                )
            )
        if rollout is not None and not rollout.includes(self.authority):
            reasons.append(
                (
                    "not_in_rollout",
                    f"{self.authority.name}尚未开通电子驾驶证服务。",
                    f"E-licences are not yet available from {self.authority.name}.",
                )
            )
        return Eligibility(tuple(reasons))

    def replace(self, **changes: object) -> Licence:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]
