"""Working days and the one-working-day review deadline, on a hand-written copy of the State Council's 2025 schedule."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from edl.domain.calendar import HolidayTable, InvalidHolidayTable, WorkingCalendar
from edl.domain.dates import CHINA_TZ


def days(first: str, last: str) -> list[date]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


# 国务院办公厅关于2025年部分节假日安排的通知 (the 2025 schedule).
TABLE_2025 = HolidayTable.of(
    years=[2025],
    holidays=[
        date(2025, 1, 1),
        *days("2025-01-28", "2025-02-04"),  # 春节
        *days("2025-04-04", "2025-04-06"),  # 清明节
        *days("2025-05-01", "2025-05-05"),  # 劳动节
        *days("2025-05-31", "2025-06-02"),  # 端午节
        *days("2025-10-01", "2025-10-08"),  # 国庆节、中秋节
    ],
    workdays=[date(2025, 1, 26), date(2025, 2, 8), date(2025, 4, 27), date(2025, 9, 28), date(2025, 10, 11)],
)


def beijing(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CHINA_TZ)


@pytest.fixture
def calendar() -> WorkingCalendar:
    return WorkingCalendar(TABLE_2025)


def due(calendar: WorkingCalendar, submitted: str) -> datetime:
    """The deadline, checked to be in UTC, shown in Beijing time for comparison."""
    result = calendar.review_deadline(beijing(submitted))
    assert result.tzinfo is UTC
    return result.astimezone(CHINA_TZ)


# --- working days ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "working"),
    [
        ("2025-03-14", True),  # ordinary Friday
        ("2025-03-15", False),  # ordinary Saturday
        ("2025-03-16", False),  # ordinary Sunday
        ("2025-10-01", False),  # National Day, a Wednesday
        ("2025-10-04", False),  # a Saturday inside the holiday
        ("2025-10-08", False),  # last day of the Golden Week
        ("2025-10-09", True),  # back to work
        ("2025-09-28", True),  # make-up working Sunday (调休上班)
        ("2025-10-11", True),  # make-up working Saturday
        ("2025-01-26", True),  # make-up Sunday before the Spring Festival
        ("2025-01-29", False),  # Spring Festival
    ],
)
def test_working_days_follow_weekends_holidays_and_make_up_days(
    calendar: WorkingCalendar, day: str, working: bool
) -> None:
    assert calendar.is_working_day(date.fromisoformat(day)) is working


def test_next_working_day_is_strictly_after_and_skips_the_golden_week(calendar: WorkingCalendar) -> None:
    assert calendar.next_working_day(date(2025, 9, 30)) == date(2025, 10, 9)
    assert calendar.next_working_day(date(2025, 10, 9)) == date(2025, 10, 10)
    assert calendar.next_working_day(date(2025, 10, 10)) == date(2025, 10, 11)  # make-up Saturday
    assert calendar.next_working_day(date(2025, 9, 26)) == date(2025, 9, 28)  # make-up Sunday


# --- the review deadline -----------------------------------------------------------------------------------------


def test_ordinary_friday_is_due_on_monday_at_the_same_time(calendar: WorkingCalendar) -> None:
    assert due(calendar, "2025-03-14T16:30") == beijing("2025-03-17T16:30")


def test_submission_before_the_golden_week_is_due_the_day_after_it(calendar: WorkingCalendar) -> None:
    assert due(calendar, "2025-09-30T10:00") == beijing("2025-10-09T10:00")


def test_friday_before_a_make_up_saturday_is_due_on_that_saturday(calendar: WorkingCalendar) -> None:
    assert due(calendar, "2025-10-10T15:00") == beijing("2025-10-11T15:00")


def test_make_up_saturday_submission_is_due_on_monday(calendar: WorkingCalendar) -> None:
    assert due(calendar, "2025-10-11T09:00") == beijing("2025-10-13T09:00")


def test_saturday_before_a_make_up_sunday_is_due_at_the_end_of_that_sunday(calendar: WorkingCalendar) -> None:
    assert due(calendar, "2025-09-27T12:00") == beijing("2025-09-29T00:00")


def test_make_up_sunday_submission_is_due_on_monday(calendar: WorkingCalendar) -> None:
    assert due(calendar, "2025-09-28T09:00") == beijing("2025-09-29T09:00")


def test_spring_festival_is_skipped(calendar: WorkingCalendar) -> None:
    assert due(calendar, "2025-01-27T11:00") == beijing("2025-02-05T11:00")  # last working day before it
    assert due(calendar, "2025-01-30T08:00") == beijing("2025-02-06T00:00")  # during it: end of 02-05
    assert due(calendar, "2025-02-07T17:00") == beijing("2025-02-08T17:00")  # make-up Saturday after it


def test_sunday_submission_is_due_at_the_end_of_monday(calendar: WorkingCalendar) -> None:
    assert due(calendar, "2025-03-16T20:00") == beijing("2025-03-18T00:00")
    assert calendar.review_deadline(beijing("2025-03-16T20:00")) == datetime(2025, 3, 17, 16, 0, tzinfo=UTC)


def test_holiday_submission_is_due_at_the_end_of_the_first_working_day(calendar: WorkingCalendar) -> None:
    assert due(calendar, "2025-10-01T00:00") == beijing("2025-10-10T00:00")


def test_the_day_is_the_day_in_beijing_not_in_utc(calendar: WorkingCalendar) -> None:
    friday_evening_utc = datetime(2025, 3, 14, 17, 0, tzinfo=UTC)  # Saturday 01:00 in Beijing: a day off
    assert calendar.review_deadline(friday_evening_utc) == datetime(2025, 3, 17, 16, 0, tzinfo=UTC)
    thursday_late_utc = datetime(2025, 3, 13, 15, 59, tzinfo=UTC)  # Thursday 23:59 in Beijing: a working day
    assert calendar.review_deadline(thursday_late_utc) == datetime(2025, 3, 14, 15, 59, tzinfo=UTC)


def test_naive_submission_time_is_refused(calendar: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        calendar.review_deadline(datetime(2025, 3, 14, 10, 0))


def test_every_deadline_in_2025_is_one_working_day_later(calendar: WorkingCalendar) -> None:
    for day in days("2025-01-01", "2025-12-30"):
        submitted = datetime.combine(day, datetime.min.time(), CHINA_TZ) + timedelta(hours=13, minutes=5)
        deadline = calendar.review_deadline(submitted).astimezone(CHINA_TZ)
        if calendar.is_working_day(day):
            assert deadline.time() == submitted.time()
            last_day = deadline.date()
        else:
            assert deadline.time() == datetime.min.time()
            last_day = deadline.date() - timedelta(days=1)
        assert calendar.is_working_day(last_day)
        assert not any(calendar.is_working_day(d) for d in days_between(day, last_day))
        assert 1 <= (deadline - submitted).days + 1 <= 10


def days_between(after: date, before: date) -> list[date]:
    return [after + timedelta(days=i) for i in range(1, (before - after).days)]


# --- unknown years -----------------------------------------------------------------------------------------------


def test_unknown_year_counts_weekends_only_and_is_reported_once() -> None:
    reported: list[int] = []
    calendar = WorkingCalendar(TABLE_2025, on_unknown_year=reported.append)
    assert not calendar.knows_year(2027)
    assert calendar.is_working_day(date(2027, 1, 1))  # a Friday: New Year's Day is not known, so worked
    assert not calendar.is_working_day(date(2027, 1, 2))
    assert calendar.review_deadline(beijing("2027-01-01T10:00")) == beijing("2027-01-04T10:00")
    assert reported == [2027]
    assert calendar.unknown_years_used == frozenset({2027})


def test_known_years_are_not_reported() -> None:
    reported: list[int] = []
    calendar = WorkingCalendar(TABLE_2025, on_unknown_year=reported.append)
    calendar.review_deadline(beijing("2025-09-30T10:00"))
    assert reported == []
    assert calendar.unknown_years_used == frozenset()


def test_deadline_running_into_an_unknown_year_falls_back_without_crashing() -> None:
    calendar = WorkingCalendar(TABLE_2025)
    assert calendar.review_deadline(beijing("2025-12-31T16:00")) == beijing("2026-01-01T16:00")
    assert calendar.unknown_years_used == frozenset({2026})


# --- the table ---------------------------------------------------------------------------------------------------


def test_a_date_both_off_and_worked_is_refused() -> None:
    with pytest.raises(InvalidHolidayTable, match="2025-10-01"):
        HolidayTable.of([2025], holidays=[date(2025, 10, 1)], workdays=[date(2025, 10, 1)])


def test_a_date_outside_the_tables_years_is_refused() -> None:
    with pytest.raises(InvalidHolidayTable, match="2026-01-01"):
        HolidayTable.of([2025], holidays=[date(2026, 1, 1)])


def test_overriding_a_year_replaces_that_year_and_keeps_the_others() -> None:
    extra = HolidayTable.of([2025, 2027], holidays=[date(2025, 3, 14), date(2027, 1, 1)])
    calendar = WorkingCalendar(TABLE_2025.overridden_by(extra))
    assert not calendar.is_working_day(date(2025, 3, 14))
    assert calendar.is_working_day(date(2025, 10, 1))  # the old 2025 schedule is gone, not merged
    assert not calendar.is_working_day(date(2027, 1, 1))
    assert calendar.knows_year(2027)


def test_a_table_with_no_working_day_for_a_year_is_reported_not_looped_forever() -> None:
    everything_off = HolidayTable.of(range(2025, 2028), holidays=days("2025-01-01", "2027-12-31"))
    with pytest.raises(InvalidHolidayTable, match="no working day"):
        WorkingCalendar(everything_off).next_working_day(date(2025, 1, 1))
