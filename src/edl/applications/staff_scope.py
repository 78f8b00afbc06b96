"""Who a staff decision is made by, as the review service sees it (no web imports: the web layer builds it)."""

from __future__ import annotations

from typing import Protocol


class Reviewer(Protocol):
    """A signed-in staff member: `edl.web.auth_deps.StaffSession` satisfies this."""

    @property
    def username(self) -> str: ...

    @property
    def role(self) -> str: ...

    @property
    def authorities(self) -> frozenset[str] | None: ...

    def may_act_for(self, authority_code: str) -> bool: ...
