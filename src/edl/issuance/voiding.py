"""Voiding e-licences (作废): the one place where a live e-licence ends.

A change of class, validity or issuing authority voids the e-licence (the holder must apply again), and a
re-issue voids the one it replaces. Both the ORM paths (registry events, issuance) and the bulk registry import
call `void_elicences` in their own transaction: the e-licence rows, the status-list change mark, one audit entry
per e-licence and the bound holder's inbox message (and its Web Push) commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.orm import Session

from edl import audit
from edl.audit import Action, ActorKind
from edl.db.models import AccountRow, ElicenceRow
from edl.issuance.status import mark_changed
from edl.notifications import messages
from edl.notifications.inbox import Message, notify_many

REISSUED = "reissued"
"""The reason of a void caused by issuing a new e-licence (the holder is not told to apply again)."""
CHUNK = 500
"""Licence numbers per statement (well under every database's bound-parameter limit)."""


@dataclass(frozen=True, slots=True)
class Void:
    """End the live e-licence of licence `licence_number` because of `reason` (an event kind, or `REISSUED`)."""

    licence_number: str
    reason: str


def void_elicences(
    db: Session | Connection,
    voids: Iterable[Void],
    *,
    at: datetime,
    actor: str = "system",
    detail: Mapping[str, Any] | None = None,
) -> int:
    """Void the live e-licences of the given licences in the transaction of `db` (a session, or the connection
    of the import's batch), and return how many were voided.

    The first void of a licence wins when one is listed twice. Each voided e-licence gets an audit entry (its id,
    the reason, and `detail`); unless the reason is `REISSUED`, the holder bound to the licence is told to apply
    again. Licences without a live e-licence are left alone (no audit entry, no message).
    """
    wanted: dict[str, str] = {}
    for v in voids:
        wanted.setdefault(v.licence_number, v.reason)
    if not wanted:
        return 0
    if isinstance(db, Session):
        db.flush()  # rows the session holds (a new e-licence, a changed licence) are seen by the statements below
    numbers = sorted(wanted)
    live: list[tuple[str, str]] = []
    for part in _chunks(numbers):
        live += db.execute(
            select(ElicenceRow.id, ElicenceRow.licence_number)
            .where(ElicenceRow.licence_number.in_(part), ElicenceRow.voided_at.is_(None))
            .order_by(ElicenceRow.licence_number, ElicenceRow.id)
        ).all()
    if not live:
        return 0
    voided = sorted({number for _, number in live}, key=lambda n: wanted[n])
    for reason, group in groupby(voided, key=lambda n: wanted[n]):
        for part in _chunks(list(group)):
            db.execute(
                update(ElicenceRow)
                .where(ElicenceRow.licence_number.in_(part), ElicenceRow.voided_at.is_(None))
                .values(voided_at=at, void_reason=reason)
            )
    mark_changed(db, at=at)
    audit.record_many(
        db,
        [
            audit.entry(
                at=at,
                actor_kind=ActorKind.SYSTEM,
                actor=actor,
                action=Action.VOID,
                subject=number,
                detail={"elicence_id": elicence_id, "reason": wanted[number], **(detail or {})},
            )
            for elicence_id, number in live
        ],
    )
    told = [n for n in voided if wanted[n] != REISSUED]
    notices: list[tuple[str, Message]] = []
    for part in _chunks(told):
        for account_id, bound in db.execute(
            select(AccountRow.id, AccountRow.licence_number)
            .where(AccountRow.licence_number.in_(part))
            .order_by(AccountRow.licence_number)
        ):
            if bound is not None:
                notices.append((account_id, messages.voided(wanted[bound])))
    notify_many(db, notices, at=at)
    return len(live)


def void_elicence(session: Session, number: str, reason: str, *, at: datetime, actor: str = "system") -> int:
    """Void the live e-licence of licence `number` (see `void_elicences`); 0 or 1."""
    return void_elicences(session, [Void(number, reason)], at=at, actor=actor)


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]
