"""One name per field (issue 13, item 2): the catalogue's field labels come from the glossary, and no page names a
glossary field in another spelling (before: 驾驶记录 here and 违法记录 there, 有效期至 and 有效期截止)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from itertools import pairwise
from pathlib import Path

import pytest

from edl.domain.glossary import ALIASES, GLOSSARY, VARIANTS, format_date, format_datetime
from edl.verification.purposes import Field
from edl.web.i18n import MESSAGES, Lang, Translator
from edl.web.rendering import TEMPLATES_DIR

OTHER_MEANINGS = frozenset(
    {
        "auth.col_state",  # 状态 / State: of a staff account
        "auth.col_authorities",  # 发证机关 / Issuing authorities: a staff member's scope (plural)
        "holder.app_state",  # 状态 / State: of an application
        "parties.col_state",  # 状态 / State: of a relying party
        "parties.col_name",  # 名称 / Name: of a relying party
        "parties.name_label",
        "review.col_kind",  # 照片来源: where an application's photo came from
        "show.code_valid_until",  # 有效至: the live code's expiry, not the licence's
        "checks.status_valid",  # 有效 / valid: a verification's result
        "verify.valid",
        "verify.status_valid",
    }
)
"""Catalogue entries whose words coincide with a glossary field's in one language but name something else."""

_KEY = re.compile(r"""\bt(?:\.nowrap)?\(\s*["']([\w.]+)["']""")
_ZH = {zh: field for field, (zh, _en) in GLOSSARY.items()}
_EN = {en.lower(): field for field, (_zh, en) in GLOSSARY.items()}


def _without_glossary_spellings(text: str) -> str:
    for zh in sorted(_ZH, key=len, reverse=True):
        text = text.replace(zh, "")
    return text


def _clashes(key: str) -> list[str]:
    zh, en = MESSAGES[key]
    found = []
    if zh in _ZH and GLOSSARY[_ZH[zh]][1].lower() != en.lower():
        field = _ZH[zh]
        found.append(f"{key}: 「{zh}」 is the glossary's {field} ({GLOSSARY[field][1]!r}), not {en!r}")
    if en.lower() in _EN and GLOSSARY[_EN[en.lower()]][0] != zh:
        field = _EN[en.lower()]
        found.append(f"{key}: {en!r} is the glossary's {field} (「{GLOSSARY[field][0]}」), not 「{zh}」")
    rest = _without_glossary_spellings(zh)
    found += [f"{key}: 「{v}」 is another spelling of {VARIANTS[v]}" for v in VARIANTS if v in rest]
    return found


def test_every_field_a_relying_party_may_see_is_in_the_glossary() -> None:
    assert {f.value for f in Field} <= GLOSSARY.keys()


def test_the_catalogue_field_labels_are_the_glossary() -> None:
    for field, pair in GLOSSARY.items():
        assert MESSAGES[f"field.{field}"] == pair
    for alias, field in ALIASES.items():
        assert MESSAGES[f"field.{alias}"] == GLOSSARY[field]
    assert {k for k in MESSAGES if k.startswith("field.")} == {f"field.{f}" for f in (*GLOSSARY, *ALIASES)}


def test_no_other_catalogue_of_field_labels() -> None:
    """Field labels under other keys (`verify.f_…`, `parties.f_…`) were how the spellings drifted apart."""
    assert [k for k in MESSAGES if re.match(r"^\w+\.f_\w+$", k)] == []


def test_no_catalogue_entry_spells_a_field_differently() -> None:
    clashes = [c for key in MESSAGES if key not in OTHER_MEANINGS for c in _clashes(key)]
    assert clashes == []


def test_the_labels_the_templates_use_are_the_glossary() -> None:
    clashes, literal = [], []
    for path in sorted(TEMPLATES_DIR.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(TEMPLATES_DIR).as_posix()
        for key in sorted(set(_KEY.findall(text))):
            assert key in MESSAGES, f"{name} uses {key}, which the catalogue lacks"
            if key not in OTHER_MEANINGS:
                clashes += [f"{name}: {c}" for c in _clashes(key)]
        bare = re.sub(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", "", text, flags=re.S)
        rest = _without_glossary_spellings(" ".join(re.findall(r"[\u3400-\u9fff]+", bare)))
        literal += [f"{name}: 「{v}」" for v in VARIANTS if v in rest]
    assert clashes == []
    assert literal == [], "a field name written into a template in another spelling"


def test_the_verifier_and_the_admin_pages_take_the_glossary_labels() -> None:
    from edl.web.staff.parties import field_label
    from edl.web.verifier.views import FIELD_LABELS

    for lang in Lang:
        t = Translator(lang)
        for f in Field:
            expected = GLOSSARY[f.value][0 if lang is Lang.ZH else 1]
            assert t(FIELD_LABELS[f]) == expected
            assert field_label(f, t) == expected


@pytest.mark.parametrize("lang", list(Lang))
def test_one_date_format_per_language(lang: Lang) -> None:
    t = Translator(lang)
    assert t.format_date(date(2026, 3, 7)) == format_date(date(2026, 3, 7), lang) == "2026-03-07"
    at = datetime(2026, 3, 6, 16, 5, tzinfo=UTC)  # 00:05 the next day in Beijing
    assert t.format_time(at) == format_datetime(at, lang) == "2026-03-07 00:05"
    assert t.format_date(at) == "2026-03-07", "a moment's date is the date in Beijing"


def test_templates_print_dates_through_the_helper() -> None:
    """`.isoformat()` in a template is a second date format waiting to happen: pages use t.format_date."""
    offenders = [
        path.relative_to(TEMPLATES_DIR).as_posix()
        for path in sorted(Path(TEMPLATES_DIR).rglob("*.html"))
        if ".isoformat()" in path.read_text(encoding="utf-8") or "strftime" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []


def test_the_api_document_names_the_fields_as_the_pages_do() -> None:
    from edl.web.openapi_rp import _schemas

    properties = _schemas()["Fields"]["properties"]
    for f in Field:
        zh, en = GLOSSARY[f.value]
        assert properties[f.value]["title"] == f"{zh} / {en}"


def _licence_pages() -> list[tuple[str, list[str]]]:
    """The texts of both licence pages (正页, 副页) as the renderer draws them, in drawing order."""
    import xml.etree.ElementTree as ET

    from edl.registry.portraits import render_portrait
    from edl.rendering import CodeView, card_of, front_page, secondary_page
    from tests.factories import licence

    at = datetime(2026, 3, 16, 2, 0, 5, tzinfo=UTC)
    lic = licence()
    card = card_of(
        lic,
        elicence_id="0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        elicence_issued_at=at,
        code=CodeView("EDL1:TEST", at, at, "000000004217123456789012"),
        photo=render_portrait(7, str(lic.number)),
        at=at,
    )
    pages = [("front", front_page(card, photo_href=None).svg), ("secondary", secondary_page(card).svg)]
    return [
        (name, ["".join(t.itertext()) for t in ET.fromstring(str(svg)).iter("{http://www.w3.org/2000/svg}text")])
        for name, svg in pages
    ]


def test_the_licence_pages_label_their_fields_with_the_glossary_in_both_languages() -> None:
    """The card prints each label in Chinese with the English beside it (before: 证号 No., 准驾车型 Class,
    初次领证日期 Date of first issue, 档案编号 File No., 有效期限 Valid period)."""
    from edl.rendering.pages import FRONT_FIELDS, SECONDARY_FIELDS

    for (name, texts), fields in zip(_licence_pages(), (FRONT_FIELDS, SECONDARY_FIELDS), strict=True):
        pairs = set(pairwise(texts))
        missing = [f for f in fields if GLOSSARY[f] not in pairs]
        assert missing == [], f"{name} page: not labelled as the glossary says"
        wrong = [
            f"{name} page: 「{zh}」 {en!r} (the glossary's {_ZH[zh]} is {GLOSSARY[_ZH[zh]][1]!r})"
            for zh, en in pairs
            if zh in _ZH and en.isascii() and en.lower() != GLOSSARY[_ZH[zh]][1].lower()
        ]
        assert wrong == []
        rest = _without_glossary_spellings(" ".join(texts))
        assert [v for v in VARIANTS if v in rest] == [], f"{name} page names a field in another spelling"


def test_the_licence_pages_print_moments_as_the_pages_do() -> None:
    """Generation and issue time to the minute (`2026-03-16 10:00`), not to the second as before."""
    shown = "\n".join(text for _name, texts in _licence_pages() for text in texts)
    assert format_datetime(datetime(2026, 3, 16, 2, 0, 5, tzinfo=UTC), "zh") in shown
    assert re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", shown) == []
    assert format_date(date(1990, 5, 17), "zh") in shown  # the factory's birth date


def test_no_source_formats_a_date_its_own_way() -> None:
    """One date format per language (`edl.domain.glossary`): a notice that wrote "2027年01月03日 12:26止" beside
    pages that write "2027-01-03 12:26" was found on the driver's stopped page; no strftime of its own remains."""
    src = Path(__file__).resolve().parents[3] / "src" / "edl"
    own = [
        str(p.relative_to(src))
        for p in src.rglob("*.py")
        if re.search(r"%Y年|年%m月|%m月%d日", p.read_text(encoding="utf-8"))
    ]
    assert own == []
