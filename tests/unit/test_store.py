"""The state store: one state per order, exact money, and claims that make booking exactly-once."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest

from prestashop_eboekhouden.store import BOOKED, ERROR, OPEN, RESOLVED, StateStore
from prestashop_eboekhouden.ui.queries import DashboardQueries


@pytest.fixture
def store(tmp_path):
    return StateStore(f"sqlite:///{tmp_path / 'state.db'}")


def seen(order_id, status=2, ref=None):
    return {"order_id": order_id, "reference": ref or f"REF{order_id}", "shop_status": status, "date_upd": dt.datetime(2026, 11, 20, 10), "order_date": dt.date(2026, 11, 20)}


def plan(order_id, number=None, total="12.95"):
    return {"order_id": order_id, "sales_number": number or f"S{order_id}", "total_incl": total, "total_excl": "10.70", "rows": []}


def test_seen_orders_start_open_and_booked_ones_never_change(store):
    rows = store.record_seen("t", [seen(1), seen(2)])
    assert {r["state"] for r in rows.values()} == {OPEN}
    store.save_plans("t", [plan(1)])
    claim = store.order_claims.claim("t", 1, "owner")
    store.order_claims.booked("t", 1, "owner", eb_id=99, eb_kind="mutation", eb_number="S1")
    store.record_seen("t", [seen(1, status=6)])  # cancelled in the shop afterwards
    store.set_errors("t", {1: ("late problem", "X")})
    store.set_open("t", [1], "waiting")
    row = store.get_orders("t", [1])[1]
    assert claim is not None
    assert (row["state"], row["eb_id"], row["shop_status"], row["reason"]) == (BOOKED, 99, 2, None)
    assert store.order_claims.claim("t", 1, "other") is None


def test_two_runs_that_see_the_same_new_orders_at_once_do_not_collide(tmp_path):
    """Two workers read 'order 1 is new' before either inserts it (seen in CI: UNIQUE constraint failed)."""
    url = f"sqlite:///{tmp_path / 'state.db'}"
    first, second = StateStore(url), StateStore(url)  # two processes, two engines on one database
    stale_reads = [{}]  # the second worker's first read of orders and of payments came before the first one's insert
    real_orders = second.get_orders
    second.get_orders = lambda tenant, ids: stale_reads.pop() if stale_reads else real_orders(tenant, ids)
    first.record_seen("t", [seen(1), seen(2)], "hourly")
    rows = second.record_seen("t", [seen(1, status=6), seen(3)], "reprocess")  # its read said: 1 and 3 are new
    assert set(rows) == {1, 3} and rows[1]["run_id"] == "hourly"  # the first insert stands; 3 is added
    payment = {"payment_id": 9, "order_id": 1, "reference": "REF1", "amount": Decimal("1.00")}
    first.record_payments("t", [payment])
    second.get_payments = lambda tenant, ids: {}
    second.record_payments("t", [payment])
    assert list(first.get_payments("t", [9])) == [9]


def test_amounts_are_exact_cents(store):
    store.record_seen("t", [seen(1)])
    store.save_plans("t", [plan(1, total="1234567.89")])
    assert store.get_orders("t", [1])[1]["amount_incl"] == Decimal("1234567.89")
    with pytest.raises(Exception, match="not rounded to the cent"):
        store.save_plans("t", [plan(1, total="1.005")])


def test_a_shared_reference_gets_a_unique_sales_number(store):
    store.record_seen("t", [seen(1, ref="ABC"), seen(2, ref="ABC")])
    numbers = store.save_plans("t", [plan(1, "ABC"), plan(2, "ABC")])
    assert numbers == {1: "ABC", 2: "ABC-2"}
    assert store.save_plans("t", [plan(2, "ABC")]) == {2: "ABC-2"}  # stable on a rerun
    assert store.save_plans("t", [plan(1, "ABC")]) == {1: "ABC"}


def test_claim_is_exclusive_until_released_or_expired(store):
    store.record_seen("t", [seen(1)])
    store.save_plans("t", [plan(1)])
    claims = store.order_claims
    assert claims.claim("t", 1, "run-a") is not None
    assert claims.claim("t", 1, "run-b") is None
    assert claims.claim("t", 1, "run-a") is not None  # the same task instance retried takes it back
    claims.record_intent("t", 1, "run-a")
    claims.release("t", 1, "run-a")
    again = claims.claim("t", 1, "run-b")
    assert again is not None and again.had_intent  # the answer was lost: look up before sending
    assert claims.claim("t", 1, "run-c", lease=dt.timedelta(seconds=-1)) is not None  # an expired claim is taken over


def test_refusal_clears_the_intent_and_records_the_reason(store):
    store.record_seen("t", [seen(1)])
    store.save_plans("t", [plan(1)])
    claims = store.order_claims
    claims.claim("t", 1, "a")
    claims.record_intent("t", 1, "a")
    claims.refused("t", 1, "a", "MUT_109 Invalid VAT code", "MUT_109")
    row = store.get_orders("t", [1])[1]
    assert (row["state"], row["reason"], row["error_code"], row["intent_at"], row["attempts"]) == (ERROR, "MUT_109 Invalid VAT code", "MUT_109", None, 1)


def test_concurrent_claims_have_one_winner(store):
    store.record_seen("t", [seen(i) for i in range(1, 51)])
    store.save_plans("t", [plan(i) for i in range(1, 51)])
    winners: dict[int, list[str]] = {i: [] for i in range(1, 51)}
    lock = threading.Lock()

    def worker(name):
        for i in range(1, 51):
            if store.order_claims.claim("t", i, name) is not None:
                with lock:
                    winners[i].append(name)

    threads = [threading.Thread(target=worker, args=(f"w{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(len(w) == 1 for w in winners.values())


def test_open_orders_by_age_and_counts(store):
    rows = [seen(1), seen(2), seen(3)]
    rows[0]["order_date"] = dt.date(2026, 1, 1)
    store.record_seen("t", rows)
    store.set_errors("t", {3: ("x", "Y")})
    assert [r["order_id"] for r in store.open_orders("t", before=dt.date(2026, 8, 24))] == [1]
    assert [r["order_id"] for r in store.open_orders("t", since=dt.date(2026, 8, 24))] == [2]
    assert store.counts("t") == {OPEN: 2, BOOKED: 0, ERROR: 1}


def test_listings_use_the_dashboard_index(tmp_path):
    """A listing is read in index order (the upgrade from stores without that index: tests/unit/test_migrations.py)."""
    from sqlalchemy import select

    from prestashop_eboekhouden.schema import orders

    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    where, date = DashboardQueries(store)._listing(orders, "t", "booked", None, None, None)
    query = select(orders).where(where).order_by(date.desc(), orders.c.order_id.desc()).limit(50)
    with store.engine.connect() as conn:
        plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {query.compile(store.engine, compile_kwargs={'literal_binds': True})}"))
    assert "ix_presta_eb_orders_state_date_id" in plan and "TEMP B-TREE" not in plan, plan


def test_orders_and_credit_slips_page_together_newest_first(store):
    """The dashboard's listing of orders and slips: every page is the slice of the whole list, newest first (by the
    order's or the slip's date, then id), whatever the page size; counts and totals include the slips (negative)."""
    days = {1: 3, 2: 5, 3: 5, 4: 9, 5: 12}  # order id → day of November
    store.record_seen("t", [{**seen(i), "order_date": dt.date(2026, 11, d)} for i, d in days.items()])
    store.save_plans("t", [plan(i, total="121.00") for i in days])
    for i in days:
        store.order_claims.claim("t", i, "o")
        store.order_claims.booked("t", i, "o", eb_id=i, eb_kind="mutation", eb_number=f"S{i}")
    slip_days = {11: (1, 5), 12: (2, 8), 13: (4, 12), 14: (5, 20)}  # slip id → (order id, day)
    store.record_slips("t", [{"slip_id": s, "order_id": o, "reference": "", "slip_date": dt.date(2026, 11, d), "date_upd": None} for s, (o, d) in slip_days.items()])
    store.save_credit_plans("t", [{"slip_id": s, "sales_number": f"S{o}-C{s}", "total_incl": "-12.10", "total_excl": "-10.00"} for s, (o, _) in slip_days.items()])
    for s in slip_days:
        store.credit_claims.claim("t", s, "o")
        store.credit_claims.booked("t", s, "o", eb_id=100 + s, eb_kind="mutation", eb_number=f"C{s}")
    whole, total = DashboardQueries(store).list_entries_by_kind("t", BOOKED, limit=100)[:2]
    expected = [("credit", 14), ("credit", 13), ("order", 5), ("order", 4), ("credit", 12), ("credit", 11), ("order", 3), ("order", 2), ("order", 1)]
    assert [(r["kind"], r["slip_id"] or r["order_id"]) for r in whole] == expected and total == 9
    for size in (1, 2, 4):
        pages = [DashboardQueries(store).list_entries_by_kind("t", BOOKED, limit=size, offset=offset)[:2][0] for offset in range(0, 9, size)]
        assert [(r["kind"], r["slip_id"] or r["order_id"]) for page in pages for r in page] == expected, size
    assert DashboardQueries(store).list_entries_by_kind("t", BOOKED, limit=5, offset=9)[:2] == ([], 9)
    assert DashboardQueries(store).entries_counts("t") == {OPEN: 0, BOOKED: 9, ERROR: 0, RESOLVED: 0}
    assert DashboardQueries(store).entries_totals("t")["amount_incl"] == Decimal("556.60")  # 5 × 121.00 − 4 × 12.10
    assert [r["order_id"] for r in DashboardQueries(store).list_entries_by_kind("t", q="S2-C")[:2][0]] == [2]  # a slip by the start of its sales number
    assert DashboardQueries(store).entries_counts("t", q="S2-C12") == {OPEN: 0, BOOKED: 1, ERROR: 0, RESOLVED: 0}
    assert [r["kind"] for r in DashboardQueries(store).iter_entries("t", BOOKED)] == [k for k, _ in expected]
