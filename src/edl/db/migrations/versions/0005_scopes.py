"""scopes: relying parties get an authority scope; staff sign-in is throttled from the audit log

Existing relying parties become national ('*'): that is what they could already see, so the operator's earlier
choice stands until an admin re-registers a party narrower. The per-account lock columns of `staff_users` go: failed
sign-ins are counted from `audit_log` (per client address, per username and address, per username), shared by every
app server, through two new indexes.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("relying_parties", schema=None) as batch_op:
        batch_op.add_column(sa.Column("authorities", sa.String(length=512), nullable=True))
    op.execute("UPDATE relying_parties SET authorities = '*'")
    with op.batch_alter_table("relying_parties", schema=None) as batch_op:
        batch_op.alter_column("authorities", existing_type=sa.String(length=512), nullable=False)

    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.drop_column("locked_until")
        batch_op.drop_column("failed_logins")

    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_action_client", ["action", "client", "outcome", "at"], unique=False)
        batch_op.create_index("ix_audit_log_action_subject", ["action", "subject", "outcome", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_action_subject")
        batch_op.drop_index("ix_audit_log_action_client")

    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failed_logins", sa.SmallInteger(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("relying_parties", schema=None) as batch_op:
        batch_op.drop_column("authorities")
