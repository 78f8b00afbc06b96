"""The published status list: index allocation, change marks, (re)building and caching.

* `allocate_index` gives every issuance a fresh index (a `StatusSlotRow`; never reused), so a re-issued
  e-licence never shares a list entry with the one it replaced.
* `mark_changed` is called in the transaction of every change that can alter an e-licence's status
  (registry event, import, void, issuance). It makes ``status_lists.changed_at`` strictly greater than both
  its previous value and the last ``built_at``, so "changed since the last build" is a plain comparison
  and an exact version check, whatever the callers' clocks say. It locks the one ``status_lists`` row until
  the caller commits: take it last in a transaction (after the licence row), as every caller does.
* `StatusListPublisher.current_token` serves the newest stored token, and rebuilds it when something changed
  since it was built, when it is older than the ttl or close to its ``exp``. Rebuilds are serialized by a lock per
  process and, on PostgreSQL, by a transaction advisory lock across processes; the build reads without
  blocking writers and is stored only if ``changed_at`` is still what it was when the build began
  (otherwise it is handed out once and the next request builds again). Only e-licences that are not
  valid are read (the rest are 0 in a zeroed array), so a million e-licences build quickly.
* Sanctions (issue 16): an e-licence whose ``suspended_until`` is ahead of the build's moment is written as
  SUSPENDED. Confirming and lifting call `mark_changed`; a sanction that ends by time needs no writer: a stored list
  is stale once any ``suspended_until`` lies between its ``built_at`` and now (`_State.next_end`, one index probe),
  so the next request after the end rebuilds it. Nothing has to run at the moment a sanction ends.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.orm import Session, sessionmaker

from edl.config import Settings
from edl.credentials.statuslist import build_status_list_token
from edl.db.models import ElicenceRow, LicenceRow, StatusListRow, StatusSlotRow
from edl.domain.credential_status import credential_status, list_value
from edl.domain.dates import china_date
from edl.domain.sanction import suspends
from edl.domain.status import Status, parse_statuses
from edl.pki import Authority

STATUS_LIST_PATH = "/status-lists/1"
LIST_ID = 1
BITS = 2
_EPSILON = timedelta(microseconds=1)
_ADVISORY_KEY = 0x6564_6C5F_736C_0001  # "edl_sl" + list 1: the PostgreSQL advisory lock of list rebuilds


def status_list_uri(settings: Settings) -> str:
    """Where the status list is published (the token's ``sub``)."""
    return settings.base_url + STATUS_LIST_PATH


def _utc(at: datetime) -> datetime:
    """A caller's moment as UTC (a naive datetime has no known instant)."""
    if at.tzinfo is None:
        raise ValueError("a timezone-aware datetime is required")
    return at.astimezone(UTC)


def next_changed_at(at: datetime, changed_at: datetime | None, built_at: datetime | None) -> datetime:
    """The new ``changed_at``: `at`, but strictly after the previous mark and the last build."""
    candidates = [_utc(at)]
    for stamp in (changed_at, built_at):
        if stamp is not None:
            candidates.append(stamp + _EPSILON)
    return max(candidates)


# --- writes, in the caller's transaction ----------------------------------------------------------------------


def allocate_index(session: Session, elicence_id: str, *, at: datetime) -> int:
    """Take a fresh status-list index for `elicence_id` (the new `StatusSlotRow`'s id)."""
    slot = StatusSlotRow(elicence_id=elicence_id, allocated_at=_utc(at))
    session.add(slot)
    session.flush()
    return int(slot.id)


def _ensure_row(db: Session | Connection, at: datetime) -> None:
    exists = db.scalar(sa.select(StatusListRow.id).where(StatusListRow.id == LIST_ID))
    if exists is not None:
        return
    dialect = (db.get_bind() if isinstance(db, Session) else db).dialect.name
    values = {"id": LIST_ID, "changed_at": _utc(at)}
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        db.execute(pg_insert(StatusListRow).values(**values).on_conflict_do_nothing(index_elements=["id"]))
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        db.execute(sqlite_insert(StatusListRow).values(**values).on_conflict_do_nothing(index_elements=["id"]))
    else:  # pragma: no cover - only PostgreSQL and SQLite are supported
        db.execute(sa.insert(StatusListRow).values(**values))


def mark_changed(db: Session | Connection, *, at: datetime) -> None:
    """Record, in the caller's transaction, that some e-licence's status may have changed (creates the row).

    `db` is the caller's session, or the connection of a bulk writer (the registry import's batch)."""
    _ensure_row(db, at)
    changed_at, built_at = db.execute(
        sa.select(StatusListRow.changed_at, StatusListRow.built_at).where(StatusListRow.id == LIST_ID).with_for_update()
    ).one()
    db.execute(
        sa.update(StatusListRow)
        .where(StatusListRow.id == LIST_ID)
        .values(changed_at=next_changed_at(at, changed_at, built_at))
    )


# --- the token --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _State:
    built_at: datetime | None
    expires_at: datetime | None
    changed_at: datetime
    next_end: datetime | None = None
    """The first e-licence suspension (sanction) ending after `built_at`: the list is stale once it has passed."""


def _state(session: Session) -> _State | None:
    row = session.execute(
        sa.select(StatusListRow.built_at, StatusListRow.expires_at, StatusListRow.changed_at).where(
            StatusListRow.id == LIST_ID
        )
    ).one_or_none()
    if row is None:
        return None
    built_at, expires_at, changed_at = row
    next_end = None
    if built_at is not None:
        next_end = session.scalar(
            sa.select(sa.func.min(ElicenceRow.suspended_until)).where(ElicenceRow.suspended_until > built_at)
        )
    return _State(built_at, expires_at, changed_at, next_end)


def _fresh(state: _State | None, now: datetime, settings: Settings) -> bool:
    if state is None or state.built_at is None or state.expires_at is None:
        return False
    if state.changed_at > state.built_at:
        return False
    if state.next_end is not None and state.next_end <= now:  # a sanction ended since the build
        return False
    ttl = timedelta(seconds=settings.status_list_ttl_seconds)
    if now - state.built_at >= ttl:
        return False
    return state.expires_at - now > 2 * ttl


class StatusListPublisher:
    """Serves the current Status List Token of one database, signed by the authority's status-list signer.

    It owns this process's copy of the newest token (and the lock that serializes rebuilds here); build one per
    process and keep it (the composition root does)."""

    def __init__(self, sessions: sessionmaker[Session], authority: Authority, settings: Settings) -> None:
        self._sessions = sessions
        self._authority = authority
        self._settings = settings
        self._lock = threading.Lock()
        self._built_at: datetime | None = None
        self._token: bytes | None = None

    @property
    def uri(self) -> str:
        return status_list_uri(self._settings)

    def current_token(self, *, at: datetime) -> bytes:
        """The current token: the stored one, or a fresh build when it is out of date (see the module)."""
        now = _utc(at)
        with self._sessions() as session:
            state = _state(session)
            if state is not None and _fresh(state, now, self._settings):
                if self._token is not None and self._built_at == state.built_at:
                    return self._token
                token = session.scalar(sa.select(StatusListRow.token).where(StatusListRow.id == LIST_ID))
                if token is not None:
                    self._built_at, self._token = state.built_at, bytes(token)
                    return self._token
        with self._lock:
            return self._rebuild(now)

    def _rebuild(self, now: datetime) -> bytes:
        settings = self._settings
        with self._sessions() as session, session.begin():
            if session.get_bind().dialect.name == "postgresql":  # one builder at a time across processes
                session.execute(sa.select(sa.func.pg_advisory_xact_lock(_ADVISORY_KEY)))
            _ensure_row(session, now)
            state = _state(session)
            if state is None:  # pragma: no cover - `_ensure_row` just made it
                raise RuntimeError("the status list row is missing")
            if _fresh(state, now, settings):  # another thread or process built it meanwhile
                token = session.scalar(sa.select(StatusListRow.token).where(StatusListRow.id == LIST_ID))
                if token is not None:
                    self._built_at, self._token = state.built_at, bytes(token)
                    return self._token
            # Read after the change mark: every change up to `state.changed_at` is committed and seen below.
            lst = build_list(session, today=china_date(now), at=now)
            signer = self._authority.service_signer("status-list", now)
            expires = now + timedelta(hours=settings.status_list_validity_hours)
            token = build_status_list_token(
                lst,
                bits=BITS,
                uri=self.uri,
                signer=signer,
                iat=now,
                exp=expires,
                ttl=settings.status_list_ttl_seconds,
            )
            built_at = max(now, state.changed_at)
            result = session.execute(
                sa.update(StatusListRow)
                .where(StatusListRow.id == LIST_ID, StatusListRow.changed_at == state.changed_at)
                .values(token=token, built_at=built_at, expires_at=expires)
            )
            stored = getattr(result, "rowcount", 0)
        if stored:
            self._built_at, self._token = built_at, token
        return token


def build_list(session: Session, *, today: date, at: datetime) -> bytearray:
    """The Status List byte array (2 bits per index) from the registry as it is at `at` (`today`: its China date).

    Sized to cover the highest index allocated; only e-licences that are not plainly valid are read.
    """
    at = _utc(at)
    highest = session.scalar(sa.select(sa.func.max(StatusSlotRow.id))) or 0
    highest = max(highest, session.scalar(sa.select(sa.func.max(ElicenceRow.status_index))) or 0)
    lst = bytearray(((highest + 1) * BITS + 7) // 8)
    stmt = (
        sa.select(
            ElicenceRow.status_index,
            ElicenceRow.voided_at.is_not(None),
            LicenceRow.statuses,
            LicenceRow.valid_until,
            ElicenceRow.suspended_until,
        )
        .join(LicenceRow, LicenceRow.number == ElicenceRow.licence_number)
        .where(
            ElicenceRow.status_index.is_not(None),
            sa.or_(
                ElicenceRow.voided_at.is_not(None),
                LicenceRow.statuses != Status.NORMAL.value,
                sa.and_(LicenceRow.valid_until.is_not(None), LicenceRow.valid_until < today),
                ElicenceRow.suspended_until > at,
            ),
        )
    )
    memo: dict[tuple[str, bool, bool, bool], int] = {}
    result = session.execute(stmt.execution_options(yield_per=10_000, stream_results=True))
    for index, voided, statuses, valid_until, suspended_until in result:
        expired = valid_until is not None and valid_until < today
        sanctioned = suspends(suspended_until, at)
        key = (statuses, bool(voided), expired, sanctioned)
        value = memo.get(key)
        if value is None:
            status = credential_status(
                parse_statuses(statuses),
                licence_valid_until=valid_until,
                today=today,
                voided=bool(voided),
                elicence_suspended=sanctioned,
            )
            value = memo[key] = int(list_value(status))
        if value and index is not None:
            position = index * BITS
            byte = position >> 3
            if byte >= len(lst):
                lst.extend(bytes(byte - len(lst) + 1))
            lst[byte] = (lst[byte] & ~(3 << (position & 7)) & 0xFF) | (value << (position & 7))
    return lst
