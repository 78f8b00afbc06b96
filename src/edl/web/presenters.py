"""View models: turn domain values into what a page shows, in the page's language.

Templates only print these; every decision (badge colour, which name, long-term validity) is made here,
where it is typed and unit-tested.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from edl.domain import CLASS_TABLE, STATUS_TABLE, Licence, Status, Validity, VehicleClass
from edl.domain.dates import add_years, china_date
from edl.domain.glossary import format_datetime
from edl.domain.points import POINTS_LIMIT, cycle_start
from edl.web.i18n import Translator

beijing_today = china_date
"""The registry's 'today' is the date in China (one time zone, no daylight saving)."""


def beijing_time(at: datetime) -> str:
    """A moment in Beijing time, in the pages' one format (`edl.domain.glossary.DATETIME_FORMATS`)."""
    return format_datetime(at, "zh")


class Tone(StrEnum):
    """Badge colours: green = fine, amber = shown but not blocking, red = blocks the e-licence."""

    OK = "ok"
    WARN = "warn"
    BLOCK = "block"


@dataclass(frozen=True, slots=True)
class Badge:
    code: str
    label: str
    tone: Tone
    title: str
    """Longer text for the tooltip and screen readers (tone in words, other-language name)."""


@dataclass(frozen=True, slots=True)
class ClassRow:
    code: str
    name_zh: str
    name_en: str
    also_permits: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PointsView:
    points: int
    limit: int
    cycle_start: date
    cycle_end: date
    tone: Tone


def status_tone(status: Status) -> Tone:
    if status is Status.NORMAL:
        return Tone.OK
    return Tone.BLOCK if STATUS_TABLE[status].blocks_issuance else Tone.WARN


def status_badges(statuses: Iterable[Status], t: Translator) -> tuple[Badge, ...]:
    """One badge per status, in the status table's order."""
    held = set(statuses)
    badges = []
    for s in Status:
        if s not in held:
            continue
        info = STATUS_TABLE[s]
        tone = status_tone(s)
        other = t.pick(info.name_en, info.name_zh)
        badges.append(Badge(s.value, t.pick(info.name_zh, info.name_en), tone, f"{other} · {t(f'badge.{tone.value}')}"))
    return tuple(badges)


def class_rows(classes: Iterable[VehicleClass]) -> tuple[ClassRow, ...]:
    """Each held class with both names and what it also permits, exactly as the table says."""
    rows = []
    for c in classes:
        info = CLASS_TABLE[c]
        also = tuple(v.value for v in VehicleClass if v in info.also_permits)
        rows.append(ClassRow(c.value, info.name_zh, info.name_en, also))
    return tuple(rows)


def validity_end_text(validity: Validity, t: Translator) -> str:
    """The last valid day, or 长期 / long-term."""
    return t("validity.long_term") if validity.end is None else t.format_date(validity.end)


def validity_text(validity: Validity, t: Translator) -> str:
    """'2020-05-01 至 2026-05-01', or '2020-05-01 至 长期' / '2020-05-01 to long-term'."""
    return t("validity.range", start=t.format_date(validity.start), end=validity_end_text(validity, t))


def sex_text(sex: int, t: Translator) -> str:
    return t(f"sex.{sex}") if sex in (1, 2) else str(sex)


def nationality_text(code: str, t: Translator) -> str:
    return t("nationality.CHN") if code == "CHN" else code


def points_view(licence: Licence, today: date) -> PointsView:
    """Points in the cycle containing `today`, with the cycle's first and last day."""
    points = licence.points_on(today)
    start = cycle_start(licence.first_issue, today)
    end = add_years(start, 1) - timedelta(days=1)
    tone = Tone.BLOCK if points >= POINTS_LIMIT else Tone.WARN if points > 0 else Tone.OK
    return PointsView(points, POINTS_LIMIT, start, end, tone)


def record_kind_text(kind: str, t: Translator) -> str:
    key = f"record.{kind}"
    try:
        return t(key)
    except KeyError:
        return kind
