"""The import's column checks (`columnar` + `chunks`) decide every row exactly as `RowParser` row by row does:
the same accepted values, the same rejects with the same reasons, the same duplicates."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edl.registry.columnar import OK, check
from edl.registry.formats import COLUMNS
from edl.registry.generator import generate
from tests.unit.registry.both import decide_rows, same_both_ways
from tests.unit.registry.factories import TODAY, row, rows, write_csv
from tests.unit.registry.test_formats import INVALID_ROWS, SPELLINGS

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.mark.parametrize(("overrides", "expected"), INVALID_ROWS)
@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_every_rejected_row_case_is_rejected_with_the_same_reason(
    tmp_path: Path, kind: str, overrides: dict[str, str], expected: str
) -> None:
    [(decision, reason)] = decide_rows([row(**overrides)], TODAY, tmp_path, kind=kind)
    assert decision == "reject" and expected in str(reason)


@pytest.mark.parametrize(("sex", "term", "until", "statuses", "compliant"), SPELLINGS)
def test_documented_spellings_are_accepted_both_ways(
    tmp_path: Path, sex: str, term: str, until: str, statuses: str, compliant: str
) -> None:
    fields = row(sex=sex, validity_term=term, valid_until=until, statuses=statuses, photo_compliant=compliant)
    assert [d for d, _ in decide_rows([fields], TODAY, tmp_path)] == ["accept"]


def test_absent_optional_fields_and_missing_required_ones_in_json_records(tmp_path: Path) -> None:
    absent: dict[str, str | None] = {**row(0), "nationality": None, "statuses": None, "points": None}
    absent["points_cycle_start"] = None
    missing: dict[str, str | None] = {**row(1), "address": None}
    decided = decide_rows([absent, missing], TODAY, tmp_path, kind="jsonl")
    assert decided[0][0] == "accept"
    assert decided[1] == ("reject", "missing field 'address'")


def test_plain_rows_take_the_fast_lane() -> None:
    """The point of the column checks: ordinary rows never fall back to the row parser."""
    frame = pl.DataFrame([row(i) for i in range(50)] + [row(60, statuses="DH", classes="C1E", points="0")])
    assert check(frame, TODAY)[OK].all()


def test_generated_registry_is_accepted_in_the_fast_lane_and_identically(tmp_path: Path) -> None:
    path = tmp_path / "gen.csv"
    generate(path, 3000, seed=7, as_of=TODAY)
    decided = same_both_ways(path, TODAY, size=700)
    assert {d for (d, _), _ in decided.values()} == {"accept"}
    frame = pl.read_csv(path, infer_schema=False, empty_string_is_null=False)
    assert check(frame, TODAY)[OK].all()


def test_duplicates_keep_the_first_as_the_row_by_row_import_did(tmp_path: Path) -> None:
    """A row refused for its file number does not claim its licence number: a later row with that number is
    accepted."""
    data = [row(0), row(1, file_number=row(0)["file_number"]), row(1), row(0, name="李四"), row(2), row(2)]
    decided = decide_rows(data, TODAY, tmp_path)
    assert [d for d, _ in decided] == ["accept", "reject", "accept", "reject", "accept", "reject"]


# --- the property: any mix of plain and odd spellings is decided the same both ways ---------------------------

_SPACES = [" ", "\t", "\u3000", "\xa0", "\x1c", "\x1f", "\u2028", "\x85", "\u200b"]
_ODD: dict[str, list[str]] = {
    "number": ["", "x", "51010419900503012x", "51010419900230123X", "０" * 18, "110105190001010018"],
    "file_number": ["", "12345", "５１０１00000000", "51010000000a", "5101000000001"],
    "name": ["", "张" * 64, "张" * 65, "N\\A", "=1+2"],
    "sex": ["", "2", "男", "女", "M", "f", "x", "1 "],
    "nationality": ["", "chn", "CN", "ÄÖÜ", "C1N"],
    "birth_date": ["", "1990-5-03", "1990/05/03", "19900503", "1990-05-04", "0000-01-01", "１９９０-05-03"],
    "address": ["", "a" * 256, "a" * 257, "成都市\\武侯区\t1号"],
    "classes": ["", "c1", "C1 E", "Z9", "A1A2", "C1,D", "c1e"],
    "first_issue": ["", "2008-05-03", "2008-05-02", "2026-11-26", "2026-11-25", "2023-02-30", "2016-02-29"],
    "validity_term": ["", "6", "十年", "长期", "long", "7", "LONG"],
    "valid_from": ["", "2016-02-29", "2018-06-01", "2011-01-01", "2012-06-01"],
    "valid_until": ["", "2026-02-28", "2028-06-01", "2028-06-02", "2022-02-28", "2024-06-01"],
    "authority_code": ["", "51A100", "510100", "5101000"],
    "authority_name": ["", "a" * 64, "a" * 65],
    "authority_city": ["", "b" * 32, "b" * 33],
    "statuses": ["", "dh", "正常", "Q", "A,D", "违法未处理、暂扣"],
    "points": ["", "0", "12", "0012", "999", "1000", "-1", "1" * 5000, "３"],
    "points_cycle_start": ["", "2026-06-01", "2025-06-01", "2026-06-02", "2012-06-01", "2017-02-28", "2016-02-29"],
    "photo_sha256": ["", "ab" * 32, "AB" * 32, "ab" * 31, "g" * 64],
    "photo_compliant": ["", "true", "1", "是", "TRUE", "maybe"],
    "mobile": ["", "13800138000", "+86 138-0013-8000", "１３８００１３８０００", "12345678901", "1380013800"],
}


@st.composite
def odd_rows(draw: st.DrawFn) -> dict[str, str | None]:
    fields: dict[str, str | None] = dict(row(draw(st.integers(0, 5))))
    if draw(st.booleans()):  # no points: the dates are then free of the points cycle's own rule
        fields.update(points="0", points_cycle_start="")
    for name in draw(st.lists(st.sampled_from(COLUMNS), max_size=4)):
        value = draw(st.sampled_from(_ODD[name]))
        if draw(st.integers(0, 4)) == 0:
            value = draw(st.sampled_from(_SPACES)) + (fields.get(name) or "") + draw(st.sampled_from(["", *_SPACES]))
        fields[name] = None if draw(st.integers(0, 9)) == 0 else value
    return fields


@SETTINGS
@given(st.lists(odd_rows(), min_size=1, max_size=12), st.sampled_from(["csv", "jsonl"]), st.integers(1, 5))
def test_any_mix_of_rows_is_decided_the_same_both_ways(
    tmp_path_factory: pytest.TempPathFactory, data: list[dict[str, str | None]], kind: str, size: int
) -> None:
    tmp = tmp_path_factory.mktemp("mix")
    data = [dict(row(7)), *data]  # a JSON Lines file is recognised by a complete first record
    if kind == "csv":
        path = write_csv(tmp / "rows.csv", [{k: v or "" for k, v in r.items()} for r in data])
    else:
        from tests.unit.registry.factories import write_jsonl

        path = write_jsonl(tmp / "rows.jsonl", [{k: v for k, v in r.items() if v is not None} for r in data])
    same_both_ways(path, TODAY, size)


@SETTINGS
@given(st.lists(st.sampled_from(["", " ", "\x1c", "\u3000\r", "\x0b", "\u200b"]), min_size=1, max_size=6))
def test_blank_lines_are_the_ones_str_isspace_calls_blank(
    tmp_path_factory: pytest.TempPathFactory, blanks: list[str]
) -> None:
    path = write_csv(tmp_path_factory.mktemp("blank") / "a.csv", rows(2))
    text = path.read_text(encoding="utf-8")
    path.write_text(text + "\n".join(blanks) + "\n" + text.split("\n", 1)[1], encoding="utf-8")
    same_both_ways(path, TODAY, size=2)


def test_odd_lines_in_a_block_are_read_as_the_row_by_row_reader_reads_them(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", rows(6))
    lines = path.read_bytes().split(b"\n")
    lines[2] = lines[2].replace("张伟".encode(), "张伟".encode("gbk"))
    lines[3] = lines[3] + b"," + b"x" * 70_000
    lines[4] = b'"' + lines[4]
    path.write_bytes(b"\n".join(lines) + b"trailing,no,newline")
    decided = same_both_ways(path, TODAY, size=3)
    assert [d for (d, _), _ in decided.values()].count("reject") == 4


@pytest.mark.parametrize(("first_issue", "decision"), [("2008-05-03", "accept"), ("2008-05-02", "reject")])
def test_a_first_issue_before_the_eighteenth_birthday_is_rejected_both_ways(
    tmp_path: Path, first_issue: str, decision: str
) -> None:
    fields = row(0, first_issue=first_issue, points="0", points_cycle_start="")
    assert decide_rows([fields], TODAY, tmp_path)[0][0] == decision


def test_today_bounds_the_first_issue_date(tmp_path: Path) -> None:
    fields = row(0, first_issue="2026-11-25", valid_from="2026-11-25", valid_until="2036-11-25", points="0")
    fields["points_cycle_start"] = ""
    assert decide_rows([fields], TODAY, tmp_path)[0][0] == "accept"
    assert decide_rows([fields], date(2026, 11, 24), tmp_path)[0][0] == "reject"
