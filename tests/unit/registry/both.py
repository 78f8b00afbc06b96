"""Both ways of deciding registry rows, for tests that must hold for each: `RowParser` row by row (the reference,
as the import did before it checked columns) and the import's batches (`chunks.batches`: polars fast lane, the
rest decided by `RowParser`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path

from edl.registry.chunks import batches
from edl.registry.files import RegistryFile
from edl.registry.formats import RowParser, RowRejected, db_values
from tests.unit.registry.factories import write_csv, write_jsonl

Decision = tuple[str, object]
"""("accept", the `licences` values) or ("reject", the reason), by line number."""


def row_by_row(path: Path, today: date, size: int = 10_000) -> dict[int, tuple[Decision, str]]:
    """The reference: every record through `RowParser`, duplicates found in file order within each batch."""
    parser = RowParser(today)
    out: dict[int, tuple[Decision, str]] = {}
    numbers: dict[object, int] = {}
    file_numbers: dict[object, tuple[object, int]] = {}
    with RegistryFile(path) as source:
        for count, (line, text, fields, error) in enumerate(source.records(), 1):
            if fields is None:
                out[line] = (("reject", error), text)
            else:
                try:
                    values = db_values(parser.licence(fields))
                except RowRejected as exc:
                    out[line] = (("reject", exc.reason), text)
                else:
                    number, file_number = values[0], values[1]
                    if (first := numbers.get(number)) is not None:
                        out[line] = (("reject", f"duplicate licence number, first at line {first} / 证号重复"), text)
                    elif (owner := file_numbers.get(file_number)) is not None:
                        reason = f"file_number already used by licence {owner[0]} at line {owner[1]} / 档案编号重复"
                        out[line] = (("reject", reason), text)
                    else:
                        numbers[number] = line
                        file_numbers[file_number] = (number, line)
                        out[line] = (("accept", values), text)
            if count % size == 0:
                numbers.clear()
                file_numbers.clear()
    return out


def in_batches(path: Path, today: date, size: int = 10_000) -> dict[int, tuple[Decision, str]]:
    """What the import decides: `chunks.batches`."""
    out: dict[int, tuple[Decision, str]] = {}
    lines = 0
    with RegistryFile(path) as source:
        for batch in batches(source, RowParser(today), size):
            lines += batch.lines
            assert batch.lines <= size
            for *values, line, raw in batch.rows.iter_rows():
                out[line] = (("accept", tuple(values)), raw)
            for line, reason, raw in batch.rejects:
                assert line not in out
                out[line] = (("reject", reason), raw)
    assert lines == len(out)
    return out


def same_both_ways(path: Path, today: date, size: int = 10_000) -> dict[int, tuple[Decision, str]]:
    """Decide `path` both ways, assert they agree line by line (decision, values or reason, raw text)."""
    reference = row_by_row(path, today, size)
    decided = in_batches(path, today, size)
    assert decided == reference
    return decided


def decide_rows(
    rows: Iterable[Mapping[str, str | None]], today: date, tmp: Path, *, kind: str = "csv"
) -> list[Decision]:
    """Write `rows` as a file (None: the field is absent from a JSON record, empty in CSV), decide it both ways and
    return the decisions in row order."""
    rows = list(rows)
    if kind == "csv":
        path = write_csv(tmp / "rows.csv", [{k: v or "" for k, v in r.items()} for r in rows])
        first = 2
    else:
        path = write_jsonl(tmp / "rows.jsonl", [{k: v for k, v in r.items() if v is not None} for r in rows])
        first = 1
    decided = same_both_ways(path, today)
    return [decided[first + i][0] for i in range(len(rows))]
