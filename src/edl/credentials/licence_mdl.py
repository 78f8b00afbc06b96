"""Map a registry licence onto ISO/IEC 18013-5 mDL data elements (the table is in docs/credential.md).

`org.iso.18013.5.1` carries the standard elements; `org.iso.18013.5.1.CN` carries what the standard lacks
(exact Chinese classes, 档案编号, status, points, e-licence generation time), as AAMVA does with its namespace.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pypinyin import Style, lazy_pinyin

from edl.credentials.names import MDL_NAMESPACE
from edl.domain import CLASS_TABLE, Licence, format_classes, format_statuses
from edl.domain.dates import add_years
from edl.domain.names import split_name

MDL_NS = MDL_NAMESPACE
CN_NS = "org.iso.18013.5.1.CN"
AGE_OVER = (18, 60, 70)
"""The fixed set of age_over_NN elements (computed at the credential's validFrom)."""
LONG_TERM_EXPIRY = date(9999, 12, 31)
"""expiry_date of a 长期 (long-term) licence; `validity_long_term` in the national namespace says so."""
AUTOMATIC_ONLY = {"code": "78"}
AUTOMATIC_CLASSES = frozenset({"C2", "C5"})
"""Restriction code for automatic transmission only (as in the EU codes ISO 18013-5 Annex C draws on)."""

# Readings that differ when a character is a surname (姓氏多音字). Upper-case passport spelling.
SURNAME_READINGS = {
    "单": "SHAN", "曾": "ZENG", "解": "XIE", "仇": "QIU", "区": "OU", "朴": "PIAO", "查": "ZHA",
    "覃": "QIN", "乐": "YUE", "盖": "GE", "缪": "MIAO", "翟": "ZHAI", "秘": "BI", "种": "CHONG",
    "尉迟": "YUCHI", "万俟": "MOQI", "长孙": "ZHANGSUN", "单于": "CHANYU",
}  # fmt: skip


def latin(text: str) -> str:
    """Pinyin without tones, upper case, ü written YU (passport practice: 吕 → LYU)."""
    syllables = lazy_pinyin(text, style=Style.NORMAL, errors="ignore")
    return "".join(s.replace("v", "yu").replace("ü", "yu") for s in syllables).upper()


def latin_family_name(family: str) -> str:
    return SURNAME_READINGS.get(family) or latin(family)


def age_on(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def driving_privileges(lic: Licence) -> list[dict[str, Any]]:
    """ISO categories nearest to every class the licence permits (held classes and their legal inclusions).

    One entry per category; the mapping is assumed and documented (docs/credential.md). A category reached only
    through automatic-only classes (C2, C5) carries restriction code 78.
    """
    expiry = lic.validity.end or LONG_TERM_EXPIRY
    permitted = {c for held in lic.classes for c in (held, *CLASS_TABLE[held].also_permits)}
    automatic_only: dict[str, bool] = {}
    for cls in sorted(permitted):
        category = CLASS_TABLE[cls].iso_category
        automatic_only[category] = automatic_only.get(category, True) and cls.value in AUTOMATIC_CLASSES
    privileges: list[dict[str, Any]] = []
    for category, automatic in automatic_only.items():
        entry: dict[str, Any] = {
            "vehicle_category_code": category,
            "issue_date": lic.first_issue,
            "expiry_date": expiry,
        }
        if automatic:
            entry["codes"] = [dict(AUTOMATIC_ONLY)]
        privileges.append(entry)
    return privileges


def mdl_namespaces(
    lic: Licence, *, portrait: bytes, generated_at: datetime, valid_from: datetime
) -> dict[str, dict[str, Any]]:
    """The data elements of an e-licence for `lic`, by namespace."""
    family, given = split_name(lic.holder.name)
    holder = lic.holder
    age = age_on(holder.birth_date, valid_from.date())
    mdl: dict[str, Any] = {
        "family_name": latin_family_name(family),
        "given_name": latin(given),
        "family_name_national_character": family,
        "given_name_national_character": given,
        "birth_date": holder.birth_date,
        "issue_date": lic.validity.start,
        "expiry_date": lic.validity.end or LONG_TERM_EXPIRY,
        "issuing_country": "CN",
        "issuing_authority": lic.authority.name,
        "document_number": str(lic.number),
        "portrait": portrait,
        "driving_privileges": driving_privileges(lic),
        "un_distinguishing_sign": "CHN",
        "sex": holder.sex,
        "nationality": "CN" if holder.nationality == "CHN" else holder.nationality,
        "resident_address": holder.address,
        "age_in_years": age,
        "age_birth_year": holder.birth_date.year,
    }
    for n in AGE_OVER:
        mdl[f"age_over_{n}"] = valid_from.date() >= add_years(holder.birth_date, n)
    domestic: dict[str, Any] = {
        "file_number": lic.file_number,
        "vehicle_classes": format_classes(lic.classes),
        "domestic_driving_privileges": [
            {
                "class": c.value,
                "name": CLASS_TABLE[c].name_zh,
                "permits": sorted(x.value for x in CLASS_TABLE[c].also_permits),
            }
            for c in lic.classes
        ],
        "first_issue_date": lic.first_issue,
        "validity_long_term": lic.validity.end is None,
        "licence_status": format_statuses(lic.statuses),
        "points": lic.points_on(valid_from.date()),
        "authority_code": lic.authority.code,
        "elicence_generated_at": generated_at.replace(microsecond=0),
    }
    return {MDL_NS: mdl, CN_NS: domestic}
