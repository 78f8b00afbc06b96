"""Issuing authorities (发证机关) and the e-licence rollout (试点城市)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from edl.domain.errors import InvalidLicence

_CODE_RE = re.compile(r"^[0-9]{6}$")


@dataclass(frozen=True, slots=True)
class IssuingAuthority:
    """A traffic-management authority: 6-digit administrative area code (GB/T 2260), name, city."""

    code: str
    name: str
    city: str

    def __post_init__(self) -> None:
        if not _CODE_RE.match(self.code):
            raise InvalidLicence(f"发证机关代码应为6位数字: {self.code!r} / authority code must be 6 digits")
        if not self.name.strip():
            raise InvalidLicence("发证机关名称不能为空 / issuing authority name is required")


def _a(code: str, city: str, name: str | None = None) -> IssuingAuthority:
    return IssuingAuthority(code, name or f"{city}市公安局交通警察支队", city)


# Pilot cities of the rollout (brief §1). Names of authorities marked in the brief are as given; others follow
# the common "…市公安局交通警察支队" pattern (assumed). Keep this the one table to correct.
PILOT_AUTHORITIES: tuple[IssuingAuthority, ...] = (
    _a("110000", "北京", "北京市公安局公安交通管理局"),
    _a("120000", "天津", "天津市公安交通管理局"),
    _a("210100", "沈阳"),
    _a("210200", "大连"),
    _a("310000", "上海", "上海市公安局交通警察总队"),
    _a("320200", "无锡"),
    _a("320500", "苏州"),
    _a("320900", "盐城"),
    _a("321200", "泰州"),
    _a("330200", "宁波"),
    _a("330400", "嘉兴"),
    _a("360100", "南昌"),
    _a("370100", "济南"),
    _a("370200", "青岛"),
    _a("430100", "长沙"),
    _a("440100", "广州"),
    _a("440300", "深圳"),
    _a("450100", "南宁"),
    _a("500000", "重庆", "重庆市公安局交通巡逻警察总队"),
    _a("510100", "成都", "成都市公安局交通管理局"),
    _a("510300", "自贡"),
    _a("510700", "绵阳"),
    _a("511300", "南充"),
    _a("520100", "贵阳"),
    _a("530100", "昆明"),
    _a("610100", "西安"),
    _a("640100", "银川"),
)
AUTHORITIES_BY_CODE: dict[str, IssuingAuthority] = {a.code: a for a in PILOT_AUTHORITIES}


@dataclass(frozen=True, slots=True)
class Rollout:
    """Which issuing authorities' drivers may apply for an e-licence: all, or a listed set of codes."""

    codes: frozenset[str] | None = None

    @classmethod
    def everywhere(cls) -> Rollout:
        return cls(None)

    @classmethod
    def only(cls, codes: Iterable[str]) -> Rollout:
        return cls(frozenset(codes))

    def includes(self, authority: IssuingAuthority) -> bool:
        return self.codes is None or authority.code in self.codes
