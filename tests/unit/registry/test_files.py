"""Reading registry files: refused files, and bad lines turned into rejects with their line numbers."""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from edl.registry.files import RegistryFile
from edl.registry.formats import COLUMNS, ImportRefused, UnsupportedFileType
from tests.unit.registry.factories import row, rows, write_csv, write_jsonl


def records(path: Path) -> list[tuple[int, str | None]]:
    """(line, rejection reason or None) for every record of the file."""
    with RegistryFile(path) as f:
        return [(line, error) for line, _, _, error in f.records()]


def refusal(path: Path) -> str:
    with pytest.raises(ImportRefused) as caught:
        RegistryFile(path)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_csv_records_are_numbered_by_physical_line_after_the_header(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", rows(3))
    assert records(path) == [(2, None), (3, None), (4, None)]


def test_csv_columns_may_come_in_any_order_and_optional_ones_may_be_left_out(tmp_path: Path) -> None:
    columns = [c for c in reversed(COLUMNS) if c not in ("nationality", "photo_sha256")]
    path = write_csv(tmp_path / "a.csv", rows(1), columns)
    with RegistryFile(path) as f:
        [(_, _, fields, error)] = list(f.records())
    assert error is None and fields is not None
    assert fields["number"] == row(0)["number"] and "nationality" not in fields


def test_quoted_csv_fields_are_parsed(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", [row(0, address='成都市武侯区"人民南路", 1号')])
    with RegistryFile(path) as f:
        [(_, _, fields, _)] = list(f.records())
    assert fields is not None and fields["address"] == '成都市武侯区"人民南路", 1号'


def test_truncated_last_csv_line_is_rejected_and_the_rest_read(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", rows(3))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 30])
    assert records(path) == [(2, None), (3, None), (4, "truncated last line: no line break at the end / 末行不完整")]


def test_csv_line_with_too_few_fields_is_rejected(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", rows(2))
    with path.open("a", encoding="utf-8") as fh:
        fh.write("11010519491231002X,1,2\n")
    assert records(path)[-1] == (4, f"expected {len(COLUMNS)} fields, got 3 / 字段数不符")


def test_non_utf8_bytes_reject_only_that_line(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", rows(3))
    lines = path.read_bytes().split(b"\n")
    lines[2] = lines[2].replace("张伟".encode(), "张伟".encode("gbk"))
    path.write_bytes(b"\n".join(lines))
    result = records(path)
    assert [line for line, error in result if error] == [3]
    assert "not UTF-8" in (result[1][1] or "")


def test_jsonl_accepts_typed_values_and_rejects_cut_json(tmp_path: Path) -> None:
    typed = {**row(0), "sex": 1, "points": 3, "photo_compliant": False, "photo_sha256": None}
    path = write_jsonl(tmp_path / "a.jsonl", [typed, row(1), row(2)])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 20] + b"\n")
    with RegistryFile(path) as f:
        got = list(f.records())
    assert got[0][2] is not None and got[0][2]["sex"] == "1" and got[0][2]["photo_compliant"] == "false"
    assert got[0][2]["photo_sha256"] == ""
    assert got[2][0] == 3 and (got[2][3] or "").startswith("invalid JSON")


def test_jsonl_rows_with_nested_values_or_unknown_fields_are_rejected(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "a.ndjson", [row(0), {**row(1), "classes": ["C1"]}, {**row(2), "colour": "red"}, [1]])
    assert [error for _, error in records(path)] == [
        None,
        "classes: must be a string, whole number, true/false or null",
        "unknown field 'colour' / 未知字段",
        "not a JSON object / 不是JSON对象",
    ]


def test_gzip_files_are_read_transparently(tmp_path: Path) -> None:
    plain = write_csv(tmp_path / "a.csv", rows(2)).read_bytes()
    path = tmp_path / "a.csv.gz"
    path.write_bytes(gzip.compress(plain))
    assert records(path) == [(2, None), (3, None)]


def test_blank_lines_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text("\n" + json.dumps(row(0)) + "\n\n  \n" + json.dumps(row(1)) + "\n", encoding="utf-8")
    assert records(path) == [(2, None), (5, None)]


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), "white").save(out, "PNG")
    return out.getvalue()


def xlsx_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("photo.csv", png_bytes(), "is a PNG image, not CSV text"),
        ("book.csv", xlsx_bytes(), "is a ZIP archive"),
        ("book.xlsx", xlsx_bytes(), "unsupported file type .xlsx"),
        ("data.txt", b"number\n", "unsupported file type .txt"),
        ("empty.csv", b"", "the file is empty"),
        ("nul.jsonl", b'{"a": 1}\x00\n', "binary data"),
        ("plain.csv.gz", b"number,name\n", "cannot read the file"),
        ("packed.csv", gzip.compress(b"number\n"), "gzip-compressed"),
        ("noheader.csv", b"11010519491231002X,110101000001,x\n", "first line is not an eDL registry header"),
        ("other.csv", b"id,name,email\n1,a,b\n", "unknown column(s) 'id', 'email': not an eDL registry file"),
        ("short.csv", b"number,file_number,name\n", "lacks required column(s): sex"),
        ("typo.csv", ",".join([*COLUMNS, "adress"]).encode() + b"\n", "unknown column(s) 'adress'"),
        ("twice.csv", ",".join([*COLUMNS, "name"]).encode() + b"\n", "repeats column(s) name"),
        ("notjson.jsonl", b"number,name\n", "not a JSON object: not a JSON Lines file"),
        ("short.jsonl", b'{"number": "x"}\n', "lacks required column(s)"),
        ("latin1.csv", "número".encode("latin-1") + b"\n", "line 1 is not UTF-8 text"),
    ],
)
def test_files_that_are_not_ours_are_refused_with_one_line(
    tmp_path: Path, name: str, content: bytes, expected: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert expected in refusal(path)


def test_unsupported_extension_is_its_own_refusal_class(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFileType):
        RegistryFile(tmp_path / "x.xlsx")


def test_missing_file_is_refused(tmp_path: Path) -> None:
    assert "cannot open" in refusal(tmp_path / "missing.csv")


def test_a_gzip_file_that_breaks_off_rejects_the_rest_and_keeps_what_came_before(tmp_path: Path) -> None:
    plain = write_csv(tmp_path / "a.csv", rows(400)).read_bytes()
    packed = gzip.compress(plain)
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(packed[: len(packed) * 2 // 3])
    result = records(path)
    assert result[-1][1] == "the compressed file ends early (truncated .gz): the rest is missing"
    good = [line for line, error in result if error is None]
    assert good == list(range(2, 2 + len(good))) and len(good) > 100
