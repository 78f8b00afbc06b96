"""The registry read of online verification: one identified e-licence and its licence, judged live and cut down to
what the relying party's purpose and scope let it see.

`judge` runs on a connection the caller opened (`edl.verification.online`): one select by e-licence id (a verified
code's ``eid``) or by status-list index (a current barcode's serial), plus the driving record when the purpose sees
it (in the same select on PostgreSQL). The status is `edl.domain.credential_status.credential_status` of the
registry's statuses, the licence's validity and the e-licence's void. Portraits come through `Portraits`, a small
LRU of Base64 images by content reference (immutable, so never stale).
"""

from __future__ import annotations

import base64
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.engine import Connection

from edl.credentials.livecode import CodeClaims
from edl.db.models import ElicenceRow, LicenceRow, RecordRow
from edl.domain.classes import parse_classes
from edl.domain.credential_status import CredentialStatus, credential_status
from edl.domain.dates import china_date
from edl.domain.points import PointsCycle
from edl.domain.sanction import suspends
from edl.domain.status import Status, format_statuses, normalise_statuses, parse_statuses
from edl.storage.photos import PhotoNotFound, PhotoStore
from edl.verification.purposes import RULES, Field, UnknownPolicy
from edl.verification.result import (
    BARCODE_WARNING,
    METHOD_BARCODE,
    NOT_FOUND,
    OUTSIDE,
    STATUS_PROBLEMS,
    UNKNOWN_WARNING,
    Problem,
)

if TYPE_CHECKING:
    from edl.verification.parties import Party

PORTRAIT_CACHE_SIZE: Final = 512
_SEX = {1: ("男", "male"), 2: ("女", "female")}


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the registry (or, before it, the code or barcode check) says: validity, status, problems, fields."""

    valid: bool
    status: CredentialStatus
    errors: tuple[Problem, ...]
    warnings: tuple[str, ...]
    fields: dict[str, Any]
    registry_status: dict[str, Any] | None
    elicence_id: str | None
    licence_number: str | None


class Portraits:
    """Portrait bytes of a `PhotoStore` as (media type, Base64), by content reference (immutable), least recently
    used dropped first."""

    def __init__(self, store: PhotoStore, size: int = PORTRAIT_CACHE_SIZE) -> None:
        self._store = store
        self._size = size
        self._items: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, ref: str) -> tuple[str, str] | None:
        with self._lock:
            hit = self._items.get(ref)
            if hit is not None:
                self._items.move_to_end(ref)
                return hit
        try:
            data = self._store.get(ref)
        except PhotoNotFound:
            return None
        value = (_media_type(data), base64.b64encode(data).decode("ascii"))
        with self._lock:
            self._items[ref] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return value


def _media_type(data: bytes) -> str:
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


# --- the statements (built once) -----------------------------------------------------------------------------------

_SELECT = select(
    ElicenceRow.id,
    ElicenceRow.licence_number,
    ElicenceRow.voided_at,
    ElicenceRow.void_reason,
    ElicenceRow.photo_ref.label("elicence_photo_ref"),
    ElicenceRow.suspended_until,  # issue 16 (sanction): the e-licence answers as suspended while it is ahead
    LicenceRow.name,
    LicenceRow.sex,
    LicenceRow.nationality,
    LicenceRow.birth_date,
    LicenceRow.address,
    LicenceRow.file_number,
    LicenceRow.classes,
    LicenceRow.first_issue,
    LicenceRow.valid_from,
    LicenceRow.valid_until,
    LicenceRow.authority_code,
    LicenceRow.authority_name,
    LicenceRow.authority_city,
    LicenceRow.statuses,
    LicenceRow.points,
    LicenceRow.points_cycle_start,
    LicenceRow.photo_ref,
).join(LicenceRow, LicenceRow.number == ElicenceRow.licence_number)
_LOOKUP = _SELECT.where(ElicenceRow.id == bindparam("key"))
"""By e-licence id (a verified code's ``eid``)."""
_LOOKUP_BY_INDEX = _SELECT.where(ElicenceRow.status_index == bindparam("key"))
"""By status-list index (a current barcode number's serial; a unique index)."""
_RECORD = (
    select(RecordRow.on, RecordRow.kind, RecordRow.description, RecordRow.points)
    .where(RecordRow.licence_number == bindparam("number"))
    .order_by(RecordRow.on, RecordRow.id)
)
_RECORD_AGG_PG = (
    select(
        func.json_agg(
            aggregate_order_by(
                func.json_build_array(RecordRow.on, RecordRow.kind, RecordRow.description, RecordRow.points),
                RecordRow.on,
                RecordRow.id,
            )
        )
    )
    .where(RecordRow.licence_number == LicenceRow.number)
    .correlate(LicenceRow)
    .scalar_subquery()
)
_LOOKUP_PG_RECORD = _LOOKUP.add_columns(_RECORD_AGG_PG.label("driving_record"))
"""PostgreSQL, for purposes that see the driving record: it comes in the same select (one round trip), as a JSON
array of ``[on, kind, description, points]`` in date order (NULL when there are none)."""
_LOOKUP_BY_INDEX_PG_RECORD = _LOOKUP_BY_INDEX.add_columns(_RECORD_AGG_PG.label("driving_record"))


def _lookup_statement(conn: Connection, party: Party, *, by_index: bool) -> Any:
    if conn.dialect.name == "postgresql" and Field.DRIVING_RECORD in party.fields:
        return _LOOKUP_BY_INDEX_PG_RECORD if by_index else _LOOKUP_PG_RECORD
    return _LOOKUP_BY_INDEX if by_index else _LOOKUP


# --- the judgement -------------------------------------------------------------------------------------------------


def judge(
    conn: Connection,
    party: Party,
    portraits: Portraits,
    *,
    elicence_id: str | None,
    serial: int | None,
    claims: CodeClaims | None,
    method: str,
    at: datetime,
) -> Verdict:
    """Status and fields of an identified e-licence (code verified: by id; current barcode: by status-list index)."""
    by_index = serial is not None
    statement = _lookup_statement(conn, party, by_index=by_index)
    row = conn.execute(statement, {"key": serial if by_index else elicence_id}).first()
    records = None if conn.dialect.name == "postgresql" else partial(_records_of, conn)
    return judge_row(
        row, party, portraits, elicence_id=elicence_id, claims=claims, method=method, at=at, records=records
    )


def judge_row(
    row: Any,
    party: Party,
    portraits: Portraits,
    *,
    elicence_id: str | None,
    claims: CodeClaims | None,
    method: str,
    at: datetime,
    records: Callable[[str], list[dict[str, Any]]] | None = None,
) -> Verdict:
    """The judgement of `judge` on a row already read (None: not found), for the asyncpg path
    (`edl.verification.online_pg`) as for the SQLAlchemy one: the row has the columns of `lookup_columns`, as
    attributes. `records` reads the driving record of a licence number (SQLite); None means the row carries it as
    ``driving_record`` (the PostgreSQL statements)."""
    warnings: tuple[str, ...] = (BARCODE_WARNING,) if method == METHOD_BARCODE else ()
    if row is None:
        if claims is None:  # a barcode: nothing was verified at all
            return Verdict(False, CredentialStatus.UNKNOWN, (NOT_FOUND,), warnings, {}, None, elicence_id, None)
        rule = RULES[party.purpose]
        if rule.unknown is UnknownPolicy.WARN:
            fields = _claims_fields(claims, party.fields)
            return Verdict(True, CredentialStatus.UNKNOWN, (), (UNKNOWN_WARNING,), fields, None, elicence_id, None)
        refused = (NOT_FOUND, STATUS_PROBLEMS[CredentialStatus.UNKNOWN])
        return Verdict(False, CredentialStatus.UNKNOWN, refused, (), {}, None, elicence_id, None)
    if not party.scope.covers(row.authority_code):
        return Verdict(False, CredentialStatus.UNKNOWN, (OUTSIDE,), warnings, {}, None, row.id, row.licence_number)
    today = china_date(at)
    statuses = normalise_statuses(parse_statuses(row.statuses))
    if row.valid_until is not None and row.valid_until < today:
        statuses = normalise_statuses({*statuses, Status.RENEWAL_OVERDUE})
    status = credential_status(
        statuses,
        licence_valid_until=row.valid_until,
        today=today,
        voided=row.voided_at is not None,
        elicence_suspended=(sanctioned := suspends(row.suspended_until, at)),  # issue 16: on the e-licence only
    )
    errors: tuple[Problem, ...] = () if status is CredentialStatus.VALID else (STATUS_PROBLEMS[status],)
    return Verdict(
        status is CredentialStatus.VALID,
        status,
        errors,
        warnings,
        _fields(records, row, portraits, party.fields, status, today),
        _registry_status(row, statuses, status, sanctioned=sanctioned),
        row.id,
        row.licence_number,
    )


def _fields(
    records: Callable[[str], list[dict[str, Any]]] | None,
    row: Any,
    portraits: Portraits,
    allowed: tuple[Field, ...],
    status: CredentialStatus,
    today: date,
) -> dict[str, Any]:
    """The allowed fields of the registry row (and the driving record / photo only when allowed)."""
    out: dict[str, Any] = {}
    for f in allowed:
        if f is Field.NAME:
            out[f.value] = row.name
        elif f is Field.PHOTO:
            ref = row.elicence_photo_ref or row.photo_ref
            photo = portraits.get(ref) if ref else None
            out[f.value] = {"media_type": photo[0], "data": photo[1]} if photo else None
        elif f is Field.SEX:
            zh, en = _SEX.get(row.sex, (str(row.sex), str(row.sex)))
            out[f.value] = {"code": row.sex, "zh": zh, "en": en}
        elif f is Field.NATIONALITY:
            out[f.value] = row.nationality
        elif f is Field.BIRTH_DATE:
            out[f.value] = row.birth_date.isoformat()
        elif f is Field.ADDRESS:
            out[f.value] = row.address
        elif f is Field.LICENCE_NUMBER:
            out[f.value] = row.licence_number
        elif f is Field.FILE_NUMBER:
            out[f.value] = row.file_number
        elif f is Field.CLASSES:
            out[f.value] = [c.value for c in parse_classes(row.classes)]
        elif f is Field.FIRST_ISSUE:
            out[f.value] = row.first_issue.isoformat()
        elif f is Field.VALID_FROM:
            out[f.value] = row.valid_from.isoformat()
        elif f is Field.VALID_UNTIL:
            out[f.value] = row.valid_until.isoformat() if row.valid_until else None
        elif f is Field.ISSUING_AUTHORITY:
            out[f.value] = {"code": row.authority_code, "name": row.authority_name, "city": row.authority_city}
        elif f is Field.STATUS:
            out[f.value] = status.value
        elif f is Field.POINTS:
            cycle = PointsCycle(row.points_cycle_start, row.points) if row.points_cycle_start else None
            out[f.value] = cycle.points_on(today, row.first_issue) if cycle else 0
        elif f is Field.DRIVING_RECORD:
            out[f.value] = _driving_record(records, row)
    return out


def _claims_fields(claims: CodeClaims, allowed: tuple[Field, ...]) -> dict[str, Any]:
    """What the code itself says, for a code whose e-licence the registry does not know (warn policy)."""
    out: dict[str, Any] = {}
    if Field.CLASSES in allowed:
        out[Field.CLASSES.value] = list(claims.classes)
    if Field.VALID_UNTIL in allowed:
        out[Field.VALID_UNTIL.value] = claims.licence_valid_until.isoformat() if claims.licence_valid_until else None
    if Field.STATUS in allowed:
        out[Field.STATUS.value] = CredentialStatus.UNKNOWN.value
    return out


def _status_names(statuses: frozenset[Status]) -> list[dict[str, str]]:
    held = format_statuses(statuses)
    return [{"code": s.value, "zh": s.info.name_zh, "en": s.info.name_en} for s in Status if s.value in held]


def _registry_status(
    row: Any, statuses: frozenset[Status], status: CredentialStatus, *, sanctioned: bool = False
) -> dict[str, Any]:
    names = _status_names(statuses)
    voided = row.voided_at is not None
    zh = "、".join(n["zh"] for n in names)
    en = ", ".join(n["en"] for n in names)
    if voided:
        zh, en = f"电子驾驶证已作废（{zh}）", f"e-licence voided ({en})"
    elif sanctioned:  # issue 16: the e-licence is stopped; the licence's own statuses stay as they are
        zh, en = f"电子驾驶证已停止使用（驾驶证：{zh}）", f"e-licence stopped (licence: {en})"
    return {
        "codes": format_statuses(statuses),
        "statuses": names,
        "zh": zh,
        "en": en,
        "licence_valid_until": row.valid_until.isoformat() if row.valid_until else None,
        "elicence_voided": voided,
        "void_reason": row.void_reason if voided else None,
        "credential_status": status.value,
    }


def _driving_record(records: Callable[[str], list[dict[str, Any]]] | None, row: Any) -> list[dict[str, Any]]:
    """The driving record of the row's licence: from the lookup itself (PostgreSQL) or one more select."""
    if records is None:
        return [{"on": on, "kind": k, "description": d, "points": p} for on, k, d, p in row.driving_record or ()]
    return records(row.licence_number)


def _records_of(conn: Connection, number: str) -> list[dict[str, Any]]:
    return [
        {"on": r.on.isoformat(), "kind": r.kind, "description": r.description, "points": r.points}
        for r in conn.execute(_RECORD, {"number": number})
    ]


def lookup_statements(party: Party) -> tuple[Any, Any]:
    """(by e-licence id, by status-list index) on PostgreSQL for `party`'s purpose: the same statements `judge`
    runs, for the asyncpg path to compile once (one source for the columns read)."""
    if Field.DRIVING_RECORD in party.fields:
        return _LOOKUP_PG_RECORD, _LOOKUP_BY_INDEX_PG_RECORD
    return _LOOKUP, _LOOKUP_BY_INDEX


__all__ = ["PORTRAIT_CACHE_SIZE", "Portraits", "Verdict", "judge", "judge_row", "lookup_statements"]
