"""What the pages show, decided in Python: badge colours, class names, validity text, points."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from edl.domain import (
    AUTHORITIES_BY_CODE,
    Holder,
    Licence,
    PointsCycle,
    Status,
    Validity,
    ValidityTerm,
    VehicleClass,
    make_id_number,
)
from edl.web.i18n import Lang, Translator
from edl.web.presenters import (
    Tone,
    beijing_today,
    class_rows,
    points_view,
    status_badges,
    status_tone,
    validity_text,
)

ZH, EN = Translator(Lang.ZH), Translator(Lang.EN)


@pytest.mark.parametrize("status", list(Status))
def test_badge_tone_is_green_for_normal_amber_for_shown_and_red_for_blocking(status: Status) -> None:
    expected = {Status.NORMAL: Tone.OK, Status.OFFENCE_PENDING: Tone.WARN, Status.ACCIDENT_PENDING: Tone.WARN}
    assert status_tone(status) is expected.get(status, Tone.BLOCK)


def test_badges_follow_the_table_order_and_the_page_language() -> None:
    held = {Status.OFFENCE_PENDING, Status.SUSPENDED}
    assert [b.label for b in status_badges(held, ZH)] == ["暂扣", "违法未处理"]
    en = status_badges(held, EN)
    assert [b.label for b in en] == ["suspended", "unprocessed offence"]
    assert "暂扣" in en[0].title


def test_class_rows_give_both_names_and_the_inclusions_as_written() -> None:
    a1, d = class_rows((VehicleClass.A1, VehicleClass.D))
    assert (a1.code, a1.name_zh, a1.name_en) == ("A1", "大型客车", "large bus")
    assert a1.also_permits == ("A3", "B1", "B2", "C1", "C2", "C3", "C4", "M")
    assert d.also_permits == ("E", "F")
    assert class_rows((VehicleClass.C2,))[0].also_permits == ()


def test_long_term_validity_reads_long_term_in_both_languages() -> None:
    long_term = Validity.of(ValidityTerm.LONG_TERM, date(2011, 4, 1))
    assert validity_text(long_term, ZH) == "2011-04-01 至 长期"
    assert validity_text(long_term, EN) == "2011-04-01 to long-term"
    six = Validity.of(ValidityTerm.SIX_YEARS, date(2020, 5, 1))
    assert validity_text(six, ZH) == "2020-05-01 至 2026-05-01"


def test_points_view_counts_the_cycle_containing_today() -> None:
    number = make_id_number("120101", date(1990, 3, 4), 11)
    lic = Licence(
        number=number,
        file_number="120000000001",
        holder=Holder("张三", 1, "CHN", number.birth_date, "天津市"),
        classes=(VehicleClass.C1,),
        first_issue=date(2015, 6, 1),
        validity=Validity.of(ValidityTerm.TEN_YEARS, date(2021, 6, 1)),
        authority=AUTHORITIES_BY_CODE["120000"],
        points=PointsCycle(date(2025, 6, 1), 12),
    )
    inside = points_view(lic, date(2026, 5, 31))
    assert (inside.points, inside.cycle_start, inside.cycle_end, inside.tone) == (
        12,
        date(2025, 6, 1),
        date(2026, 5, 31),
        Tone.BLOCK,
    )
    after = points_view(lic, date(2026, 6, 1))
    assert (after.points, after.tone) == (0, Tone.OK)


def test_today_is_the_date_in_beijing() -> None:
    assert beijing_today(datetime(2026, 3, 14, 16, 30, tzinfo=UTC)) == date(2026, 3, 15)
    assert beijing_today(datetime(2026, 3, 14, 15, 59, tzinfo=UTC)) == date(2026, 3, 14)
