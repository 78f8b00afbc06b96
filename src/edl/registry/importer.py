"""Import licence records (CSV / JSON Lines) into `licences`: streamed, validated a batch at a time, upserted.

- A file that is not one of ours is refused (`ImportRefused`) before anything is written.
- Every other line is either accepted or written to the reject file with its line number and reason.
- Accepted rows are upserted by licence number, one transaction per batch; a row identical to the stored one is left
  alone (its `version` and `updated_at` do not move), a changed one gets `version + 1`. Re-importing a file is a no-op.
- A crash mid-file leaves the committed batches; importing the same file again completes it.

Parsing and validating (`chunks.batches`: columns checked by polars, odd rows decided by `RowParser`) run in the
calling thread while a single worker thread writes the previous batch, so the database and Python work at the same
time. See docs/registry-format.md.
"""

from __future__ import annotations

import csv
import hashlib
import os
import sys
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from time import perf_counter
from types import TracebackType
from typing import TextIO

import polars as pl
from sqlalchemy import Engine

from edl.db.models import ImportRun
from edl.db.session import make_session_factory, transaction
from edl.domain.dates import china_date
from edl.registry.batches import WRITERS, BatchResult, BatchWriter, ImportAborted, open_writer
from edl.registry.chunks import Batch as _Batch
from edl.registry.chunks import batches
from edl.registry.files import RegistryFile, spreadsheet_safe
from edl.registry.formats import ImportRefused, RowParser

__all__ = ["ImportAborted", "ImportProgress", "ImportRefused", "ImportReport", "import_file"]

DEFAULT_BATCH = 10_000
MAX_ACTOR = 128
"""The length of `import_runs.actor`."""


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
    engine: Engine,
    path: Path | str,
    rejects_path: Path | str | None = None,
    actor: str = "cli",
    *,
    clock: Callable[[], datetime],
    progress: ProgressCallback | None = None,
    batch_size: int = DEFAULT_BATCH,
) -> ImportReport:
    """Import `path` into the registry and return what happened.

    Raises `ImportRefused` (nothing written) for a file that is not a registry file, and `ImportAborted` when the
    database fails mid-way (the committed batches stay; the run is recorded as unfinished).
    """
    path = Path(path)
    if engine.dialect.name not in WRITERS:
        raise ImportRefused(f"importing into {engine.dialect.name} is not supported (PostgreSQL or SQLite)")
    rejects_to = Path(rejects_path) if rejects_path else default_rejects_path(path)
    if len(actor) > MAX_ACTOR:
        raise ImportRefused(f"the actor name is longer than {MAX_ACTOR} characters")
    if _same_file(path, rejects_to):
        raise ImportRefused(f"the reject file {rejects_to} is the input file itself: choose another reject file")
    with RegistryFile(path) as source, _RejectFile(rejects_to) as rejects:
        sha256 = _sha256(path)
        parser = RowParser(china_date(clock()))
        runs = _Runs(engine, clock)
        run_id = runs.start(path, sha256, actor)
        tally = _Tally()
        started = perf_counter()
        try:
            with _Pipeline(engine, clock, actor=actor, run_id=run_id) as pipeline:

                def written(batch: _Batch, result: BatchResult) -> None:
                    tally.add(batch, result, rejects)
                    if progress:
                        progress(tally.progress(source))

                for batch in batches(source, parser, batch_size):
                    pipeline.submit(batch, written)
                pipeline.drain(written)
        except Exception as exc:
            runs.finish(run_id, tally, finished=False)
            raise ImportAborted(
                f"import stopped after {tally.accepted:,} committed rows: {exc}. Fix the cause and import the same "
                "file again: committed rows are not duplicated."
            ) from exc
        runs.finish(run_id, tally, finished=True)
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


class _Pipeline:
    """One worker thread owns the database connection and writes batches in order while the caller parses the
    next ones. At most `depth` batches wait for the writer, which bounds memory.

    While it runs, the interpreter switches threads every 0.5 ms instead of 5 ms: the writer needs the GIL for a
    moment after every database round trip, and waiting 5 ms each time would leave the database idle.
    """

    def __init__(
        self, engine: Engine, clock: Callable[[], datetime], *, actor: str, run_id: int, depth: int = 2
    ) -> None:
        self._clock = clock
        self._depth = depth
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="edl-import")
        self._writer: BatchWriter = self._pool.submit(open_writer, engine, actor=actor, run_id=run_id).result()
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
        at = self._clock()
        prepared = self._writer.prepare(batch.rows, at)  # in this thread: the worker then only waits on the database
        self._queue.append((batch, self._pool.submit(self._write, batch.rows, prepared, at)))
        while self._queue and (len(self._queue) > self._depth or self._queue[0][1].done()):
            first, future = self._queue.popleft()
            done(first, future.result())

    def _write(self, rows: pl.DataFrame, prepared: object, at: datetime) -> BatchResult:
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


class _Runs:
    """The `import_runs` record of an import: started, then finished with its counts."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self._sessions = make_session_factory(engine)
        self._clock = clock

    def start(self, path: Path, sha256: str, actor: str) -> int:
        run = ImportRun(
            source=str(path.resolve()), sha256=sha256, started_at=self._clock(), accepted=0, rejected=0, actor=actor
        )
        with transaction(self._sessions) as session:
            session.add(run)
            session.flush()
            return run.id

    def finish(self, run_id: int, tally: _Tally, *, finished: bool) -> None:
        """Record the counts; `finished_at` stays empty for a run that did not reach the end of the file."""
        with transaction(self._sessions) as session:
            run = session.get_one(ImportRun, run_id)
            run.accepted = tally.accepted
            run.rejected = tally.rejected
            run.finished_at = self._clock() if finished else None
