"""Vehicle classes (准驾车型) and their legal inclusions (公安部令第162号).

Inclusion follows the table as written: it is deliberately not closed transitively (A1 permits A3 but the
table, not a computed closure, decides what A1 permits).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from edl.domain.errors import UnknownVehicleClass


class VehicleClass(StrEnum):
    A1 = "A1"
    A2 = "A2"
    A3 = "A3"
    B1 = "B1"
    B2 = "B2"
    C1 = "C1"
    C2 = "C2"
    C3 = "C3"
    C4 = "C4"
    C5 = "C5"
    C6 = "C6"
    D = "D"
    E = "E"
    F = "F"
    M = "M"
    N = "N"
    P = "P"

    @classmethod
    def parse(cls, code: str) -> VehicleClass:
        try:
            return cls(code.strip().upper())
        except ValueError:
            raise UnknownVehicleClass(f"未知的准驾车型: {code!r} / unknown vehicle class {code!r}") from None

    @property
    def info(self) -> ClassInfo:
        return CLASS_TABLE[self]

    def permits(self, other: VehicleClass) -> bool:
        """May a holder of this class drive `other` (the class itself or one the table includes)?"""
        return other is self or other in CLASS_TABLE[self].also_permits


@dataclass(frozen=True, slots=True)
class ClassInfo:
    name_zh: str
    name_en: str
    also_permits: frozenset[VehicleClass]
    iso_category: str
    """Nearest ISO/IEC 18013-5 vehicle_category_code (assumed mapping, see docs/credential.md)."""


def _info(zh: str, en: str, permits: str, iso: str) -> ClassInfo:
    return ClassInfo(zh, en, frozenset(VehicleClass(c) for c in permits.split()), iso)


V = VehicleClass
CLASS_TABLE: dict[VehicleClass, ClassInfo] = {
    V.A1: _info("大型客车", "large bus", "A3 B1 B2 C1 C2 C3 C4 M", "D"),
    V.A2: _info("重型牵引挂车", "heavy tractor-trailer", "B1 B2 C1 C2 C3 C4 C6 M", "CE"),
    V.A3: _info("城市公交车", "city bus", "C1 C2 C3 C4", "D"),
    V.B1: _info("中型客车", "medium bus", "C1 C2 C3 C4 M", "D1"),
    V.B2: _info("大型货车", "large truck", "C1 C2 C3 C4 M", "C"),
    V.C1: _info("小型汽车", "small car", "C2 C3 C4", "B"),
    V.C2: _info("小型自动挡汽车", "small automatic car", "", "B"),
    V.C3: _info("低速载货汽车", "low-speed truck", "C4", "B"),
    V.C4: _info("三轮汽车", "three-wheeled car", "", "B"),
    V.C5: _info("残疾人专用小型自动挡载客汽车", "adapted automatic car", "", "B"),
    V.C6: _info("轻型牵引挂车", "light tractor-trailer", "", "BE"),
    V.D: _info("普通三轮摩托车", "three-wheeled motorcycle", "E F", "A"),
    V.E: _info("普通二轮摩托车", "two-wheeled motorcycle", "F", "A"),
    V.F: _info("轻便摩托车", "moped", "", "AM"),
    V.M: _info("轮式专用机械车", "wheeled special machinery", "", "T"),
    V.N: _info("无轨电车", "trolleybus", "", "D"),
    V.P: _info("有轨电车", "tram", "", "D"),
}


def parse_classes(text: str) -> tuple[VehicleClass, ...]:
    """Parse a class list as printed on a card ("A1A2", "C1E", "C1 D") or separated by commas/spaces."""
    cleaned = text.replace(",", " ").replace("/", " ").replace("，", " ").upper()
    out: list[VehicleClass] = []
    for token in cleaned.split():
        i = 0
        while i < len(token):
            two = token[i : i + 2]
            if len(two) == 2 and two in VehicleClass.__members__:
                out.append(VehicleClass(two))
                i += 2
            elif token[i] in VehicleClass.__members__:
                out.append(VehicleClass(token[i]))
                i += 1
            else:
                raise UnknownVehicleClass(f"未知的准驾车型: {token!r} / unknown vehicle class in {token!r}")
    if not out:
        raise UnknownVehicleClass("准驾车型不能为空 / at least one vehicle class is required")
    return normalise_classes(out)


_ORDER: tuple[VehicleClass, ...] = tuple(VehicleClass)
"""The table order, as a tuple: iterating an Enum class is slow, and imports call this per row."""


def normalise_classes(classes: Iterable[VehicleClass]) -> tuple[VehicleClass, ...]:
    """Deduplicate and order as the table does (A1 … P)."""
    held = set(classes)
    return tuple(c for c in _ORDER if c in held)


def format_classes(classes: Iterable[VehicleClass]) -> str:
    """As printed on the card: codes run together, e.g. "A2D"."""
    return "".join(c.value for c in normalise_classes(classes))


def may_drive(held: Iterable[VehicleClass], wanted: VehicleClass) -> bool:
    """May a licence holding `held` drive a vehicle of class `wanted`?"""
    return any(c.permits(wanted) for c in held)
