"""licences: no index on authority_code on PostgreSQL (no query uses it there; every imported row paid for it)

Scope filters are `authority_code LIKE '37%'`. Under a non-C collation (the databases here are C.UTF-8) PostgreSQL
cannot use a plain B-tree index for LIKE, and EXPLAIN of every registry query (search by number, name or nothing,
scoped or national, counts, the photo look-up) shows none of them uses `ix_licences_authority_code`; it cost the
registry import about a tenth of its PostgreSQL time per row. SQLite does use it (it counts a scope's licences by
scanning the index instead of the table), so it stays there: the model declares it for SQLite only.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_licences_authority_code", table_name="licences")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.create_index("ix_licences_authority_code", "licences", ["authority_code"], unique=False)
