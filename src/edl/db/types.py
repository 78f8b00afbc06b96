"""Column types. One rule for time: every stored instant is UTC, and comes back as an aware UTC datetime.

PostgreSQL's ``timestamptz`` keeps the instant; SQLite keeps the wall time without its zone. `UtcDateTime` makes
both behave the same: it refuses a naive datetime on the way in (its zone is unknown), stores UTC, and hands back
an aware UTC datetime on the way out, so no caller has to re-attach a zone to what it reads.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as UTC (``timestamp with time zone``); read back as aware UTC on every database."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"a datetime is required, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("a timezone-aware datetime is required (its instant is ambiguous otherwise)")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return as_utc(value) if value is not None else None


def as_utc(value: datetime) -> datetime:
    """A datetime the database driver returned (naive on SQLite, meaning UTC) as an aware UTC datetime."""
    if isinstance(value, str):  # a raw SQLite row read outside the ORM
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
