"""Import licence records (CSV / JSON Lines) into `licences`: streamed, validated row by row, upserted in batches.

- A file that is not one of ours is refused (`ImportRefused`) before anything is written.
- Every other line is either accepted or written to the reject file with its line number and reason.
- Accepted rows are upserted by licence number, one transaction per batch; a row identical to the stored one is left
  alone (its `version` and `updated_at` do not move), a changed one gets `version + 1`. Re-importing a file is a no-op.
- A crash mid-file leaves the committed batches; importing the same file again completes it.

Parsing and validating run in the calling thread while a single worker thread writes the previous batch, so the
database and Python work at the same time. See docs/registry-format.md.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import sqlite3
import sys
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from time import perf_counter
from types import TracebackType
from typing import Any, TextIO

import psycopg
from psycopg.types.json import Json
from sqlalchemy import Engine

from edl.bootstrap import Container
from edl.db.models import ImportRun, LicenceRow
from edl.db.session import transaction
from edl.domain.dates import china_date
from edl.domain.events import EventKind
from edl.issuance.status import next_changed_at
from edl.notifications import messages
from edl.registry.events import import_changes
from edl.registry.formats import (
    DB_COLUMNS,
    ImportRefused,
    RegistryFile,
    RowParser,
    RowRejected,
    db_values,
    spreadsheet_safe,
)

__all__ = ["ImportAborted", "ImportProgress", "ImportRefused", "ImportReport", "import_file"]

DEFAULT_BATCH = 10_000
MAX_ACTOR = 128
"""The length of `import_runs.actor`."""


class ImportAborted(Exception):
    """The database stopped the import part-way; the batches before it are committed and a re-run completes it."""


@dataclass(frozen=True, slots=True)
class ImportProgress:
    """Where a running import is, for a progress bar: bytes of the file read, and rows done."""

    bytes_read: int
    bytes_total: int
    rows: int
    accepted: int
    rejected: int


ProgressCallback = Callable[[ImportProgress], None]


@dataclass(frozen=True, slots=True)
class ImportReport:
    """The outcome of one import run (also recorded in `import_runs`)."""

    run_id: int
    source: str
    sha256: str
    rows: int
    """Data lines read (blank lines not counted)."""
    inserted: int
    updated: int
    """Rows whose stored record changed (version + 1)."""
    unchanged: int
    """Rows identical to the stored record (left untouched)."""
    rejected: int
    seconds: float
    rejects_path: Path

    @property
    def accepted(self) -> int:
        return self.inserted + self.updated + self.unchanged

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float(self.rows)

    def summary(self) -> str:
        """One line for people: counts, speed and where the rejects went."""
        rejects = f", {self.rejected:,} rejected → {self.rejects_path}" if self.rejected else ", 0 rejected"
        return (
            f"{Path(self.source).name}: {self.accepted:,} accepted ({self.inserted:,} new, {self.updated:,} changed, "
            f"{self.unchanged:,} unchanged){rejects}; {self.rows:,} rows in {self.seconds:.1f} s "
            f"({self.rows_per_second:,.0f} rows/s)"
        )


def default_rejects_path(path: Path) -> Path:
    """Rejected rows go beside the input unless told otherwise: `licences.csv` → `licences.csv.rejects.csv`."""
    return path.with_name(path.name + ".rejects.csv")


def import_file(
    container: Container,
    path: Path | str,
    rejects_path: Path | str | None = None,
    actor: str = "cli",
    *,
    progress: ProgressCallback | None = None,
    batch_size: int = DEFAULT_BATCH,
) -> ImportReport:
    """Import `path` into the registry and return what happened.

    Raises `ImportRefused` (nothing written) for a file that is not a registry file, and `ImportAborted` when the
    database fails mid-way (the committed batches stay; the run is recorded as unfinished).
    """
    path = Path(path)
    if container.engine.dialect.name not in WRITERS:
        raise ImportRefused(f"importing into {container.engine.dialect.name} is not supported (PostgreSQL or SQLite)")
    rejects_to = Path(rejects_path) if rejects_path else default_rejects_path(path)
    if len(actor) > MAX_ACTOR:
        raise ImportRefused(f"the actor name is longer than {MAX_ACTOR} characters")
    if _same_file(path, rejects_to):
        raise ImportRefused(f"the reject file {rejects_to} is the input file itself: choose another reject file")
    with RegistryFile(path) as source, _RejectFile(rejects_to) as rejects:
        sha256 = _sha256(path)
        parser = RowParser(china_date(container.clock()))
        run_id = _start_run(container, path, sha256, actor)
        tally = _Tally()
        started = perf_counter()
        try:
            with _Pipeline(container, actor=actor, run_id=run_id) as pipeline:

                def written(batch: _Batch, result: BatchResult) -> None:
                    tally.add(batch, result, rejects)
                    if progress:
                        progress(tally.progress(source))

                for batch in _batches(source, parser, batch_size):
                    pipeline.submit(batch, written)
                pipeline.drain(written)
        except Exception as exc:
            _finish_run(container, run_id, tally, finished=False)
            raise ImportAborted(
                f"import stopped after {tally.accepted:,} committed rows: {exc}. Fix the cause and import the same "
                "file again: committed rows are not duplicated."
            ) from exc
        _finish_run(container, run_id, tally, finished=True)
    return ImportReport(
        run_id=run_id,
        source=str(path),
        sha256=sha256,
        rows=tally.rows,
        inserted=tally.inserted,
        updated=tally.updated,
        unchanged=tally.unchanged,
        rejected=tally.rejected,
        seconds=perf_counter() - started,
        rejects_path=rejects_to,
    )


@dataclass(slots=True)
class _Batch:
    """Rows parsed from the file: those to write (`rows`) and those already rejected in Python (`rejects`)."""

    lines: int = 0
    rows: list[StagedRow] = field(default_factory=list)
    rejects: list[tuple[int, str, str]] = field(default_factory=list)
    """(line, reason, raw text)."""


def _batches(source: RegistryFile, parser: RowParser, size: int) -> Iterator[_Batch]:
    """Validate rows into batches of `size` lines; duplicates inside a batch are caught here, across batches by
    the writer (which remembers every number it accepted in this run)."""
    batch = _Batch()
    numbers: dict[object, int] = {}
    file_numbers: dict[object, tuple[object, int]] = {}
    licence = parser.licence
    for line, text, fields, error in source.records():
        batch.lines += 1
        if fields is None:
            batch.rejects.append((line, error or "unreadable line", text))
        else:
            try:
                values = db_values(licence(fields))
            except RowRejected as exc:
                batch.rejects.append((line, exc.reason, text))
            else:
                number, file_number = values[0], values[1]
                if (first := numbers.get(number)) is not None:
                    batch.rejects.append((line, f"duplicate licence number, first at line {first} / 证号重复", text))
                elif (owner := file_numbers.get(file_number)) is not None:
                    reason = f"file_number already used by licence {owner[0]} at line {owner[1]} / 档案编号重复"
                    batch.rejects.append((line, reason, text))
                else:
                    numbers[number] = line
                    file_numbers[file_number] = (number, line)
                    batch.rows.append((line, text, values))
        if batch.lines >= size:
            yield batch
            batch = _Batch()
            numbers.clear()
            file_numbers.clear()
    if batch.lines:
        yield batch


class _Pipeline:
    """One worker thread owns the database connection and writes batches in order while the caller parses the
    next ones. At most `depth` batches wait for the writer, which bounds memory.

    While it runs, the interpreter switches threads every 0.5 ms instead of 5 ms: the writer needs the GIL for a
    moment after every database round trip, and waiting 5 ms each time would leave the database idle.
    """

    def __init__(self, container: Container, *, actor: str, run_id: int, depth: int = 2) -> None:
        self._clock = container.clock
        self._depth = depth
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="edl-import")
        self._writer: BatchWriter = self._pool.submit(
            open_writer, container.engine, actor=actor, run_id=run_id
        ).result()
        self._queue: deque[tuple[_Batch, Future[BatchResult]]] = deque()
        self._interval = sys.getswitchinterval()
        self._failed = False

    def __enter__(self) -> _Pipeline:
        sys.setswitchinterval(min(self._interval, 0.0005))
        return self

    def __exit__(self, *exc: object) -> None:
        sys.setswitchinterval(self._interval)
        try:
            for _, future in self._queue:
                future.cancel()
            self._pool.submit(self._writer.close).result()
        finally:
            self._pool.shutdown()

    def submit(self, batch: _Batch, done: Callable[[_Batch, BatchResult], None]) -> None:
        """Queue `batch`; call `done` for each batch written so far, in file order, waiting only while more than
        `depth` are queued."""
        prepared = self._writer.prepare(batch.rows)  # in this thread: the worker then only waits on the database
        self._queue.append((batch, self._pool.submit(self._write, batch.rows, prepared, self._clock())))
        while self._queue and (len(self._queue) > self._depth or self._queue[0][1].done()):
            first, future = self._queue.popleft()
            done(first, future.result())

    def _write(self, rows: list[StagedRow], prepared: object, at: datetime) -> BatchResult:
        """In the worker: write a batch, unless an earlier one failed (the file must stay a committed prefix)."""
        if self._failed:
            raise ImportAborted("an earlier batch failed")
        try:
            return self._writer.write(rows, prepared, at)
        except BaseException:
            self._failed = True
            raise

    def drain(self, done: Callable[[_Batch, BatchResult], None]) -> None:
        """Wait for every queued batch."""
        while self._queue:
            first, future = self._queue.popleft()
            done(first, future.result())


@dataclass(slots=True)
class _Tally:
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0

    @property
    def accepted(self) -> int:
        return self.inserted + self.updated + self.unchanged

    def add(self, batch: _Batch, result: BatchResult, rejects: _RejectFile) -> None:
        found = batch.rejects + result.rejects
        found.sort()
        rejects.write(found)
        self.rows += batch.lines
        self.inserted += result.inserted
        self.updated += result.updated
        self.unchanged += result.unchanged
        self.rejected += len(found)

    def progress(self, source: RegistryFile) -> ImportProgress:
        return ImportProgress(source.bytes_read, source.size, self.rows, self.accepted, self.rejected)


class _RejectFile:
    """CSV of rejected rows: line, reason, raw (the line as it was in the file). Text cells go through
    `spreadsheet_safe`, so a spreadsheet never runs a formula that came in with a rejected line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: TextIO | None = None

    def __enter__(self) -> _RejectFile:
        try:
            self._fh = self.path.open("w", encoding="utf-8", newline="")
        except OSError as exc:
            raise ImportRefused(f"cannot write the reject file {self.path}: {exc.strerror or exc}") from None
        self._csv = csv.writer(self._fh)
        self._csv.writerow(("line", "reason", "raw"))
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        if self._fh:
            self._fh.close()

    def write(self, rows: list[tuple[int, str, str]]) -> None:
        self._csv.writerows((line, spreadsheet_safe(reason), spreadsheet_safe(raw)) for line, reason, raw in rows)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _start_run(container: Container, path: Path, sha256: str, actor: str) -> int:
    run = ImportRun(
        source=str(path.resolve()), sha256=sha256, started_at=container.clock(), accepted=0, rejected=0, actor=actor
    )
    with transaction(container.sessions) as session:
        session.add(run)
        session.flush()
        return run.id


def _finish_run(container: Container, run_id: int, tally: _Tally, *, finished: bool) -> None:
    """Record the counts; `finished_at` stays empty for a run that did not reach the end of the file."""
    with transaction(container.sessions) as session:
        run = session.get_one(ImportRun, run_id)
        run.accepted = tally.accepted
        run.rejected = tally.rejected
        run.finished_at = container.clock() if finished else None


# --- Writing batches ----------------------------------------------------------------------------------------------
# SQL below is built only from the constant column list of `licences` and our own TEMP table names, never from data.

StagedRow = tuple[int, str, tuple[object, ...]]
"""(line, raw text, `licences` values in `DB_COLUMNS` order)."""

_STAGE = "edl_import_stage"
_SEEN = "edl_import_seen"
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
_REPEATED = " ".join(
    (
        f"SELECT s.line, x.line FROM {_STAGE} s JOIN {_SEEN} x",  # noqa: S608
        "ON x.number = s.number WHERE x.line <> s.line",
    )
)
_CHANGED = " ".join(
    (
        f"SELECT l.version, {', '.join(f'l.{c}' for c in DB_COLUMNS)}, {', '.join(f's.{c}' for c in DB_COLUMNS)}",
        f"FROM {_STAGE} s JOIN licences l ON l.number = s.number",
        f"WHERE ({', '.join(f'l.{c}' for c in _DATA)}) {{distinct}} ({', '.join(f's.{c}' for c in _DATA)})",
    )
)
"""Stored rows that the staged batch changes, old and new values side by side: each becomes registry events."""
_EVENT = "INSERT INTO registry_events (licence_number, kind, payload, actor, at, licence_version) VALUES ({p})"
_VOID = "UPDATE elicences SET voided_at = {p}, void_reason = {p} WHERE licence_number = {p} AND voided_at IS NULL"
_VOID_AUDIT = " ".join(
    (
        "INSERT INTO audit_log (at, actor_kind, actor, action, subject, outcome, detail)",
        "SELECT {p}, 'system', {p}, 'void', e.licence_number, 'ok', {p} FROM elicences e",
        "WHERE e.licence_number = {p} AND e.voided_at IS NULL",
    )
)
"""One audit entry per e-licence the import voids (written before the void, while it is still live)."""
_VOID_NOTICE = " ".join(
    (
        "INSERT INTO notifications (account_id, kind, title_zh, title_en, body_zh, body_en, link, created_at)",
        "SELECT a.id, {p}, {p}, {p}, {p}, {p}, {p}, {p} FROM accounts a",
        "WHERE a.licence_number = {p} AND EXISTS",
        "(SELECT 1 FROM elicences e WHERE e.licence_number = a.licence_number AND e.voided_at IS NULL)",
    )
)
"""The bound holder's inbox message: the e-licence is void, apply again (same text as `void_elicences`)."""
_VOID_PUSH = " ".join(
    (
        "INSERT INTO outbox (kind, recipient, payload, created_at, attempts, next_attempt_at)",
        "VALUES ('push', {p}, {p}, {p}, 0, {p})",
    )
)
"""Its Web Push, in the outbox of the same transaction (what `inbox.notify` does for the ORM paths)."""
_STATUS_KINDS = frozenset({EventKind.STATUS_SET, EventKind.STATUS_CLEARED})
"""Event kinds that change an e-licence's status in the status list (voiding kinds are handled with the voids)."""
_STATUS_ROW = "SELECT changed_at, built_at FROM status_lists WHERE id = 1"
_STATUS_INSERT = "INSERT INTO status_lists (id, changed_at) VALUES (1, {p}) ON CONFLICT (id) DO NOTHING"
_STATUS_UPDATE = "UPDATE status_lists SET changed_at = {p} WHERE id = 1"
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
    their numbers, then one upsert into `licences`.

    Numbers accepted in this run are kept in a TEMP table (not in Python memory), so a number repeated in a later
    batch is rejected as a duplicate. A file number held by another licence is found only when the upsert hits
    the unique index: the batch then rolls back to a savepoint, rejects those rows and upserts the rest, so the
    common case pays for no extra look-up. Subclasses know their database's fast path.
    """

    param = "?"
    distinct = "IS NOT"
    lock_rows = ""
    integrity_error: type[Exception] = Exception

    def __init__(self, engine: Engine, *, actor: str = "import", run_id: int = 0) -> None:
        self.actor, self.run_id = actor, run_id
        self._proxy = engine.raw_connection()
        self.conn: Any = self._proxy.driver_connection
        if self.conn is None:
            raise ImportAborted("the database connection is not available")
        self._upsert = _UPSERT.format(param=self.param, distinct=self.distinct)
        self._changed = _CHANGED.format(distinct=self.distinct)
        self._event = _EVENT.format(p=", ".join([self.param] * 6))
        self._void = _VOID.format(p=self.param)
        self._void_audit = _VOID_AUDIT.format(p=self.param)
        self._void_notice = _VOID_NOTICE.format(p=self.param) + " RETURNING id, account_id"
        self._void_push = _VOID_PUSH.format(p=self.param)
        self._status_insert = _STATUS_INSERT.format(p=self.param)
        self._status_update = _STATUS_UPDATE.format(p=self.param)
        self._create_tables()
        self.conn.commit()

    def prepare(self, rows: list[StagedRow]) -> object:
        """Turn a batch into what `_stage` sends (pure Python, no database: runs in the parsing thread)."""
        raise NotImplementedError

    def write(self, rows: list[StagedRow], prepared: object, at: datetime) -> BatchResult:
        """Write one batch in one transaction; rows that clash with the database come back as rejects."""
        cur = self.conn.cursor()
        stamp = self._timestamp(at)
        try:
            self._begin(cur)
            self._stage(cur, prepared)
            cur.execute(_REMEMBER)
            repeated = [] if cur.rowcount == len(rows) else self._drop(cur, rows, _REPEATED, _DUPLICATE)
            cur.execute("SAVEPOINT edl_upsert")
            try:
                changes = self._changes(cur)
                inserted, written = self._write(cur, stamp)
            except self.integrity_error:
                cur.execute("ROLLBACK TO SAVEPOINT edl_upsert")
                repeated += self._drop(cur, rows, _TAKEN, _TAKEN_BY, forget=True)
                changes = self._changes(cur)
                inserted, written = self._write(cur, stamp)
            self._record(cur, changes, at)
            self.conn.commit()
        except BaseException:
            self.conn.rollback()
            raise
        finally:
            cur.close()
        existing = len(rows) - len(repeated) - inserted
        return BatchResult(inserted, written - inserted, existing - (written - inserted), repeated)

    def _changes(self, cur: Any) -> list[tuple[int, dict[str, object], dict[str, object]]]:
        """(new version, old values, new values) of every stored row the staged batch changes."""
        cur.execute(self._changed)
        n = len(DB_COLUMNS)
        return [
            (
                row[0] + 1,
                dict(zip(DB_COLUMNS, row[1 : n + 1], strict=True)),
                dict(zip(DB_COLUMNS, row[n + 1 :], strict=True)),
            )
            for row in cur.fetchall()
        ]

    def _record(self, cur: Any, changes: list[tuple[int, dict[str, object], dict[str, object]]], at: datetime) -> None:
        """Append the registry events that the changed rows imply, and void the e-licences that a voiding
        event (class, validity or authority change) ends, in the batch's transaction."""
        stamp = self._timestamp(at)
        events: list[tuple[object, ...]] = []
        voids: dict[str, tuple[object, ...]] = {}
        status_changed = False
        for version, old, new in changes:
            number = str(new["number"])
            for kind, payload in import_changes(old, new, run_id=self.run_id):
                events.append((number, kind.value, self._json(payload), self.actor, stamp, version))
                if kind.voids_elicence:
                    voids.setdefault(number, (stamp, kind.value, number))
                status_changed = status_changed or kind in _STATUS_KINDS
        if events:
            cur.executemany(self._event, events)
        if status_changed or voids:
            self._mark_status_changed(cur, at)
        if voids:
            audits, notices = [], []
            for stamp_, reason, number in voids.values():
                detail = self._json({"reason": reason, "import_run": self.run_id})
                audits.append((stamp_, self.actor, detail, number))
                m = messages.voided(reason)
                notices.append((m.kind, m.title_zh, m.title_en, m.body_zh, m.body_en, m.link, stamp_, number))
            cur.executemany(self._void_audit, audits)
            pushes: list[tuple[object, ...]] = []
            for notice in notices:  # voids are rare: one statement each, to learn the new message ids
                cur.execute(self._void_notice, notice)
                for note_id, account_id in cur.fetchall():
                    pushes.append((account_id, self._json({"notification_id": note_id}), notice[6], notice[6]))
            if pushes:
                cur.executemany(self._void_push, pushes)
            cur.executemany(self._void, list(voids.values()))

    def _json(self, payload: dict[str, Any]) -> object:
        return json.dumps(payload, ensure_ascii=False)

    def _mark_status_changed(self, cur: Any, at: datetime) -> None:
        """`issuance.status.mark_changed` in this batch's transaction, in SQL: bump ``status_lists.changed_at``
        (row 1, created if missing) past its previous value and the last build, holding its row lock."""
        cur.execute(_STATUS_ROW + self.lock_rows)
        found = cur.fetchone()
        if found is None:
            cur.execute(self._status_insert, (self._timestamp(at),))
            cur.execute(_STATUS_ROW + self.lock_rows)
            found = cur.fetchone()
        changed_at, built_at = (self._stored_time(v) for v in found)
        cur.execute(self._status_update, (self._timestamp(next_changed_at(at, changed_at, built_at)),))

    def _stored_time(self, value: object) -> datetime | None:
        """A timestamp as the driver returns it, as an aware datetime."""
        if value is None or isinstance(value, datetime):
            return value
        return datetime.fromisoformat(str(value))

    def _drop(
        self, cur: Any, rows: list[StagedRow], query: str, reason: str, *, forget: bool = False
    ) -> list[tuple[int, str, str]]:
        """Reject the staged rows `query` finds ((line, detail) pairs), and take them out of the batch."""
        cur.execute(query)
        found = dict(cur.fetchall())
        if not found:
            return []
        self._unstage(cur, list(found), forget=forget)
        raw = {line: text for line, text, _ in rows}
        return [(line, reason.format(detail), raw[line]) for line, detail in sorted(found.items())]

    def close(self) -> None:
        """Drop the TEMP tables and session settings, then give the connection back to the pool."""
        try:
            self.conn.rollback()
            cur = self.conn.cursor()
            cur.execute(f"DROP TABLE IF EXISTS {_STAGE}")
            cur.execute(f"DROP TABLE IF EXISTS {_SEEN}")
            self._reset(cur)
            cur.close()
            self.conn.commit()
        finally:
            self._proxy.close()

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


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NEEDS_ESCAPE = re.compile(r"[\\\t\n\r]").search
_FREE_TEXT = [DB_COLUMNS.index(c) for c in ("name", "address", "authority_name", "authority_city")]
"""Columns that may hold any text; every other text column holds a code the domain validated (digits, hex…)."""
_NULLABLE = [i for i, c in enumerate(DB_COLUMNS) if LicenceRow.__table__.columns[c].nullable]
_FLAGS = [i for i, c in enumerate(DB_COLUMNS) if c == "photo_compliant"]


def _copy_line(values: tuple[object, ...], line: int) -> str:
    """One row in PostgreSQL's COPY text format: tab-separated, \\N for none, t/f, ISO dates, escaped text."""
    out = list(values)
    for i in _FREE_TEXT:
        if _NEEDS_ESCAPE(values[i]):  # type: ignore[arg-type]
            out[i] = values[i].translate(_COPY_ESCAPES)  # type: ignore[attr-defined]
    for i in _NULLABLE:
        if out[i] is None:
            out[i] = "\\N"
    for i in _FLAGS:
        out[i] = "t" if out[i] else "f"
    out.append(line)
    return "\t".join(map(str, out))


_DUPLICATE = "duplicate licence number, first at line {} / 证号重复"
_TAKEN_BY = "file_number already belongs to licence {} / 档案编号已被其他证号占用"


class PostgresWriter(BatchWriter):
    """PostgreSQL: COPY into the staging table; counts come back aggregated, not row by row."""

    param = "%s"
    distinct = "IS DISTINCT FROM"
    lock_rows = " FOR UPDATE"
    integrity_error = psycopg.errors.IntegrityError

    def _create_tables(self) -> None:
        cur = self.conn.cursor()
        try:  # a hint only: keep the run's numbers in memory. Allowed only before this session's first TEMP table.
            cur.execute("SET temp_buffers = '128MB'")
        except psycopg.Error:
            self.conn.rollback()
        cur.execute(f"CREATE TEMP TABLE {_STAGE} AS SELECT {_COLS} FROM licences WITH NO DATA")  # noqa: S608
        cur.execute(f"ALTER TABLE {_STAGE} ADD COLUMN line bigint")
        cur.execute(f"CREATE TEMP TABLE {_SEEN} (number varchar(18) PRIMARY KEY, line bigint NOT NULL)")
        cur.close()

    def _begin(self, cur: Any) -> None:
        # The look-ups for duplicates and taken file numbers join the small staging table to big ones, whose
        # statistics lag far behind during a bulk load: make index probes the only choice (a scan per batch would
        # make the import quadratic). Such plans cost ~1e10, which would trigger JIT compilation (100+ ms) on
        # every statement: turn it off.
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute("SET LOCAL jit = off")

    def _reset(self, cur: Any) -> None:
        cur.execute("RESET temp_buffers")

    def _json(self, payload: dict[str, Any]) -> object:
        return Json(payload)

    def prepare(self, rows: list[StagedRow]) -> bytes:
        """The batch in COPY text format: tab-separated, \\N for none, t/f, ISO dates, backslash escapes."""
        return "".join([_copy_line(values, line) + "\n" for line, _, values in rows]).encode()

    def _stage(self, cur: Any, prepared: bytes) -> None:
        cur.execute(f"TRUNCATE {_STAGE}")
        with cur.copy(f"COPY {_STAGE} ({_COLS}, line) FROM STDIN") as copy:
            copy.write(prepared)

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

    def prepare(self, rows: list[StagedRow]) -> list[tuple[object, ...]]:
        convert = self._convert
        return [(*(f(v) if f else v for f, v in zip(convert, values, strict=True)), line) for line, _, values in rows]

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
