"""Conversion between registry rows and the domain `Licence` (the domain never sees the ORM)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from edl.db.models import LicenceRow, RecordRow
from edl.domain import (
    Holder,
    IdNumber,
    IssuingAuthority,
    Licence,
    PointsCycle,
    RecordEntry,
    RecordKind,
    Validity,
    ValidityTerm,
    format_classes,
    format_statuses,
    parse_classes,
    parse_statuses,
)


def licence_from_row(row: LicenceRow, record: Sequence[RecordRow] = ()) -> Licence:
    points = PointsCycle(row.points_cycle_start, row.points) if row.points_cycle_start is not None else None
    return Licence(
        number=IdNumber(row.number),
        file_number=row.file_number,
        holder=Holder(row.name, row.sex, row.nationality, row.birth_date, row.address, row.mobile),
        classes=parse_classes(row.classes),
        first_issue=row.first_issue,
        validity=Validity(ValidityTerm(row.validity_term), row.valid_from, row.valid_until),
        authority=IssuingAuthority(row.authority_code, row.authority_name, row.authority_city),
        statuses=parse_statuses(row.statuses),
        points=points,
        record=tuple(
            RecordEntry(r.on, RecordKind(r.kind), r.description, r.points)
            for r in sorted(record, key=lambda r: (r.on, r.id or 0))
        ),
        photo_ref=row.photo_ref,
        photo_compliant=row.photo_compliant,
    )


def row_values(lic: Licence, *, at: datetime | None = None) -> dict[str, Any]:
    """Column values of `licences` for `lic` (without `version`, which the writer manages)."""
    return {
        "number": str(lic.number),
        "file_number": lic.file_number,
        "name": lic.holder.name,
        "sex": lic.holder.sex,
        "nationality": lic.holder.nationality,
        "birth_date": lic.holder.birth_date,
        "address": lic.holder.address,
        "classes": format_classes(lic.classes),
        "first_issue": lic.first_issue,
        "validity_term": lic.validity.term.value,
        "valid_from": lic.validity.start,
        "valid_until": lic.validity.end,
        "authority_code": lic.authority.code,
        "authority_name": lic.authority.name,
        "authority_city": lic.authority.city,
        "statuses": format_statuses(lic.statuses),
        "points": lic.points.total if lic.points else 0,
        "points_cycle_start": lic.points.start if lic.points else None,
        "photo_ref": lic.photo_ref,
        "photo_compliant": lic.photo_compliant,
        "mobile": lic.holder.mobile,
        "updated_at": at or datetime.now(UTC),
    }
