"""verification: status-list indices and tokens, relying parties, verification log

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from edl.db.triggers import append_only, drop_append_only

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "status_slots",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("elicence_id", sa.String(length=32), nullable=False),
        sa.Column("allocated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_slots")),
        sa.UniqueConstraint("elicence_id", name=op.f("uq_status_slots_elicence_id")),
    )
    op.create_table(
        "status_lists",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("token", sa.LargeBinary(), nullable=True),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_lists")),
    )
    with op.batch_alter_table("elicences", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status_index", sa.BigInteger(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_elicences_status_index"), ["status_index"])

    # Every e-licence issued before this revision gets its own index, in issuance order.
    now = datetime.now(UTC)
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id FROM elicences ORDER BY issued_at, id")).fetchall()
    slots = sa.table(
        "status_slots",
        sa.column("elicence_id", sa.String),
        sa.column("allocated_at", sa.DateTime(timezone=True)),
    )
    for (elicence_id,) in rows:
        bind.execute(sa.insert(slots).values(elicence_id=elicence_id, allocated_at=now))
    bind.execute(
        sa.text(
            "UPDATE elicences SET status_index = (SELECT s.id FROM status_slots s WHERE s.elicence_id = elicences.id)"
        )
    )
    bind.execute(
        sa.insert(sa.table("status_lists", sa.column("id"), sa.column("changed_at"))).values(id=1, changed_at=now)
    )

    op.create_table(
        "relying_parties",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=True),
        sa.Column("key_prefix", sa.String(length=24), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("rate_per_minute", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relying_parties")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_relying_parties_key_hash")),
        sa.UniqueConstraint("key_prefix", name=op.f("uq_relying_parties_key_prefix")),
    )
    op.create_table(
        "verifications",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("relying_party_id", sa.String(length=32), nullable=True),
        sa.Column("relying_party_name", sa.String(length=128), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("elicence_id", sa.String(length=32), nullable=True),
        sa.Column("licence_number", sa.String(length=18), nullable=True),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("errors", sa.String(length=256), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verifications")),
    )
    with op.batch_alter_table("verifications", schema=None) as batch_op:
        batch_op.create_index("ix_verifications_licence_id", ["licence_number", "id"], unique=False)
        batch_op.create_index("ix_verifications_party_id", ["relying_party_id", "id"], unique=False)
    append_only("verifications")


def downgrade() -> None:
    drop_append_only("verifications")
    with op.batch_alter_table("verifications", schema=None) as batch_op:
        batch_op.drop_index("ix_verifications_party_id")
        batch_op.drop_index("ix_verifications_licence_id")
    op.drop_table("verifications")
    op.drop_table("relying_parties")
    with op.batch_alter_table("elicences", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_elicences_status_index"), type_="unique")
        batch_op.drop_column("status_index")
    op.drop_table("status_lists")
    op.drop_table("status_slots")
