"""Registry events: one service function per kind of change, each recorded in the append-only event log.

Every function loads the licence under a row lock, lets the domain validate the new value, bumps the licence's
`version`, and appends a `RegistryEvent` in the same transaction. Later parts (e-licence voiding and refresh)
react to these events.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from edl.db.models import LicenceRow, RecordRow, RegistryEvent
from edl.domain import (
    IssuingAuthority,
    Licence,
    RecordEntry,
    RecordKind,
    Status,
    Validity,
    ValidityTerm,
    VehicleClass,
    format_classes,
)
from edl.domain.errors import DomainError
from edl.domain.events import EventKind
from edl.domain.licence import mask_mobile
from edl.domain.points import PointsCycle
from edl.domain.status import normalise_statuses
from edl.issuance.status import mark_changed
from edl.issuance.voiding import void_elicence
from edl.registry.formats import MAX_AUTHORITY_CITY, MAX_AUTHORITY_NAME
from edl.registry.mapping import licence_from_row, row_values


class LicenceNotFound(DomainError):
    """No licence with that number in the registry."""


class EventRefused(DomainError):
    """A value longer than the event log or the record can store (refused before anything is written)."""


MAX_ACTOR = 128
"""The length of `registry_events.actor`."""
MAX_DESCRIPTION = 256
"""The length of `records.description`."""


def _check_length(what: str, value: str, limit: int) -> None:
    if len(value) > limit:
        raise EventRefused(f"{what}: at most {limit} characters / 超过{limit}个字符")


@dataclass(frozen=True)
class AppliedEvent:
    id: int
    kind: EventKind
    licence: Licence
    version: int
    at: datetime
    voided_elicences: int = 0
    """E-licences this event voided (a new card: the holder must apply again)."""


def load_for_update(session: Session, number: str) -> LicenceRow:
    row = session.execute(
        select(LicenceRow).where(LicenceRow.number == number.strip().upper()).with_for_update()
    ).scalar_one_or_none()
    if row is None:
        raise LicenceNotFound(f"登记库中没有此驾驶证: {number} / no licence {number} in the registry")
    return row


def _apply(
    session: Session,
    number: str,
    kind: EventKind,
    change: Callable[[Licence], Licence],
    payload: dict[str, Any],
    *,
    actor: str,
    at: datetime,
    record: RecordEntry | None = None,
) -> AppliedEvent:
    _check_length("actor", actor, MAX_ACTOR)
    if record is not None:
        _check_length("description", record.description, MAX_DESCRIPTION)
    row = load_for_update(session, number)
    before = licence_from_row(row)
    after = change(before)
    for key, value in row_values(after, at=at).items():
        setattr(row, key, value)
    row.version += 1
    if record is not None:
        session.add(
            RecordRow(
                licence_number=row.number,
                on=record.on,
                kind=record.kind.value,
                description=record.description,
                points=record.points,
            )
        )
    event = RegistryEvent(
        licence_number=row.number, kind=kind.value, payload=payload, actor=actor, at=at, licence_version=row.version
    )
    session.add(event)
    voided = void_elicence(session, row.number, kind.value, at=at, actor=actor) if kind.voids_elicence else 0
    if not voided and (after.statuses != before.statuses or after.validity != before.validity):
        mark_changed(session, at=at)  # tell the status list (a void marks it itself)
    session.flush()
    return AppliedEvent(event.id, kind, after, row.version, at, voided)


def set_status(session: Session, number: str, status: Status, *, actor: str, at: datetime) -> AppliedEvent:
    """Add a status (e.g. 暂扣); 正常 is dropped while any other status holds."""

    def change(lic: Licence) -> Licence:
        return lic.replace(statuses=normalise_statuses({*lic.statuses, status}))

    rec = RecordEntry(at.date(), RecordKind.STATUS, f"状态设置：{status.info.name_zh}")
    return _apply(
        session, number, EventKind.STATUS_SET, change, {"status": status.value}, actor=actor, at=at, record=rec
    )


def clear_status(session: Session, number: str, status: Status, *, actor: str, at: datetime) -> AppliedEvent:
    """Remove a status; when none is left the licence is 正常 again."""

    def change(lic: Licence) -> Licence:
        return lic.replace(statuses=normalise_statuses(set(lic.statuses) - {status}))

    rec = RecordEntry(at.date(), RecordKind.STATUS, f"状态解除：{status.info.name_zh}")
    return _apply(
        session, number, EventKind.STATUS_CLEARED, change, {"status": status.value}, actor=actor, at=at, record=rec
    )


def change_classes(
    session: Session, number: str, classes: tuple[VehicleClass, ...], *, actor: str, at: datetime
) -> AppliedEvent:
    """增驾 / 降级: a new card with other classes (voids the e-licence)."""
    text = format_classes(classes)
    rec = RecordEntry(at.date(), RecordKind.CLASS_CHANGE, f"准驾车型变更为{text}")
    return _apply(
        session,
        number,
        EventKind.CLASSES_CHANGED,
        lambda lic: lic.replace(classes=classes),
        {"classes": text},
        actor=actor,
        at=at,
        record=rec,
    )


def renew(session: Session, number: str, term: ValidityTerm, start: date, *, actor: str, at: datetime) -> AppliedEvent:
    """换证: a new validity period (voids the e-licence). Clears 逾期未换证."""
    validity = Validity.of(term, start)

    def change(lic: Licence) -> Licence:
        return lic.replace(validity=validity, statuses=normalise_statuses(set(lic.statuses) - {Status.RENEWAL_OVERDUE}))

    rec = RecordEntry(at.date(), RecordKind.RENEWAL, f"换证，有效期{validity.label_zh()}")
    payload = {
        "term": term.value,
        "start": start.isoformat(),
        "end": validity.end.isoformat() if validity.end else None,
    }
    return _apply(session, number, EventKind.RENEWED, change, payload, actor=actor, at=at, record=rec)


def change_authority(
    session: Session, number: str, authority: IssuingAuthority, *, actor: str, at: datetime
) -> AppliedEvent:
    """转入: the record is now held by another issuing authority (voids the e-licence)."""
    _check_length("authority name", authority.name, MAX_AUTHORITY_NAME)
    _check_length("authority city", authority.city, MAX_AUTHORITY_CITY)
    rec = RecordEntry(at.date(), RecordKind.OTHER, f"发证机关变更为{authority.name}")
    payload = {"code": authority.code, "name": authority.name, "city": authority.city}
    return _apply(
        session,
        number,
        EventKind.AUTHORITY_CHANGED,
        lambda lic: lic.replace(authority=authority),
        payload,
        actor=actor,
        at=at,
        record=rec,
    )


def add_points(
    session: Session, number: str, points: int, on: date, description: str, *, actor: str, at: datetime
) -> AppliedEvent:
    """记分 for an offence on `on`; reaching 12 in the cycle adds 超分."""

    def change(lic: Licence) -> Licence:
        cycle = (lic.points or PointsCycle(on, 0)).add(points, on, lic.first_issue)
        statuses = set(lic.statuses) | ({Status.POINTS_LIMIT} if cycle.limit_reached else set())
        return lic.replace(points=cycle, statuses=normalise_statuses(statuses))

    rec = RecordEntry(on, RecordKind.OFFENCE, description, points)
    payload = {"points": points, "on": on.isoformat(), "description": description}
    return _apply(session, number, EventKind.POINTS_ADDED, change, payload, actor=actor, at=at, record=rec)


def change_address(session: Session, number: str, address: str, *, actor: str, at: datetime) -> AppliedEvent:
    """住址变更 (shown at once on the secondary page)."""

    def change(lic: Licence) -> Licence:
        return lic.replace(holder=dataclasses.replace(lic.holder, address=address.strip()))

    return _apply(session, number, EventKind.ADDRESS_CHANGED, change, {"address": address.strip()}, actor=actor, at=at)


def new_photo(
    session: Session, number: str, photo_ref: str, *, compliant: bool, actor: str, at: datetime
) -> AppliedEvent:
    """A new stored photo (存档照片), by its SHA-256 in the photo store."""
    return _apply(
        session,
        number,
        EventKind.PHOTO_CHANGED,
        lambda lic: lic.replace(photo_ref=photo_ref, photo_compliant=compliant),
        {"photo_ref": photo_ref, "compliant": compliant},
        actor=actor,
        at=at,
    )


_IMPORT_GROUPS: tuple[tuple[EventKind, frozenset[str]], ...] = (
    (EventKind.CLASSES_CHANGED, frozenset({"classes"})),
    (EventKind.RENEWED, frozenset({"validity_term", "valid_from", "valid_until"})),
    (EventKind.AUTHORITY_CHANGED, frozenset({"authority_code", "authority_name", "authority_city"})),
    (EventKind.ADDRESS_CHANGED, frozenset({"address"})),
    (EventKind.PHOTO_CHANGED, frozenset({"photo_ref", "photo_compliant"})),
)
"""How a re-import's changed `licences` columns map to the event kinds the services record."""


def import_changes(
    before: Mapping[str, object], after: Mapping[str, object], *, run_id: int
) -> list[tuple[EventKind, dict[str, Any]]]:
    """The registry events a re-import implies when a stored row (`before`) is replaced by `after` (both as
    `licences` column values): the same kinds the service functions record, so e-licences react to a changed
    record the same way whether it came from an event or a new file. Each payload holds the new values, the
    previous ones and the import run."""
    changed = {c for c in after if c != "number" and _plain(before.get(c), c) != _plain(after[c], c)}
    events: list[tuple[EventKind, dict[str, Any]]] = []

    def payload(columns: Iterable[str]) -> dict[str, Any]:
        cols = sorted(columns)
        return {
            **{c: _shown(after[c], c) for c in cols},
            "previous": {c: _shown(before.get(c), c) for c in cols},
            "import_run": run_id,
        }

    for kind, columns in _IMPORT_GROUPS:
        if changed & columns:
            events.append((kind, payload(changed & columns)))
    if "statuses" in changed:
        old, new = _status_codes(before.get("statuses")), _status_codes(after["statuses"])
        for code in sorted(new - old):
            events.append((EventKind.STATUS_SET, {"status": code, "import_run": run_id}))
        for code in sorted(old - new):
            events.append((EventKind.STATUS_CLEARED, {"status": code, "import_run": run_id}))
    rest = changed - {"statuses"} - {c for _, cols in _IMPORT_GROUPS for c in cols}
    if rest:
        events.append((EventKind.RECORD_CORRECTED, payload(rest)))
    return events


def _status_codes(value: object) -> set[str]:
    """The status letters of a stored `statuses` value, without 正常 (which only means "none of the others")."""
    return {c for c in str(value or "") if c != Status.NORMAL.value}


def _shown(value: object, column: str) -> object:
    """A changed value as an event payload keeps it: the registered mobile only masked (the log is browsed)."""
    if column == "mobile" and isinstance(value, str):
        return mask_mobile(value)
    return _plain(value, column)


def _plain(value: object, column: str) -> object:
    """A column value as JSON: dates as ISO text, SQLite's 0/1 flag as a boolean."""
    if isinstance(value, date):
        return value.isoformat()
    if column == "photo_compliant" and value is not None:
        return bool(value)
    return value


def events_for(session: Session, number: str, limit: int = 100) -> list[RegistryEvent]:
    """The newest events of one licence, newest first."""
    stmt = (
        select(RegistryEvent)
        .where(RegistryEvent.licence_number == number)
        .order_by(RegistryEvent.id.desc())
        .limit(limit)
    )
    return list(session.execute(stmt).scalars())
