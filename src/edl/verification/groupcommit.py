"""Group commit of the verification log on PostgreSQL: the rows of concurrent verifications in one statement.

Every API verification appends its row with `GroupCommitLog.append` and answers only once that call returned, that
is once the row's batch has COMMITTED. One task per event loop (per server process) writes the batches on its own
connection: it waits for a first row, then at most `window` seconds (2 ms) or until `max_rows` (200) are waiting,
and inserts them all with one ``INSERT ... SELECT ... FROM unnest(...)`` (one statement in autocommit: one commit,
one WAL flush when the log is durable). While a batch is being written the next one gathers, so under load batches
grow by themselves and the cost per row falls (measured ~15 µs per row in a 200-row insert against ~430 µs for an
insert with its own commit: docs/benchmarks.md).

A batch that fails (the database stopped, the connection cut, a timeout) fails every `append` waiting on it with
`LogUnavailable`: the API answers each of those requests 503, so no answer ever leaves without its row. (The
opposite can happen and is harmless: a commit that reached the server just before the connection broke leaves rows
whose answers were 503.) The connection is then dropped and the next batch opens a new one.

The ids (the API's ``verification_id``) come back in the rows' order: the insert selects the rows ``ORDER BY`` their
ordinal, so PostgreSQL draws the sequence values in that order, and the ids returned are sorted (the technique
SQLAlchemy's "insertmanyvalues" uses for PostgreSQL).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

from edl.verification.log import LOG_COLUMNS

MAX_ROWS: Final = 200
WINDOW_SECONDS: Final = 0.002

_TYPES: Final[dict[str, str]] = {
    "at": "timestamptz",
    "valid": "boolean",
}
"""PostgreSQL array types of the columns that are not text."""


def insert_sql(table: str = "verifications") -> str:
    """The batch insert: one array parameter per column, rows kept in their order (see the module doc)."""
    cols = ", ".join(LOG_COLUMNS)
    arrays = ", ".join(f"${i}::{_TYPES.get(c, 'text')}[]" for i, c in enumerate(LOG_COLUMNS, start=1))
    # Names are this module's constants; the values travel as parameters.
    select = f"SELECT {cols} FROM unnest({arrays}) WITH ORDINALITY AS u({cols}, ord) ORDER BY ord"  # noqa: S608
    return f"INSERT INTO {table} ({cols}) {select} RETURNING id"


class LogUnavailable(Exception):
    """The batch holding this verification's row did not commit: the verification must not be answered."""


Connect = Callable[[], Awaitable[Any]]
"""Opens an asyncpg connection to the primary (autocommit; `synchronous_commit` as the deployment chose)."""


class GroupCommitLog:
    """Batches log rows of one event loop into one insert per `window` or `max_rows` (see the module doc)."""

    def __init__(
        self,
        connect: Connect,
        *,
        max_rows: int = MAX_ROWS,
        window: float = WINDOW_SECONDS,
        timeout: float = 5.0,
        table: str = "verifications",
        on_statement: Callable[[str], None] | None = None,
    ) -> None:
        self._on_statement = on_statement
        self._connect = connect
        self._max_rows = max_rows
        self._window = window
        self._timeout = timeout
        self._sql = insert_sql(table)
        self._pending: list[tuple[Mapping[str, Any], asyncio.Future[int]]] = []
        self._wake = asyncio.Event()
        self._full = asyncio.Event()
        self._conn: Any = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.batches = 0
        """Batches written (committed or failed): for tests and the bench."""

    async def append(self, values: Mapping[str, Any]) -> int:
        """Queue one row (`edl.verification.log.log_values`) and return its id once its batch has committed.

        Raises `LogUnavailable` when the batch failed (the database cannot be reached or refused it).
        """
        if self._closed:
            raise LogUnavailable("the verification log is closed")
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._pending.append((values, future))
        if len(self._pending) >= self._max_rows:
            self._full.set()
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="edl-verification-log")
        return await future

    async def close(self) -> None:
        """Write what is waiting, then stop and close the connection."""
        self._closed = True
        self._wake.set()
        self._full.set()
        if self._task is not None:
            await self._task
        await self._drop()

    async def _run(self) -> None:
        while True:
            if not self._pending:
                if self._closed:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            if len(self._pending) < self._max_rows and not self._closed and self._window > 0:
                self._full.clear()
                if len(self._pending) < self._max_rows:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._full.wait(), self._window)
            batch, self._pending = self._pending[: self._max_rows], self._pending[self._max_rows :]
            await self._write(batch)

    async def _write(self, batch: list[tuple[Mapping[str, Any], asyncio.Future[int]]]) -> None:
        self.batches += 1
        columns = [[values[c] for values, _ in batch] for c in LOG_COLUMNS]
        try:
            if self._conn is None or self._conn.is_closed():
                self._conn = await asyncio.wait_for(self._connect(), self._timeout)
            if self._on_statement is not None:
                self._on_statement(self._sql)
            rows = await self._conn.fetch(self._sql, *columns, timeout=self._timeout)
            ids = sorted(int(r[0]) for r in rows)
            if len(ids) != len(batch):
                raise LogUnavailable(f"{len(ids)} ids for {len(batch)} rows")
        except Exception as exc:  # every failure refuses the batch: no answer without its row
            await self._drop()
            error = exc if isinstance(exc, LogUnavailable) else LogUnavailable(type(exc).__name__)
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        for (_, future), new_id in zip(batch, ids, strict=True):
            if not future.done():  # a request cancelled meanwhile (client gone): its row stays, unanswered
                future.set_result(new_id)

    def terminate(self) -> None:
        """Abort the connection without waiting (no loop needed); rows still waiting are refused."""
        self._closed = True
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.terminate()
        pending, self._pending = self._pending, []
        for _, future in pending:
            if not future.done():
                future.set_exception(LogUnavailable("the verification log was closed"))

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await asyncio.wait_for(conn.close(), 1.0)
            except Exception:
                conn.terminate()


__all__ = ["MAX_ROWS", "WINDOW_SECONDS", "GroupCommitLog", "LogUnavailable", "insert_sql"]
