"""What `setup probe` learnt of a tenant's shop and administration (issue 22, item 4; store_probe.py).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "presta_eb_probes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("probed_at", sa.DateTime(), nullable=False),
        sa.Column("blocking", sa.Integer(), nullable=False),
        sa.Column("eboekhouden_api", sa.String(length=10), nullable=True),
        sa.Column("eboekhouden_url", sa.String(length=500), nullable=True),
        sa.Column("page_cap", sa.Integer(), nullable=True),
        sa.Column("page_cap_uniform", sa.Boolean(), nullable=True),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("learnt", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_presta_eb_probes_tenant", "presta_eb_probes", ["tenant", "probed_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_presta_eb_probes_tenant", table_name="presta_eb_probes")
    op.drop_table("presta_eb_probes")
