"""Citizen ID numbers (公民身份号码, GB 11643) and 档案编号 file numbers.

The licence number (证号) of a Chinese citizen's driving licence is the holder's 18-character ID number:
6-digit area code, 8-digit birth date, 3-digit sequence (odd = male), 1 ISO 7064 MOD 11-2 check character.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from operator import mul

from edl.domain.errors import InvalidFileNumber, InvalidIdNumber

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
_ID_RE = re.compile(r"^[1-9][0-9]{16}[0-9X]$")
_FILE_RE = re.compile(r"^[0-9]{12}$")
EARLIEST_BIRTH = date(1900, 1, 1)


def check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character over the first 17 digits."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise InvalidIdNumber("身份证号前17位必须是数字 / the first 17 characters must be digits")
    total = sum(map(mul, map(int, first17), WEIGHTS))
    return CHECK_CHARS[total % 11]


@dataclass(frozen=True, slots=True)
class IdNumber:
    """A validated 18-character resident ID number; `str(x)` gives it back in canonical upper case."""

    value: str

    @classmethod
    def parse(cls, text: str, *, today: date | None = None) -> IdNumber:
        """Validate format, embedded birth date and check character; raise InvalidIdNumber with the reason."""
        raw = text.strip().upper()
        if len(raw) != 18:
            raise InvalidIdNumber(f"身份证号应为18位，实为{len(raw)}位 / must be 18 characters, got {len(raw)}")
        if not _ID_RE.match(raw):
            raise InvalidIdNumber("身份证号格式错误 / ID number must be 17 digits and a digit or X")
        birth = _birth_date(raw)
        if birth < EARLIEST_BIRTH or (today is not None and birth > today):
            raise InvalidIdNumber(f"身份证号中的出生日期不合理: {birth} / implausible birth date {birth}")
        expected = check_char(raw[:17])
        if raw[17] != expected:
            raise InvalidIdNumber(
                f"身份证号校验位错误（应为{expected}） / check character is {raw[17]}, expected {expected}"
            )
        return cls(raw)

    @property
    def area_code(self) -> str:
        return self.value[:6]

    @property
    def birth_date(self) -> date:
        return _birth_date(self.value)

    @property
    def sex(self) -> int:
        """ISO/IEC 5218: 1 = male, 2 = female (odd sequence = male)."""
        return 1 if int(self.value[16]) % 2 == 1 else 2

    def __str__(self) -> str:
        return self.value


def _birth_date(raw: str) -> date:
    try:
        return date(int(raw[6:10]), int(raw[10:12]), int(raw[12:14]))
    except ValueError:
        raise InvalidIdNumber(f"身份证号中的出生日期无效: {raw[6:14]} / impossible birth date {raw[6:14]}") from None


def make_id_number(area_code: str, birth: date, sequence: int) -> IdNumber:
    """Build a valid ID number (for synthetic data and tests)."""
    if not (0 <= sequence <= 999):
        raise InvalidIdNumber("顺序码应为0-999 / sequence must be 0..999")
    first17 = f"{area_code}{birth:%Y%m%d}{sequence:03d}"
    return IdNumber.parse(first17 + check_char(first17))


def parse_file_number(text: str) -> str:
    """档案编号: exactly 12 digits."""
    raw = text.strip()
    if not _FILE_RE.match(raw):
        raise InvalidFileNumber(f"档案编号应为12位数字: {raw!r} / file number must be 12 digits")
    return raw
