"""The working calendar from chinese-calendar plus the operator's holiday file (EDL_HOLIDAYS_FILE)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import structlog

from edl.applications.holidays import HolidayFileInvalid, load_calendar, package_table, read_holidays_file
from edl.domain.dates import CHINA_TZ


def beijing(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CHINA_TZ)


def write(tmp_path: Path, content: object) -> Path:
    path = tmp_path / "holidays.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


# An illustrative 2027 schedule (the State Council had not published one when this was written).
TABLE_2027 = {
    "2027": {
        "note": "example only",
        "holidays": ["2027-01-01", "2027-01-02", "2027-01-03", *(f"2027-02-{d:02d}" for d in range(5, 12))],
        "workdays": ["2027-02-13"],
    }
}


# --- the package's tables ----------------------------------------------------------------------------------------


def test_package_table_holds_the_state_councils_2025_national_day_schedule() -> None:
    table = package_table()
    national_day = [date(2025, 10, d) for d in range(1, 9)]
    assert set(national_day) <= table.holidays
    assert date(2025, 10, 9) not in table.holidays
    assert {d for d in table.workdays if d.year == 2025 and d.month in (9, 10)} == {
        date(2025, 9, 28),
        date(2025, 10, 11),
    }
    assert date(2025, 9, 28).weekday() == 6 and date(2025, 10, 11).weekday() == 5  # a Sunday and a Saturday


def test_package_table_knows_2004_to_2026_and_not_2027() -> None:
    table = package_table()
    assert {2004, 2025, 2026} <= table.years
    assert 2027 not in table.years and 2003 not in table.years


# --- deadlines on the default calendar ---------------------------------------------------------------------------


def test_golden_week_submission_is_due_the_working_day_after_it() -> None:
    calendar = load_calendar(None)
    assert calendar.review_deadline(beijing("2025-09-30T10:00")) == beijing("2025-10-09T10:00")
    assert calendar.review_deadline(beijing("2025-09-30T10:00")).tzinfo is UTC


def test_friday_before_the_make_up_saturday_is_due_that_saturday() -> None:
    calendar = load_calendar(None)
    assert calendar.review_deadline(beijing("2025-10-10T15:00")) == beijing("2025-10-11T15:00")


def test_saturday_before_the_make_up_sunday_is_due_at_the_end_of_it() -> None:
    calendar = load_calendar(None)
    assert calendar.review_deadline(beijing("2025-09-27T18:00")) == beijing("2025-09-29T00:00")


def test_spring_festival_2026_is_skipped() -> None:
    calendar = load_calendar(None)
    assert calendar.review_deadline(beijing("2026-02-13T09:30")) == beijing("2026-02-14T09:30")  # make-up Saturday
    assert calendar.review_deadline(beijing("2026-02-14T09:30")) == beijing("2026-02-24T09:30")
    assert calendar.review_deadline(beijing("2026-02-18T09:30")) == beijing("2026-02-25T00:00")


def test_ordinary_friday_is_due_monday_and_sunday_at_the_end_of_monday() -> None:
    calendar = load_calendar(None)
    assert calendar.review_deadline(beijing("2025-11-14T16:00")) == beijing("2025-11-17T16:00")
    assert calendar.review_deadline(beijing("2025-11-16T08:00")) == beijing("2025-11-18T00:00")


def test_default_calendar_agrees_with_chinese_calendar_on_every_day_it_knows() -> None:
    import chinese_calendar

    calendar = load_calendar(None)
    day = date(2024, 1, 1)
    while day.year <= 2026:
        assert calendar.is_working_day(day) is chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


# --- a year without a table --------------------------------------------------------------------------------------


def test_2027_without_a_table_counts_weekends_only_and_warns_once() -> None:
    calendar = load_calendar(None)
    with structlog.testing.capture_logs() as logs:
        assert calendar.review_deadline(beijing("2027-01-01T10:00")) == beijing("2027-01-04T10:00")  # Fri → Mon
        assert calendar.review_deadline(beijing("2027-02-08T10:00")) == beijing("2027-02-09T10:00")
    warnings = [e for e in logs if e["event"] == "holiday_table_unknown_year"]
    assert len(warnings) == 1
    assert warnings[0]["log_level"] == "warning"
    assert warnings[0]["year"] == 2027
    assert "State Council" in warnings[0]["action"] and "EDL_HOLIDAYS_FILE" in warnings[0]["action"]
    assert calendar.unknown_years_used == frozenset({2027})


def test_the_last_known_day_running_into_2027_does_not_crash() -> None:
    calendar = load_calendar(None)
    assert calendar.review_deadline(beijing("2026-12-31T10:00")) == beijing("2027-01-01T10:00")


def test_holiday_file_adds_2027_and_silences_the_warning(tmp_path: Path) -> None:
    calendar = load_calendar(write(tmp_path, TABLE_2027))
    with structlog.testing.capture_logs() as logs:
        assert calendar.knows_year(2027)
        assert calendar.review_deadline(beijing("2026-12-31T10:00")) == beijing("2027-01-04T10:00")
        assert calendar.review_deadline(beijing("2027-02-04T10:00")) == beijing("2027-02-12T10:00")
        assert calendar.review_deadline(beijing("2027-02-12T10:00")) == beijing("2027-02-13T10:00")  # make-up Sat
    assert not [e for e in logs if e["event"] == "holiday_table_unknown_year"]
    assert calendar.review_deadline(beijing("2025-09-30T10:00")) == beijing("2025-10-09T10:00")  # package kept


def test_holiday_file_replaces_a_year_the_package_knows(tmp_path: Path) -> None:
    corrected = {"2025": {"holidays": ["2025-01-01", "2025-10-01", "2025-10-09"], "workdays": []}}
    calendar = load_calendar(write(tmp_path, corrected))
    assert not calendar.is_working_day(date(2025, 10, 9))
    assert calendar.is_working_day(date(2025, 10, 2))  # the file's 2025 replaces the package's 2025
    assert not calendar.is_working_day(date(2025, 10, 11))  # no longer a make-up day
    assert calendar.is_working_day(date(2024, 10, 8))  # other years still from the package


# --- malformed files ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "not valid JSON"),
        ([{"2027": {}}], "top level must be an object"),
        ({"27": {"holidays": ["2027-01-01"]}}, "not a four-digit year"),
        ({"2027": ["2027-01-01"]}, "expected an object"),
        ({"2027": {"holidays": "2027-01-01"}}, "expected a list"),
        ({"2027": {"holidays": ["2027-1-1"]}}, "'2027-1-1' is not a date"),
        ({"2027": {"holidays": ["2027-02-30"]}}, "'2027-02-30' is not a date"),
        ({"2027": {"holidays": [20270101]}}, "20270101 is not a date"),
        ({"2027": {"holidays": ["2028-01-01"]}}, "2028-01-01 is not in the year 2027"),
        ({"2027": {"holiday": ["2027-01-01"]}}, "unknown field"),
        ({"2027": {"holidays": []}}, "lists no holidays"),
        ({"2027": {"holidays": ["2027-01-01"], "note": 5}}, "note: expected a string"),
        ({"2027": {"holidays": ["2027-01-01"], "workdays": ["2027-01-01"]}}, "both a holiday and a workday"),
    ],
)
def test_malformed_holiday_file_is_refused_naming_the_file_and_the_problem(
    tmp_path: Path, content: object, problem: str
) -> None:
    path = write(tmp_path, content)
    with pytest.raises(HolidayFileInvalid) as caught:
        load_calendar(path)
    message = str(caught.value)
    assert str(path) in message
    assert problem in message
    assert " / " in message and "假日表文件" in message


def test_missing_holiday_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(HolidayFileInvalid, match="does not exist"):
        read_holidays_file(tmp_path / "nope.json")
