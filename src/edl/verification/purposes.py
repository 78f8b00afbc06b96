"""Why a relying party checks an e-licence, and what that purpose lets it see (data minimisation).

Each registered relying party has one purpose. The purpose fixes the most it may see and what to do when the
status cannot be learnt (`unknown`): law enforcement refuses, businesses accept with a warning. A party's own
configured field list can only narrow its purpose's fields, except for the insurer, whose fields are configured
per party (within `FIELDS`, address and driving record excluded unless configured).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class Field(StrEnum):
    NAME = "name"
    PHOTO = "photo"
    SEX = "sex"
    NATIONALITY = "nationality"
    BIRTH_DATE = "birth_date"
    ADDRESS = "address"
    LICENCE_NUMBER = "licence_number"
    FILE_NUMBER = "file_number"
    CLASSES = "classes"
    FIRST_ISSUE = "first_issue"
    VALID_FROM = "valid_from"
    VALID_UNTIL = "valid_until"
    ISSUING_AUTHORITY = "issuing_authority"
    STATUS = "status"
    POINTS = "points"
    DRIVING_RECORD = "driving_record"


FIELDS: Final[tuple[Field, ...]] = tuple(Field)


class UnknownPolicy(StrEnum):
    REFUSE = "refuse"
    """A status that cannot be learnt makes the result not valid."""
    WARN = "warn"
    """Accepted, with a warning that the status could not be confirmed."""


class Purpose(StrEnum):
    POLICE = "police"
    RENTAL = "rental"
    EMPLOYER = "employer"
    INSURER = "insurer"


@dataclass(frozen=True)
class PurposeRule:
    purpose: Purpose
    name_zh: str
    name_en: str
    fields: tuple[Field, ...]
    unknown: UnknownPolicy
    configurable: bool = False
    """True when a party's own field list may add fields beyond `fields` (the insurer)."""


_RENTAL = (Field.NAME, Field.PHOTO, Field.CLASSES, Field.VALID_FROM, Field.VALID_UNTIL, Field.STATUS)
RULES: Final[dict[Purpose, PurposeRule]] = {
    Purpose.POLICE: PurposeRule(Purpose.POLICE, "执法核查", "law enforcement", FIELDS, UnknownPolicy.REFUSE),
    Purpose.RENTAL: PurposeRule(Purpose.RENTAL, "汽车租赁", "car rental", _RENTAL, UnknownPolicy.WARN),
    Purpose.EMPLOYER: PurposeRule(
        Purpose.EMPLOYER, "用人单位", "employer", (*_RENTAL, Field.POINTS), UnknownPolicy.WARN
    ),
    Purpose.INSURER: PurposeRule(
        Purpose.INSURER,
        "保险机构",
        "insurer",
        (Field.NAME, Field.CLASSES, Field.FIRST_ISSUE, Field.VALID_UNTIL, Field.STATUS, Field.POINTS),
        UnknownPolicy.WARN,
        configurable=True,
    ),
}


class InvalidPurpose(ValueError):
    """A purpose or field list that is not allowed; the message says what is."""


def parse_purpose(text: str) -> Purpose:
    try:
        return Purpose(text.strip().lower())
    except ValueError:
        raise InvalidPurpose(f"unknown purpose {text!r}: use one of {', '.join(p.value for p in Purpose)}") from None


def parse_fields(names: Iterable[str]) -> tuple[Field, ...]:
    out: list[Field] = []
    for name in names:
        try:
            f = Field(name.strip().lower())
        except ValueError:
            raise InvalidPurpose(f"unknown field {name!r}: use any of {', '.join(FIELDS)}") from None
        if f not in out:
            out.append(f)
    return tuple(out)


def allowed_fields(purpose: Purpose, configured: Sequence[str] | None = None) -> tuple[Field, ...]:
    """The fields a party with `purpose` (and its configured list, if any) may see, in `FIELDS` order.

    Status is always included: a verifier must learn whether the licence may be relied on.
    """
    rule = RULES[purpose]
    if configured is None:
        chosen = set(rule.fields)
    else:
        wanted = set(parse_fields(configured))
        chosen = wanted if rule.configurable else wanted & set(rule.fields)
    chosen.add(Field.STATUS)
    return tuple(f for f in FIELDS if f in chosen)


def check_configured_fields(purpose: Purpose, configured: Sequence[str]) -> tuple[Field, ...]:
    """Validate a party's field list at registration: refuse fields its purpose never allows."""
    wanted = parse_fields(configured)
    rule = RULES[purpose]
    if not rule.configurable:
        extra = [f.value for f in wanted if f not in rule.fields]
        if extra:
            raise InvalidPurpose(
                f"purpose {purpose.value} may not see {', '.join(extra)} (it allows {', '.join(rule.fields)})"
            )
    return wanted
