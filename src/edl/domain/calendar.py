"""Working days on the Chinese statutory calendar (法定节假日与调休), and the review deadline of one working day.

Each year the State Council (国务院办公厅) announces the public holidays and the make-up working days (调休上班, usually
a Saturday or Sunday next to a long holiday). A `HolidayTable` holds those announcements for the years it knows;
`WorkingCalendar` answers "is this a working day?" and computes deadlines. A year the table does not know falls back to
weekends-only and is reported, so the review queue never stops over a missing schedule.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from edl.domain.dates import CHINA_TZ
from edl.domain.errors import DomainError

SATURDAY = 5
MAX_DAYS_OFF_IN_A_ROW = 400
"""No real schedule has more than ~10 days off in a row; a table that gives more than a year off is broken."""


class InvalidHolidayTable(DomainError):
    """A holiday table that contradicts itself (a date both off and worked, a date outside the years it covers)."""


@dataclass(frozen=True, slots=True)
class HolidayTable:
    """Statutory holidays (days off, weekends inside a holiday included) and make-up working days, per known year."""

    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()
    """Make-up working days (调休上班): weekend days that are worked."""
    years: frozenset[int] = frozenset()
    """The years whose schedule this table holds; for any other year it knows nothing (not even 'no holidays')."""

    def __post_init__(self) -> None:
        both = self.holidays & self.workdays
        if both:
            listed = ", ".join(d.isoformat() for d in sorted(both))
            raise InvalidHolidayTable(
                f"同一天既是假日又是调休上班日：{listed} / a date is both a holiday and a workday: {listed}"
            )
        outside = sorted(d for d in self.holidays | self.workdays if d.year not in self.years)
        if outside:
            listed = ", ".join(d.isoformat() for d in outside)
            raise InvalidHolidayTable(
                f"日期不在表所覆盖的年份内：{listed} / dates outside the years the table covers: {listed}"
            )

    @classmethod
    def of(cls, years: Iterable[int], holidays: Iterable[date] = (), workdays: Iterable[date] = ()) -> HolidayTable:
        return cls(holidays=frozenset(holidays), workdays=frozenset(workdays), years=frozenset(years))

    def overridden_by(self, other: HolidayTable) -> HolidayTable:
        """This table with each year that `other` knows replaced by `other`'s schedule for that year."""
        return HolidayTable(
            holidays=frozenset(d for d in self.holidays if d.year not in other.years) | other.holidays,
            workdays=frozenset(d for d in self.workdays if d.year not in other.years) | other.workdays,
            years=self.years | other.years,
        )


@dataclass
class WorkingCalendar:
    """Working days from a `HolidayTable`; unknown years count weekends only and are reported once each.

    `on_unknown_year(year)` is called the first time a date in a year the table does not know is used (e.g. to log
    a warning that an operator should add that year's schedule); `unknown_years_used` lists those years.
    """

    table: HolidayTable
    on_unknown_year: Callable[[int], None] | None = None
    _unknown: set[int] = field(default_factory=set, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def unknown_years_used(self) -> frozenset[int]:
        """Years for which weekends-only was assumed so far (each lacks a State Council schedule in the table)."""
        with self._lock:
            return frozenset(self._unknown)

    def knows_year(self, year: int) -> bool:
        return year in self.table.years

    def is_working_day(self, d: date) -> bool:
        """Weekdays are worked and weekends are off, except statutory holidays (off) and make-up days (worked)."""
        if not self.knows_year(d.year):
            self._report_unknown(d.year)
            return d.weekday() < SATURDAY
        if d in self.table.workdays:
            return True
        return d.weekday() < SATURDAY and d not in self.table.holidays

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after `d`."""
        day = d
        for _ in range(MAX_DAYS_OFF_IN_A_ROW):
            day += timedelta(days=1)
            if self.is_working_day(day):
                return day
        raise InvalidHolidayTable(
            f"{d.isoformat()} 之后一年多没有工作日，假日表有误 / no working day for over a year after {d.isoformat()}: "
            "the holiday table is wrong"
        )

    def review_deadline(self, submitted_at: datetime) -> datetime:
        """When a review submitted at `submitted_at` is due: one working day later, in Beijing time (UTC+8).

        Submitted on a working day at time T: due at T on the next working day. Submitted on a day off: due at the
        end (24:00) of the first working day after it. Returned as an aware datetime in UTC.
        """
        if submitted_at.tzinfo is None or submitted_at.utcoffset() is None:
            raise ValueError("a timezone-aware datetime is required")
        local = submitted_at.astimezone(CHINA_TZ)
        day = local.date()
        if self.is_working_day(day):
            due = datetime.combine(self.next_working_day(day), local.timetz())
        else:
            end_of_first_working_day = self.next_working_day(day) + timedelta(days=1)
            due = datetime.combine(end_of_first_working_day, time(0, tzinfo=CHINA_TZ))
        return due.astimezone(UTC)

    def _report_unknown(self, year: int) -> None:
        with self._lock:
            if year in self._unknown:
                return
            self._unknown.add(year)
        if self.on_unknown_year is not None:
            self.on_unknown_year(year)
