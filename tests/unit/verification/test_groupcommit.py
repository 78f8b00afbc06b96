"""`GroupCommitLog` with a fake connection: batches of at most `max_rows`, each caller gets its own row's id even when
the database returns the ids out of order, and a failed batch refuses every caller in it (then reconnects)."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from edl.verification.groupcommit import GroupCommitLog, LogUnavailable
from edl.verification.log import LOG_COLUMNS


class FakeConn:
    def __init__(self, db: FakeDb) -> None:
        self.db = db
        self.closed = False

    def is_closed(self) -> bool:
        return self.closed

    async def fetch(self, sql: str, *columns: list[Any], timeout: float) -> list[tuple[int]]:
        assert sql.startswith("INSERT INTO verifications") and len(columns) == len(LOG_COLUMNS)
        await asyncio.sleep(0.001)
        if self.db.fail_next:
            self.db.fail_next = False
            raise ConnectionResetError("cut")
        rows = list(zip(*columns, strict=True))
        self.db.batches.append(len(rows))
        ids = []
        for values in rows:  # ids drawn in the rows' order, as the ORDER BY makes PostgreSQL do
            self.db.next_id += 1
            self.db.rows[self.db.next_id] = values
            ids.append((self.db.next_id,))
        random.shuffle(ids)  # ... but RETURNING promises no order
        return ids

    async def close(self) -> None:
        self.closed = True

    def terminate(self) -> None:
        self.closed = True


class FakeDb:
    def __init__(self) -> None:
        self.rows: dict[int, tuple[Any, ...]] = {}
        self.batches: list[int] = []
        self.next_id = 0
        self.connects = 0
        self.fail_next = False

    async def connect(self) -> FakeConn:
        self.connects += 1
        return FakeConn(self)


def values(n: int) -> dict[str, Any]:
    return {c: f"{c}-{n}" for c in LOG_COLUMNS}


def test_rows_are_grouped_and_each_caller_gets_its_own_id() -> None:
    db = FakeDb()

    async def run() -> list[int]:
        log = GroupCommitLog(db.connect, max_rows=200, window=0.002)
        ids = await asyncio.gather(*(log.append(values(i)) for i in range(450)))
        await log.close()
        return list(ids)

    ids = asyncio.run(run())
    assert len(set(ids)) == 450 and sum(db.batches) == 450
    assert max(db.batches) <= 200 and len(db.batches) <= 4
    for i, new_id in enumerate(ids):
        assert db.rows[new_id][LOG_COLUMNS.index("status")] == f"status-{i}"  # the id names this caller's row
    assert db.connects == 1


def test_a_failed_batch_refuses_all_its_callers_and_the_next_batch_reconnects() -> None:
    db = FakeDb()
    db.fail_next = True

    async def run() -> tuple[list[Any], int]:
        log = GroupCommitLog(db.connect, max_rows=200, window=0.002)
        first = await asyncio.gather(*(log.append(values(i)) for i in range(20)), return_exceptions=True)
        second = await log.append(values(99))
        await log.close()
        return first, second

    first, second = asyncio.run(run())
    assert all(isinstance(r, LogUnavailable) for r in first)
    assert db.rows == {second: tuple(values(99).values())} and db.connects == 2


def test_a_closed_log_refuses() -> None:
    async def run() -> None:
        log = GroupCommitLog(FakeDb().connect)
        await log.close()
        with pytest.raises(LogUnavailable):
            await log.append(values(0))

    asyncio.run(run())
