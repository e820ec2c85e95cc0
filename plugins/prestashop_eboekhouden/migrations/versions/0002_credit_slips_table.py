"""Credit slips (issue 19): the table presta_eb_credits, claimed and booked like orders.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('presta_eb_credits',
    sa.Column('tenant', sa.String(length=64), nullable=False),
    sa.Column('slip_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('order_id', sa.BigInteger(), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=False),
    sa.Column('sales_number', sa.String(length=64), nullable=True),
    sa.Column('slip_date', sa.Date(), nullable=True),
    sa.Column('date_upd', sa.DateTime(), nullable=True),
    sa.Column('amount_incl', sa.BigInteger(), nullable=True),
    sa.Column('amount_excl', sa.BigInteger(), nullable=True),
    sa.Column('eb_kind', sa.String(length=16), nullable=True),
    sa.Column('eb_number', sa.String(length=64), nullable=True),
    sa.Column('relation_code', sa.String(length=32), nullable=True),
    sa.Column('relation_id', sa.BigInteger(), nullable=True),
    sa.Column('plan', sa.JSON(), nullable=True),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('error_code', sa.String(length=40), nullable=True),
    sa.Column('eb_id', sa.BigInteger(), nullable=True),
    sa.Column('intent_at', sa.DateTime(), nullable=True),
    sa.Column('claim_owner', sa.String(length=250), nullable=True),
    sa.Column('claimed_at', sa.DateTime(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('first_seen', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('last_try', sa.DateTime(), nullable=True),
    sa.Column('booked_at', sa.DateTime(), nullable=True),
    sa.Column('run_id', sa.String(length=250), nullable=True),
    sa.PrimaryKeyConstraint('tenant', 'slip_id'),
    sa.UniqueConstraint('tenant', 'sales_number', name='uq_presta_eb_credits_sales_number')
    )
    op.create_index('ix_presta_eb_credits_order', 'presta_eb_credits', ['tenant', 'order_id'])
    op.create_index('ix_presta_eb_credits_reference', 'presta_eb_credits', ['tenant', 'reference'])
    op.create_index('ix_presta_eb_credits_state_date_id', 'presta_eb_credits', ['tenant', 'state', 'slip_date', 'slip_id'])


def downgrade() -> None:
    op.drop_table('presta_eb_credits')  # its indexes go with it
