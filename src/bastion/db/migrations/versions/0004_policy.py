"""Routing policy versions and each item's verdict.

Intent: the `policies` table (every version kept, the newest applies) and verdict columns on
`items` (outcome, queue, priority, automation level, reasons). Additive; old items keep NULLs.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "policies",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policies")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("verdict", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("queue", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("priority", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("automation", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("verdict_reasons", sa.JSON(), nullable=False, server_default="[]")
        )


def downgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_column("verdict_reasons")
        batch_op.drop_column("automation")
        batch_op.drop_column("priority")
        batch_op.drop_column("queue")
        batch_op.drop_column("verdict")
    op.drop_table("policies")
