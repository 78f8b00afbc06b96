"""JSON text parsed with a nesting-depth limit: hostile input is refused with `JsonRefused`, never a RecursionError.

Python's `json` recurses once per nested array or object, so about a thousand `[` exhaust the interpreter's stack
(`RecursionError`, which is not a `ValueError`). `loads` first measures the nesting with a flat scan of the text
(brackets outside strings, no recursion) and refuses anything deeper than `max_depth` before `json.loads` sees it.
The web layer (`edl.web.jsonbody`), the registry import and the CLI all parse outside JSON through here.
Standard library only, so any layer may use it.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final, Literal

MAX_DEPTH: Final = 32
"""Deepest nesting of arrays and objects accepted (the CBOR decoder's limit too); our documents nest 3 deep at most."""

_NOT_BRACKETS: Final = re.compile(r'"(?:[^"\\]++|\\.)*+"?|[^"\[\]{}]++', re.DOTALL)
"""A JSON string (terminated or not: the rest of the text) or a run of anything else that is not a bracket."""
_OPEN: Final = frozenset("[{")


class JsonRefused(ValueError):
    """The text is not JSON (`reason` "not_json"; not UTF-8, a syntax error, …) or nests deeper than the limit
    ("too_deep"). `column` is where the syntax error is, when known. The message is for people."""

    def __init__(self, reason: Literal["not_json", "too_deep"], message: str, column: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.column = column


def nesting_exceeds(text: str, limit: int) -> bool:
    """Whether arrays and objects in `text` nest deeper than `limit` (brackets inside strings do not count).

    A closing bracket never takes the count below zero, so the answer is never lower than what `json.loads` would
    reach before it stops at the first error.
    """
    if text.count("[") + text.count("{") <= limit:  # every document we take: one C-speed pass, nothing else
        return False
    depth = 0
    for char in _NOT_BRACKETS.sub("", text):
        if char in _OPEN:
            depth += 1
            if depth > limit:
                return True
        elif depth:
            depth -= 1
    return False


def loads(data: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """The value of JSON `data` (UTF-8 bytes, a leading byte-order mark allowed, or text); `JsonRefused` otherwise.

    Raises nothing else, whatever the input.
    """
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8").removeprefix("\ufeff")
        except UnicodeDecodeError as exc:
            raise JsonRefused("not_json", f"not UTF-8 text (bad byte at {exc.start + 1})") from None
    else:
        text = data
    if nesting_exceeds(text, max_depth):
        raise JsonRefused("too_deep", f"arrays or objects nested deeper than {max_depth} levels")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise JsonRefused("not_json", f"invalid JSON at column {exc.colno}", column=exc.colno) from None
    except (ValueError, RecursionError) as exc:  # a number past int's digit limit; recursion cannot happen here
        raise JsonRefused("not_json", f"invalid JSON: {type(exc).__name__}") from None
