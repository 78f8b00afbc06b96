"""Writing the registry import's batches: one connection, one transaction per batch, the database's fast path.

Rows are staged in a TEMP table (COPY on PostgreSQL, executemany on SQLite) and upserted in one statement; the
registry events that changed rows imply are appended, and the e-licences that a voiding change ends are voided
with `edl.issuance.voiding.void_elicences`, in the batch's transaction. A batch of numbers not stored yet (a first
load) skips the upsert: PostgreSQL copies it straight into `licences`, SQLite inserts it from the staging table.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl
import psycopg
from psycopg.types.json import Json
from sqlalchemy import Engine

from edl.db.models import LicenceRow
from edl.domain.events import EventKind
from edl.issuance.status import mark_changed
from edl.issuance.voiding import Void, void_elicences
from edl.registry.events import import_changes
from edl.registry.formats import DB_COLUMNS


class ImportAborted(Exception):
    """The database stopped the import part-way; the batches before it are committed and a re-run completes it."""


# SQL below is built only from the constant column list of `licences` and our own TEMP table names, never from data.

StagedRows = pl.DataFrame
"""A batch's accepted rows: columns `chunks.STAGED` (the `licences` values, line, raw text), in file order."""

_STAGE = "edl_import_stage"
_SEEN = "edl_import_seen"
_SEEN_NEW = "edl_import_seen_new"
_COLS = ", ".join(DB_COLUMNS)
_DATA = [c for c in DB_COLUMNS if c != "number"]
_SET = ", ".join(f"{c} = excluded.{c}" for c in _DATA)
_OLD = ", ".join(f"licences.{c}" for c in _DATA)
_NEW = ", ".join(f"excluded.{c}" for c in _DATA)
_UPSERT = " ".join(
    (
        f"INSERT INTO licences ({_COLS}, version, updated_at)",
        f"SELECT {_COLS}, 1, {{param}} FROM {_STAGE} WHERE true",  # noqa: S608
        f"ON CONFLICT (number) DO UPDATE SET {_SET}, version = licences.version + 1, updated_at = excluded.updated_at",
        f"WHERE ({_OLD}) {{distinct}} ({_NEW})",
    )
)
"""One upsert per batch; a stored row identical to the incoming one is not touched (no version bump)."""
_REMEMBER = " ".join(
    (
        f"INSERT INTO {_SEEN} (number, line) SELECT number, line FROM {_STAGE}",  # noqa: S608
        "WHERE true ON CONFLICT (number) DO NOTHING",
    )
)
_REMEMBER_FRESH = f"INSERT INTO {_SEEN} (number, line) SELECT number, line FROM {_STAGE}"  # noqa: S608
"""Remembering a fresh batch's numbers: none can be there already (see `_FRESH`)."""
_FRESH = f"SELECT NOT EXISTS (SELECT 1 FROM {_STAGE} s JOIN licences l ON l.number = s.number)"  # noqa: S608
"""Whether no staged number is in `licences` yet (a first load): then the batch can change no stored row, and none
of its numbers was accepted earlier in this run (every number accepted is in `licences`), so its rows go in with a
plain INSERT, with no look-up of old values and no conflict handling. It stops at the first number found."""
_INSERT = " ".join(
    (
        f"INSERT INTO licences ({_COLS}, version, updated_at)",
        f"SELECT {_COLS}, 1, {{param}} FROM {_STAGE}",  # noqa: S608
    )
)
_REPEATED = " ".join(
    (
        f"SELECT s.line, x.line FROM {_STAGE} s JOIN {_SEEN} x",  # noqa: S608
        "ON x.number = s.number{bytewise} WHERE x.line <> s.line",
    )
)
_CHANGED = " ".join(
    (
        f"SELECT l.version, {', '.join(f'l.{c}' for c in DB_COLUMNS)}, {', '.join(f's.{c}' for c in DB_COLUMNS)}",
        f"FROM {_STAGE} s LEFT JOIN licences l ON l.number = s.number WHERE l.number IS NULL OR",
        f"({', '.join(f'l.{c}' for c in _DATA)}) {{distinct}} ({', '.join(f's.{c}' for c in _DATA)})",
    )
)
"""Stored rows that the staged batch changes, old and new values side by side: each becomes registry events; and
the staged rows that are not stored yet (no old values). When there are neither, the upsert would write nothing."""
_EVENT = "INSERT INTO registry_events (licence_number, kind, payload, actor, at, licence_version) VALUES ({p})"
_STATUS_KINDS = frozenset({EventKind.STATUS_SET, EventKind.STATUS_CLEARED})
"""Event kinds that change an e-licence's status in the status list (voiding kinds are handled with the voids)."""
_TAKEN = " ".join(
    (
        f"SELECT s.line, l.number FROM {_STAGE} s JOIN licences l",  # noqa: S608
        "ON l.file_number = s.file_number WHERE l.number <> s.number",
    )
)


@dataclass(frozen=True, slots=True)
class BatchResult:
    inserted: int
    updated: int
    unchanged: int
    rejects: list[tuple[int, str, str]]


class BatchWriter:
    """Writes batches on one connection, one transaction per batch: stage the rows in a TEMP table, remember
    their numbers, then one upsert into `licences`. A batch none of whose numbers is in `licences` yet (`_FRESH`,
    the common case of a first load) takes a plain INSERT instead: same rows, same counts, no events.

    Numbers accepted in this run are kept in a TEMP table (not in Python memory), so a number repeated in a later
    batch is rejected as a duplicate. A file number held by another licence is found only when the upsert hits
    the unique index: the batch then rolls back to a savepoint, rejects those rows and upserts the rest, so the
    common case pays for no extra look-up. Subclasses know their database's fast path.
    """

    param = "?"
    distinct = "IS NOT"
    bytewise = ""
    """How the run's numbers are compared (`_SEEN` is keyed that way): byte by byte."""
    temp_tables: tuple[str, ...] = (_STAGE, _SEEN)
    integrity_error: type[Exception] = Exception

    def __init__(self, engine: Engine, *, actor: str = "import", run_id: int = 0) -> None:
        self.actor, self.run_id = actor, run_id
        self._sa = engine.connect()
        """The batch's connection as SQLAlchemy sees it: shared code (voiding, the status-list mark) runs on it,
        in the same transaction as the fast-path statements on its driver connection below."""
        self.conn: Any = self._sa.connection.driver_connection
        if self.conn is None:
            self._sa.close()
            raise ImportAborted("the database connection is not available")
        self._upsert = _UPSERT.format(param=self.param, distinct=self.distinct)
        self._insert_fresh = _INSERT.format(param=self.param)
        self._changed = _CHANGED.format(distinct=self.distinct)
        self._repeated = _REPEATED.format(bytewise=self.bytewise)
        self._event = _EVENT.format(p=", ".join([self.param] * 6))
        self._create_tables()
        self.conn.commit()

    def prepare(self, rows: StagedRows, at: datetime) -> object:
        """Turn a batch written at `at` into what `_stage` (and `_copy_fresh`) send (pure Python, no database:
        runs in the parsing thread)."""
        raise NotImplementedError

    def write(self, rows: StagedRows, prepared: object, at: datetime) -> BatchResult:
        """Write one batch in one transaction; rows that clash with the database come back as rejects."""
        cur = self.conn.cursor()
        stamp = self._timestamp(at)
        try:
            self._begin(cur)
            copied = self._copy_fresh(cur, prepared)
            if copied is not None:
                inserted = written = copied
                repeated, changes = [], []
            else:
                inserted, written, repeated, changes = self._upsert_staged(cur, rows, prepared, stamp)
            self._record(cur, changes, at)
            self._commit()
        except BaseException:
            self._rollback()
            raise
        finally:
            cur.close()
        existing = rows.height - len(repeated) - inserted
        return BatchResult(inserted, written - inserted, existing - (written - inserted), repeated)

    def _upsert_staged(
        self, cur: Any, rows: StagedRows, prepared: object, stamp: object
    ) -> tuple[int, int, list[tuple[int, str, str]], list[tuple[int, dict[str, object], dict[str, object]]]]:
        """Stage the batch, reject numbers seen earlier in the run, upsert the rest: (rows inserted, rows inserted or
        changed, rejects, the changes to record as events)."""
        self._stage(cur, prepared)
        cur.execute(_FRESH)
        fresh = bool(cur.fetchone()[0])
        if fresh:
            cur.execute(_REMEMBER_FRESH)
            repeated = []
        else:  # a number repeated from an earlier batch is rare: try the plain INSERT, which fails on one
            cur.execute("SAVEPOINT edl_seen")
            try:
                cur.execute(_REMEMBER_FRESH)
                repeated = []
            except self.integrity_error:
                cur.execute("ROLLBACK TO SAVEPOINT edl_seen")
                cur.execute(_REMEMBER)
                repeated = [] if cur.rowcount == rows.height else self._drop(cur, rows, self._repeated, _DUPLICATE)
        cur.execute("SAVEPOINT edl_upsert")
        try:
            if fresh:
                changes = []
                cur.execute(self._insert_fresh, (stamp,))
                inserted = written = cur.rowcount
            else:
                changes, new = self._changes(cur)
                inserted, written = self._write(cur, stamp) if changes or new else (0, 0)
        except self.integrity_error:  # a file number held by another licence (or a number inserted meanwhile)
            cur.execute("ROLLBACK TO SAVEPOINT edl_upsert")
            repeated += self._drop(cur, rows, _TAKEN, _TAKEN_BY, forget=True)
            changes, new = self._changes(cur)
            inserted, written = self._write(cur, stamp) if changes or new else (0, 0)
        return inserted, written, repeated, changes

    def _copy_fresh(self, cur: Any, prepared: Any) -> int | None:
        """Write a fresh batch (see `_FRESH`) straight into `licences` if the database can do it in one go: the rows
        written, or None when the batch must take the staged path."""
        return None

    def _changes(self, cur: Any) -> tuple[list[tuple[int, dict[str, object], dict[str, object]]], int]:
        """(new version, old values, new values) of every stored row the staged batch changes, and how many staged
        rows are not stored yet."""
        cur.execute(self._changed)
        n = len(DB_COLUMNS)
        changes, new = [], 0
        for row in cur.fetchall():
            if row[0] is None:  # no stored row: only the version is read (not null in `licences`)
                new += 1
                continue
            old_values = dict(zip(DB_COLUMNS, row[1 : n + 1], strict=True))
            changes.append((row[0] + 1, old_values, dict(zip(DB_COLUMNS, row[n + 1 :], strict=True))))
        return changes, new

    def _record(self, cur: Any, changes: list[tuple[int, dict[str, object], dict[str, object]]], at: datetime) -> None:
        """Append the registry events that the changed rows imply, and void the e-licences that a voiding
        event (class, validity or authority change) ends, in the batch's transaction."""
        stamp = self._timestamp(at)
        events: list[tuple[object, ...]] = []
        voids: list[Void] = []
        status_changed = False
        for version, old, new in changes:
            number = str(new["number"])
            for kind, payload in import_changes(old, new, run_id=self.run_id):
                events.append((number, kind.value, self._json(payload), self.actor, stamp, version))
                if kind.voids_elicence:
                    voids.append(Void(number, kind.value))
                status_changed = status_changed or kind in _STATUS_KINDS
        if events:
            cur.executemany(self._event, events)
        voided = void_elicences(self._sa, voids, at=at, actor=self.actor, detail={"import_run": self.run_id})
        if status_changed and not voided:  # (a void marks the status list itself; a void of nothing does not)
            mark_changed(self._sa, at=at)

    def _commit(self) -> None:
        """Commit the batch: through SQLAlchemy when shared code ran on the connection, else on the driver."""
        if self._sa.in_transaction():
            self._sa.commit()
        else:
            self.conn.commit()

    def _rollback(self) -> None:
        if self._sa.in_transaction():
            self._sa.rollback()
        else:
            self.conn.rollback()

    def _json(self, payload: dict[str, Any]) -> object:
        return json.dumps(payload, ensure_ascii=False)

    def _drop(
        self, cur: Any, rows: StagedRows, query: str, reason: str, *, forget: bool = False
    ) -> list[tuple[int, str, str]]:
        """Reject the staged rows `query` finds ((line, detail) pairs), and take them out of the batch."""
        cur.execute(query)
        found = dict(cur.fetchall())
        if not found:
            return []
        self._unstage(cur, list(found), forget=forget)
        raw = dict(rows.filter(pl.col("line").is_in(list(found))).select("line", "raw").iter_rows())
        return [(line, reason.format(detail), raw[line]) for line, detail in sorted(found.items())]

    def close(self) -> None:
        """Drop the TEMP tables and session settings, then give the connection back to the pool."""
        try:
            self._rollback()
            cur = self.conn.cursor()
            for table in self.temp_tables:
                cur.execute(f"DROP TABLE IF EXISTS {table}")
            self._reset(cur)
            cur.close()
            self.conn.commit()
        finally:
            self._sa.close()

    def _create_tables(self) -> None:
        raise NotImplementedError

    def _begin(self, cur: Any) -> None:
        """Per-transaction settings, if the database needs any."""

    def _reset(self, cur: Any) -> None:
        """Undo session settings before the connection goes back to the pool."""

    def _stage(self, cur: Any, prepared: Any) -> None:
        raise NotImplementedError

    def _unstage(self, cur: Any, lines: list[int], *, forget: bool) -> None:
        """Delete `lines` from the staging table (and with `forget`, from the numbers remembered)."""
        raise NotImplementedError

    def _write(self, cur: Any, stamp: object) -> tuple[int, int]:
        """Upsert the staged rows: (rows inserted, rows inserted or changed). New rows are those at version 1."""
        cur.execute(f"{self._upsert} RETURNING version", (stamp,))
        versions = [v for (v,) in cur.fetchall()]
        return versions.count(1), len(versions)

    def _timestamp(self, at: datetime) -> object:
        return at


_DUPLICATE = "duplicate licence number, first at line {} / 证号重复"
_TAKEN_BY = "file_number already belongs to licence {} / 档案编号已被其他证号占用"


@dataclass(frozen=True, slots=True)
class _Payloads:
    """A batch as PostgreSQL's COPY reads it: staged (values and line), as `licences` rows, the run's numbers."""

    stage: bytes
    licences: bytes
    seen: bytes


class PostgresWriter(BatchWriter):
    """PostgreSQL: COPY into the staging table; counts come back aggregated, not row by row."""

    param = "%s"
    distinct = "IS DISTINCT FROM"
    bytewise = ' COLLATE "C"'
    temp_tables = (_STAGE, _SEEN, _SEEN_NEW)
    _unindexed = False
    """Whether `_SEEN_NEW` may hold numbers not yet moved into `_SEEN`."""
    integrity_error = psycopg.errors.IntegrityError

    def _create_tables(self) -> None:
        cur = self.conn.cursor()
        try:  # a hint only: keep the run's numbers in memory. Allowed only before this session's first TEMP table.
            cur.execute("SET temp_buffers = '128MB'")
        except psycopg.Error:
            self.conn.rollback()
        cur.execute(f"CREATE TEMP TABLE {_STAGE} AS SELECT {_COLS} FROM licences WITH NO DATA")  # noqa: S608
        cur.execute(f"ALTER TABLE {_STAGE} ADD COLUMN line bigint")
        # The run's numbers are keyed byte by byte: a licence number is ASCII digits and X, so the database's
        # collation could only make every comparison in this index dearer (memcmp instead of strcoll).
        cur.execute(f'CREATE TEMP TABLE {_SEEN} (number varchar(18) COLLATE "C" PRIMARY KEY, line bigint NOT NULL)')
        # Fresh batches' numbers are appended here, with no index to keep up, and moved into `_SEEN` only when a
        # batch needs to look them up (`_stage`): never, in a first load. None of them can be in `_SEEN` already,
        # nor twice here: a number accepted earlier in the run is stored, so its batch would not be fresh.
        cur.execute(f'CREATE TEMP TABLE {_SEEN_NEW} (number varchar(18) COLLATE "C", line bigint NOT NULL)')
        cur.close()

    def _begin(self, cur: Any) -> None:
        # The look-ups for duplicates, changed rows and taken file numbers join the small staging table to big
        # ones, whose statistics lag far behind during a bulk load: make index probes the only choice. A scan per
        # batch would make the import quadratic, and that includes a merge join walking a whole index of
        # `licences` (chosen while the table is below a few hundred thousand rows: 50 ms a batch at 100,000 rows
        # against 8 ms of probes, and growing with the table). Such plans cost ~1e10, which would trigger JIT
        # compilation (100+ ms) on every statement: turn it off. One round trip for all four.
        cur.execute(
            "SET LOCAL enable_seqscan = off; SET LOCAL enable_mergejoin = off; SET LOCAL enable_hashjoin = off; "
            "SET LOCAL jit = off"
        )

    def _reset(self, cur: Any) -> None:
        cur.execute("RESET temp_buffers")

    def _json(self, payload: dict[str, Any]) -> object:
        return Json(payload)

    def prepare(self, rows: StagedRows, at: datetime) -> _Payloads:
        """The batch in COPY's CSV format, written by polars (an unquoted empty field is NULL, `""` is empty text):
        for the staging table, and for `_copy_fresh` (the rows as `licences` stores them, and the run's numbers)."""
        stage = rows.select(*DB_COLUMNS, "line").write_csv(include_header=False).encode()
        new = rows.select(*DB_COLUMNS, pl.lit(1).alias("version"), pl.lit(at.isoformat()).alias("updated_at"))
        seen = rows.select("number", "line").write_csv(include_header=False).encode()
        return _Payloads(stage, new.write_csv(include_header=False).encode(), seen)

    def _stage(self, cur: Any, prepared: _Payloads) -> None:
        if self._unindexed:  # the staged path looks numbers up in `_SEEN`: bring the fresh batches' there first
            cur.execute(
                f"TRUNCATE {_STAGE}; INSERT INTO {_SEEN} (number, line) SELECT number, line FROM {_SEEN_NEW}; "  # noqa: S608
                f"TRUNCATE {_SEEN_NEW}"
            )
            self._unindexed = False
        else:
            cur.execute(f"TRUNCATE {_STAGE}")
        with cur.copy(f"COPY {_STAGE} ({_COLS}, line) FROM STDIN (FORMAT csv)") as copy:
            copy.write(prepared.stage)

    def _copy_fresh(self, cur: Any, prepared: _Payloads) -> int | None:
        """COPY the batch straight into `licences`, in a savepoint: it goes through only if the batch is fresh
        (no number stored, so none seen earlier in this run either) and takes no stored file number; else the
        first clash undoes it (at the first row for a re-import) and the batch takes the staged path. This saves
        the staging table's COPY and the INSERT from it, a quarter of a first load's time."""
        cur.execute("SAVEPOINT edl_fresh")
        try:
            with cur.copy(f"COPY licences ({_COLS}, version, updated_at) FROM STDIN (FORMAT csv)") as copy:
                copy.write(prepared.licences)
            copied = int(cur.rowcount)
        except self.integrity_error:
            cur.execute("ROLLBACK TO SAVEPOINT edl_fresh")
            return None
        with cur.copy(f"COPY {_SEEN_NEW} (number, line) FROM STDIN (FORMAT csv)") as copy:
            copy.write(prepared.seen)
        self._unindexed = True
        return copied

    def _rollback(self) -> None:
        super()._rollback()
        self._unindexed = True  # a move into `_SEEN` may have been undone

    def _unstage(self, cur: Any, lines: list[int], *, forget: bool) -> None:
        cur.execute(f"DELETE FROM {_STAGE} WHERE line = ANY(%s)", (lines,))  # noqa: S608
        if forget:
            cur.execute(f"DELETE FROM {_SEEN} WHERE line = ANY(%s)", (lines,))  # noqa: S608

    def _write(self, cur: Any, stamp: object) -> tuple[int, int]:
        counts = "SELECT count(*) FILTER (WHERE version = 1), count(*) FROM w"
        cur.execute(f"WITH w AS ({self._upsert} RETURNING version) {counts}", (stamp,))
        inserted, written = cur.fetchone()
        return int(inserted), int(written)


class SqliteWriter(BatchWriter):
    """SQLite: executemany into the staging table, values converted exactly as the ORM stores them."""

    integrity_error = sqlite3.IntegrityError

    def __init__(self, engine: Engine, *, actor: str = "import", run_id: int = 0) -> None:
        columns, dialect = LicenceRow.__table__.columns, engine.dialect
        self._convert = [columns[c].type.dialect_impl(dialect).bind_processor(dialect) for c in DB_COLUMNS]
        self._stamp = columns["updated_at"].type.dialect_impl(dialect).bind_processor(dialect)
        self._insert = f"INSERT INTO {_STAGE} VALUES ({', '.join('?' * (len(DB_COLUMNS) + 1))})"  # noqa: S608
        super().__init__(engine, actor=actor, run_id=run_id)

    def _create_tables(self) -> None:
        self.conn.execute(f"CREATE TEMP TABLE {_STAGE} ({_COLS}, line INTEGER PRIMARY KEY)")
        self.conn.execute(f"CREATE TEMP TABLE {_SEEN} (number TEXT PRIMARY KEY, line INTEGER NOT NULL)")

    def prepare(self, rows: StagedRows, at: datetime) -> list[tuple[object, ...]]:
        convert = [*self._convert, None]
        return [
            tuple(f(v) if f else v for f, v in zip(convert, values, strict=True))
            for values in rows.select(*DB_COLUMNS, "line").iter_rows()
        ]

    def _stage(self, cur: Any, prepared: list[tuple[object, ...]]) -> None:
        cur.execute(f"DELETE FROM {_STAGE}")  # noqa: S608
        cur.executemany(self._insert, prepared)

    def _unstage(self, cur: Any, lines: list[int], *, forget: bool) -> None:
        cur.executemany(f"DELETE FROM {_STAGE} WHERE line = ?", [(line,) for line in lines])  # noqa: S608
        if forget:
            cur.executemany(f"DELETE FROM {_SEEN} WHERE line = ?", [(line,) for line in lines])  # noqa: S608

    def _timestamp(self, at: datetime) -> object:
        return self._stamp(at) if self._stamp else at


WRITERS: dict[str, type[BatchWriter]] = {"postgresql": PostgresWriter, "sqlite": SqliteWriter}


def open_writer(engine: Engine, *, actor: str = "import", run_id: int = 0) -> BatchWriter:
    """The fastest writer for the engine's database; `actor` and `run_id` go into the registry events it records."""
    return WRITERS[engine.dialect.name](engine, actor=actor, run_id=run_id)
