"""Small factories for domain objects used across tests."""

from __future__ import annotations

from datetime import date
from typing import Any

from edl.domain import (
    AUTHORITIES_BY_CODE,
    Holder,
    Licence,
    PointsCycle,
    Status,
    Validity,
    ValidityTerm,
    VehicleClass,
    make_id_number,
)


def licence(
    *,
    sequence: int = 123,
    birth: date = date(1990, 5, 17),
    area: str = "120101",
    name: str = "张三",
    classes: tuple[VehicleClass, ...] = (VehicleClass.C1,),
    first_issue: date = date(2015, 3, 1),
    term: ValidityTerm = ValidityTerm.TEN_YEARS,
    valid_from: date = date(2021, 3, 1),
    statuses: frozenset[Status] = frozenset({Status.NORMAL}),
    points: int = 0,
    authority: str = "120000",
    file_number: str | None = None,
    **extra: Any,
) -> Licence:
    number = make_id_number(area, birth, sequence)
    sex = 1 if sequence % 2 else 2
    return Licence(
        number=number,
        file_number=file_number or f"{int(str(number)[6:14]) % 10**9:09d}{sequence:03d}",
        holder=Holder(name, sex, "CHN", birth, "天津市和平区南京路100号"),
        classes=classes,
        first_issue=first_issue,
        validity=Validity.of(term, valid_from),
        authority=AUTHORITIES_BY_CODE[authority],
        statuses=statuses,
        points=PointsCycle(date(2025, 3, 1), points) if points else None,
        **extra,
    )
