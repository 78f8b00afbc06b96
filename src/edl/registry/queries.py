"""Read-side registry queries: search licences, and one licence with its driving record and recent events.

Used by the web pages and by other read-only callers. Every function takes a `Session`, so callers choose the
engine: the primary, or a read replica (`EDL_DATABASE_REPLICA_URL`) for heavy read traffic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from edl.db.models import LicenceRow, RecordRow, RegistryEvent
from edl.db.scope import authority_in_scope
from edl.domain import DomainError, IdNumber, Licence
from edl.domain.scope import AuthorityScope
from edl.registry.mapping import licence_from_row

PAGE_SIZE = 50
MAX_PAGE = 10_000
"""Deeper offsets are slow and never useful to a person: narrow the search instead."""
MAX_QUERY_LENGTH = 64
COUNT_CAP = 10_000
"""Counting stops here: an exact total over millions of rows costs a full scan for a number nobody reads."""
RECENT_EVENTS = 20


class InvalidSearch(DomainError):
    """A search that cannot be run as asked (bad page number, text too long)."""


class LicenceNotFound(LookupError):
    """No licence with this number is in the registry."""

    def __init__(self, number: str) -> None:
        super().__init__(f"登记库中没有证号为 {number} 的驾驶证 / no licence with number {number} in the registry")
        self.number = number


@dataclass(frozen=True, slots=True)
class LicencePage:
    """One page of search results. `total` is exact unless `total_capped` (then it is a lower bound)."""

    items: tuple[Licence, ...]
    query: str
    page: int
    per_page: int
    total: int
    total_capped: bool
    has_next: bool

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def pages(self) -> int | None:
        """Number of pages, or None when the total is only a lower bound."""
        if self.total_capped:
            return None
        return max(1, -(-self.total // self.per_page))


@dataclass(frozen=True, slots=True)
class EventSummary:
    """One registry event as a reader sees it: what changed (field names), when, by whom."""

    id: int
    kind: str
    at: datetime
    actor: str
    licence_version: int
    fields: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LicenceDetail:
    """A licence with its driving record, the row's version and its most recent registry events (newest first)."""

    licence: Licence
    version: int
    updated_at: datetime
    events: tuple[EventSummary, ...]


def normalise_query(text: str | None) -> str:
    """Trim the search text; refuse text longer than any number or name could be."""
    q = " ".join((text or "").split())
    if len(q) > MAX_QUERY_LENGTH:
        raise InvalidSearch(
            f"搜索内容过长（最多{MAX_QUERY_LENGTH}个字符） / "
            f"search text is too long (at most {MAX_QUERY_LENGTH} characters)"
        )
    return q


def _matches(q: str) -> sa.ColumnElement[bool]:
    """Licence-number prefix (case-insensitive X) or name prefix (an exact name is its own prefix)."""
    return sa.or_(
        LicenceRow.number.startswith(q.upper(), autoescape=True),
        LicenceRow.name.startswith(q, autoescape=True),
    )


def in_scope(scope: AuthorityScope) -> sa.ColumnElement[bool]:
    """Licences whose issuing authority is inside `scope` (every licence for a national scope)."""
    return authority_in_scope(LicenceRow.authority_code, scope)


def search_licences(
    session: Session,
    query: str | None = "",
    *,
    scope: AuthorityScope,
    page: int = 1,
    per_page: int = PAGE_SIZE,
) -> LicencePage:
    """Licences inside `scope` whose number starts with `query` or whose name starts with it, ordered by number.

    An empty query lists every licence in scope. Raises InvalidSearch for a page outside 1..MAX_PAGE or overlong text.
    """
    q = normalise_query(query)
    if not (1 <= page <= MAX_PAGE):
        raise InvalidSearch(f"页码应为1到{MAX_PAGE}之间的整数 / page must be a whole number from 1 to {MAX_PAGE}")
    where = sa.and_(_matches(q) if q else sa.true(), in_scope(scope))
    rows = session.scalars(
        sa.select(LicenceRow).where(where).order_by(LicenceRow.number).offset((page - 1) * per_page).limit(per_page + 1)
    ).all()
    limited = sa.select(sa.literal(1)).select_from(LicenceRow).where(where).limit(COUNT_CAP + 1).subquery()
    total = session.scalar(sa.select(sa.func.count()).select_from(limited)) or 0
    return LicencePage(
        items=tuple(licence_from_row(r) for r in rows[:per_page]),
        query=q,
        page=page,
        per_page=per_page,
        total=min(total, COUNT_CAP),
        total_capped=total > COUNT_CAP,
        has_next=len(rows) > per_page,
    )


def parse_licence_number(text: str) -> IdNumber:
    """Validate a licence number from a URL or form (raises InvalidIdNumber with the reason)."""
    return IdNumber.parse(text)


def get_licence_detail(
    session: Session, number: IdNumber | str, *, scope: AuthorityScope, events: int = RECENT_EVENTS
) -> LicenceDetail:
    """The licence `number` with its full driving record and its `events` most recent registry events.

    Raises InvalidIdNumber for a malformed number and LicenceNotFound when the registry has no such licence or its
    authority is outside `scope` (the two look the same: a scoped reader learns nothing of other areas' drivers).
    """
    key = str(number if isinstance(number, IdNumber) else parse_licence_number(number))
    row = session.get(LicenceRow, key)
    if row is None or not scope.covers(row.authority_code):
        raise LicenceNotFound(key)
    record = session.scalars(
        sa.select(RecordRow).where(RecordRow.licence_number == key).order_by(RecordRow.on, RecordRow.id)
    ).all()
    event_rows = session.scalars(
        sa.select(RegistryEvent)
        .where(RegistryEvent.licence_number == key)
        .order_by(RegistryEvent.id.desc())
        .limit(events)
    ).all()
    return LicenceDetail(
        licence=licence_from_row(row, record),
        version=row.version,
        updated_at=row.updated_at,
        events=tuple(_event_summary(e) for e in event_rows),
    )


def get_photo_ref(session: Session, number: IdNumber | str, *, scope: AuthorityScope) -> str | None:
    """The stored photo's reference for licence `number`, or None if it has none (LicenceNotFound if unknown or
    outside `scope`)."""
    key = str(number if isinstance(number, IdNumber) else parse_licence_number(number))
    found = session.execute(sa.select(LicenceRow.photo_ref).where(LicenceRow.number == key, in_scope(scope))).first()
    if found is None:
        raise LicenceNotFound(key)
    return found[0]


def _event_summary(e: RegistryEvent) -> EventSummary:
    fields = tuple(sorted(str(k) for k in e.payload)) if isinstance(e.payload, Mapping) else ()
    return EventSummary(e.id, e.kind, e.at, e.actor, e.licence_version, fields)
