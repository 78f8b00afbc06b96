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

import re
from collections.abc import Mapping
from datetime import date
from functools import lru_cache

from edl.accounts.errors import InvalidMobile
from edl.accounts.otp import normalise_mobile
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
