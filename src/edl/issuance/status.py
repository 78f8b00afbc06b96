"""The published status list and trust bundle: index allocation, change marks, (re)building and caching.

* `allocate_index` gives every issuance a fresh index (a `StatusSlotRow`; never reused), so a re-issued
  e-licence never shares a list entry with the one it replaced.
* `mark_changed` is called in the transaction of every change that can alter an e-licence's status
  (registry event, import, void, issuance). It makes ``status_lists.changed_at`` strictly greater than both
  its previous value and the last ``built_at``, so "changed since the last build" is a plain comparison
  and an exact version check, whatever the callers' clocks say. It locks the one ``status_lists`` row until
  the caller commits: take it last in a transaction (after the licence row), as every caller does.
* `current_token` serves the newest stored token, and rebuilds it when something changed since it was
  built, when it is older than the ttl or close to its ``exp``. Rebuilds are serialized by a lock per
  process and, on PostgreSQL, by a transaction advisory lock across processes; the build reads without
  blocking writers and is stored only if ``changed_at`` is still what it was when the build began
  (otherwise it is handed out once and the next request builds again). Only e-licences that are not
  valid are read (the rest are 0 in a zeroed array), so a million e-licences build quickly.
* `current_trust_bundle` signs the trust bundle (root, DS certificates, status-list location) with a
  version that increases whenever that content changes.
"""

from __future__ import annotations

import hashlib
import json
import threading
import weakref
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from edl.bootstrap import Container
from edl.config import Settings
from edl.credentials.statuslist import build_status_list_token
from edl.credentials.trustbundle import MAX_AGE, build_trust_bundle
from edl.db.models import ElicenceRow, LicenceRow, StatusListRow, StatusSlotRow
from edl.domain.credential_status import credential_status, list_value
from edl.domain.dates import china_date
from edl.domain.status import Status, parse_statuses
from edl.pki.files import PUBLIC_FILE_MODE, write_atomic

STATUS_LIST_PATH = "/status-lists/1"
TRUST_PATH = "/.well-known/edl/trust"
LIST_ID = 1
BITS = 2
_EPSILON = timedelta(microseconds=1)
_ADVISORY_KEY = 0x6564_6C5F_736C_0001  # "edl_sl" + list 1: the PostgreSQL advisory lock of list rebuilds
_TRUST_CACHE_SECONDS = 3600


def status_list_uri(settings: Settings) -> str:
    """Where the status list is published (the token's ``sub``)."""
    return settings.base_url + STATUS_LIST_PATH


def _utc(at: datetime) -> datetime:
    """A UTC datetime (SQLite stores the wall time without its zone: always store UTC)."""
    if at.tzinfo is None:
        raise ValueError("a timezone-aware datetime is required")
    return at.astimezone(UTC)


def _aware(value: datetime | None) -> datetime | None:
    """A stored time back as aware UTC (SQLite gives it back naive)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _utc_stored(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def next_changed_at(at: datetime, changed_at: datetime | None, built_at: datetime | None) -> datetime:
    """The new ``changed_at``: `at`, but strictly after the previous mark and the last build."""
    candidates = [_utc(at)]
    for stamp in (_aware(changed_at), _aware(built_at)):
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


def _ensure_row(session: Session, at: datetime) -> None:
    exists = session.scalar(sa.select(StatusListRow.id).where(StatusListRow.id == LIST_ID))
    if exists is not None:
        return
    dialect = session.get_bind().dialect.name
    values = {"id": LIST_ID, "changed_at": _utc(at)}
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        session.execute(pg_insert(StatusListRow).values(**values).on_conflict_do_nothing(index_elements=["id"]))
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        session.execute(sqlite_insert(StatusListRow).values(**values).on_conflict_do_nothing(index_elements=["id"]))
    else:  # pragma: no cover - only PostgreSQL and SQLite are supported
        session.execute(sa.insert(StatusListRow).values(**values))


def mark_changed(session: Session, *, at: datetime) -> None:
    """Record, in the caller's transaction, that some e-licence's status may have changed (creates the row)."""
    _ensure_row(session, at)
    changed_at, built_at = session.execute(
        sa.select(StatusListRow.changed_at, StatusListRow.built_at).where(StatusListRow.id == LIST_ID).with_for_update()
    ).one()
    session.execute(
        sa.update(StatusListRow)
        .where(StatusListRow.id == LIST_ID)
        .values(changed_at=next_changed_at(at, changed_at, built_at))
    )


# --- the token --------------------------------------------------------------------------------------------------


@dataclass
class _ListCache:
    lock: threading.Lock
    built_at: datetime | None = None
    token: bytes | None = None


_caches: weakref.WeakKeyDictionary[Engine, _ListCache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def _cache_of(engine: Engine) -> _ListCache:
    with _caches_lock:
        cache = _caches.get(engine)
        if cache is None:
            cache = _caches[engine] = _ListCache(threading.Lock())
        return cache


@dataclass(frozen=True)
class _State:
    built_at: datetime | None
    expires_at: datetime | None
    changed_at: datetime
    changed_raw: datetime
    """`changed_at` exactly as read (the value the conditional store compares)."""


def _state(session: Session) -> _State | None:
    row = session.execute(
        sa.select(StatusListRow.built_at, StatusListRow.expires_at, StatusListRow.changed_at).where(
            StatusListRow.id == LIST_ID
        )
    ).one_or_none()
    if row is None:
        return None
    built_at, expires_at, changed_at = row
    return _State(_aware(built_at), _aware(expires_at), _utc_stored(changed_at), changed_at)


def _fresh(state: _State | None, now: datetime, settings: Settings) -> bool:
    if state is None or state.built_at is None or state.expires_at is None:
        return False
    if state.changed_at > state.built_at:
        return False
    ttl = timedelta(seconds=settings.status_list_ttl_seconds)
    if now - state.built_at >= ttl:
        return False
    return state.expires_at - now > 2 * ttl


def current_token(container: Container, *, at: datetime | None = None) -> bytes:
    """The current Status List Token: the stored one, or a fresh build when it is out of date (see module)."""
    now = _utc(at or container.clock())
    settings = container.settings
    cache = _cache_of(container.engine)
    with container.sessions() as session:
        state = _state(session)
        if state is not None and _fresh(state, now, settings):
            if cache.token is not None and cache.built_at == state.built_at:
                return cache.token
            token = session.scalar(sa.select(StatusListRow.token).where(StatusListRow.id == LIST_ID))
            if token is not None:
                cache.built_at, cache.token = state.built_at, bytes(token)
                return cache.token
    with cache.lock:
        return _rebuild(container, now, cache)


def _rebuild(container: Container, now: datetime, cache: _ListCache) -> bytes:
    settings = container.settings
    with container.sessions() as session, session.begin():
        if session.get_bind().dialect.name == "postgresql":  # one builder at a time across processes
            session.execute(sa.select(sa.func.pg_advisory_xact_lock(_ADVISORY_KEY)))
        _ensure_row(session, now)
        state = _state(session)
        if state is None:  # pragma: no cover - `_ensure_row` just made it
            raise RuntimeError("the status list row is missing")
        if _fresh(state, now, settings):  # another thread or process built it meanwhile
            token = session.scalar(sa.select(StatusListRow.token).where(StatusListRow.id == LIST_ID))
            if token is not None:
                cache.built_at, cache.token = state.built_at, bytes(token)
                return cache.token
        # Read after the change mark: every change up to `state.changed_at` is committed and seen below.
        lst = build_list(session, today=china_date(now))
        signer = container.authority.service_signer("status-list", now)
        expires = now + timedelta(hours=settings.status_list_validity_hours)
        token = build_status_list_token(
            lst,
            bits=BITS,
            uri=status_list_uri(settings),
            signer=signer,
            iat=now,
            exp=expires,
            ttl=settings.status_list_ttl_seconds,
        )
        built_at = max(now, state.changed_at)
        result = session.execute(
            sa.update(StatusListRow)
            .where(StatusListRow.id == LIST_ID, StatusListRow.changed_at == state.changed_raw)
            .values(token=token, built_at=built_at, expires_at=expires)
        )
        stored = getattr(result, "rowcount", 0)
    if stored:
        cache.built_at, cache.token = built_at, token
    return token


def build_list(session: Session, *, today: date) -> bytearray:
    """The Status List byte array (2 bits per index) from the registry as it is now.

    Sized to cover the highest index allocated; only e-licences that are not plainly valid are read.
    """
    highest = session.scalar(sa.select(sa.func.max(StatusSlotRow.id))) or 0
    highest = max(highest, session.scalar(sa.select(sa.func.max(ElicenceRow.status_index))) or 0)
    lst = bytearray(((highest + 1) * BITS + 7) // 8)
    stmt = (
        sa.select(
            ElicenceRow.status_index, ElicenceRow.voided_at.is_not(None), LicenceRow.statuses, LicenceRow.valid_until
        )
        .join(LicenceRow, LicenceRow.number == ElicenceRow.licence_number)
        .where(
            ElicenceRow.status_index.is_not(None),
            sa.or_(
                ElicenceRow.voided_at.is_not(None),
                LicenceRow.statuses != Status.NORMAL.value,
                sa.and_(LicenceRow.valid_until.is_not(None), LicenceRow.valid_until < today),
            ),
        )
    )
    memo: dict[tuple[str, bool, bool], int] = {}
    result = session.execute(stmt.execution_options(yield_per=10_000, stream_results=True))
    for index, voided, statuses, valid_until in result:
        expired = valid_until is not None and valid_until < today
        key = (statuses, bool(voided), expired)
        value = memo.get(key)
        if value is None:
            status = credential_status(
                parse_statuses(statuses),
                licence_valid_until=valid_until,
                today=today,
                voided=bool(voided),
            )
            value = memo[key] = int(list_value(status))
        if value and index is not None:
            position = index * BITS
            byte = position >> 3
            if byte >= len(lst):
                lst.extend(bytes(byte - len(lst) + 1))
            lst[byte] = (lst[byte] & ~(3 << (position & 7)) & 0xFF) | (value << (position & 7))
    return lst


# --- the trust bundle -----------------------------------------------------------------------------------------


@dataclass
class _BundleCache:
    lock: threading.Lock
    key: tuple[int, str] | None = None
    built: datetime | None = None
    data: bytes | None = None


_bundles: dict[str, _BundleCache] = {}


def _bundle_cache(path: str) -> _BundleCache:
    with _caches_lock:
        cache = _bundles.get(path)
        if cache is None:
            cache = _bundles[path] = _BundleCache(threading.Lock())
        return cache


def trust_bundle_version(container: Container) -> tuple[int, str]:
    """(version, content digest) of the trust bundle: the stored version while the root, the DS set and the
    status-list location stay the same; one more (and at least the number of DS certificates) when they change.
    Kept in ``pki/trust-bundle.json`` beside the authority's records."""
    authority = container.authority
    from cryptography.hazmat.primitives import serialization

    digest = hashlib.sha256()
    digest.update(authority.root_certificate().public_bytes(serialization.Encoding.DER))
    signers = authority.signers()
    for record in signers:
        digest.update(hashlib.sha256(record.certificate.public_bytes(serialization.Encoding.DER)).digest())
    digest.update(status_list_uri(container.settings).encode("utf-8"))
    content = digest.hexdigest()
    path = authority.records_dir / "trust-bundle.json"
    try:
        stored: dict[str, Any] = json.loads(path.read_text("utf-8"))
        version, known = int(stored["version"]), str(stored["digest"])
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        version, known = 0, ""
    if known == content and version >= 1:
        return version, content
    version = max(version + 1, len(signers), 1)
    data = json.dumps({"version": version, "digest": content}, indent=2).encode("utf-8")
    write_atomic(path, data, mode=PUBLIC_FILE_MODE)
    return version, content


def current_trust_bundle(container: Container, *, at: datetime | None = None) -> bytes:
    """The signed trust bundle; re-signed when its content changed or it is an hour old."""
    now = _utc(at or container.clock())
    authority = container.authority
    cache = _bundle_cache(str(authority.records_dir))
    with cache.lock:
        key = trust_bundle_version(container)
        fresh = cache.built is not None and timedelta(0) <= now - cache.built < timedelta(seconds=_TRUST_CACHE_SECONDS)
        if cache.data is not None and cache.key == key and fresh:
            return cache.data
        data = build_trust_bundle(
            version=key[0],
            root=authority.root_certificate(),
            signers=[r.certificate for r in authority.signers()],
            status_list_uri=status_list_uri(container.settings),
            signer=authority.service_signer("trust-list", now),
            iat=now,
            max_age=min(container.settings.trust_bundle_max_age_seconds, MAX_AGE),
        )
        cache.key, cache.built, cache.data = key, now, data
        return data
