"""Instants as stored: aware UTC (SQLite hands back naive datetimes for timezone-aware columns; we store UTC)."""

from __future__ import annotations

from datetime import UTC, datetime


def as_utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
