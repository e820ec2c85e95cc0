"""VAT numbers verified in VIES (issue 24): VIES's verdict per number, the number of each ICP order, and the leases
that cap the deployment at two VIES requests at once (store_vies.py).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
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
        "presta_eb_vies_numbers",
        sa.Column("vat_number", sa.String(length=20), nullable=False),
        sa.Column("valid", sa.Boolean(), nullable=True),
        sa.Column("answer_fault", sa.String(length=40), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("request_date", sa.Date(), nullable=True),
        sa.Column("checked_at", sa.DateTime(), nullable=True),
        sa.Column("fault", sa.String(length=40), nullable=True),
        sa.Column("fault_at", sa.DateTime(), nullable=True),
        sa.Column("unconfirmed_since", sa.DateTime(), nullable=True),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("claim_owner", sa.String(length=250), nullable=True),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("vat_number"),
    )
    op.create_table(
        "presta_eb_vies_orders",
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("vat_number", sa.String(length=20), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "order_id"),
    )
    op.create_table(
        "presta_eb_vies_leases",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("holder", sa.String(length=250), nullable=True),
        sa.Column("until", sa.DateTime(), nullable=True),
        sa.Column("detail", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("presta_eb_vies_leases")
    op.drop_table("presta_eb_vies_orders")
    op.drop_table("presta_eb_vies_numbers")
