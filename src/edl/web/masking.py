"""Masking of personal data before it reaches a log line (ID numbers, names, search text)."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode

# Runs of 6+ digits (optionally ending in X) look like ID, licence or file numbers.
_NUMBER_RE = re.compile(r"\d{6,}[\dXx]?")
FREE_TEXT_PARAMS = frozenset({"q", "name"})
"""Query parameters that carry free text (a name or a number) and are masked whole."""


def mask_number(value: str) -> str:
    """Keep the first 3 and last 2 characters: '11010519491231002X' → '110*************2X'."""
    if len(value) <= 5:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 5) + value[-2:]


def mask_text(value: str) -> str:
    """Free text such as a name: keep the first character only ('张三丰' → '张**')."""
    return value[:1] + "*" * (len(value) - 1) if value else value


def mask_numbers_in(text: str) -> str:
    """Mask every number-like run inside `text` (paths, other query values)."""
    return _NUMBER_RE.sub(lambda m: mask_number(m.group(0)), text)


def mask_query(query_string: str) -> str:
    """A query string safe to log: free-text parameters masked whole, number-like runs masked everywhere."""
    if not query_string:
        return ""
    pairs = parse_qsl(query_string, keep_blank_values=True)
    safe = [(k, mask_text(v) if k in FREE_TEXT_PARAMS else mask_numbers_in(v)) for k, v in pairs]
    return urlencode(safe, safe="*")
