"""Reading registry files (CSV or JSON Lines, optionally gzip-compressed) one line at a time.

`RegistryFile` checks a file's type, content and header before anything is written, then streams its rows, so
memory stays flat however large the file is; `spreadsheet_safe` neutralises cells of the CSVs people open in a
spreadsheet (the reject file). See docs/registry-format.md.
"""

from __future__ import annotations

import csv
import gzip
import zlib
from collections.abc import Iterator
from functools import partial
from itertools import chain
from pathlib import Path
from typing import IO

from edl.boundedjson import MAX_DEPTH, JsonRefused
from edl.boundedjson import loads as json_loads
from edl.registry.formats import COLUMNS, ImportRefused, UnsupportedFileType, check_columns

Record = tuple[int, str, dict[str, str] | None, str | None]
"""(line number, the line as text, its fields — or None and the reason it is rejected)."""

EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
MAX_LINE = 64 * 1024
"""Longest accepted line in bytes; a longer one is rejected without being held in memory."""

_MAGIC = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"PK\x03\x04", "a ZIP archive (an .xlsx workbook?)"),
    (b"\xd0\xcf\x11\xe0", "an Office document (.xls?)"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "gzip-compressed (name it .csv.gz or .jsonl.gz)"),
)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula (OWASP, "CSV Injection")."""
_NEUTRALISED = (*FORMULA_STARTS, "'")


def spreadsheet_safe(cell: str) -> str:
    """`cell` for a CSV that people open in a spreadsheet: one `'` before a cell that begins with a formula character
    (`=HYPERLINK(…)` stays text), and before one that begins with `'` already, so that dropping one leading `'` of
    such a cell always gives the original back. Legitimate text that begins with `-` gets the `'` too (OWASP)."""
    return "'" + cell if cell.startswith(_NEUTRALISED) else cell


def line_text(raw: bytes | None) -> tuple[str, str | None] | None:
    """A raw line → (its text, None), or (text to show, the reason it is rejected); None for a blank line."""
    if raw is None:
        return "", "the compressed file ends early (truncated .gz): the rest is missing"
    if not raw.endswith(b"\n"):
        if len(raw) > MAX_LINE:
            return _show(raw[:200]) + "…", f"line longer than {MAX_LINE} bytes / 行过长"
        if raw.strip():
            return _show(raw), "truncated last line: no line break at the end / 末行不完整"
        return None
    try:
        text = raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError as exc:
        return _show(raw), f"not UTF-8 text (bad byte at {exc.start + 1}) / 非UTF-8编码"
    return (text, None) if text and not text.isspace() else None


def _show(raw: bytes) -> str:
    """A line as text for the reject file, with undecodable bytes shown as \\xNN."""
    return raw.rstrip(b"\r\n").decode("utf-8", "backslashreplace")


class RegistryFile:
    """An opened registry file whose type, content and header were checked; `records()` streams its rows.

    Construction raises `ImportRefused` for anything that is not one of our files, before a caller writes anything.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.kind, compressed = file_kind(path)
        try:
            self.size = path.stat().st_size
            self._raw: IO[bytes] = path.open("rb")
        except OSError as exc:
            raise ImportRefused(f"{path}: cannot open: {exc.strerror or exc}") from None
        self._fh: IO[bytes] = self._raw
        if compressed:
            self._fh = gzip.GzipFile(fileobj=self._raw, mode="rb")  # type: ignore[assignment]
        self.columns: tuple[str, ...] = ()
        self._first: list[bytes] = []
        self._start = 1
        try:
            self._check_content()
            if self.kind == "csv":
                self._read_header()
            else:
                self._read_first_record()
        except (OSError, EOFError, zlib.error) as exc:
            self.close()
            raise ImportRefused(f"{path.name}: cannot read the file: {exc}") from None
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> RegistryFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._fh.close()
        self._raw.close()

    @property
    def bytes_read(self) -> int:
        """How far into the file (compressed bytes for .gz) reading has got: for a progress bar."""
        return self._raw.tell()

    def records(self) -> Iterator[Record]:
        """Every data line in order; blank lines are skipped. Never raises for a bad row: it yields a reason."""
        line_no = self.first_line - 1
        for raw in self.raw_lines():
            line_no += 1
            found = line_text(raw)
            if found is None:
                continue
            text, error = found
            yield (line_no, text, None, error) if error else self.parse(line_no, text)
            if raw is None:
                return

    @property
    def first_line(self) -> int:
        """The line number of the first line `raw_lines` gives."""
        return self._start

    def raw_lines(self) -> Iterator[bytes | None]:
        """The data lines as bytes, as `line_text` takes them (None: a .gz breaks off there, nothing follows)."""
        return chain(self._first, self._lines())

    def parse(self, line_no: int, text: str) -> Record:
        """One line's text (read by `line_text`) → its fields, or the reason it cannot be read."""
        return self._parse_csv(line_no, text) if self.kind == "csv" else self._parse_json(line_no, text)

    def _lines(self) -> Iterator[bytes | None]:
        """Raw lines of at most MAX_LINE bytes (the rest of a longer line is skipped); None if a .gz breaks off."""
        readline = partial(self._fh.readline, MAX_LINE + 1)
        try:
            for raw in iter(readline, b""):
                yield raw
                if len(raw) > MAX_LINE and not raw.endswith(b"\n"):
                    while (rest := readline()) and not rest.endswith(b"\n"):
                        pass
        except (EOFError, zlib.error, gzip.BadGzipFile):
            yield None

    def _check_content(self) -> None:
        head = self._fh.peek(4096)[:4096]  # type: ignore[attr-defined]
        if not head:
            raise ImportRefused(f"{self.path.name}: the file is empty")
        for magic, what in _MAGIC:
            if head.startswith(magic):
                raise ImportRefused(f"{self.path.name} is {what}, not {self.kind.upper()} text")
        if b"\x00" in head:
            raise ImportRefused(f"{self.path.name} holds binary data, not {self.kind.upper()} text")

    def _first_line(self) -> tuple[int, str]:
        """The first non-blank line as text (without a UTF-8 byte-order mark) and its line number."""
        line_no = 0
        while raw := self._fh.readline(MAX_LINE + 1):
            line_no += 1
            if len(raw) > MAX_LINE:
                raise ImportRefused(f"{self.path.name}: line {line_no} is longer than {MAX_LINE} bytes")
            try:
                text = raw.decode("utf-8").removeprefix("\ufeff").strip()
            except UnicodeDecodeError:
                raise ImportRefused(f"{self.path.name}: line {line_no} is not UTF-8 text") from None
            if text:
                self._first = [raw]
                return line_no, text
        raise ImportRefused(f"{self.path.name}: the file has no content")

    def _read_header(self) -> None:
        line_no, text = self._first_line()
        try:
            names = [n.strip().lower() for n in next(csv.reader([text], strict=True))]
        except csv.Error:
            names = [text]
        if line_no != 1 or not set(names) & set(COLUMNS):
            raise ImportRefused(
                f"{self.path.name}: the first line is not an eDL registry header (expected {','.join(COLUMNS[:4])},…)"
            )
        check_columns(names, what=f"{self.path.name}: the CSV header")
        self.columns = tuple(names)
        self._first, self._start = [], 2

    def _read_first_record(self) -> None:
        line_no, text = self._first_line()
        try:
            obj = json_loads(text)
        except JsonRefused:
            obj = None
        if not isinstance(obj, dict):
            raise ImportRefused(f"{self.path.name}: line {line_no} is not a JSON object: not a JSON Lines file")
        check_columns(list(obj), what=f"{self.path.name}: the first record")
        self._start = line_no

    def _parse_csv(self, line_no: int, text: str) -> Record:
        if '"' in text:
            try:
                values = next(csv.reader((text,), strict=True))
            except csv.Error as exc:
                return line_no, text, None, f"malformed CSV quoting ({exc}) / 引号不匹配"
        else:
            values = text.split(",")
        if len(values) != len(self.columns):
            return line_no, text, None, f"expected {len(self.columns)} fields, got {len(values)} / 字段数不符"
        return line_no, text, dict(zip(self.columns, values, strict=True)), None

    @staticmethod
    def _parse_json(line_no: int, text: str) -> Record:
        try:
            obj = json_loads(text)  # depth-limited: deep nesting is a rejected row, never a RecursionError
        except JsonRefused as exc:
            if exc.reason == "too_deep":
                return line_no, text, None, f"JSON nested deeper than {MAX_DEPTH} levels / JSON嵌套过深"
            where = f" at column {exc.column}" if exc.column else ""
            return line_no, text, None, f"invalid JSON{where} / JSON格式错误"
        if not isinstance(obj, dict):
            return line_no, text, None, "not a JSON object / 不是JSON对象"
        fields: dict[str, str] = {}
        for key, value in obj.items():
            if key not in _COLUMN_SET:
                return line_no, text, None, f"unknown field {key!r} / 未知字段"
            if isinstance(value, str):
                fields[key] = value
            elif value is None:
                fields[key] = ""
            elif isinstance(value, bool):
                fields[key] = "true" if value else "false"
            elif isinstance(value, int):
                fields[key] = str(value)
            else:
                return line_no, text, None, f"{key}: must be a string, whole number, true/false or null"
        return line_no, text, fields, None


_COLUMN_SET = frozenset(COLUMNS)


def file_kind(path: Path) -> tuple[str, bool]:
    """('csv' | 'jsonl', gzip-compressed?) from the file name; anything else is refused."""
    name = path.name.lower()
    compressed = name.endswith(".gz")
    suffix = Path(name.removesuffix(".gz")).suffix
    kind = EXTENSIONS.get(suffix)
    if kind is None:
        raise UnsupportedFileType(
            f"{path.name}: unsupported file type {suffix or '(no extension)'}; "
            "use .csv, .jsonl or .ndjson, optionally gzip-compressed (.gz)"
        )
    return kind, compressed
