"""The API's verification path on PostgreSQL, in the event loop: asyncpg, prepared statements, group commit.

`OnlineVerifier.averify` hands a verification here when the database is PostgreSQL (and asyncpg is installed);
SQLite keeps the blocking path in a worker thread. Per request, in the event loop and without any thread hand-off:

1. the code's signature check (`OnlineVerifier.prepare`, CPU only);
2. ONE registry select on a pooled asyncpg connection to the read replica (`EDL_DATABASE_REPLICA_URL`) or, without
   one, the primary: the statement `edl.verification.lookup.judge` runs, compiled once to SQL text, which asyncpg
   prepares once per connection and then only binds and executes, on a connection of `edl.verification.pgpool.
   SelectPool` (lent for that one statement in autocommit: no reset, no proxy; a connection whose statement fails
   is terminated, one the server ended while idle is replaced when taken);
3. the judgement (`edl.verification.lookup.judge_row`: the same code as the blocking path);
4. the log row, through `edl.verification.groupcommit.GroupCommitLog` on the primary: the answer waits for the
   commit of the row's batch.

Measured against the blocking path in a worker thread (SQLAlchemy Core, psycopg): docs/benchmarks.md. A database
error at step 2 or 4 raises `VerificationUnavailable` (the API answers 503); an error at step 4 refuses every
verification of the batch.

Pools and the log writer belong to one event loop (asyncpg connections cannot move between loops): one set per loop,
made on first use and closed by `aclose` (the app's shutdown) or dropped with the loop.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import make_url

from edl.verification.groupcommit import MAX_ROWS, WINDOW_SECONDS, GroupCommitLog, LogUnavailable
from edl.verification.lookup import lookup_statements
from edl.verification.pgpool import SelectPool

if TYPE_CHECKING:
    from edl.verification.parties import Party

COMMAND_TIMEOUT: Final = 5.0
"""Seconds a select or a batch insert may take before the verification is refused (503) rather than left hanging."""
CONNECT_TIMEOUT: Final = 3.0


class VerificationUnavailable(Exception):
    """The registry or the verification log cannot be reached: the verification is not answered (503)."""


def asyncpg_params(url: str, **settings: str) -> dict[str, Any]:
    """asyncpg connection arguments of a SQLAlchemy / libpq URL: host, port, user, password, database, and the
    ``options`` query's ``-c name=value`` pairs (e.g. a ``search_path``) as server settings, plus `settings`."""
    parsed = make_url(url)
    query = dict(parsed.query)
    server: dict[str, str] = {}
    options = query.pop("options", "")
    if isinstance(options, tuple):
        options = " ".join(options)
    words = options.split()
    i = 0
    while i < len(words):
        word = words[i]
        if word == "-c" and i + 1 < len(words):
            word, i = words[i + 1], i + 1
        elif word.startswith("-c"):
            word = word[2:]
        name, sep, value = word.partition("=")
        if sep:
            server[name.replace("-", "_")] = value
        i += 1
    server.update(settings)
    params: dict[str, Any] = {
        "host": query.pop("host", None) or parsed.host,
        "port": parsed.port,
        "user": parsed.username,
        "password": parsed.password,
        "database": parsed.database,
        "server_settings": server,
    }
    return {k: v for k, v in params.items() if v is not None}


def _sql(statement: Any) -> str:
    """The statement's SQL for asyncpg (``$1`` placeholders), compiled once."""
    from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect

    compiled = statement.compile(dialect=asyncpg_dialect())  # type: ignore[no-untyped-call]
    assert list(compiled.params) == ["key"], compiled.params
    return str(compiled)


class _Row:
    """An asyncpg record with attribute access (what `judge_row` reads)."""

    __slots__ = ("_record",)

    def __init__(self, record: Any) -> None:
        self._record = record

    def __getattr__(self, name: str) -> Any:
        try:
            return self._record[name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass
class _LoopState:
    """What one event loop owns: the read pool and the log writer."""

    pool: SelectPool
    log: GroupCommitLog


class PgVerificationPath:
    """Registry reads and log writes of the API on PostgreSQL with asyncpg (see the module doc)."""

    def __init__(
        self,
        primary_url: str,
        *,
        replica_url: str | None,
        pool_size: int,
        durable_log: bool,
        max_rows: int = MAX_ROWS,
        window: float = WINDOW_SECONDS,
    ) -> None:
        self._read = asyncpg_params(replica_url or primary_url)
        self._write = asyncpg_params(primary_url, **({} if durable_log else {"synchronous_commit": "off"}))
        self._pool_size = pool_size
        self._max_rows = max_rows
        self._window = window
        self._states: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState] = weakref.WeakKeyDictionary()
        self._sql: dict[int, str] = {}
        self.statements: list[str] | None = None
        """Tests: set to a list to collect the SQL of every statement this path sends (select and batch insert)."""

    def _statement(self, party: Party, *, by_index: bool) -> str:
        by_id, by_serial = lookup_statements(party)
        statement = by_serial if by_index else by_id
        hit = self._sql.get(id(statement))  # the statements are module constants: their id is stable
        if hit is None:
            hit = self._sql[id(statement)] = _sql(statement)
        return hit

    def _state(self) -> _LoopState:
        """This event loop's pool and log writer, made on first use (both open their connections lazily)."""
        loop = asyncio.get_running_loop()
        state = self._states.get(loop)
        if state is None:
            log = GroupCommitLog(
                self._connect_primary, max_rows=self._max_rows, window=self._window, on_statement=self._sent
            )
            state = self._states[loop] = _LoopState(SelectPool(self._connect_read, self._pool_size), log)
        return state

    def _sent(self, sql: str) -> None:
        if self.statements is not None:
            self.statements.append(sql)

    async def _connect_read(self) -> Any:
        import asyncpg

        conn = await asyncpg.connect(**self._read, timeout=CONNECT_TIMEOUT, command_timeout=COMMAND_TIMEOUT)
        try:
            await _init_connection(conn)
        except BaseException:
            conn.terminate()
            raise
        return conn

    async def _connect_primary(self) -> Any:
        import asyncpg

        return await asyncpg.connect(**self._write, timeout=CONNECT_TIMEOUT, statement_cache_size=16)

    async def lookup(self, party: Party, *, elicence_id: str | None, serial: int | None) -> Any:
        """The registry row of an e-licence (by id, or by status-list index), as `judge_row` reads it; None when
        the registry has none."""
        by_index = serial is not None
        sql = self._statement(party, by_index=by_index)
        state = self._state()
        if self.statements is not None:
            self.statements.append(sql)
        try:  # (a connection whose statement fails is terminated by the pool, which opens a fresh one)
            record = await state.pool.fetchrow(sql, serial if by_index else elicence_id)
        except Exception as exc:  # any driver or connection error: refused (503), never a 500 or a stale answer
            raise VerificationUnavailable(type(exc).__name__) from exc
        return _Row(record) if record is not None else None

    async def log(self, values: dict[str, Any]) -> int:
        """Append one log row; its id once its batch has committed."""
        state = self._state()
        try:
            return await state.log.append(values)
        except LogUnavailable as exc:
            raise VerificationUnavailable(f"verification log: {exc}") from exc

    async def aclose(self) -> None:
        """Close this loop's pool and log writer (after writing what is waiting)."""
        state = self._states.pop(asyncio.get_running_loop(), None)
        if state is not None:
            await state.log.close()
            await state.pool.close()

    def terminate(self) -> None:
        """Abort every loop's connections without waiting (the container's disposal: a loop that ended without the
        app's shutdown, e.g. a test client used without its lifespan, leaves no sockets open)."""
        states, self._states = list(self._states.values()), weakref.WeakKeyDictionary()
        for state in states:
            for close in (state.pool.terminate, state.log.terminate):
                try:
                    close()
                except Exception:  # noqa: S112 - its loop is gone: the sockets go with the objects
                    continue

    def batches(self) -> int:
        """Log batches written in this loop (tests)."""
        state = self._states.get(asyncio.get_running_loop())
        return state.log.batches if state is not None else 0


async def _init_connection(conn: Any) -> None:
    """json (the driving record) decoded as the blocking path's psycopg does."""
    import json

    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


__all__ = ["PgVerificationPath", "VerificationUnavailable", "asyncpg_params"]
