"""sanctions: stopping a driver's e-licence after malicious uploads

`sanctions` holds each proposed, confirmed, declined, lifted or ended sanction (停止电子驾驶证申请使用);
`elicences.suspended_until` is set while one runs, so every registry read of an e-licence's status (online
verification, the status list) sees the suspension without joining the sanctions.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("elicences", schema=None) as batch_op:
        batch_op.add_column(sa.Column("suspended_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_elicences_suspended_until", ["suspended_until"], unique=False)

    op.create_table(
        "sanctions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("licence_number", sa.String(length=18), nullable=False),
        sa.Column("authority_code", sa.String(length=6), nullable=False),
        sa.Column("application_id", sa.String(length=32), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason_code", sa.String(length=32), nullable=False),
        sa.Column("reason_text", sa.String(length=500), nullable=True),
        sa.Column("duration_days", sa.Integer(), nullable=True),
        sa.Column("proposed_by", sa.String(length=64), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_by", sa.String(length=64), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lifted_by", sa.String(length=64), nullable=True),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lift_reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["licence_number"],
            ["licences.number"],
            name=op.f("fk_sanctions_licence_number_licences"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sanctions")),
    )
    with op.batch_alter_table("sanctions", schema=None) as batch_op:
        batch_op.create_index("ix_sanctions_licence_number", ["licence_number"], unique=False)
        batch_op.create_index("ix_sanctions_state_authority", ["state", "authority_code"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sanctions", schema=None) as batch_op:
        batch_op.drop_index("ix_sanctions_state_authority")
        batch_op.drop_index("ix_sanctions_licence_number")
    op.drop_table("sanctions")
    with op.batch_alter_table("elicences", schema=None) as batch_op:
        batch_op.drop_index("ix_elicences_suspended_until")
        batch_op.drop_column("suspended_until")
