"""The registry exchange format (CSV or JSON Lines): columns, and one row → one domain `Licence`.

A row is valid exactly when the domain accepts it: every field goes through the domain's own parsers
(`IdNumber.parse`, `parse_classes`, `Validity`, `Licence`, …). This module adds only what a *file* needs on top:
column names, defaults, strict dates, the storage length limits of `licences`, and the cross-checks the brief asks
for (sex against the ID number's sequence digit, the validity end against `Validity.of`, the points cycle against
the first issue date, no first issue in the future). It also reads the two encodings (`RegistryFile`) one line at
a time, so memory stays flat however large the file is.
See docs/registry-format.md.
"""

from __future__ import annotations

import csv
import gzip
import re
import zlib
from collections.abc import Iterator, Mapping
from datetime import date
from functools import lru_cache, partial
from itertools import chain
from pathlib import Path
from typing import IO

from edl.accounts.errors import InvalidMobile
from edl.accounts.otp import normalise_mobile
from edl.boundedjson import MAX_DEPTH, JsonRefused
from edl.boundedjson import loads as json_loads
from edl.domain import (
    DomainError,
    Holder,
    IdNumber,
    IssuingAuthority,
    Licence,
    PointsCycle,
    Status,
    Validity,
    ValidityTerm,
    VehicleClass,
    format_classes,
    format_statuses,
    parse_classes,
    parse_file_number,
    parse_statuses,
)
from edl.domain.points import cycle_start

COLUMNS: tuple[str, ...] = (
    "number",
    "file_number",
    "name",
    "sex",
    "nationality",
    "birth_date",
    "address",
    "classes",
    "first_issue",
    "validity_term",
    "valid_from",
    "valid_until",
    "authority_code",
    "authority_name",
    "authority_city",
    "statuses",
    "points",
    "points_cycle_start",
    "photo_sha256",
    "photo_compliant",
    "mobile",
)
"""Every column, in the order the generator writes them (files may order them freely)."""

DEFAULTS: dict[str, str] = {
    "nationality": "CHN",
    "statuses": "A",
    "points": "0",
    "points_cycle_start": "",
    "photo_sha256": "",
    "photo_compliant": "false",
    "mobile": "",
}
"""Optional columns and the value an absent column (or, for these, an empty value) means."""

REQUIRED: frozenset[str] = frozenset(COLUMNS) - DEFAULTS.keys()
_DEFAULT = DEFAULTS

DB_COLUMNS: tuple[str, ...] = tuple("photo_ref" if c == "photo_sha256" else c for c in COLUMNS)
"""Columns of `licences` that a row fills, in the order of `db_values` (version/updated_at are the writer's)."""

# Storage limits of `licences` (edl.db.models) that the domain does not state itself.
MAX_ADDRESS = 256
MAX_AUTHORITY_NAME = 64
MAX_AUTHORITY_CITY = 32
MAX_POINTS = 999

_SEX = {"1": 1, "2": 2, "男": 1, "女": 2, "M": 1, "F": 2, "m": 1, "f": 2}
_BOOL = {"true": True, "false": False, "1": True, "0": False, "": False, "是": True, "否": False}
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")


class ImportRefused(Exception):
    """The whole file is refused before anything is written (unsupported format, wrong header, missing columns)."""


class UnsupportedFileType(ImportRefused):
    """The file name does not say CSV or JSON Lines (.csv, .jsonl, .ndjson, each optionally .gz)."""


class RowRejected(Exception):
    """One row is rejected; `reason` says which field and why, in words a data steward can act on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def check_columns(names: list[str], *, what: str) -> None:
    """Refuse a header (or the first JSON record's keys) that is not ours: unknown, duplicate or missing names."""
    unknown = [n for n in names if n not in COLUMNS]
    if unknown:
        raise ImportRefused(
            f"{what} has unknown column(s) {', '.join(map(repr, unknown[:5]))}: not an eDL registry file "
            "(see docs/registry-format.md)"
        )
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ImportRefused(f"{what} repeats column(s) {', '.join(dupes)}")
    missing = [c for c in COLUMNS if c in REQUIRED and c not in names]
    if missing:
        raise ImportRefused(f"{what} lacks required column(s): {', '.join(missing)}")


# Parsers of repeated values are cached: a million rows carry only a few distinct class, status, term and
# authority strings. Rejections are exceptions and are never cached, so a bad value is re-checked each time.
@lru_cache(maxsize=4096)
def _classes(text: str) -> tuple[VehicleClass, ...]:
    return parse_classes(text)


@lru_cache(maxsize=4096)
def _statuses(text: str) -> frozenset[Status]:
    return parse_statuses(text)


@lru_cache(maxsize=64)
def _term(text: str) -> ValidityTerm:
    return ValidityTerm.parse(text)


@lru_cache(maxsize=4096)
def _authority(code: str, name: str, city: str) -> IssuingAuthority:
    if len(name) > MAX_AUTHORITY_NAME:
        raise RowRejected(f"authority_name: at most {MAX_AUTHORITY_NAME} characters / 发证机关名称过长")
    if len(city) > MAX_AUTHORITY_CITY:
        raise RowRejected(f"authority_city: at most {MAX_AUTHORITY_CITY} characters / 发证城市过长")
    return IssuingAuthority(code, name, city)


@lru_cache(maxsize=4096)
def _format_classes(classes: tuple[VehicleClass, ...]) -> str:
    return format_classes(classes)


@lru_cache(maxsize=4096)
def _format_statuses(statuses: frozenset[Status]) -> str:
    return format_statuses(statuses)


def _date(field: str, text: str) -> date:
    """Strict YYYY-MM-DD (date.fromisoformat alone would also take 20230228 or week dates)."""
    t = text.strip()
    if len(t) != 10 or t[4] != "-" or t[7] != "-":
        raise RowRejected(f"{field}: {text!r} is not a date in YYYY-MM-DD form / 日期格式应为YYYY-MM-DD")
    try:
        return date.fromisoformat(t)
    except ValueError:
        raise RowRejected(f"{field}: {t} is not a real calendar date / 日期不存在") from None


class RowParser:
    """Turns one row's fields into a domain `Licence`, or raises `RowRejected` with the first problem found.

    `today` (a date in China) bounds the ID number's birth date and the first issue date. This is the import's
    hot path: a valid row raises nothing, and repeated values (classes, statuses, authorities) are parsed once.
    """

    def __init__(self, today: date) -> None:
        self.today = today

    def licence(self, fields: Mapping[str, str]) -> Licence:
        get = fields.get
        field = "number"
        try:
            number = IdNumber.parse(fields["number"], today=self.today)
            field = "file_number"
            file_number = parse_file_number(fields["file_number"])
            field = "classes"
            classes = _classes(fields["classes"])
            field = "statuses"
            statuses = _statuses(get("statuses") or _DEFAULT["statuses"])
            field = "validity_term"
            term = _term(fields["validity_term"])
            field = ""
            authority = _authority(
                fields["authority_code"].strip(), fields["authority_name"].strip(), fields["authority_city"].strip()
            )
            holder = Holder(
                fields["name"].strip(),
                self._sex(fields["sex"], number),
                (get("nationality") or _DEFAULT["nationality"]).strip().upper(),
                _date("birth_date", fields["birth_date"]),
                self._address(fields["address"]),
                self._mobile(get("mobile") or ""),
            )
            field = "valid_until"
            validity = self._validity(term, fields["valid_from"], fields["valid_until"])
            field = ""
            first_issue = _date("first_issue", fields["first_issue"])
            if first_issue > self.today:
                raise RowRejected(f"first_issue: {first_issue} is in the future / 初次领证日期晚于今天")
            return Licence(
                number=number,
                file_number=file_number,
                holder=holder,
                classes=classes,
                first_issue=first_issue,
                validity=validity,
                authority=authority,
                statuses=statuses,
                points=self._points(get("points") or _DEFAULT["points"], get("points_cycle_start") or "", first_issue),
                photo_ref=self._photo(get("photo_sha256") or ""),
                photo_compliant=self._flag(get("photo_compliant") or _DEFAULT["photo_compliant"]),
            )
        except DomainError as exc:
            raise RowRejected(f"{field}: {exc}" if field else str(exc)) from None
        except KeyError as exc:
            raise RowRejected(f"missing field {exc.args[0]!r}") from None

    @staticmethod
    def _sex(text: str, number: IdNumber) -> int:
        sex = _SEX.get(text) or _SEX.get(text.strip())
        if sex is None:
            raise RowRejected(f"sex: {text!r} is not 1/2 or 男/女 / 性别应为1、2或男、女")
        if sex != number.sex:
            expected = "1 (男)" if number.sex == 1 else "2 (女)"
            raise RowRejected(
                f"sex: {sex} contradicts the licence number, whose sequence digit says {expected} / 性别与证号不一致"
            )
        return sex

    @staticmethod
    def _address(text: str) -> str:
        address = text.strip()
        if not address or len(address) > MAX_ADDRESS:
            raise RowRejected(f"address: required, at most {MAX_ADDRESS} characters / 住址必填，不超过{MAX_ADDRESS}字")
        return address

    @staticmethod
    def _validity(term: ValidityTerm, valid_from: str, valid_until: str) -> Validity:
        """6 and 10 years must end exactly where `Validity.of` says; 长期 has no end."""
        start = _date("valid_from", valid_from)
        end = _date("valid_until", valid_until) if valid_until.strip() else None
        if term is ValidityTerm.LONG_TERM:
            return Validity(term, start, end)
        expected = Validity.of(term, start)
        if end != expected.end:
            raise RowRejected(
                f"valid_until: a {term.value}-year validity from {start} ends on {expected.end}, not {end or 'empty'}"
                " / 有效期截止日期与期限不符"
            )
        return expected

    @staticmethod
    def _points(text: str, cycle: str, first_issue: date) -> PointsCycle | None:
        """记分 and the start of its 12-month cycle, which must be an anniversary of the first issue date."""
        if text == "0" and not cycle:
            return None
        text = text.strip()
        # the length first: int() raises ValueError (not a rejection) past 4,300 digits
        if not (text.isascii() and text.isdigit()) or len(text) > 9 or int(text) > MAX_POINTS:
            raise RowRejected(f"points: {text!r} is not a whole number 0–{MAX_POINTS} / 记分应为非负整数")
        total = int(text)
        if not cycle.strip():
            if total:
                raise RowRejected("points_cycle_start: required when points > 0 / 有记分时须填写记分周期起始日")
            return None
        start = _date("points_cycle_start", cycle)
        if start < first_issue or cycle_start(first_issue, start) != start:
            raise RowRejected(
                f"points_cycle_start: {start} is not an anniversary of first_issue {first_issue}"
                " / 记分周期应自初次领证日期起算"
            )
        return PointsCycle(start, total)

    @staticmethod
    def _photo(text: str) -> str | None:
        if not text:
            return None
        ref = text.strip().lower()
        if not ref:
            return None
        if not _SHA_RE.match(ref):
            raise RowRejected("photo_sha256: must be 64 hex characters (the photo's SHA-256) / 照片摘要格式错误")
        return ref

    @staticmethod
    def _mobile(text: str) -> str | None:
        """登记手机号: any way of writing a mainland mobile number ('+86 138-0013-8000'), stored as 11 digits."""
        if not text.strip():
            return None
        try:
            return normalise_mobile(text)
        except InvalidMobile:
            raise RowRejected(
                "mobile: not a mainland mobile number (11 digits starting 13–19) / 登记手机号格式错误"
            ) from None

    @staticmethod
    def _flag(text: str) -> bool:
        flag = _BOOL.get(text)
        if flag is None:
            flag = _BOOL.get(text.strip().lower())
        if flag is None:
            raise RowRejected(f"photo_compliant: {text!r} is not true/false / 照片合规标志应为true或false")
        return flag


def db_values(lic: Licence) -> tuple[object, ...]:
    """The `licences` column values of `lic`, in `DB_COLUMNS` order (the same as `mapping.row_values`)."""
    h, v, a, p = lic.holder, lic.validity, lic.authority, lic.points
    return (
        lic.number.value,
        lic.file_number,
        h.name,
        h.sex,
        h.nationality,
        h.birth_date,
        h.address,
        _format_classes(lic.classes),
        lic.first_issue,
        v.term.value,
        v.start,
        v.end,
        a.code,
        a.name,
        a.city,
        _format_statuses(lic.statuses),
        p.total if p else 0,
        p.start if p else None,
        lic.photo_ref,
        lic.photo_compliant,
        h.mobile,
    )


# --- Reading files ------------------------------------------------------------------------------------------------

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
        parse = self._parse_csv if self.kind == "csv" else self._parse_json
        line_no = self._start - 1
        for raw in chain(self._first, self._lines()):
            line_no += 1
            if raw is None:
                yield line_no, "", None, "the compressed file ends early (truncated .gz): the rest is missing"
                return
            if not raw.endswith(b"\n"):
                if len(raw) > MAX_LINE:
                    yield line_no, _show(raw[:200]) + "…", None, f"line longer than {MAX_LINE} bytes / 行过长"
                elif raw.strip():
                    yield line_no, _show(raw), None, "truncated last line: no line break at the end / 末行不完整"
                continue
            try:
                text = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as exc:
                yield line_no, _show(raw), None, f"not UTF-8 text (bad byte at {exc.start + 1}) / 非UTF-8编码"
                continue
            if text and not text.isspace():
                yield parse(line_no, text)

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
