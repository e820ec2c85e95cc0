"""The dashboard"s search by customer (issue 16): customer name and e-mail on orders, indexed by e-mail.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("presta_eb_orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_name", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("customer_email", sa.String(length=320), nullable=True))
        batch_op.create_index("ix_presta_eb_orders_customer_email", ["tenant", "customer_email"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("presta_eb_orders", schema=None) as batch_op:
        batch_op.drop_index("ix_presta_eb_orders_customer_email")
        batch_op.drop_column("customer_email")
        batch_op.drop_column("customer_name")
