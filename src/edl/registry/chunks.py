"""A registry file as batches of validated rows, a column frame per batch: the import's parsing stage.

Lines are read as `RegistryFile` reads them (the same limits and reasons) but decoded, split and checked a block at
a time: a block whose lines are all plain UTF-8 is decoded once and split into columns by polars; CSV lines with
quotes or the wrong number of fields, JSON Lines records, and any block with an odd line go through
`RegistryFile`'s own per-line code. Rows are then checked by `columnar.check`, and every row it does not pass is
decided by `RowParser` (which words the reasons). Batches hold exactly `size` data lines, as the row-by-row
import did, so duplicates are found (and worded) the same way. Memory is bounded by one batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import polars as pl

from edl.registry.columnar import OK, SCHEMA, check
from edl.registry.files import RegistryFile, line_text
from edl.registry.formats import COLUMNS, DB_COLUMNS, RowParser, RowRejected, db_values

__all__ = ["STAGED", "Batch", "batches"]

Reject = tuple[int, str, str]
"""(line, reason, raw text)."""

STAGED = (*DB_COLUMNS, "line", "raw")
"""The columns of a batch's `rows`: the `licences` values, the line number and the line as it was in the file."""

_BLANK = r"^[\s\x1c-\x1f]*$"
"""A line that `str.isspace` calls blank (Unicode White_Space and the separators \\x1c–\\x1f)."""
_LINES = {"line": pl.Int64, "text": pl.String, "error": pl.String}
_DUPLICATE = "duplicate licence number, first at line {} / 证号重复"
_FILE_NUMBER_USED = "file_number already used by licence {} at line {} / 档案编号重复"


@dataclass(slots=True)
class Batch:
    """`lines` data lines of the file: the rows to write (`rows`, columns `STAGED`, in file order) and those
    already rejected in Python (`rejects`)."""

    lines: int = 0
    rows: pl.DataFrame = field(default_factory=lambda: _empty(STAGED))
    rejects: list[Reject] = field(default_factory=list)


def batches(source: RegistryFile, parser: RowParser, size: int) -> Iterator[Batch]:
    """Validate the file's rows into batches of `size` data lines; duplicates inside a batch are caught here,
    across batches by the writer (which remembers every number it accepted in this run)."""
    for lines in _line_frames(source, size):
        yield _batch(source, parser, lines)


def _line_frames(source: RegistryFile, size: int) -> Iterator[pl.DataFrame]:
    """The file's non-blank lines (line, text, error) in frames of exactly `size` (the last may be shorter)."""
    raw_lines = source.raw_lines()
    line_no = source.first_line
    pending: list[pl.DataFrame] = []
    have = 0
    while block := list(islice(raw_lines, size)):
        frame = _decode(block, line_no)
        line_no += len(block)
        pending.append(frame)
        have += frame.height
        while have >= size:
            joined = pl.concat(pending)
            yield joined.slice(0, size)
            rest = joined.slice(size)
            pending, have = [rest], rest.height
        if block[-1] is None:  # a .gz broke off: nothing follows
            break
    if have:
        yield pl.concat(pending)


def _decode(block: list[bytes | None], first: int) -> pl.DataFrame:
    """A block of raw lines → its non-blank lines. Plain UTF-8 lines are decoded and split in one go; a block
    with anything else (a bad byte, a long or truncated line, a broken .gz) goes line by line through `line_text`."""
    if None not in block:
        data = b"".join(block)  # type: ignore[arg-type]
        if data.count(b"\n") == len(block):  # every line complete: none long, none truncated
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                pass
            else:
                lines = pl.Series("text", [text]).str.split("\n").explode().slice(0, len(block))
                frame = pl.DataFrame(
                    {"line": pl.int_range(first, first + len(block), eager=True), "text": lines}
                ).with_columns(pl.col("text").str.strip_chars_end("\r\n"), pl.lit(None, pl.String).alias("error"))
                return frame.filter(~pl.col("text").str.contains(_BLANK))
    rows = []
    for n, raw in enumerate(block, first):
        found = line_text(raw)
        if found is not None:
            rows.append((n, *found))
    return pl.DataFrame(rows, schema=_LINES, orient="row")


def _batch(source: RegistryFile, parser: RowParser, lines: pl.DataFrame) -> Batch:
    """Fields, the fast lane, `RowParser` for the rest, then duplicates: one batch's rows and rejects."""
    batch = Batch(lines=lines.height)
    fields = _fields(source, lines, batch.rejects)
    values = check(fields.drop("line", "raw"), parser.today)
    checked = pl.concat([fields.select("line", "raw"), values], how="horizontal")
    passed = checked.filter(pl.col(OK)).drop(OK)
    decided = _decide(parser, fields.filter(~checked[OK]), batch.rejects)
    rows = pl.concat([passed.select(STAGED), decided]).sort("line") if decided.height else passed.select(STAGED)
    batch.rows = _first_of_duplicates(rows, batch.rejects)
    batch.rejects.sort()
    return batch


def _fields(source: RegistryFile, lines: pl.DataFrame, rejects: list[Reject]) -> pl.DataFrame:
    """One String column per field of the file (null where a JSON record lacks it), plus line and raw."""
    columns = list(source.columns) if source.kind == "csv" else list(COLUMNS)
    plain = pl.col("error").is_null()
    if source.kind == "csv":
        plain &= ~pl.col("text").str.contains('"', literal=True)
        plain &= pl.col("text").str.count_matches(",", literal=True) == len(columns) - 1
    flagged = lines.with_columns(plain.alias("_plain"))
    fast = flagged.filter(pl.col("_plain"))
    frames = []
    if fast.height and source.kind == "csv":
        split = fast["text"].str.split_exact(",", len(columns) - 1).struct.rename_fields(columns).struct.unnest()
        frames.append(pl.concat([fast.select("line", pl.col("text").alias("raw")), split], how="horizontal"))
    slow = flagged.filter(~pl.col("_plain")) if source.kind == "csv" else lines
    records = []
    for line, text, error in slow.select("line", "text", "error").iter_rows():
        if error is None:
            line, text, values, error = source.parse(line, text)
        if error is not None or values is None:
            rejects.append((line, error or "unreadable line", text))
        else:
            records.append({"line": line, "raw": text, **values})
    if records:
        schema = {"line": pl.Int64, "raw": pl.String, **dict.fromkeys(columns, pl.String)}
        frames.append(pl.DataFrame(records, schema=schema))
    if not frames:
        return pl.DataFrame(schema={"line": pl.Int64, "raw": pl.String, **dict.fromkeys(columns, pl.String)})
    return pl.concat(frames, how="diagonal").sort("line") if len(frames) > 1 else frames[0]


def _decide(parser: RowParser, fields: pl.DataFrame, rejects: list[Reject]) -> pl.DataFrame:
    """`RowParser` decides the rows the fast lane did not pass: its values, or its reason."""
    names = [c for c in fields.columns if c not in ("line", "raw")]
    accepted = []
    for line, raw, *values in fields.select("line", "raw", *names).iter_rows():
        record = {name: value for name, value in zip(names, values, strict=True) if value is not None}
        try:
            accepted.append((*db_values(parser.licence(record)), line, raw))
        except RowRejected as exc:
            rejects.append((line, exc.reason, raw))
    return pl.DataFrame(accepted, schema=_schema(STAGED), orient="row")


def _first_of_duplicates(rows: pl.DataFrame, rejects: list[Reject]) -> pl.DataFrame:
    """Keep the first row of each licence number and of each file number, in file order, as the row-by-row import
    did: a row rejected for its file number does not claim its licence number. Only rows that share a number
    with another are walked in Python."""
    shared = rows["number"].is_duplicated() | rows["file_number"].is_duplicated()
    if not shared.any():
        return rows
    numbers: dict[str, int] = {}
    file_numbers: dict[str, tuple[str, int]] = {}
    dropped: list[int] = []
    walked = rows.filter(shared).select("number", "file_number", "line", "raw")
    for number, file_number, line, raw in walked.iter_rows():
        if (first := numbers.get(number)) is not None:
            rejects.append((line, _DUPLICATE.format(first), raw))
            dropped.append(line)
        elif (owner := file_numbers.get(file_number)) is not None:
            rejects.append((line, _FILE_NUMBER_USED.format(*owner), raw))
            dropped.append(line)
        else:
            numbers[number] = line
            file_numbers[file_number] = (number, line)
    return rows.filter(~pl.col("line").is_in(dropped))


def _schema(names: tuple[str, ...]) -> dict[str, Any]:
    return {n: SCHEMA.get(n, pl.Int64 if n == "line" else pl.String) for n in names}


def _empty(names: tuple[str, ...]) -> pl.DataFrame:
    return pl.DataFrame(schema=_schema(names))
