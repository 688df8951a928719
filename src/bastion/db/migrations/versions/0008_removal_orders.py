"""Removal orders (TCO Art. 3).

Intent: the `removal_orders` table (Annex I fields, exact receipt time, one-hour clock,
Annex II/III state) and `order_targets` (what each order names and the item it found).
Additive.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "removal_orders",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("reference", sa.String(length=128), nullable=True),
        sa.Column("authority", sa.String(length=256), nullable=True),
        sa.Column("member_state", sa.String(length=2), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_via", sa.String(length=16), nullable=False),
        sa.Column("received_by", sa.String(length=128), nullable=False),
        sa.Column("urls", sa.JSON(), nullable=False),
        sa.Column("identifiers", sa.JSON(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=True),
        sa.Column("redress", sa.Text(), nullable=True),
        sa.Column("emergency", sa.Boolean(), nullable=False),
        sa.Column("non_disclosure_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("raw", sa.JSON(), nullable=False),
        sa.Column("missing", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalations", sa.JSON(), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("obstacle", sa.String(length=32), nullable=True),
        sa.Column("obstacle_details", sa.Text(), nullable=True),
        sa.Column("obstacle_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("final_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_removal_orders")),
        sa.UniqueConstraint("reference", name=op.f("uq_removal_orders_reference")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("removal_orders", schema=None) as batch_op:
        batch_op.create_index("ix_removal_orders_open", ["status", "deadline_at"], unique=False)

    op.create_table(
        "order_targets",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("locator", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["items.id"],
            name=op.f("fk_order_targets_item_id_items"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["removal_orders.id"],
            name=op.f("fk_order_targets_order_id_removal_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_targets")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("order_targets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_order_targets_order_id"), ["order_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("order_targets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_targets_order_id"))

    op.drop_table("order_targets")
    with op.batch_alter_table("removal_orders", schema=None) as batch_op:
        batch_op.drop_index("ix_removal_orders_open")

    op.drop_table("removal_orders")
