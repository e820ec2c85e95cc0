"""The reconciliation (issue 26): its runs per period, the differences they found (each once) and when each booking
was last compared in full with e-Boekhouden (store_reconcile.py).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "presta_eb_reconcile_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("until", sa.Date(), nullable=False),
        sa.Column("dag_id", sa.String(length=250), nullable=True),
        sa.Column("run_id", sa.String(length=250), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("totals", sa.JSON(), nullable=True),
        sa.Column("vat_summary", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("presta_eb_reconcile_runs", schema=None) as batch_op:
        batch_op.create_index("ix_presta_eb_reconcile_runs_period", ["tenant", "since", "until", "id"], unique=False)
    op.create_table(
        "presta_eb_differences",
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=80), nullable=False),
        sa.Column("doc_date", sa.Date(), nullable=True),
        sa.Column("order_id", sa.BigInteger(), nullable=True),
        sa.Column("slip_id", sa.BigInteger(), nullable=True),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("sales_number", sa.String(length=64), nullable=True),
        sa.Column("shop", sa.BigInteger(), nullable=True),
        sa.Column("booked", sa.BigInteger(), nullable=True),
        sa.Column("books", sa.BigInteger(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("next_step", sa.Text(), nullable=True),
        sa.Column("first_seen", sa.DateTime(), nullable=False),
        sa.Column("last_seen", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("first_run", sa.Integer(), nullable=True),
        sa.Column("last_run", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("tenant", "kind", "subject"),
    )
    with op.batch_alter_table("presta_eb_differences", schema=None) as batch_op:
        batch_op.create_index("ix_presta_eb_differences_open_date", ["tenant", "resolved_at", "doc_date"], unique=False)
        batch_op.create_index("ix_presta_eb_differences_last_run", ["tenant", "last_run"], unique=False)
    op.create_table(
        "presta_eb_reconcile_checks",
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("sales_number", sa.String(length=64), nullable=False),
        sa.Column("eb_id", sa.BigInteger(), nullable=True),
        sa.Column("doc_date", sa.Date(), nullable=True),
        sa.Column("checked_at", sa.DateTime(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("total_incl", sa.BigInteger(), nullable=True),
        sa.Column("breakdown", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("tenant", "sales_number"),
    )
    with op.batch_alter_table("presta_eb_reconcile_checks", schema=None) as batch_op:
        batch_op.create_index("ix_presta_eb_reconcile_checks_checked", ["tenant", "checked_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("presta_eb_reconcile_checks", schema=None) as batch_op:
        batch_op.drop_index("ix_presta_eb_reconcile_checks_checked")
    op.drop_table("presta_eb_reconcile_checks")
    with op.batch_alter_table("presta_eb_differences", schema=None) as batch_op:
        batch_op.drop_index("ix_presta_eb_differences_last_run")
        batch_op.drop_index("ix_presta_eb_differences_open_date")
    op.drop_table("presta_eb_differences")
    with op.batch_alter_table("presta_eb_reconcile_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_presta_eb_reconcile_runs_period")
    op.drop_table("presta_eb_reconcile_runs")
