"""Baseline: the state store as of version 0.2.0 (orders, payments, relations, runs).

On an empty database it creates the tables. On a store made before migrations existed (version 0.1.0
created and extended its tables itself at every task start) it adopts what is there: adds the columns
and indexes that store lacks and drops the dashboard indexes that 0.1.0 made before its listings read in
index order (``ix_presta_eb_orders_state_date``, ``ix_presta_eb_orders_date``,
``ix_presta_eb_payments_state``, ``ix_presta_eb_payments_date``).

The tables are written out here, not taken from ``store.py``: a migration describes one moment.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Indexes of 0.1.0's dashboard listings, superseded by the (..., date, id) ones below.
LEGACY_INDEXES = {
    "presta_eb_orders": ("ix_presta_eb_orders_state_date", "ix_presta_eb_orders_date"),
    "presta_eb_payments": ("ix_presta_eb_payments_state", "ix_presta_eb_payments_date"),
}


def _claim_columns() -> list[sa.Column]:
    return [
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("error_code", sa.String(40)),
        sa.Column("eb_id", sa.BigInteger),
        sa.Column("intent_at", sa.DateTime),
        sa.Column("claim_owner", sa.String(250)),
        sa.Column("claimed_at", sa.DateTime),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("first_seen", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("last_try", sa.DateTime),
        sa.Column("booked_at", sa.DateTime),
        sa.Column("run_id", sa.String(250)),
    ]


def _tables() -> list[sa.Table]:
    meta = sa.MetaData()
    orders = sa.Table(
        "presta_eb_orders",
        meta,
        sa.Column("tenant", sa.String(64), primary_key=True),
        sa.Column("order_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("reference", sa.String(64), nullable=False),
        sa.Column("sales_number", sa.String(64)),
        sa.Column("shop_status", sa.Integer),
        sa.Column("order_date", sa.Date),
        sa.Column("date_upd", sa.DateTime),
        sa.Column("amount_incl", sa.BigInteger),
        sa.Column("amount_excl", sa.BigInteger),
        sa.Column("eb_kind", sa.String(16)),
        sa.Column("eb_number", sa.String(64)),
        sa.Column("relation_code", sa.String(32)),
        sa.Column("relation_id", sa.BigInteger),
        sa.Column("payment_state", sa.String(8)),
        sa.Column("plan", sa.JSON),
        *_claim_columns(),
        sa.UniqueConstraint("tenant", "sales_number", name="uq_presta_eb_orders_sales_number"),
        sa.Index("ix_presta_eb_orders_state_date_id", "tenant", "state", "order_date", "order_id"),
        sa.Index("ix_presta_eb_orders_reference", "tenant", "reference"),
        sa.Index("ix_presta_eb_orders_date_id", "tenant", "order_date", "order_id"),
    )
    payments = sa.Table(
        "presta_eb_payments",
        meta,
        sa.Column("tenant", sa.String(64), primary_key=True),
        sa.Column("payment_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("order_id", sa.BigInteger, nullable=False),
        sa.Column("reference", sa.String(64), nullable=False),
        sa.Column("sales_number", sa.String(64)),
        sa.Column("amount", sa.BigInteger),
        sa.Column("method", sa.String(100)),
        sa.Column("transaction_id", sa.String(100)),
        sa.Column("payment_date", sa.DateTime),
        *_claim_columns(),
        sa.Index("ix_presta_eb_payments_state_date_id", "tenant", "state", "payment_date", "payment_id"),
        sa.Index("ix_presta_eb_payments_order", "tenant", "order_id"),
        sa.Index("ix_presta_eb_payments_reference", "tenant", "reference"),
        sa.Index("ix_presta_eb_payments_sales_number", "tenant", "sales_number"),
        sa.Index("ix_presta_eb_payments_date_id", "tenant", "payment_date", "payment_id"),
    )
    relations = sa.Table(
        "presta_eb_relations",
        meta,
        sa.Column("tenant", sa.String(64), primary_key=True),
        sa.Column("email_key", sa.String(320), primary_key=True),
        sa.Column("relation_id", sa.BigInteger, nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("created_by_us", sa.Boolean, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    runs = sa.Table(
        "presta_eb_runs",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("dag_id", sa.String(250), nullable=False),
        sa.Column("run_id", sa.String(250), nullable=False),
        sa.Column("finished_at", sa.DateTime, nullable=False),
        sa.Column("summary", sa.JSON, nullable=False),
        sa.Index("ix_presta_eb_runs_tenant", "tenant", "finished_at"),
    )
    return [orders, payments, relations, runs]


def _adopt(bind: sa.engine.Connection, table: sa.Table) -> None:
    """Bring a table that a pre-migration version made to this revision (additive, plus legacy indexes dropped)."""
    inspector = sa.inspect(bind)
    present = {c["name"] for c in inspector.get_columns(table.name)}
    for column in table.columns:
        if column.name not in present:  # as 0.1.0 added them: nullable, rows made before have no value
            op.add_column(table.name, sa.Column(column.name, column.type, nullable=True))
    indexes = {i["name"] for i in inspector.get_indexes(table.name)}
    for name in LEGACY_INDEXES.get(table.name, ()):
        if name in indexes:
            op.drop_index(name, table_name=table.name)
    for index in table.indexes:
        if index.name not in indexes:
            op.create_index(index.name, table.name, [c.name for c in index.columns], unique=index.unique)


def upgrade() -> None:
    bind = op.get_bind()
    existing = set(sa.inspect(bind).get_table_names())
    for table in _tables():
        if table.name in existing:
            _adopt(bind, table)
        else:
            table.create(bind)


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(_tables()):
        table.drop(bind, checkfirst=True)
