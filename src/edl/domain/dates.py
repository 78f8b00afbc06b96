"""Calendar helpers shared by the licence rules."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")
"""China Standard Time (UTC+8, no daylight saving): dates on licences are dates in China."""


def add_years(d: date, years: int) -> date:
    """The same calendar day `years` later (29 Feb → 28 Feb in a common year)."""
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)


def china_date(at: datetime) -> date:
    """The calendar date in China at the instant `at` (which must be timezone-aware)."""
    if at.tzinfo is None:
        raise ValueError("a timezone-aware datetime is required")
    return at.astimezone(CHINA_TZ).date()
