"""privacy consent: when a driver accepted the privacy notice, and which version

`accounts.privacy_consent_at` and `accounts.privacy_notice_version` record the explicit consent given before the
first sign-in creates the account (accounts made before this revision keep NULL: no consent on record).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("privacy_consent_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("privacy_notice_version", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("privacy_notice_version")
        batch_op.drop_column("privacy_consent_at")
