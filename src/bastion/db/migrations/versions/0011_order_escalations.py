"""Order escalations.

Intent: `order_escalations`, one row per page about an order (order, deadline, level), unique,
so that concurrent clock passes page once; it also holds each page's e-mail state. Additive.

Revision ID: 0011
Revises: 0010
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
        "order_escalations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("email_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("email_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["removal_orders.id"],
            name=op.f("fk_order_escalations_order_id_removal_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_escalations")),
        sa.UniqueConstraint("order_id", "deadline_at", "level", name="uq_order_escalations_level"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("order_escalations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_order_escalations_order_id"), ["order_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("order_escalations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_escalations_order_id"))

    op.drop_table("order_escalations")
