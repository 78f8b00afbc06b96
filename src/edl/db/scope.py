"""The authority-scope rule (`edl.domain.scope.AuthorityScope`) as a SQL condition on a stored authority code."""

from __future__ import annotations

import sqlalchemy as sa

from edl.domain.scope import AuthorityScope


def authority_in_scope(column: sa.ColumnElement[str], scope: AuthorityScope) -> sa.ColumnElement[bool]:
    """Rows whose 6-digit authority code `column` is inside `scope` (always true for a national scope)."""
    prefixes = scope.prefixes()
    if prefixes is None:
        return sa.true()
    return sa.or_(*(column.startswith(p, autoescape=True) for p in prefixes))
