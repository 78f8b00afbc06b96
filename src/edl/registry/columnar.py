"""The registry format's row rules applied to a whole batch of rows at once (polars columns), for the import.

This is a fast lane, not a second rulebook. A row passes here only when every field is in a plain, canonical
spelling that the rules accept (no padding, ASCII digits, dates as YYYY-MM-DD …); each check is the vectorised
form of `RowParser`'s. Columns that hold few distinct values (classes, statuses, validity term, authority, sex,
nationality, photo flag) are not re-implemented at all: their distinct values go through `RowParser`'s own
parsers once per batch. Every row that does not pass here goes to `RowParser`, which decides it and, when it
rejects, words the reason. So the accepted rows and the reject reasons are `RowParser`'s by construction; the
property tests in tests/unit/registry/test_columnar.py check that the fast lane never accepts a row the row
parser rejects, and gives the same values when both accept.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import polars as pl

from edl.domain import DomainError
from edl.domain.idcard import CHECK_CHARS, EARLIEST_BIRTH, WEIGHTS
from edl.registry.formats import (
    _BOOL,
    _DEFAULT,
    _SEX,
    COLUMNS,
    DB_COLUMNS,
    MAX_ADDRESS,
    RowRejected,
    _authority,
    _classes,
    _format_classes,
    _format_statuses,
    _statuses,
    _term,
)

__all__ = ["OK", "SCHEMA", "check"]

OK = "ok"
"""The column that says a row passed the fast lane (its `DB_COLUMNS` values are then final)."""

SCHEMA: dict[str, Any] = {
    "number": pl.String,
    "file_number": pl.String,
    "name": pl.String,
    "sex": pl.Int16,
    "nationality": pl.String,
    "birth_date": pl.Date,
    "address": pl.String,
    "classes": pl.String,
    "first_issue": pl.Date,
    "validity_term": pl.String,
    "valid_from": pl.Date,
    "valid_until": pl.Date,
    "authority_code": pl.String,
    "authority_name": pl.String,
    "authority_city": pl.String,
    "statuses": pl.String,
    "points": pl.Int16,
    "points_cycle_start": pl.Date,
    "photo_ref": pl.String,
    "photo_compliant": pl.Boolean,
    "mobile": pl.String,
}
"""The type of each `licences` value the fast lane produces, in `DB_COLUMNS` order."""

_SPACE = r"[\s\x1c-\x1f]"
"""Python's `str.isspace` characters: Unicode White_Space (the regex engine's \\s) and the separators \\x1c–\\x1f."""
_PADDED = rf"^{_SPACE}|{_SPACE}$"
_ISO_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_FIRST_DAY = date(1, 1, 1)


def check(fields: pl.DataFrame, today: date) -> pl.DataFrame:
    """`fields` (one String column per registry column present, null where a record lacks the field) → `OK` and
    the `DB_COLUMNS` values of every row; the values of a row whose `OK` is false mean nothing."""
    frame = fields.with_columns(pl.lit(None, pl.String).alias(c) for c in COLUMNS if c not in fields.columns)
    frame = _lookups(frame)
    c = pl.col
    number = c("number")
    birth_in_number = number.str.slice(6, 8).str.to_date("%Y%m%d", strict=False)
    first17 = number.str.slice(0, 17).str.to_integer(strict=False)  # (a 17-digit number fits an Int64)
    weighted = sum((first17 // 10 ** (16 - i) % 10 * w for i, w in enumerate(WEIGHTS)), pl.lit(0))
    check_index = number.str.slice(17, 1).replace_strict(
        {ch: i for i, ch in enumerate(CHECK_CHARS)}, default=-1, return_dtype=pl.Int64
    )
    points_text = pl.when(c("points").fill_null("") == "").then(pl.lit("0")).otherwise(c("points"))
    cycle_text = c("points_cycle_start").fill_null("")
    mobile = c("mobile").fill_null("")
    photo = c("photo_sha256").fill_null("")
    values = frame.select(
        number.alias("number"),
        c("file_number"),
        c("name"),
        c("_sex").alias("sex"),
        c("_nationality").alias("nationality"),
        _date(c("birth_date")).alias("birth_date"),
        c("address"),
        c("_classes").alias("classes"),
        _date(c("first_issue")).alias("first_issue"),
        c("_term").alias("validity_term"),
        _date(c("valid_from")).alias("valid_from"),
        _date(c("valid_until")).alias("valid_until"),
        c("_code").alias("authority_code"),
        c("_aname").alias("authority_name"),
        c("_city").alias("authority_city"),
        c("_statuses").alias("statuses"),
        points_text.str.to_integer(strict=False).cast(pl.Int16, strict=False).alias("points"),
        _date(cycle_text).alias("points_cycle_start"),
        pl.when(photo == "").then(None).otherwise(photo.str.to_lowercase()).alias("photo_ref"),
        c("_flag").alias("photo_compliant"),
        pl.when(mobile == "").then(None).otherwise(mobile).alias("mobile"),
        # the raw facts the checks below need
        birth_in_number.alias("_birth"),
        (weighted % 11 == check_index).alias("_check_ok"),
        (number.str.slice(16, 1).str.to_integer(strict=False) % 2).alias("_odd"),
        _plain(number).alias("_n"),
        number.str.contains(r"^[1-9][0-9]{16}[0-9X]$").alias("_n_form"),
        c("file_number").str.contains(r"^[0-9]{12}$").alias("_f"),
        (_plain(c("name")) & c("name").str.len_chars().is_between(1, 64)).alias("_name"),
        (_plain(c("address")) & c("address").str.len_chars().is_between(1, MAX_ADDRESS)).alias("_address"),
        (c("valid_until") == "").alias("_no_end"),
        points_text.str.contains(r"^(?:0|[1-9][0-9]{0,2})$").alias("_points_form"),
        (cycle_text == "").alias("_no_cycle"),
        (photo.str.contains(r"^[0-9a-fA-F]{64}$") | (photo == "")).alias("_photo"),
        (mobile.str.contains(r"^1[3-9][0-9]{9}$") | (mobile == "")).alias("_mobile"),
    )
    return values.with_columns(_passes(today).fill_null(False).alias(OK)).select(*DB_COLUMNS, OK)


def _passes(today: date) -> pl.Expr:
    """Every rule of `RowParser.licence`, for rows in the plain spelling (anything else is left to it)."""
    c = pl.col
    birth, first, start, end, cycle = (
        c("birth_date"),
        c("first_issue"),
        c("valid_from"),
        c("valid_until"),
        c("points_cycle_start"),
    )
    number_ok = (
        c("_n") & c("_n_form") & c("_birth").is_between(EARLIEST_BIRTH, today) & c("_check_ok") & (birth == c("_birth"))
    )
    sex_ok = c("sex") == pl.when(c("_odd") == 1).then(pl.lit(1)).otherwise(pl.lit(2))
    validity_ok = (
        pl.when(c("validity_term") == "long")
        .then(c("_no_end"))
        .when(c("validity_term") == "6")
        .then(end == start.dt.offset_by("6y"))
        .when(c("validity_term") == "10")
        .then(end == start.dt.offset_by("10y"))
        .otherwise(pl.lit(False))
    )
    licence_ok = (first <= today) & (first >= birth.dt.offset_by("18y")) & (start >= first)
    anniversary = ((cycle.dt.month() == first.dt.month()) & (cycle.dt.day() == first.dt.day())) | (
        (first.dt.month() == 2)
        & (first.dt.day() == 29)
        & (cycle.dt.month() == 2)
        & (cycle.dt.day() == 28)
        & ~cycle.dt.is_leap_year()
    )
    points_ok = c("_points_form") & pl.when(c("_no_cycle")).then(c("points") == 0).otherwise(
        cycle.is_not_null() & (cycle >= first) & anniversary
    )
    present = pl.all_horizontal(
        c(name).is_not_null()
        for name in ("classes", "statuses", "validity_term", "authority_code", "nationality", "photo_compliant")
    )
    dates = pl.all_horizontal(c(name).is_not_null() for name in ("birth_date", "first_issue", "valid_from"))
    return (
        number_ok
        & c("_f")
        & sex_ok
        & c("_name")
        & c("_address")
        & present
        & dates
        & validity_ok
        & licence_ok
        & points_ok
        & c("_photo")
        & c("_mobile")
    )


def _plain(expr: pl.Expr) -> pl.Expr:
    """Present and without leading or trailing whitespace (which `RowParser` strips: left to it)."""
    return expr.is_not_null() & ~expr.str.contains(_PADDED)


def _date(expr: pl.Expr) -> pl.Expr:
    """A date written exactly YYYY-MM-DD that exists, else null (`RowParser` then words the reason)."""
    parsed = pl.when(expr.str.contains(_ISO_DATE)).then(expr.str.to_date("%Y-%m-%d", strict=False))
    return pl.when(parsed >= _FIRST_DAY).then(parsed)


def _lookups(frame: pl.DataFrame) -> pl.DataFrame:
    """Columns of few distinct values, parsed by `RowParser`'s own (cached) parsers once per distinct value."""
    out = frame.with_columns(
        _lookup(frame["classes"], _classes_value, pl.String).alias("_classes"),
        _lookup(frame["statuses"].fill_null(""), _statuses_value, pl.String).alias("_statuses"),
        _lookup(frame["validity_term"], _term_value, pl.String).alias("_term"),
        _lookup(frame["sex"], _sex_value, pl.Int16).alias("_sex"),
        _lookup(frame["nationality"].fill_null(""), _nationality_value, pl.String).alias("_nationality"),
        _lookup(frame["photo_compliant"].fill_null(""), _flag_value, pl.Boolean).alias("_flag"),
    )
    keys = ["authority_code", "authority_name", "authority_city"]
    distinct = out.select(keys).unique().drop_nulls()
    parsed = [_authority_values(*row) for row in distinct.iter_rows()]
    table = distinct.with_columns(
        pl.Series("_code", [p[0] for p in parsed], pl.String),
        pl.Series("_aname", [p[1] for p in parsed], pl.String),
        pl.Series("_city", [p[2] for p in parsed], pl.String),
    )
    return out.join(table, on=keys, how="left", maintain_order="left")


def _lookup(column: pl.Series, parse: Callable[[str], object], dtype: Any) -> pl.Series:
    distinct = column.drop_nulls().unique()
    results = pl.Series([parse(text) for text in distinct.to_list()], dtype=dtype)
    return column.replace_strict(distinct, results, default=None, return_dtype=dtype)


def _rejected_is_none(parse: Callable[[str], object]) -> Callable[[str], object]:
    def safe(text: str) -> object:
        try:
            return parse(text)
        except (DomainError, RowRejected):
            return None

    return safe


@_rejected_is_none
def _classes_value(text: str) -> str:
    return _format_classes(_classes(text))


@_rejected_is_none
def _statuses_value(text: str) -> str:
    return _format_statuses(_statuses(text or _DEFAULT["statuses"]))


@_rejected_is_none
def _term_value(text: str) -> str:
    return _term(text).value


def _sex_value(text: str) -> int | None:
    return _SEX.get(text) or _SEX.get(text.strip())


def _nationality_value(text: str) -> str | None:
    value = (text or _DEFAULT["nationality"]).strip().upper()
    return value if len(value) == 3 and value.isalpha() and value.isupper() else None


def _flag_value(text: str) -> bool | None:
    text = text or _DEFAULT["photo_compliant"]
    flag = _BOOL.get(text)
    return _BOOL.get(text.strip().lower()) if flag is None else flag


def _authority_values(code: str, name: str, city: str) -> tuple[str | None, str | None, str | None]:
    try:
        authority = _authority(code.strip(), name.strip(), city.strip())
    except (DomainError, RowRejected):
        return None, None, None
    return authority.code, authority.name, authority.city
