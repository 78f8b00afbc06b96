"""What the rendered licence pages show (亮证), as plain values: built from the registry's `Licence`, the e-licence and
a fresh live code, at one moment.

Labels on the pages are printed in both languages, as on the plastic card, so a card does not depend on the viewer's
language; values are the registry's (Chinese) with the English name beside them where one exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from edl.domain import CLASS_TABLE, STATUS_TABLE, Licence, Status, VehicleClass
from edl.domain.dates import CHINA_TZ, add_years, china_date
from edl.domain.points import POINTS_LIMIT, cycle_start

RECORD_SHOWN = 12
"""The secondary page lists the newest entries of the driving record, and says how many more there are."""

RECORD_KINDS: dict[str, tuple[str, str]] = {
    "offence": ("违法记分", "offence"),
    "renewal": ("换证", "renewal"),
    "class_change": ("准驾车型变更", "class change"),
    "status": ("状态变更", "status change"),
    "other": ("其他", "other"),
}
SEXES: dict[int, tuple[str, str]] = {1: ("男", "M"), 2: ("女", "F")}


@dataclass(frozen=True, slots=True)
class StatusLine:
    code: str
    name_zh: str
    name_en: str
    tone: str
    """'ok' (正常), 'warn' (shown, does not block), 'block' (not valid for driving)."""


@dataclass(frozen=True, slots=True)
class ClassLine:
    code: str
    name_zh: str
    name_en: str
    also: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RecordLine:
    on: date
    kind_zh: str
    kind_en: str
    description: str
    points: int


@dataclass(frozen=True, slots=True)
class CodeView:
    """The live code (亮码) printed as the QR: its text and the moments it was made and stops being valid; and the
    barcode number made at the same moment (printed as the Code 128)."""

    text: str
    issued_at: datetime
    expires_at: datetime
    barcode: str


@dataclass(frozen=True, slots=True)
class Card:
    number: str
    name: str
    sex: str
    nationality: str
    birth_date: date
    first_issue: date
    classes: tuple[str, ...]
    valid_from: date
    valid_until: date | None
    """None: 长期 (long-term)."""
    address: str
    authority: str
    file_number: str
    statuses: tuple[StatusLine, ...]
    points: int
    points_limit: int
    cycle_start: date
    cycle_end: date
    class_lines: tuple[ClassLine, ...]
    record: tuple[RecordLine, ...]
    """Newest first, at most RECORD_SHOWN."""
    record_total: int
    elicence_id: str
    elicence_issued_at: datetime
    code: CodeView
    photo: bytes | None
    generated_at: datetime
    """When this card was made (the code's issue time): printed on the front page as 生成时间."""

    @property
    def blocked(self) -> bool:
        return any(s.tone == "block" for s in self.statuses)


def tone_of(status: Status) -> str:
    if status is Status.NORMAL:
        return "ok"
    return "block" if STATUS_TABLE[status].blocks_issuance else "warn"


def card_of(
    licence: Licence,
    *,
    elicence_id: str,
    elicence_issued_at: datetime,
    code: CodeView,
    photo: bytes | None,
    at: datetime,
) -> Card:
    """The card of `licence` as the registry holds it at `at` (status and points are those of that day)."""
    today = china_date(at)
    held = licence.effective_statuses(today)
    statuses = tuple(
        StatusLine(s.value, STATUS_TABLE[s].name_zh, STATUS_TABLE[s].name_en, tone_of(s)) for s in Status if s in held
    )
    start = cycle_start(licence.first_issue, today)
    class_lines = tuple(
        ClassLine(
            c.value,
            CLASS_TABLE[c].name_zh,
            CLASS_TABLE[c].name_en,
            tuple(v.value for v in VehicleClass if v in CLASS_TABLE[c].also_permits),
        )
        for c in licence.classes
    )
    newest = sorted(licence.record, key=lambda r: r.on, reverse=True)
    record = tuple(
        RecordLine(r.on, *RECORD_KINDS.get(r.kind.value, (r.kind.value, r.kind.value)), r.description, r.points)
        for r in newest[:RECORD_SHOWN]
    )
    sex_zh, sex_en = SEXES.get(licence.holder.sex, (str(licence.holder.sex), str(licence.holder.sex)))
    nationality = "中国 CHN" if licence.holder.nationality == "CHN" else licence.holder.nationality
    return Card(
        number=str(licence.number),
        name=licence.holder.name,
        sex=f"{sex_zh} {sex_en}",
        nationality=nationality,
        birth_date=licence.holder.birth_date,
        first_issue=licence.first_issue,
        classes=tuple(c.value for c in licence.classes),
        valid_from=licence.validity.start,
        valid_until=licence.validity.end,
        address=licence.holder.address,
        authority=licence.authority.name,
        file_number=licence.file_number,
        statuses=statuses,
        points=licence.points_on(today),
        points_limit=POINTS_LIMIT,
        cycle_start=start,
        cycle_end=add_years(start, 1) - timedelta(days=1),
        class_lines=class_lines,
        record=record,
        record_total=len(licence.record),
        elicence_id=elicence_id,
        elicence_issued_at=elicence_issued_at,
        code=code,
        photo=photo,
        generated_at=at,
    )


def beijing(at: datetime, *, seconds: bool = True) -> str:
    """'YYYY-MM-DD HH:MM:SS' in Beijing time: for file names and the command line. The pages print moments in the
    glossary's format instead (`edl.domain.glossary.format_datetime`, to the minute)."""
    return at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def beijing_clock(at: datetime) -> str:
    """'HH:MM:SS' in Beijing time."""
    return at.astimezone(CHINA_TZ).strftime("%H:%M:%S")
