"""One name per licence field, in each language (术语表), and one date format per language.

Every place that names a field takes its label from here: the pages (the registry, the review console, the driver's
app, the verifier's result, the relying-party admin's field list) through the catalogue keys `field.<id>`, the
licence pages drawn as SVG / PNG / PDF (`edl.rendering.pages`, which prints both languages side by side, as on the
plastic card) and the relying-party API document (`edl.web.openapi_rp`): the same field reads the same everywhere.
The ids are those of `edl.verification.purposes.Field` (what a relying party may see), plus a few the registry pages
show. Plain Python in the domain core, so the renderer and the web layer can both use it. A unit test
(tests/unit/web/test_glossary.py) checks that no catalogue entry, template or rendered licence page names a
glossary field in another spelling.

Dates: one format per language, `format_date` / `format_datetime` (Beijing time), used by the pages and the licence
pages; the formats are ISO-like in both languages (`2020-01-01`, `2020-01-01 08:30`), as on the licence card, so a
date reads the same on the card, the pages and the API.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Final

from edl.domain.dates import CHINA_TZ

GLOSSARY: Final[Mapping[str, tuple[str, str]]] = {
    # the fields of a licence (edl.verification.purposes.Field)
    "name": ("姓名", "Name"),
    "photo": ("照片", "Photo"),
    "sex": ("性别", "Sex"),
    "nationality": ("国籍", "Nationality"),
    "birth_date": ("出生日期", "Date of birth"),
    "address": ("住址", "Address"),
    "licence_number": ("证号", "Licence number"),
    "file_number": ("档案编号", "File number"),
    "classes": ("准驾车型", "Vehicle classes"),
    "first_issue": ("初次领证日期", "First issued"),
    "valid_from": ("有效期起始日期", "Valid from"),
    "valid_until": ("有效期至", "Valid until"),
    "issuing_authority": ("发证机关", "Issuing authority"),
    "status": ("状态", "Status"),
    "points": ("记分", "Points"),
    "driving_record": ("驾驶记录", "Driving record"),
    # what the registry pages show besides
    "validity": ("有效期限", "Valid"),
    "mobile": ("登记手机号", "Registered mobile"),
    "bound_to": ("绑定账号", "Bound to account"),
    "version": ("记录版本", "Record version"),
    "updated_at": ("最后更新", "Last updated"),
}
"""field id -> (中文, English)."""

ALIASES: Final[Mapping[str, str]] = {"number": "licence_number", "authority": "issuing_authority"}
"""Shorter catalogue keys the templates already use (`field.number`), for the same glossary entries."""

VARIANTS: Final[Mapping[str, str]] = {
    "违法记录": "driving_record",
    "有效期截止": "valid_until",
    "有效期截止日期": "valid_until",
    "有效期起始": "valid_from",
    "有效起始日期": "valid_from",
    "驾驶证号": "licence_number",
    "驾驶证号码": "licence_number",
    "初领日期": "first_issue",
    "准驾车型代号": "classes",
    "累积记分": "points",
}
"""Other spellings seen for glossary fields: none may appear on a page (the unit test looks for them)."""


def field_messages() -> dict[str, tuple[str, str]]:
    """The catalogue's field labels: `field.<id>` for every glossary entry and alias."""
    messages = {f"field.{field}": pair for field, pair in GLOSSARY.items()}
    messages.update({f"field.{alias}": GLOSSARY[field] for alias, field in ALIASES.items()})
    return messages


DATE_FORMATS: Final[Mapping[str, str]] = {"zh": "%Y-%m-%d", "en": "%Y-%m-%d"}
DATETIME_FORMATS: Final[Mapping[str, str]] = {"zh": "%Y-%m-%d %H:%M", "en": "%Y-%m-%d %H:%M"}
"""One format per language (keys: the language codes of `edl.web.i18n.Lang`, 'zh' and 'en')."""


def format_date(value: date, lang: str) -> str:
    """A calendar date in `lang`'s format (a datetime is first put in Beijing time)."""
    if isinstance(value, datetime):
        value = value.astimezone(CHINA_TZ).date()
    return value.strftime(DATE_FORMATS[str(lang)])


def format_datetime(value: datetime, lang: str) -> str:
    """A moment in Beijing time, in `lang`'s format (minutes)."""
    return value.astimezone(CHINA_TZ).strftime(DATETIME_FORMATS[str(lang)])
