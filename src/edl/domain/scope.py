"""Authority scope (管辖范围): which issuing authorities a staff member or a relying party acts for.

A scope is a set of 6-digit administrative-area codes (GB/T 2260) or national (`None` codes). A code covers the
authorities inside its area: a province code (`370000`, 山东) covers every `37xxxx` authority, a prefecture code
(`370200`, 青岛) covers `3702xx`, a county-level code only itself. This is the one rule that the registry browser,
the review queue, staff administration and relying-party answers all use.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_CODE_RE = re.compile(r"^[0-9]{6}$")


def area_prefix(code: str) -> str:
    """The part of `code` that the authorities inside its area share: '370000' → '37', '370200' → '3702'."""
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


def code_covers(scope_code: str, authority_code: str) -> bool:
    """Whether the area `scope_code` holds the authority `authority_code`."""
    return authority_code.startswith(area_prefix(scope_code))


@dataclass(frozen=True, slots=True)
class AuthorityScope:
    """A set of area codes, or national (`codes is None`)."""

    codes: frozenset[str] | None

    def __post_init__(self) -> None:
        if self.codes is not None:
            if not self.codes:
                raise ValueError("an authority scope needs at least one code, or None for national")
            bad = [c for c in self.codes if not _CODE_RE.match(c)]
            if bad:
                raise ValueError(f"authority codes are 6 digits: {', '.join(sorted(bad))[:60]}")

    @classmethod
    def national(cls) -> AuthorityScope:
        return cls(None)

    @classmethod
    def of(cls, codes: Iterable[str] | None) -> AuthorityScope:
        return cls(None if codes is None else frozenset(codes))

    @property
    def is_national(self) -> bool:
        return self.codes is None

    def covers(self, authority_code: str) -> bool:
        """Whether an authority (a licence's issuing authority) is inside this scope."""
        return self.codes is None or any(code_covers(c, authority_code) for c in self.codes)

    def within(self, other: AuthorityScope) -> bool:
        """Whether every authority this scope covers is covered by `other` (a scope no wider than `other`)."""
        if other.codes is None:
            return True
        if self.codes is None:
            return False
        return all(any(area_prefix(c).startswith(area_prefix(o)) for o in other.codes) for c in self.codes)

    def prefixes(self) -> tuple[str, ...] | None:
        """The code prefixes to filter stored authority codes by (`LIKE prefix%`), or None for national."""
        if self.codes is None:
            return None
        return tuple(sorted({area_prefix(c) for c in self.codes}))

    def column(self) -> str:
        """How accounts store it: '*' for national, else the codes comma-separated."""
        return "*" if self.codes is None else ",".join(sorted(self.codes))

    @classmethod
    def from_column(cls, text: str) -> AuthorityScope:
        """The inverse of `column` ('*' → national); an empty column is an error, never national."""
        value = text.strip()
        if value == "*":
            return cls(None)
        return cls(frozenset(c for c in value.split(",") if c))
