"""The outbox worker: claims due notices, delivers them (SMS gateway, Web Push) and retries with backoff.

Claiming is safe with several workers on one database: PostgreSQL takes the due rows `FOR UPDATE SKIP LOCKED`,
SQLite a conditional update per row. A claim moves `next_attempt_at` forward by the lease, so a worker that dies
mid-delivery leaves its rows to be claimed again when the lease ends (delivery is at least once; a push already
pushed is not pushed twice, see `WebPushNotifier`). A failed attempt is retried after 30 s, 1 min, 2 min … up to
one hour apart, for as long as it takes: a notice is never dropped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import structlog
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from edl.accounts.sms import SmsSender
from edl.db.models import OutboxRow
from edl.notifications.outbox import NoticeKind
from edl.notifications.push import PushReport

log = structlog.get_logger("edl.outbox")

LEASE = timedelta(minutes=5)
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=1)
BATCH = 50


class PushDelivery(Protocol):
    def push_now(self, notification_ids: Sequence[int]) -> PushReport:
        """Push these inbox messages now; never raises."""
        ...


class NoticeNotDelivered(Exception):
    """One attempt did not deliver the notice; `reason` goes to `outbox.last_error`."""


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    kind: str
    recipient: str
    payload: dict[str, object]
    attempts: int


@dataclass
class WorkerReport:
    delivered: int = 0
    failed: int = 0

    def summary(self) -> str:
        return f"notices delivered: {self.delivered}, failed (will retry): {self.failed}"


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt: 30 s doubling, at most an hour."""
    wait: timedelta = FIRST_RETRY * int(2 ** max(0, min(attempts - 1, 20)))
    return min(wait, MAX_RETRY)


class OutboxWorker:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        sms: SmsSender,
        push: PushDelivery,
        clock: Callable[[], datetime],
        batch: int = BATCH,
        lease: timedelta = LEASE,
    ) -> None:
        self._sessions = sessions
        self._sms = sms
        self._push = push
        self._clock = clock
        self._batch = batch
        self._lease = lease

    # --- claiming ---------------------------------------------------------------------------------------------

    def claim(self, now: datetime) -> list[Claimed]:
        """Take up to `batch` due notices for this worker (one transaction); others skip them until the lease ends."""
        with self._sessions.begin() as session:
            due = (
                select(OutboxRow)
                .where(OutboxRow.delivered_at.is_(None), OutboxRow.next_attempt_at <= now)
                .order_by(OutboxRow.next_attempt_at, OutboxRow.id)
                .limit(self._batch)
            )
            if session.get_bind().dialect.name == "postgresql":
                rows = list(session.scalars(due.with_for_update(skip_locked=True)))
                for row in rows:
                    row.attempts += 1
                    row.next_attempt_at = now + self._lease
                return [Claimed(r.id, r.kind, r.recipient, dict(r.payload), r.attempts) for r in rows]
            claimed = []
            for row in list(session.scalars(due)):
                # SQLite: the update takes the row only if no other worker took it since it was read.
                taken = session.execute(
                    update(OutboxRow)
                    .where(
                        OutboxRow.id == row.id,
                        OutboxRow.delivered_at.is_(None),
                        OutboxRow.attempts == row.attempts,
                    )
                    .values(attempts=row.attempts + 1, next_attempt_at=now + self._lease)
                    .execution_options(synchronize_session=False)
                )
                if getattr(taken, "rowcount", 0) == 1:
                    claimed.append(Claimed(row.id, row.kind, row.recipient, dict(row.payload), row.attempts + 1))
            return claimed

    # --- delivering -------------------------------------------------------------------------------------------

    def _deliver(self, notice: Claimed) -> None:
        if notice.kind == NoticeKind.SMS:
            try:
                self._sms.send(notice.recipient, str(notice.payload["text"]))
            except Exception as exc:
                raise NoticeNotDelivered(getattr(exc, "reason", None) or type(exc).__name__) from exc
        elif notice.kind == NoticeKind.PUSH:
            report = self._push.push_now([int(str(notice.payload["notification_id"]))])
            if report.failed and not report.sent:
                raise NoticeNotDelivered(f"push failed for {report.failed} browser(s)")
        else:
            raise NoticeNotDelivered(f"unknown notice kind {notice.kind!r}")

    def _settle(self, notice: Claimed, error: str | None, now: datetime) -> None:
        with self._sessions.begin() as session:
            values: dict[str, object]
            if error is None:
                values = {"delivered_at": now, "last_error": None}
            else:
                values = {"next_attempt_at": now + backoff(notice.attempts), "last_error": error[:256]}
            session.execute(update(OutboxRow).where(OutboxRow.id == notice.id).values(**values))

    def run_once(self) -> WorkerReport:
        """Deliver every notice due now (batch after batch), then return what was done."""
        report = WorkerReport()
        seen: set[int] = set()
        while True:
            batch = [n for n in self.claim(self._clock()) if n.id not in seen]
            if not batch:
                return report
            for notice in batch:
                seen.add(notice.id)
                try:
                    self._deliver(notice)
                except NoticeNotDelivered as exc:
                    report.failed += 1
                    log.warning(
                        "notice_not_delivered", id=notice.id, kind=notice.kind, attempts=notice.attempts, error=str(exc)
                    )
                    self._settle(notice, str(exc), self._clock())
                except Exception as exc:  # a broken row must not stop the others
                    report.failed += 1
                    log.error("notice_error", id=notice.id, kind=notice.kind, error=type(exc).__name__)
                    self._settle(notice, type(exc).__name__, self._clock())
                else:
                    report.delivered += 1
                    self._settle(notice, None, self._clock())

    def run_until(self, stop: threading.Event, *, every: float) -> None:
        """Deliver due notices every `every` seconds until `stop` is set (`edl worker`)."""
        while not stop.is_set():
            try:
                self.run_once()
            except Exception as exc:  # a database hiccup must not end the worker; try again next round
                log.warning("outbox_round_failed", error=type(exc).__name__)
            stop.wait(every)
