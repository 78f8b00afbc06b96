"""openid4vci: credential offers (pre-authorized codes), access tokens and used c_nonces (issue 15)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vci_offers",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("tx_code_hash", sa.String(length=64), nullable=True),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("licence_number", sa.String(length=18), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_tx_codes", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_vci_offers_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vci_offers")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_vci_offers_code_hash")),
    )
    with op.batch_alter_table("vci_offers", schema=None) as batch_op:
        batch_op.create_index("ix_vci_offers_account_id", ["account_id"], unique=False)
    op.create_table(
        "vci_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("offer_id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("licence_number", sa.String(length=18), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["offer_id"], ["vci_offers.id"], name=op.f("fk_vci_tokens_offer_id_vci_offers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_vci_tokens")),
        sa.UniqueConstraint("offer_id", name=op.f("uq_vci_tokens_offer_id")),
    )
    op.create_table(
        "vci_nonces",
        sa.Column("nonce_hash", sa.String(length=64), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("nonce_hash", name=op.f("pk_vci_nonces")),
    )
    with op.batch_alter_table("vci_nonces", schema=None) as batch_op:
        batch_op.create_index("ix_vci_nonces_expires_at", ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("vci_nonces", schema=None) as batch_op:
        batch_op.drop_index("ix_vci_nonces_expires_at")
    op.drop_table("vci_nonces")
    op.drop_table("vci_tokens")
    with op.batch_alter_table("vci_offers", schema=None) as batch_op:
        batch_op.drop_index("ix_vci_offers_account_id")
    op.drop_table("vci_offers")
