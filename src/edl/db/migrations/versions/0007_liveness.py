"""liveness: one-time challenges for active real-person authentication, and the face hashes of each attempt

`liveness_challenges` holds each challenge (nonce, actions, expiry, whether it was used) so that a burst of frames
answers exactly one challenge, once, within its time, on any instance. `face_checks.frame_hashes` keeps the
perceptual hashes of an attempt's frames, so that a replay of them on a later attempt is refused; the new index
counts attempts per licence and day.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "liveness_challenges",
        sa.Column("id", sa.String(length=43), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("actions", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_liveness_challenges_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_liveness_challenges")),
    )
    with op.batch_alter_table("liveness_challenges", schema=None) as batch_op:
        batch_op.create_index("ix_liveness_challenges_account_issued", ["account_id", "issued_at"], unique=False)
    with op.batch_alter_table("face_checks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("frame_hashes", sa.Text(), nullable=True))
        batch_op.create_index("ix_face_checks_licence_at", ["licence_number", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("face_checks", schema=None) as batch_op:
        batch_op.drop_index("ix_face_checks_licence_at")
        batch_op.drop_column("frame_hashes")
    with op.batch_alter_table("liveness_challenges", schema=None) as batch_op:
        batch_op.drop_index("ix_liveness_challenges_account_issued")
    op.drop_table("liveness_challenges")
