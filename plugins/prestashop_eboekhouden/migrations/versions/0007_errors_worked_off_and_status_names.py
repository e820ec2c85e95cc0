"""Errors a bookkeeper can work off (issue 25): "booked by hand" / "dismissed" with who, when and a note on orders,
credit slips and payments (state ``resolved``: kept, never booked by the integration); and the shop's order status
names per tenant, so the dashboard names a status instead of its number.

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

TABLES = ("presta_eb_orders", "presta_eb_credits", "presta_eb_payments")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("resolution", sa.String(length=16), nullable=True))
            batch_op.add_column(sa.Column("resolved_by", sa.String(length=250), nullable=True))
            batch_op.add_column(sa.Column("resolved_at", sa.DateTime(), nullable=True))
            batch_op.add_column(sa.Column("resolution_note", sa.Text(), nullable=True))
    op.create_table(
        "presta_eb_shop_statuses",
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("status_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "status_id"),
    )


def downgrade() -> None:
    op.drop_table("presta_eb_shop_statuses")
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("resolution_note")
            batch_op.drop_column("resolved_at")
            batch_op.drop_column("resolved_by")
            batch_op.drop_column("resolution")
