"""Relying parties (核验方: law-enforcement terminals, insurers, car-rental desks, employers) and their API keys.

A key is ``edl_rp_`` + 32 random bytes (URL-safe Base64), shown once when the party is registered. Only its SHA-256
(hex) is stored, with a public prefix (the first characters, shown in lists so an admin can tell keys apart). A key
is checked by hashing it and looking the hash up (unique index): no comparison of secret bytes happens in Python, and
the hash of a 256-bit random key cannot be inverted, so timing reveals nothing useful.

`PartyKeys.authenticate` keeps what it found for `AUTH_CACHE_SECONDS` in this process (keyed by the key's hash), so
a busy verifier costs one hash and no query per request. A revocation therefore takes effect at once in the process
that made it (`revoke_party` tells its `PartyKeys`) and within `AUTH_CACHE_SECONDS` in every other app server. Unknown
keys are never cached (no memory to fill by guessing).

The purpose fixes what a party may see (`edl.verification.purposes`); a party's own field list can only narrow it,
except for the insurer, whose fields are configured per party. Its authority scope (`edl.domain.scope`) fixes whose
licences: online verification answers for a licence outside it without any personal field (`outside_scope`). An
admin registers and revokes only parties within its own scope (`edl.accounts.admin_scope`); the operator (CLI) is
national.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from edl import audit
from edl.accounts.admin_scope import check_may_grant, check_may_manage, manager_of
from edl.audit import Action, ActorKind
from edl.db.models import RelyingPartyRow
from edl.domain import DomainError
from edl.domain.scope import AuthorityScope
from edl.verification.purposes import (
    RULES,
    Field,
    InvalidPurpose,
    Purpose,
    allowed_fields,
    check_configured_fields,
)

KEY_PREFIX: Final = "edl_rp_"
KEY_RANDOM_BYTES: Final = 32
KEY_LENGTH: Final = len(KEY_PREFIX) + 43  # token_urlsafe(32) is 43 characters
PUBLIC_PREFIX_LENGTH: Final = len(KEY_PREFIX) + 8
"""How much of the key lists show: ``edl_rp_`` and 8 random characters (48 bits: tells keys apart, opens none)."""
AUTH_CACHE_SECONDS: Final = 5.0
"""How long an app server trusts a key it has looked up: a revocation reaches other servers within this."""
AUTH_CACHE_MAX: Final = 4096
MAX_NAME: Final = 128
MAX_RATE: Final = 10_000_000
_KEY_RE = re.compile(r"^edl_rp_[A-Za-z0-9_-]{43}$")
_PARTY_ID_RE = re.compile(r"^[0-9a-f]{32}$")


class PartyRefused(DomainError):
    """A registration or revocation that cannot be done; the message says why ('中文 / English')."""

    status_code = 400


@dataclass(frozen=True)
class Party:
    """An active relying party as the API sees it. `fields` are those it may see (purpose and its own list)."""

    id: str
    name: str
    purpose: Purpose
    fields: tuple[Field, ...]
    rate_per_minute: int
    """Requests per minute for its key; 0 means the deployment default (EDL_RATE_LIMIT_PER_MINUTE)."""
    scope: AuthorityScope
    """Whose licences it may see: outside it, an answer carries no personal field (error `outside_scope`)."""

    def limit(self, default: int) -> int:
        return self.rate_per_minute or default


@dataclass(frozen=True)
class PartyRecord:
    """A registered party for lists (admin console, CLI): never the key, only its public prefix."""

    id: str
    name: str
    purpose: Purpose
    configured_fields: tuple[Field, ...] | None
    fields: tuple[Field, ...]
    key_prefix: str
    rate_per_minute: int
    scope: AuthorityScope
    created_at: datetime
    created_by: str
    revoked_at: datetime | None
    revoked_by: str | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(KEY_RANDOM_BYTES)


def looks_like_key(key: str) -> bool:
    """The shape of a key (cheap; refuses junk before any hashing or query)."""
    return len(key) == KEY_LENGTH and _KEY_RE.match(key) is not None


def party_of(row: RelyingPartyRow) -> Party:
    purpose = Purpose(row.purpose)
    return Party(
        row.id,
        row.name,
        purpose,
        allowed_fields(purpose, row.fields),
        row.rate_per_minute,
        AuthorityScope.from_column(row.authorities),
    )


def record_of(row: RelyingPartyRow) -> PartyRecord:
    purpose = Purpose(row.purpose)
    configured = tuple(Field(f) for f in row.fields) if row.fields is not None else None
    return PartyRecord(
        id=row.id,
        name=row.name,
        purpose=purpose,
        configured_fields=configured,
        fields=allowed_fields(purpose, row.fields),
        key_prefix=row.key_prefix,
        rate_per_minute=row.rate_per_minute,
        scope=AuthorityScope.from_column(row.authorities),
        created_at=row.created_at,
        created_by=row.created_by,
        revoked_at=row.revoked_at,
        revoked_by=row.revoked_by,
    )


def _clean_name(name: str) -> str:
    text = " ".join(name.split())
    if not text:
        raise PartyRefused("请填写核验方名称 / the relying party needs a name")
    if len(text) > MAX_NAME:
        raise PartyRefused(f"名称最多 {MAX_NAME} 个字符 / the name may have at most {MAX_NAME} characters")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        raise PartyRefused("名称含有控制字符 / the name holds control characters")
    return text


def _check_fields(purpose: Purpose, fields: Sequence[str] | None) -> list[str] | None:
    if fields is None:
        return None
    try:
        chosen = check_configured_fields(purpose, fields)
    except InvalidPurpose as exc:
        raise PartyRefused(f"字段不允许 / {exc}") from None
    if not chosen:
        raise PartyRefused("请至少选择一个字段 / choose at least one field (or none for the purpose's own)")
    return [f.value for f in chosen]


def _check_rate(rate: int | None) -> int:
    if rate is None:
        return 0
    if not 1 <= rate <= MAX_RATE:
        raise PartyRefused(
            f"每分钟次数应为 1 到 {MAX_RATE} / the rate must be between 1 and {MAX_RATE} requests per minute"
        )
    return rate


def register_party(
    session: Session,
    *,
    name: str,
    purpose: Purpose,
    fields: Sequence[str] | None = None,
    rate_per_minute: int | None = None,
    scope: AuthorityScope | None = None,
    actor: str,
    at: datetime,
    actor_kind: ActorKind = ActorKind.CLI,
    client: str | None = None,
    by_user_id: str | None = None,
) -> tuple[Party, str]:
    """Register a party in the caller's transaction (audited); returns it and its key, which is never stored.

    `fields` narrows the purpose's fields (configures them, for the insurer); None keeps the purpose's own.
    `rate_per_minute` None means the deployment default. `by_user_id` is the admin registering it (console); its
    `scope` must lie within the admin's (OutsideScope otherwise) and defaults to it. None is the operator (CLI),
    who is national: there `scope` None means national.
    """
    manager = manager_of(session, actor_kind, by_user_id)
    clean = _clean_name(name)
    if not isinstance(purpose, Purpose):
        raise PartyRefused("未知的用途 / unknown purpose")
    stored_fields = _check_fields(purpose, fields)
    rate = _check_rate(rate_per_minute)
    chosen_scope = manager.scope if scope is None else scope
    check_may_grant(manager, chosen_scope)
    key = new_key()
    row = RelyingPartyRow(
        id=uuid.uuid4().hex,
        name=clean,
        purpose=purpose.value,
        fields=stored_fields,
        key_prefix=key[:PUBLIC_PREFIX_LENGTH],
        key_hash=hash_key(key),
        rate_per_minute=rate,
        authorities=chosen_scope.column(),
        created_at=at,
        created_by=actor[:64],
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        at=at,
        actor_kind=actor_kind,
        actor=actor,
        action=Action.STAFF_CHANGED,
        subject=row.id,
        detail={
            "change": "relying_party_added",
            "name": clean,
            "purpose": purpose.value,
            "fields": stored_fields,
            "rate_per_minute": rate,
            "authorities": row.authorities,
            "key_prefix": row.key_prefix,
        },
        client=client,
    )
    return party_of(row), key


def revoke_party(
    session: Session,
    party_id: str,
    *,
    keys: PartyKeys,
    actor: str,
    at: datetime,
    actor_kind: ActorKind = ActorKind.CLI,
    client: str | None = None,
    by_user_id: str | None = None,
) -> PartyRecord:
    """Revoke a party's key in the caller's transaction (audited); `keys` (this process's) forgets it at once.
    Refuses an unknown or already revoked party, and (`by_user_id`, the admin doing it) a party whose scope is wider
    than or outside the admin's."""
    manager = manager_of(session, actor_kind, by_user_id)
    row = session.get(RelyingPartyRow, party_id, with_for_update=True) if _PARTY_ID_RE.match(party_id) else None
    if row is None:
        raise PartyRefused(f"没有编号为 {party_id[:40]} 的核验方 / no relying party with id {party_id[:40]}")
    check_may_manage(manager, AuthorityScope.from_column(row.authorities), row.name)
    if row.revoked_at is not None:
        raise PartyRefused(f"核验方 {row.name} 的密钥已被吊销 / the key of {row.name} is already revoked")
    row.revoked_at = at
    row.revoked_by = actor[:64]
    session.flush()
    audit.record(
        session,
        at=at,
        actor_kind=actor_kind,
        actor=actor,
        action=Action.STAFF_CHANGED,
        subject=row.id,
        detail={"change": "relying_party_revoked", "name": row.name, "key_prefix": row.key_prefix},
        client=client,
    )
    keys.forget(row.key_hash)
    return record_of(row)


def list_parties(
    session: Session, *, include_revoked: bool = True, within: AuthorityScope | None = None
) -> list[PartyRecord]:
    """Every registered party, newest first (active ones first when revoked ones are included); with `within`,
    only those whose scope lies within it (what a scoped admin manages)."""
    query = select(RelyingPartyRow).order_by(RelyingPartyRow.created_at.desc(), RelyingPartyRow.id)
    if not include_revoked:
        query = query.where(RelyingPartyRow.revoked_at.is_(None))
    rows = [record_of(r) for r in session.scalars(query)]
    if within is not None:
        rows = [r for r in rows if r.scope.within(within)]
    return sorted(rows, key=lambda r: not r.active)


def active_party(session: Session, party_id: str) -> Party | None:
    """The party `party_id` while its key is not revoked (the verifier page's signed-in party), else None."""
    row = session.get(RelyingPartyRow, party_id) if _PARTY_ID_RE.match(party_id) else None
    return party_of(row) if row is not None and row.revoked_at is None else None


def get_party(session: Session, party_id: str) -> PartyRecord | None:
    row = session.get(RelyingPartyRow, party_id) if _PARTY_ID_RE.match(party_id) else None
    return record_of(row) if row is not None else None


class PartyKeys:
    """Checks relying parties' API keys against the database (`sessions`), keeping what it found for
    `AUTH_CACHE_SECONDS` (key hash → (party, monotonic expiry), at most `AUTH_CACHE_MAX`; only found, active parties
    are kept). One per process, owned by the composition root (`Container.party_keys`)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._items: dict[str, tuple[Party, float]] = {}
        self._lock = threading.Lock()

    def cached(self, key: str) -> Party | None:
        """The party of a key that `authenticate` found within the cache time (no I/O); None when `authenticate`
        would have to query the database (unknown, expired, malformed or never seen)."""
        if not looks_like_key(key):
            return None
        return self._get(hash_key(key), time.monotonic())

    def authenticate(self, key: str, *, at: datetime) -> Party | None:
        """The active party holding `key`, or None. Cached for `AUTH_CACHE_SECONDS` (see the module doc).

        `at` is the request time; a key revoked at or before it is refused.
        """
        if not isinstance(key, str) or not looks_like_key(key):
            return None
        digest = hash_key(key)
        now = time.monotonic()
        cached = self._get(digest, now)
        if cached is not None:
            return cached
        with self._sessions() as session:
            row = session.scalar(select(RelyingPartyRow).where(RelyingPartyRow.key_hash == digest))
            if row is None:
                return None
            revoked = row.revoked_at
            if revoked is not None and revoked <= at:
                return None
            party = party_of(row)
        if revoked is None:
            self._put(digest, party, now)
        return party

    def forget(self, key_hash: str) -> None:
        """Drop one key (its party was just revoked in this process)."""
        with self._lock:
            self._items.pop(key_hash, None)

    def clear(self) -> None:
        """Forget every cached key (what waiting `AUTH_CACHE_SECONDS` does; an operator's emergency revocation path
        restarts servers instead)."""
        with self._lock:
            self._items.clear()

    def _get(self, key_hash: str, now: float) -> Party | None:
        hit = self._items.get(key_hash)
        if hit is None or hit[1] <= now:
            return None
        return hit[0]

    def _put(self, key_hash: str, party: Party, now: float) -> None:
        with self._lock:
            if len(self._items) >= AUTH_CACHE_MAX:
                self._items = {k: v for k, v in self._items.items() if v[1] > now}
                if len(self._items) >= AUTH_CACHE_MAX:
                    self._items.clear()
            self._items[key_hash] = (party, now + AUTH_CACHE_SECONDS)


def purpose_names(purpose: Purpose) -> tuple[str, str]:
    """(中文, English) name of a purpose."""
    rule = RULES[purpose]
    return rule.name_zh, rule.name_en
