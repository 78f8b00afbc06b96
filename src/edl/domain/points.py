"""Points (记分): a 12-month cycle counted from the first issue date (道路交通安全违法行为记分管理办法)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from edl.domain.dates import add_years
from edl.domain.errors import InvalidLicence

OFFENCE_SCORES = frozenset({12, 9, 6, 3, 1})
POINTS_LIMIT = 12


def cycle_start(first_issue: date, on: date) -> date:
    """Start of the 12-month cycle that contains `on` (the last anniversary of `first_issue` not after it)."""
    years = on.year - first_issue.year
    start = add_years(first_issue, years)
    if start > on:
        start = add_years(first_issue, years - 1)
    return start


@dataclass(frozen=True, slots=True)
class PointsCycle:
    """Points scored in the cycle that starts on `start`."""

    start: date
    total: int

    def __post_init__(self) -> None:
        if self.total < 0:
            raise InvalidLicence("记分不能为负 / points cannot be negative")

    def points_on(self, on: date, first_issue: date) -> int:
        """Points that count on `on`: ours if `on` is in our cycle, else 0 (a new cycle started)."""
        return self.total if cycle_start(first_issue, on) == self.start else 0

    @property
    def limit_reached(self) -> bool:
        """满分: 12 or more points in the cycle (status 超分)."""
        return self.total >= POINTS_LIMIT

    def add(self, points: int, on: date, first_issue: date) -> PointsCycle:
        """Record an offence's points on `on`, starting a new cycle if `on` is past ours."""
        if points not in OFFENCE_SCORES:
            raise InvalidLicence(f"单次记分应为12、9、6、3或1分: {points} / an offence scores 12, 9, 6, 3 or 1")
        start = cycle_start(first_issue, on)
        base = self.total if start == self.start else 0
        return PointsCycle(start, base + points)
