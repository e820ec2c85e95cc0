"""The dashboard's queries on PostgreSQL, 100,000 orders and 60,000 payments of one tenant: each listing reads
its page in index order (no sort, no sequential scan), searches go through the indexes (EXPLAIN)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select, text

from .harness import create_databases

ORDERS = 100_000
# The rows of bench/dashboard.py's fill(), made by the server (generate_series) in a second instead of a minute
# of inserts (amounts in cents, as the store keeps them): a year of orders, 3 in 5 booked (each with a payment), 1 in 5 open, 1 in 5 in errors.
FILL = """
INSERT INTO presta_eb_orders (tenant, order_id, reference, sales_number, shop_status, order_date, date_upd, amount_incl, amount_excl,
                              state, reason, attempts, first_seen, updated_at, eb_id)
SELECT 'bench', i, 'REF' || lpad(i::text, 9, '0'), 'WEB-' || i, 2, DATE '2026-01-01' + (i % 365), DATE '2026-01-01' + (i % 365) + TIME '12:00',
       12100, 10000, (ARRAY['booked', 'booked', 'booked', 'open', 'error'])[i % 5 + 1],
       CASE WHEN i % 5 = 4 THEN 'MUT_109 Invalid VAT code' END, 1, now(), now(), CASE WHEN i % 5 < 3 THEN i END
FROM generate_series(1, CAST(:n AS integer)) AS i;
INSERT INTO presta_eb_payments (tenant, payment_id, order_id, reference, sales_number, amount, method, transaction_id, payment_date,
                                state, attempts, first_seen, updated_at)
SELECT 'bench', i, i, 'REF' || lpad(i::text, 9, '0'), 'WEB-' || i, 12100, 'iDEAL', 'tr_' || i, DATE '2026-01-01' + (i % 365) + TIME '13:00',
       'booked', 1, now(), now()
FROM generate_series(1, CAST(:n AS integer)) AS i WHERE i % 5 < 3;
"""


@pytest.fixture(scope="module")
def big_store(postgres):
    from prestashop_eboekhouden.store import StateStore

    create_databases(postgres.port, ["dashboard"])
    store = StateStore(f"postgresql+psycopg2://postgres@127.0.0.1:{postgres.port}/dashboard")
    with store.engine.begin() as conn:
        conn.execute(text(FILL), {"n": ORDERS})
        conn.exec_driver_sql("ANALYZE")
    yield store
    store.engine.dispose()


def nodes(plan: dict) -> list[dict]:
    """Every node of a JSON query plan, depth first."""
    found = [plan]
    for child in plan.get("Plans", []):
        found += nodes(child)
    return found


def explain(store, statement) -> list[dict]:
    compiled = statement.compile(store.engine, compile_kwargs={"literal_binds": True})
    with store.engine.connect() as conn:
        plan = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled}").scalar_one()
    return nodes((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"])


CASES = [
    # name, table, state, since, until, q, offset, the index the page is read through
    ("Report, page 1", "orders", "booked", None, None, None, 0, "ix_presta_eb_orders_state_date_id"),
    ("Report, last page", "orders", "booked", None, None, None, 59_950, "ix_presta_eb_orders_state_date_id"),
    ("Errors, page 1", "orders", "error", None, None, None, 0, "ix_presta_eb_orders_state_date_id"),
    ("Open, one month", "orders", "open", "2026-03-01", "2026-03-31", None, 0, "ix_presta_eb_orders_state_date_id"),
    ("search by reference", "orders", None, None, None, "REF000050000", 0, "ix_presta_eb_orders_reference"),
    ("search by order id", "orders", None, None, None, "33333", 0, None),
    ("Payments, page 1", "payments", None, None, None, None, 0, "ix_presta_eb_payments_date_id"),
    ("Payments, one month", "payments", None, "2026-06-01", "2026-06-30", None, 0, "ix_presta_eb_payments_date_id"),
]


@pytest.mark.parametrize("name, kind, state, since, until, q, offset, index", CASES, ids=[c[0] for c in CASES])
def test_dashboard_listing_on_postgresql_reads_through_its_index(big_store, name, kind, state, since, until, q, offset, index):
    from prestashop_eboekhouden.schema import orders, payments
    from prestashop_eboekhouden.ui.app import _listing
    from prestashop_eboekhouden.ui.queries import DashboardQueries

    table = orders if kind == "orders" else payments
    key = table.c.order_id if kind == "orders" else table.c.payment_id
    answer = _listing(big_store, kind, "bench", state, since, until, q, 50, offset)
    assert answer["rows"], answer
    if q:
        assert answer["total"] == 1 and str(answer["rows"][0]["order_id"] if q.isdigit() else answer["rows"][0]["reference"]) == q

    where, date = DashboardQueries(big_store)._listing(table, "bench", state, dt.date.fromisoformat(since) if since else None,
                                     dt.date.fromisoformat(until) if until else None, q, prefix=False)
    page = explain(big_store, select(table).where(where).order_by(date.desc(), key.desc()).limit(50).offset(offset))
    kinds = [n["Node Type"] for n in page]
    scans = {n.get("Index Name") for n in page if "Index" in n["Node Type"]}
    assert not [n for n in page if n["Node Type"] == "Seq Scan" and n.get("Relation Name") == table.name], f"{name}: {kinds}"
    if q:
        assert scans, f"{name}: no index used: {kinds}"
        if index:
            assert index in scans, (name, scans)
    else:
        assert "Sort" not in kinds and "Incremental Sort" not in kinds, f"{name}: sorts: {kinds}"
        assert index in scans, (name, scans, kinds)
    if q:  # a whole tenant's count may scan (every row matches); a search's count must not
        count = explain(big_store, select(func.count()).select_from(table).where(where))
        assert "Seq Scan" not in [n["Node Type"] for n in count], f"{name} count: {[n['Node Type'] for n in count]}"
