"""The state store's schema (SQLAlchemy): what the ledger (``store.py``), the dashboard's queries (``ui/queries.py``)
and the migrations (``migrations/env.py``) all see. Tables only: no reads, no writes.

Every order, payment and credit slip the integration has seen sits in one table row in one of three states, the
dashboard's tabs: ``open`` (seen, not yet bookable or about to be booked), ``booked`` (final: never booked or changed
again) and ``error`` (refused, with the reason). Money is kept in cents (:class:`Money`), never as a float.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

from prestashop_eboekhouden.inputs import MAX_ORDER_ID

OPEN, BOOKED, ERROR = "open", "booked", "error"
STATES = (OPEN, BOOKED, ERROR)
MAX_KEY = MAX_ORDER_ID  # BIGINT: larger numbers are no order id


class Money(TypeDecorator):
    """Decimal euros stored as whole cents (exact on every database, SQLite included)."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Any) -> int | None:
        if value is None:
            return None
        cents = Decimal(value) * 100
        if cents != cents.to_integral_value():
            raise ValueError(f"amount {value} is not rounded to the cent")
        return int(cents)

    def process_result_value(self, value: int | None, dialect: Any) -> Decimal | None:
        return None if value is None else (Decimal(value) / 100).quantize(Decimal("0.01"))


metadata = MetaData()


def _claim_columns() -> list[Column]:
    """Columns of the exactly-once protocol, shared by orders and payments."""
    return [
        Column("state", String(8), nullable=False),
        Column("reason", Text),
        Column("error_code", String(40)),
        Column("eb_id", BigInteger),
        Column("intent_at", DateTime),
        Column("claim_owner", String(250)),
        Column("claimed_at", DateTime),
        Column("attempts", Integer, nullable=False, default=0),
        Column("first_seen", DateTime, nullable=False),
        Column("updated_at", DateTime, nullable=False),
        Column("last_try", DateTime),
        Column("booked_at", DateTime),
        Column("run_id", String(250)),
    ]


orders = Table(
    "presta_eb_orders",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("order_id", BigInteger, primary_key=True, autoincrement=False),
    Column("reference", String(64), nullable=False, default=""),
    Column("sales_number", String(64)),
    Column("shop_status", Integer),
    Column("order_date", Date),
    Column("date_upd", DateTime),
    Column("amount_incl", Money),
    Column("amount_excl", Money),
    Column("eb_kind", String(16)),
    Column("eb_number", String(64)),
    Column("relation_code", String(32)),
    Column("relation_id", BigInteger),
    Column("payment_state", String(8)),
    Column("plan", JSON),
    Column("customer_name", String(200)),  # the dashboard's search by customer (refused orders too)
    Column("customer_email", String(320)),
    *_claim_columns(),
    UniqueConstraint("tenant", "sales_number", name="uq_presta_eb_orders_sales_number"),
    # the dashboard's listings: filter and order (date, then id) straight from the index, no sort step
    Index("ix_presta_eb_orders_state_date_id", "tenant", "state", "order_date", "order_id"),
    Index("ix_presta_eb_orders_reference", "tenant", "reference"),
    Index("ix_presta_eb_orders_date_id", "tenant", "order_date", "order_id"),
    Index("ix_presta_eb_orders_customer_email", "tenant", "customer_email"),
)

payments = Table(
    "presta_eb_payments",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("payment_id", BigInteger, primary_key=True, autoincrement=False),
    Column("order_id", BigInteger, nullable=False),
    Column("reference", String(64), nullable=False, default=""),
    Column("sales_number", String(64)),
    Column("amount", Money),
    Column("method", String(100)),
    Column("transaction_id", String(100)),
    Column("payment_date", DateTime),
    *_claim_columns(),
    Index("ix_presta_eb_payments_state_date_id", "tenant", "state", "payment_date", "payment_id"),
    Index("ix_presta_eb_payments_order", "tenant", "order_id"),
    Index("ix_presta_eb_payments_reference", "tenant", "reference"),
    Index("ix_presta_eb_payments_sales_number", "tenant", "sales_number"),
    Index("ix_presta_eb_payments_date_id", "tenant", "payment_date", "payment_id"),
)

# Credit slips (PrestaShop order_slip), booked as credit sales: their own table, keyed by the slip id (slip ids and
# order ids are separate counters in PrestaShop), with the same exactly-once columns as orders.
credits = Table(
    "presta_eb_credits",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("slip_id", BigInteger, primary_key=True, autoincrement=False),
    Column("order_id", BigInteger, nullable=False),
    Column("reference", String(64), nullable=False, default=""),
    Column("sales_number", String(64)),
    Column("slip_date", Date),
    Column("date_upd", DateTime),
    Column("amount_incl", Money),
    Column("amount_excl", Money),
    Column("eb_kind", String(16)),
    Column("eb_number", String(64)),
    Column("relation_code", String(32)),
    Column("relation_id", BigInteger),
    Column("plan", JSON),
    *_claim_columns(),
    UniqueConstraint("tenant", "sales_number", name="uq_presta_eb_credits_sales_number"),
    Index("ix_presta_eb_credits_state_date_id", "tenant", "state", "slip_date", "slip_id"),
    Index("ix_presta_eb_credits_order", "tenant", "order_id"),
    Index("ix_presta_eb_credits_reference", "tenant", "reference"),
)

relations = Table(
    "presta_eb_relations",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("email_key", String(320), primary_key=True),
    Column("relation_id", BigInteger, nullable=False),
    Column("code", String(32), nullable=False),
    Column("created_by_us", Boolean, nullable=False, default=False),
    Column("updated_at", DateTime, nullable=False),
)

runs = Table(
    "presta_eb_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant", String(64), nullable=False),
    Column("dag_id", String(250), nullable=False),
    Column("run_id", String(250), nullable=False),
    Column("finished_at", DateTime, nullable=False),
    Column("summary", JSON, nullable=False),
    Index("ix_presta_eb_runs_tenant", "tenant", "finished_at"),
)


KEYS = {orders.name: "order_id", payments.name: "payment_id", credits.name: "slip_id"}


def utcnow() -> dt.datetime:
    """Naive UTC now, the store's clock."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


# ---- VIES (issue 24): verdicts per VAT number, which number each ICP order was checked under, and the leases that keep
# the deployment at two requests at once (see store_vies.py)

vies_numbers = Table(
    "presta_eb_vies_numbers",
    metadata,
    Column("vat_number", String(20), primary_key=True),
    Column("valid", Boolean),
    Column("answer_fault", String(40)),
    Column("name", Text),
    Column("address", Text),
    Column("request_date", Date),
    Column("checked_at", DateTime),
    Column("fault", String(40)),
    Column("fault_at", DateTime),
    Column("unconfirmed_since", DateTime),
    Column("requests", Integer, nullable=False, default=0),
    Column("claim_owner", String(250)),
    Column("claimed_at", DateTime),
    Column("updated_at", DateTime, nullable=False),
)

vies_orders = Table(
    "presta_eb_vies_orders",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("order_id", BigInteger, primary_key=True, autoincrement=False),
    Column("vat_number", String(20), nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

vies_leases = Table(
    "presta_eb_vies_leases",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("holder", String(250)),
    Column("until", DateTime),
    Column("detail", String(40)),
)


# ---- setup probe (issue 22, item 4): what the read-only probe saw of a tenant's shop and administration (store_probe.py)

probes = Table(
    "presta_eb_probes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant", String(64), nullable=False),
    Column("probed_at", DateTime, nullable=False),
    Column("blocking", Integer, nullable=False),
    Column("eboekhouden_api", String(10)),
    Column("eboekhouden_url", String(500)),
    Column("page_cap", Integer),
    Column("page_cap_uniform", Boolean),
    Column("findings", JSON, nullable=False),
    Column("learnt", JSON, nullable=False),
    Index("ix_presta_eb_probes_tenant", "tenant", "probed_at"),
)


# ---- reconciliation (issue 26): each run over a period, the differences it found (each once, until a later run no
# longer finds it), and when each booking was last compared in full with e-Boekhouden (the rotation); see store_reconcile.py

reconcile_runs = Table(
    "presta_eb_reconcile_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant", String(64), nullable=False),
    Column("since", Date, nullable=False),
    Column("until", Date, nullable=False),  # the last day, included
    Column("dag_id", String(250)),
    Column("run_id", String(250)),
    Column("state", String(16), nullable=False),  # running | done | failed
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
    Column("summary", JSON),  # counts per kind, requests, how much was compared, the error of a failed run
    Column("totals", JSON),  # shop / booked / e-Boekhouden per regime and VAT code (amounts as strings)
    Column("vat_summary", JSON),  # the period's VAT return lines and OSS per member state
    Index("ix_presta_eb_reconcile_runs_period", "tenant", "since", "until", "id"),
)

differences = Table(
    "presta_eb_differences",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("kind", String(32), primary_key=True),
    Column("subject", String(80), primary_key=True),  # "order 1041", "slip 12", "number DEMO-XKBKNABJK"
    Column("doc_date", Date),  # the order's, slip's or booking's date: the period it belongs to
    Column("order_id", BigInteger),
    Column("slip_id", BigInteger),
    Column("reference", String(64)),
    Column("sales_number", String(64)),
    Column("shop", Money),
    Column("booked", Money),
    Column("books", Money),
    Column("detail", Text),
    Column("next_step", Text),
    Column("first_seen", DateTime, nullable=False),
    Column("last_seen", DateTime, nullable=False),
    Column("resolved_at", DateTime),  # a later run looked again and no longer found it
    Column("first_run", Integer),  # presta_eb_reconcile_runs.id
    Column("last_run", Integer),
    Index("ix_presta_eb_differences_open_date", "tenant", "resolved_at", "doc_date"),
    Index("ix_presta_eb_differences_last_run", "tenant", "last_run"),
)

reconcile_checks = Table(
    "presta_eb_reconcile_checks",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("sales_number", String(64), primary_key=True),
    Column("eb_id", BigInteger),
    Column("doc_date", Date),  # the booking's date in e-Boekhouden when read
    Column("checked_at", DateTime, nullable=False),
    Column("outcome", String(16), nullable=False),  # same | differs | missing
    Column("total_incl", Money),
    Column("breakdown", JSON),  # e-Boekhouden's rows as read: [[ledger, vat code, incl, excl, vat], ...] (strings)
    Index("ix_presta_eb_reconcile_checks_checked", "tenant", "checked_at"),
)
