"""presentation_requests: OpenID4VP requests of relying parties and their verified answers (issue 15)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "presentation_requests",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("relying_party_id", sa.String(length=32), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("elements", sa.JSON(), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=600), nullable=False),
        sa.Column("response_uri", sa.String(length=512), nullable=False),
        sa.Column("response_mode", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("verification_id", sa.BigInteger(), nullable=True),
        sa.Column("response_digest", sa.String(length=64), nullable=True),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["relying_party_id"],
            ["relying_parties.id"],
            name=op.f("fk_presentation_requests_relying_party_id_relying_parties"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_presentation_requests")),
        sa.UniqueConstraint("response_digest", name=op.f("uq_presentation_requests_response_digest")),
    )
    with op.batch_alter_table("presentation_requests", schema=None) as batch_op:
        batch_op.create_index("ix_presentation_requests_relying_party_id", ["relying_party_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("presentation_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_presentation_requests_relying_party_id")
    op.drop_table("presentation_requests")
