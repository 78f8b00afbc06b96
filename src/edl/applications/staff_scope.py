"""Who a staff decision is made by, as the review service sees it (no web imports: the web layer builds it)."""

from __future__ import annotations

from typing import Protocol

from edl.domain.scope import AuthorityScope


class Reviewer(Protocol):
    """A signed-in staff member: `edl.web.auth_deps.StaffSession` satisfies this."""

    @property
    def username(self) -> str: ...

    @property
    def role(self) -> str: ...

    @property
    def authorities(self) -> frozenset[str] | None: ...

    @property
    def scope(self) -> AuthorityScope:
        """Whose applications this staff member sees (`edl.domain.scope`: 370000 covers every 37xxxx authority)."""
        ...

    def may_act_for(self, authority_code: str) -> bool: ...
