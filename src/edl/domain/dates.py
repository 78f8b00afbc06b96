"""Calendar helpers shared by the licence rules."""

from __future__ import annotations

from datetime import date


def add_years(d: date, years: int) -> date:
    """The same calendar day `years` later (29 Feb → 28 Feb in a common year)."""
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)
