"""The dashboard's listings over a state store of 100,000 orders (and 100,000 payments) of one tenant.

Fills a fresh SQLite store through the store's own API, then times the JSON API's queries the way
the dashboard pages run them — first page, a deep page, a period filter, a search by reference and
by order id, the counts per tab — and prints SQLite's query plan for each (index or scan).
Writes bench/results/dashboard.json.

    .venv/bin/python bench/dashboard.py [--orders 100000] [--repeat 20] [--credits 10000]

With --credits, that many credit slips (refunds of booked orders, most booked) join the listings (issue 19).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import save, table  # noqa: E402

TENANT = "bench"
STATES = ("booked", "booked", "booked", "open", "error")


def fill_credits(store, count: int, orders_count: int) -> None:
    """count credit slips of booked orders (one per order, spread over the year): 3 booked for each open or refused."""
    from prestashop_eboekhouden.schema import credits, utcnow

    now, first, rows = utcnow(), dt.date(2026, 1, 1), []
    booked_orders = [i for i in range(1, orders_count + 1) if STATES[i % len(STATES)] == "booked"]
    for n, order_id in enumerate(booked_orders[:count], start=1):
        state = STATES[n % len(STATES)]
        day = first + dt.timedelta(days=(order_id + 3) % 365)
        rows.append({
            "tenant": TENANT, "slip_id": n, "order_id": order_id, "reference": "", "sales_number": f"WEB-{order_id}-C{n}",
            "slip_date": day, "amount_incl": Decimal("-12.10"), "amount_excl": Decimal("-10.00"), "state": state,
            "attempts": 1, "first_seen": now, "updated_at": now, "eb_id": 10**7 + n if state == "booked" else None,
        })  # fmt: skip
    with store.begin() as conn:
        for start in range(0, len(rows), 5000):
            conn.execute(credits.insert(), rows[start : start + 5000])


def fill(store, count: int) -> None:
    """count orders over a year, most booked, some open or in errors; one payment per booked order."""
    from prestashop_eboekhouden.schema import orders, payments, utcnow

    now = utcnow()
    first = dt.date(2026, 1, 1)
    order_rows, payment_rows = [], []
    for i in range(1, count + 1):
        state = STATES[i % len(STATES)]
        day = first + dt.timedelta(days=i % 365)
        order_rows.append({
            "tenant": TENANT, "order_id": i, "reference": f"REF{i:09d}", "sales_number": f"WEB-{i}", "shop_status": 2,
            "order_date": day, "date_upd": dt.datetime.combine(day, dt.time(12)), "amount_incl": Decimal("121.00"),
            "amount_excl": Decimal("100.00"), "state": state, "reason": "MUT_109 Invalid VAT code" if state == "error" else None,
            "attempts": 1, "first_seen": now, "updated_at": now, "eb_id": i if state == "booked" else None,
        })  # fmt: skip
        if state == "booked":
            payment_rows.append({
                "tenant": TENANT, "payment_id": i, "order_id": i, "reference": f"REF{i:09d}", "sales_number": f"WEB-{i}",
                "amount": Decimal("121.00"), "method": "iDEAL", "transaction_id": f"tr_{i}", "payment_date": dt.datetime.combine(day, dt.time(13)),
                "state": "booked", "attempts": 1, "first_seen": now, "updated_at": now,
            })  # fmt: skip
    with store.begin() as conn:
        for start in range(0, len(order_rows), 5000):
            conn.execute(orders.insert(), order_rows[start : start + 5000])
        for start in range(0, len(payment_rows), 5000):
            conn.execute(payments.insert(), payment_rows[start : start + 5000])


def plan(store, statement) -> str:
    """SQLite's query plan of a statement, one line."""
    compiled = statement.compile(store.engine, compile_kwargs={"literal_binds": True})
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}").fetchall()
    return "; ".join(str(r[-1]) for r in rows)


def timed(call, repeat: int) -> float:
    """Median milliseconds of a call."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(samples), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--credits", type=int, default=0)
    args = parser.parse_args()
    from prestashop_eboekhouden import migrations
    from prestashop_eboekhouden.schema import orders, payments
    from prestashop_eboekhouden.store import StateStore
    from prestashop_eboekhouden.ui.app import _listing
    from prestashop_eboekhouden.ui.queries import DashboardQueries

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/state.db"
        migrations.upgrade(StateStore._make_engine(url))
        store = StateStore(url)
        started = time.perf_counter()
        fill(store, args.orders)
        if args.credits:
            fill_credits(store, args.credits, args.orders)
        filled_s = time.perf_counter() - started
        last_page = args.orders // len(STATES) * 3 // 50
        cases = [
            ("Report, page 1", "orders", dict(state="booked", offset=0)),
            (f"Report, page {last_page} (deep)", "orders", dict(state="booked", offset=(last_page - 1) * 50)),
            ("Errors, page 1", "orders", dict(state="error", offset=0)),
            ("Open, one month", "orders", dict(state="open", since="2026-03-01", until="2026-03-31", offset=0)),
            ("search by reference", "orders", dict(state=None, q=f"REF{args.orders // 2:09d}", offset=0)),
            ("search by order id", "orders", dict(state=None, q=str(args.orders // 3), offset=0)),
            ("Payments, page 1", "payments", dict(state=None, offset=0)),
            ("Payments, one month", "payments", dict(state=None, since="2026-06-01", until="2026-06-30", offset=0)),
        ]
        rows = []
        for name, kind, query in cases:
            params = {"since": None, "until": None, "q": None, **query}
            answer = _listing(store, kind, TENANT, params["state"], params["since"], params["until"], params["q"], 50, params["offset"])
            ms = timed(lambda kind=kind, params=params: _listing(store, kind, TENANT, params["state"], params["since"], params["until"], params["q"], 50, params["offset"]), args.repeat)
            table_ = orders if kind == "orders" else payments
            since = dt.date.fromisoformat(params["since"]) if params["since"] else None
            until = dt.date.fromisoformat(params["until"]) if params["until"] else None
            where, date = DashboardQueries(store)._listing(table_, TENANT, params["state"], since, until, params["q"])
            key = table_.c.order_id if kind == "orders" else table_.c.payment_id
            from sqlalchemy import select

            statement = select(table_).where(where).order_by(date.desc(), key.desc()).limit(50).offset(params["offset"])
            rows.append({"query": name, "rows": len(answer["rows"]), "total": answer["total"], "ms": ms, "plan": plan(store, statement)})
    print(f"Dashboard listings over {args.orders:,} orders{f' and {args.credits:,} credit slips' if args.credits else ''} of one tenant (SQLite; filled in {filled_s:.1f} s; median of {args.repeat}):")
    print(table(rows, [("query", "query"), ("rows", "rows"), ("total", "matching"), ("ms", "ms (page + count + tab counts)")]))
    print("\nQuery plans:")
    for row in rows:
        print(f"  {row['query']:28} {row['plan']}")
    print(f"\nwritten to {save('dashboard' + ('_credits' if args.credits else ''), {'orders': args.orders, 'credits': args.credits, 'results': rows})}")


if __name__ == "__main__":
    main()
