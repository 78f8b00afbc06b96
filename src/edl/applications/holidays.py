"""The working calendar for review deadlines: chinese-calendar's tables, extended by an operator's JSON file.

`chinese-calendar` knows the State Council's schedules up to its release (2004–2026 in 1.11.0). Operators add later
years (or correct one) in `EDL_HOLIDAYS_FILE`; a year neither knows counts weekends only, with a warning in the log.
File format: docs/holidays.md.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import structlog

from edl.boundedjson import MAX_DEPTH, nesting_exceeds
from edl.domain.calendar import HolidayTable, InvalidHolidayTable, WorkingCalendar
from edl.pki.files import read_at_most

YEAR_KEYS = frozenset({"holidays", "workdays", "note"})
MAX_HOLIDAYS_FILE_BYTES = 1024 * 1024
"""A year's table is about 1 KB; a larger file is refused unread."""

log = structlog.get_logger("edl.applications.holidays")


class HolidayFileInvalid(ValueError):
    """The operator's holiday file cannot be used; the message names the file and what is wrong ('中文 / English')."""

    def __init__(self, path: Path, problem_zh: str, problem_en: str) -> None:
        super().__init__(f"假日表文件 {path} 无效：{problem_zh} / holiday file {path} is invalid: {problem_en}")
        self.path = path


def package_table() -> HolidayTable:
    """The holidays and make-up working days that the `chinese-calendar` package ships, for the years it covers."""
    from chinese_calendar import constants

    holidays = frozenset(constants.holidays)
    workdays = frozenset(constants.workdays)
    first, last = min(d.year for d in holidays), max(d.year for d in holidays)
    return HolidayTable(holidays=holidays, workdays=workdays, years=frozenset(range(first, last + 1)))


def read_holidays_file(path: Path) -> HolidayTable:
    """Parse `{"2027": {"holidays": ["2027-01-01", ...], "workdays": ["2027-02-07", ...]}, ...}` strictly."""
    try:
        text = read_at_most(path, MAX_HOLIDAYS_FILE_BYTES).decode("utf-8")
    except FileNotFoundError:
        raise HolidayFileInvalid(path, "文件不存在", "the file does not exist") from None
    except (OSError, ValueError) as exc:  # ValueError: too large (FileTooLarge), not UTF-8
        raise HolidayFileInvalid(path, f"无法读取（{exc}）", f"cannot be read ({exc})") from exc
    if nesting_exceeds(text, MAX_DEPTH):
        raise HolidayFileInvalid(path, "JSON 嵌套过深", f"arrays or objects nested deeper than {MAX_DEPTH} levels")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise HolidayFileInvalid(path, f"不是有效的 JSON（{where}）", f"not valid JSON ({where}: {exc.msg})") from exc
    except ValueError as exc:  # a number past int()'s digit limit
        raise HolidayFileInvalid(path, "不是有效的 JSON", f"not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise HolidayFileInvalid(
            path, "顶层应为以年份为键的对象", 'the top level must be an object keyed by year ("2027")'
        )
    years: set[int] = set()
    holidays: set[date] = set()
    workdays: set[date] = set()
    for key, entry in data.items():
        year = _year(path, key)
        if not isinstance(entry, dict):
            raise HolidayFileInvalid(
                path, f"{key} 的值应为对象", f'{key}: expected an object with "holidays" and "workdays"'
            )
        unknown = sorted(set(entry) - YEAR_KEYS)
        if unknown:
            names = ", ".join(unknown)
            raise HolidayFileInvalid(
                path,
                f"{key} 含未知字段 {names}",
                f"{key}: unknown field(s) {names} (allowed: holidays, workdays, note)",
            )
        if not isinstance(entry.get("note", ""), str):
            raise HolidayFileInvalid(path, f"{key}.note 应为文字", f"{key}.note: expected a string")
        year_holidays = _dates(path, key, "holidays", entry.get("holidays", []), year)
        if not year_holidays:
            raise HolidayFileInvalid(
                path,
                f"{key} 没有任何假日（至少有元旦），请填写国务院公布的安排",
                f"{key} lists no holidays (there is always New Year's Day): add the State Council's schedule",
            )
        years.add(year)
        holidays.update(year_holidays)
        workdays.update(_dates(path, key, "workdays", entry.get("workdays", []), year))
    try:
        return HolidayTable.of(years, holidays, workdays)
    except InvalidHolidayTable as exc:
        zh, _, en = str(exc).partition(" / ")
        raise HolidayFileInvalid(path, zh, en or zh) from exc


def _year(path: Path, key: str) -> int:
    if not (len(key) == 4 and key.isdigit() and key.isascii()):
        raise HolidayFileInvalid(
            path, f"键 {key!r} 不是四位年份", f'key {key!r} is not a four-digit year such as "2027"'
        )
    return int(key)


def _dates(path: Path, key: str, field: str, values: Any, year: int) -> list[date]:
    if not isinstance(values, list):
        raise HolidayFileInvalid(path, f"{key}.{field} 应为日期列表", f'{key}.{field}: expected a list of "YYYY-MM-DD"')
    out: list[date] = []
    for value in values:
        try:
            if not isinstance(value, str) or len(value) != 10:
                raise ValueError(value)
            d = date.fromisoformat(value)
        except ValueError:
            raise HolidayFileInvalid(
                path, f"{key}.{field} 中的 {value!r} 不是日期", f'{key}.{field}: {value!r} is not a date "YYYY-MM-DD"'
            ) from None
        if d.year != year:
            raise HolidayFileInvalid(
                path, f"{key}.{field} 中的 {value} 不在 {year} 年", f"{key}.{field}: {value} is not in the year {year}"
            )
        out.append(d)
    return out


def warn_unknown_year(year: int) -> None:
    """Log once per year (the calendar calls this once): deadlines in `year` count weekends only until it is added."""
    log.warning(
        "holiday_table_unknown_year",
        year=year,
        fallback="weekends-only",
        action=f"add the State Council's {year} holiday schedule (holidays and make-up workdays) to EDL_HOLIDAYS_FILE",
    )


def load_calendar(path: Path | None) -> WorkingCalendar:
    """The working calendar: chinese-calendar's tables, with each year in `path` (if given) added or replaced."""
    table = package_table()
    if path is not None:
        table = table.overridden_by(read_holidays_file(path))
    return WorkingCalendar(table, on_unknown_year=warn_unknown_year)
