"""The reconciliation's cost: requests to PrestaShop and e-Boekhouden for one day of N orders (default 1,000 and 10,000),
through the real hooks and pipeline against the sandbox; and the Reconcile tab's answer time over a state store with
100,000 orders in one month (SQLite).

Requests: the sandbox seeds N orders on one day (2026-11-20, shop time); every order is booked (and paid) first, as the
hourly and payments runs would; then the reconciliation of that day runs twice — the morning after (every booking of the
day read in full once: they were never read) and a day later (only its rotation share). The emulators count every
request by path (``/v1/mutation`` a listing page, ``/v1/mutation/{id}`` a full read).

Tab: a month of 100,000 orders in the store, a reconciliation of that month with 1,000 open differences, its totals and
VAT summary; times what the tab's JSON and its page run (the differences page, counts per kind, the run; the page also the
tab bar's counts and the template), median of --repeat.

    .venv/bin/python bench/reconcile.py [--orders 1000 10000] [--backends rest soap] [--tab-only | --no-tab]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import child_env, run_child, sandbox_process, save, table, write_tenant  # noqa: E402

DAY = dt.date(2026, 11, 20)


def book_everything() -> dict:
    """(child) Every seeded order through extract → validate → book, its credit slips, then the payments: the day as the
    hourly and daily runs leave it."""
    from prestashop_eboekhouden.config import get_tenant
    from prestashop_eboekhouden.hooks.backends import bookkeeping_api
    from prestashop_eboekhouden.hooks.prestashop import PrestaShopHook
    from prestashop_eboekhouden.pipeline.booking import SaleBooker
    from prestashop_eboekhouden.pipeline.orders import extract_window, validate
    from prestashop_eboekhouden.pipeline.payments import PaymentBooker, extract_payments
    from prestashop_eboekhouden.store import get_store

    config, store = get_tenant("bench"), get_store()
    shop, eb = PrestaShopHook("prestashop_bench"), bookkeeping_api("eboekhouden_bench")
    extracted = extract_window(config, shop, store, dt.datetime(2000, 1, 1), dt.datetime(2026, 11, 21), "setup")
    validated = validate(config, shop, store, extracted.to_process, "setup")
    for number, batch in enumerate(validated.batches):
        SaleBooker(config, eb, store, f"setup/{number}", "setup").book(batch)
    from prestashop_eboekhouden.pipeline.credits import CreditBooker, check_slips, window_slips

    slips, raws = window_slips(config, shop, store, dt.datetime(2000, 1, 1), dt.datetime(2026, 11, 21), "setup")
    CreditBooker(config, eb, store, "credits", "setup").book(check_slips(config, shop, store, slips, "setup", raws).ready)
    paid = extract_payments(config, shop, store, DAY, "setup")
    for number, batch in enumerate(paid.batches):
        PaymentBooker(config, eb, store, f"pay/{number}", "setup").book(batch)
    eb.close_session()
    counts = store.counts("bench")
    return {"seen": extracted.seen, "booked": counts["booked"], "open": counts["open"], "error": counts["error"]}


def reconcile_once(today: str) -> dict:
    """(child) One reconciliation of DAY, recorded as the daily DAG records it; its outcome and duration."""
    from prestashop_eboekhouden.config import get_tenant
    from prestashop_eboekhouden.hooks.backends import bookkeeping_api
    from prestashop_eboekhouden.hooks.prestashop import PrestaShopHook
    from prestashop_eboekhouden.pipeline.reconcile import reconcile
    from prestashop_eboekhouden.store import get_store

    config = get_tenant("bench")
    shop, eb = PrestaShopHook("prestashop_bench"), bookkeeping_api("eboekhouden_bench")
    started = time.perf_counter()
    try:
        result = reconcile(config, shop, eb, get_store(), DAY, DAY, today=dt.date.fromisoformat(today), run_id=f"bench-{today}")
    finally:
        eb.close_session()
    return {"seconds": round(time.perf_counter() - started, 1), "kinds": {k: n for k, n in result.summary["kinds"].items() if n},
            "compared": result.summary["compared"], "shop_orders": result.summary["shop_orders"], "booked_docs": result.summary["booked"]}  # fmt: skip


def _stats(url: str) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    for row in requests.get(f"{url}/__sandbox__/stats", timeout=30).json()["requests"]:
        key = (row["method"], row["path"])
        counts[key] = counts.get(key, 0) + row["count"]
    return counts


def _reset(urls: dict[str, str]) -> None:
    for name in ("prestashop", "eboekhouden", "eboekhouden_soap"):
        requests.post(f"{urls[name]}/__sandbox__/reset-stats", timeout=30).raise_for_status()


def measure(orders: int, backend: str) -> list[dict]:
    """The two reconciliations of one day of N orders; requests per 100 orders and per 100 bookings."""
    rows = []
    with sandbox_process(orders, days_back=0.45) as urls, tempfile.TemporaryDirectory() as tmp:
        tenants = Path(tmp) / "tenants"
        tenants.mkdir()
        write_tenant(tenants, processing={"batch_size": 1000})
        env = child_env(urls, f"{tmp}/state.db", str(tenants), backend)
        setup = run_child("reconcile.py", ["book"], env)
        for label, today in (("the morning after", "2026-11-21"), ("a day later", "2026-11-22")):
            _reset(urls)
            outcome = run_child("reconcile.py", ["reconcile", today], env)
            shop = _stats(urls["prestashop"])
            books = _stats(urls["eboekhouden_soap" if backend == "soap" else "eboekhouden"])
            writes = {k: n for k, n in {**shop, **books}.items() if (k[0] != "GET" and "session" not in k[1] and "Session" not in k[1]) and not k[1].endswith(("GetMutaties", "GetFacturen", "GetGrootboekrekeningen"))}
            ps = sum(shop.values())
            if backend == "soap":
                presence, full = sum(n for (m, p), n in books.items() if p.endswith(("GetMutaties", "GetFacturen"))), 0
                session = sum(n for (m, p), n in books.items() if "Session" in p)
            else:
                presence = sum(n for (m, p), n in books.items() if p in ("/v1/mutation", "/v1/invoice", "/v1/ledger"))
                full = sum(n for (m, p), n in books.items() if p in ("/v1/mutation/{id}", "/v1/invoice/{id}"))
                session = sum(n for (m, p), n in books.items() if p == "/v1/session")
            bookings = outcome["booked_docs"]
            rows.append({
                "backend": backend, "orders": orders, "run": label, "booked": setup["booked"], "shop_orders": outcome["shop_orders"],
                "ps_requests": ps, "ps_per_100": round(100 * ps / max(outcome["shop_orders"], 1), 2), "eb_presence": presence,
                "eb_presence_per_100": round(100 * presence / max(bookings, 1), 2), "eb_full_reads": full, "eb_session": session,
                "seconds": outcome["seconds"], "differences": outcome["kinds"] or "none", "compared": outcome["compared"], "writes": writes or "none",
            })  # fmt: skip
    return rows


# ---- the tab ---------------------------------------------------------------------------------------------------

def fill_month(store, orders: int, differences: int) -> tuple[dt.date, dt.date]:
    """orders booked in November 2026 (with plans), one reconciliation of the month, differences spread over it."""
    from decimal import Decimal

    from prestashop_eboekhouden.domain.reconcile import KINDS, Difference, Found
    from prestashop_eboekhouden.schema import orders as order_table
    from prestashop_eboekhouden.schema import payments, reconcile_checks, utcnow
    from prestashop_eboekhouden.store_reconcile import ReconcileLedger

    first, last = dt.date(2026, 11, 1), dt.date(2026, 11, 30)
    now, rows, pays, checks = utcnow(), [], [], []
    plan = {"regime": "domestic", "rows": [{"ledger": "8000", "vat_code": "HOOG_VERK_21", "amount_incl": "121.00", "amount_excl": "100.00", "vat_rate": "21"}], "total_incl": "121.00"}
    for i in range(1, orders + 1):
        day = first + dt.timedelta(days=i % 30)
        state = ("booked", "booked", "booked", "open", "error")[i % 5]
        rows.append({"tenant": "bench", "order_id": i, "reference": f"REF{i:09d}", "sales_number": f"WEB-{i}", "shop_status": 2, "order_date": day,
                     "amount_incl": Decimal("121.00"), "amount_excl": Decimal("100.00"), "state": state, "attempts": 1, "first_seen": now,
                     "updated_at": now, "eb_id": i if state == "booked" else None, "plan": plan})  # fmt: skip
        if state == "booked":
            pays.append({"tenant": "bench", "payment_id": i, "order_id": i, "reference": f"REF{i:09d}", "sales_number": f"WEB-{i}", "amount": Decimal("121.00"),
                         "payment_date": dt.datetime.combine(day, dt.time(13)), "state": "booked", "attempts": 1, "first_seen": now, "updated_at": now})  # fmt: skip
            checks.append({"tenant": "bench", "sales_number": f"WEB-{i}", "eb_id": i, "doc_date": day, "checked_at": now, "outcome": "same",
                           "total_incl": Decimal("121.00"), "breakdown": [["8000", "HOOG_VERK_21", "121.00", "100.00", "21.00"]]})  # fmt: skip
    with store.begin() as conn:
        for table_, items in ((order_table, rows), (payments, pays), (reconcile_checks, checks)):
            for start in range(0, len(items), 5000):
                conn.execute(table_.insert(), items[start : start + 5000])
    ledger = ReconcileLedger(store)
    run = ledger.start("bench", first, last, "bench__reconcile_daily", "bench-month")
    found = Found()
    for n in range(differences):
        kind = KINDS[n % len(KINDS)]
        order_id = n * (orders // max(differences, 1)) + 1
        d = Difference(kind, f"order {order_id}", first + dt.timedelta(days=order_id % 30), order_id, None, f"REF{order_id:09d}", f"WEB-{order_id}",
                       Decimal("121.00"), Decimal("121.00"), Decimal("100.00"), "what differs", "what to do")  # fmt: skip
        found.add(d)
    totals = [{"regime": "domestic", "country": "", "vat_code": code, **{f"{s}_{c}": "1.00" for s in ("shop", "booked", "books") for c in ("incl", "excl", "vat")},
               **{f"{s}_docs": 1 for s in ("shop", "booked", "books")}, "shop_minus_booked": "0.00", "booked_minus_books": "0.00"}
              for code in ("HOOG_VERK_21", "LAAG_VERK_9", "GEEN", "BI_EU_VERK", "BU_EU_VERK")]  # fmt: skip
    ledger.finish(run, "bench", found, {"compared": {"bookings": orders, "now": orders, "before": 0, "not_yet": 0, "missing": 0}}, totals, {"return": [], "oss": []})
    return first, last


def tab(orders: int, differences: int, repeat: int, postgres: bool = False) -> list[dict]:
    from jinja2 import Environment, FileSystemLoader
    from starlette.datastructures import URL

    from prestashop_eboekhouden import migrations
    from prestashop_eboekhouden.store import StateStore
    from prestashop_eboekhouden.ui.reconcile import presets, reconcile_listing
    from prestashop_eboekhouden.ui.reconcile_queries import ReconcileQueries

    templates = Environment(loader=FileSystemLoader(str(Path(__file__).resolve().parents[1] / "plugins/prestashop_eboekhouden/ui/templates")), autoescape=True)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        url, server = f"sqlite:///{tmp}/state.db", None
        if postgres:  # a throwaway PostgreSQL server, as the stack tests start one (tests/stack/harness.py)
            from tests.stack.harness import create_databases, start_postgres

            server = start_postgres(Path(tmp))
            create_databases(server.port, ["bench"])
            url = f"postgresql+psycopg2://postgres@127.0.0.1:{server.port}/bench"
        migrations.upgrade(StateStore._make_engine(url))
        store = StateStore(url)
        started = time.perf_counter()
        first, last = fill_month(store, orders, differences)
        filled = time.perf_counter() - started
        if postgres:  # as autovacuum leaves a table in production: statistics and a visibility map (index-only counts)
            with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
        queries = ReconcileQueries(store)

        def json_answer() -> dict:
            return reconcile_listing(queries, "bench", first, last, None, 50, 0)

        def page(kind: str | None = None, offset: int = 0) -> str:
            listing = reconcile_listing(queries, "bench", first, last, kind, 50, offset)
            context = {
                "tenant": "bench", "tabs": {"booked": "Report", "error": "Errors", "open": "Open", "payments": "Payments", "config": "Configuration"},
                "base": "/bookkeeping", "since": first.isoformat(), "until": last.isoformat(), "kind": kind or "", "labels": {}, "kinds": [],
                "unbooked": queries.unbooked("bench", first, last),
                "listing": listing, "page": 1, "pages": 20, "presets": presets(dt.date(2026, 12, 3)), "hourly_dag": "bench__orders_hourly",
                "reconcile_dag": "bench__reconcile_daily", "can_run": True, "can_process": True, "enabled": True, "request": URL("/"),
            }  # fmt: skip
            return templates.get_template("reconcile.html").render(context)

        for name, call in (("JSON: a month, first page", json_answer), ("page: a month, first page", page),
                           ("page: a month, one kind", lambda: page("changed_in_books")), ("page: a month, page 20", lambda: page(None, 950))):  # fmt: skip
            call()
            samples = []
            for _ in range(repeat):
                begun = time.perf_counter()
                call()
                samples.append((time.perf_counter() - begun) * 1000)
            results.append({"answer": name, "database": "PostgreSQL" if postgres else "SQLite", "ms": round(statistics.median(samples), 1), "max_ms": round(max(samples), 1)})
        store.engine.dispose()
        if server is not None:
            server.stop()
    what = "PostgreSQL" if postgres else "SQLite"
    print(f"\nThe Reconcile tab over {orders:,} orders in one month and {differences:,} open differences ({what}, filled in {filled:.0f} s; median of {repeat}):")
    print(table(results, [("answer", "answer"), ("ms", "ms (median)"), ("max_ms", "max")]))
    return results


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        command = sys.argv[2]
        print(json.dumps(book_everything() if command == "book" else reconcile_once(sys.argv[3])))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--backends", nargs="+", default=["rest", "soap"])
    parser.add_argument("--tab-orders", type=int, default=100_000)
    parser.add_argument("--tab-differences", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--tab-only", action="store_true")
    parser.add_argument("--no-tab", action="store_true")
    parser.add_argument("--postgres", action="store_true", help="the tab on a throwaway PostgreSQL server (as tests/stack starts one) instead of SQLite")
    args = parser.parse_args()
    sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "plugins"), str(Path(__file__).resolve().parents[1])]
    rows: list[dict] = []
    if not args.tab_only:
        for orders in args.orders:
            for backend in args.backends:
                rows += measure(orders, backend)
                print(json.dumps(rows[-2:], default=str))
        print("\nRequests of the reconciliation of one day (2026-11-20) with N orders, every one booked and paid first:")
        print(table(rows, [("backend", "API"), ("orders", "orders"), ("run", "run"), ("booked", "booked"), ("ps_requests", "PrestaShop req"),
                           ("ps_per_100", "per 100 orders"), ("eb_presence", "e-B listing req"), ("eb_presence_per_100", "per 100 bookings"),
                           ("eb_full_reads", "e-B full reads"), ("eb_session", "session"), ("seconds", "s")]))  # fmt: skip
        for row in rows:
            print(f"  {row['backend']} {row['orders']} {row['run']}: differences {row['differences']}; compared {row['compared']}; writes {row['writes']}")
    tab_rows = [] if args.no_tab else tab(args.tab_orders, args.tab_differences, args.repeat, args.postgres)
    print(f"\nwritten to {save('reconcile', {'requests': rows, 'tab': tab_rows})}")


if __name__ == "__main__":
    main()
