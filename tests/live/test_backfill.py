"""Migrating past orders (README): `airflow backfill create` over three days of the `migrate` tenant,
on the running demo stack. Each hourly run reads exactly its hour's date_upd window; every order in
the range ends booked once or in Errors (Open when not in a status to book); nothing outside the
range is touched; a second backfill that re-runs every hour books nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from decimal import Decimal

import pendulum
import pytest

from .conftest import PROCESS_STATUSES, REPO, DemoStack, wait_for

pytestmark = pytest.mark.live

DAG = "migrate__orders_hourly"
TENANT = "migrate"
PREFIX = "MIG-"
HOURS = 72
MAX_ACTIVE_RUNS = 8
HOUR = dt.timedelta(hours=1)
SHOP_TZ = "Europe/Amsterdam"
ARTIFACT = REPO / "test-artifacts" / "live" / "backfill.json"
# the README's advice for the demo's SQLite metadata DB (see prestashop_eboekhouden/sqlite_cli.py)
SQLITE_CLI = {"AIRFLOW__DATABASE__SQL_ALCHEMY_SESSION_MAKER": "prestashop_eboekhouden.sqlite_cli.immediate_sessions"}


def utc_iso(moment: pendulum.DateTime) -> str:
    return moment.in_timezone("UTC").isoformat()


def shop_moment(text: str) -> pendulum.DateTime:
    """A PrestaShop date (shop-local, naive) as an aware time."""
    return pendulum.from_format(text, "YYYY-MM-DD HH:mm:ss", tz=SHOP_TZ)


def backfill_runs(demo: DemoStack, start: pendulum.DateTime, end: pendulum.DateTime) -> dict[pendulum.DateTime, dict]:
    """The DAG's backfill runs by logical date (= the start of the hour each reads) in [start, end)."""
    data = demo.get(
        f"/api/v2/dags/{DAG}/dagRuns", run_type="backfill", limit=1000,
        logical_date_gte=utc_iso(start), logical_date_lte=utc_iso(end - HOUR),
    )
    return {pendulum.parse(r["logical_date"]): r for r in data["dag_runs"]}


def no_active_backfill(demo: DemoStack) -> bool:
    return all(b["completed_at"] for b in demo.get("/api/v2/backfills", dag_id=DAG)["backfills"])


def backfill(demo: DemoStack, start: pendulum.DateTime, end: pendulum.DateTime, *options: str) -> dict:
    """The README's `airflow backfill create` for the hours [start, end); waits until every hour ran (again)."""
    asked = pendulum.now("UTC")
    wait_for(f"no backfill of {DAG} running (one at a time)", lambda: no_active_backfill(demo), 120, interval=2)
    began = pendulum.now("UTC")
    result = demo.airflow(
        "backfill", "create", "--dag-id", DAG, "--from-date", utc_iso(start), "--to-date", utc_iso(end - HOUR),
        "--max-active-runs", str(MAX_ACTIVE_RUNS), *options, timeout=300, env=SQLITE_CLI,
    )
    assert result.stdout.count("Created backfill Dag run") + result.stderr.count("Created backfill Dag run") == HOURS

    def all_ran() -> dict | None:
        runs = backfill_runs(demo, start, end)
        failed = {str(h): r["state"] for h, r in runs.items() if r["state"] == "failed"}
        assert not failed, f"backfill runs failed: {failed}\n{demo.log_tail()}"
        fresh = [r for r in runs.values() if r["state"] == "success" and pendulum.parse(r["queued_at"]) >= began]
        return runs if len(fresh) == HOURS else None

    try:
        runs = wait_for(f"every hour of the backfill of {DAG} to run", all_ran, 300, interval=2)
    except AssertionError as exc:
        states = Counter(r["state"] for r in backfill_runs(demo, start, end).values())
        raise AssertionError(f"{exc}\nbackfills: {demo.get('/api/v2/backfills', dag_id=DAG)}\nruns: {states}\n{demo.log_tail()}") from None
    return {"seconds": round((pendulum.now("UTC") - began).total_seconds(), 1), "waited": round((began - asked).total_seconds(), 1), "runs": runs}


def peak_parallel(runs: list[dict]) -> int:
    """The most runs that were running at one moment."""
    events = sorted([(pendulum.parse(r["start_date"]), 1) for r in runs] + [(pendulum.parse(r["end_date"]), -1) for r in runs], key=lambda e: (e[0], e[1]))
    peak = current = 0
    for _, step in events:
        current += step
        peak = max(peak, current)
    return peak


def assert_exact_windows(demo: DemoStack, store, start: pendulum.DateTime, end: pendulum.DateTime) -> list[dict]:
    """Store and e-Boekhouden agree (one sale per booked order), and the backfill touched only its hours:
    every migrate order a backfill run read has date_upd in the range; orders outside it (the
    scheduler's own hourly runs, new live orders) were left to those runs. Returns the sales."""
    from sqlalchemy import select

    from prestashop_eboekhouden.schema import credits, orders
    from prestashop_eboekhouden.ui.queries import DashboardQueries

    def agreeing() -> tuple | None:  # a scheduled hour may be booking right now: wait for a quiet moment
        mutations = sales(demo)
        per_number = Counter(m["invoiceNumber"] for m in mutations)
        assert set(per_number.values()) == {1}, f"booked twice: {[n for n, c in per_number.items() if c > 1]}"
        rows, _ = DashboardQueries(store).list_rows(orders, TENANT, None, limit=100_000)
        with store.engine.connect() as conn:  # credit slips are sales mutations (type 2) too
            slips = set(conn.execute(select(credits.c.sales_number).where(credits.c.tenant == TENANT, credits.c.state == "booked")).scalars())
        booked = {r["sales_number"] for r in rows if r["state"] == "booked"} | slips
        return (mutations, rows) if set(per_number) == booked else None

    mutations, rows = wait_for("the state store and e-Boekhouden to agree", agreeing, 60, interval=2)
    first, last = start.in_timezone(SHOP_TZ).naive(), end.in_timezone(SHOP_TZ).naive()
    for row in rows:
        if str(row["run_id"]).startswith("backfill__"):
            assert first <= row["date_upd"] < last, f"order {row['order_id']} ({row['date_upd']}) outside the range was read by {row['run_id']}"
    return mutations


def sales(demo: DemoStack) -> list[dict]:
    """The migrate tenant's sales in e-Boekhouden."""
    return [m for m in demo.mutations() if m["type"] == 2 and str(m["invoiceNumber"]).startswith(PREFIX)]


def settled(demo: DemoStack) -> bool:
    """No run of the migrate tenant is queued or running (the scheduler's own runs at startup included)."""
    return all(
        demo.get(f"/api/v2/dags/{TENANT}__{name}/dagRuns", state=["queued", "running"])["total_entries"] == 0
        for name in ("orders_hourly", "open_orders_nightly")
    )


@pytest.mark.timeout(600)
def test_backfill_over_three_days_books_each_order_once_and_again_books_nothing(demo: DemoStack):
    store = demo.store()
    # the range: 72 whole hours ending an hour before the current one. The scheduler's own hourly runs
    # read [now's hour - 1 h, now's hour) and later, so they never meet the backfill's orders.
    end = pendulum.now("UTC").start_of("hour").subtract(hours=1)
    start = end.subtract(hours=HOURS)
    settling = pendulum.now("UTC")
    wait_for("the migrate tenant's scheduled runs to finish", lambda: settled(demo), 120, interval=2)
    settled_after = round((pendulum.now("UTC") - settling).total_seconds(), 1)

    shop = {int(o["id"]): o for o in demo.shop_orders()}
    in_range = {oid for oid, o in shop.items() if start <= shop_moment(o["date_upd"]) < end}
    outside = set(shop) - in_range
    assert len(in_range) > 100 and len(outside) > 20, (len(in_range), len(outside))  # seeded over 4 days
    before_rows = store.get_orders(TENANT, shop)
    before_sales = sales(demo)
    assert not in_range & set(before_rows), "the range was touched before the backfill"

    first = backfill(demo, start, end)

    runs = first["runs"]
    assert sorted(runs) == [start + HOUR * i for i in range(HOURS)]  # 72 runs, one per hour, none more
    for hour, run in runs.items():  # each run reads exactly its own hour
        assert pendulum.parse(run["data_interval_start"]) == hour and pendulum.parse(run["data_interval_end"]) == hour + HOUR
    backfills = demo.get("/api/v2/backfills", dag_id=DAG)["backfills"]
    assert {b["max_active_runs"] for b in backfills} == {MAX_ACTIVE_RUNS}
    parallel = peak_parallel(list(runs.values()))
    # the DAG's max_active_runs=1 holds for scheduled runs; a backfill has its own cap
    assert 1 < parallel <= MAX_ACTIVE_RUNS, parallel

    mutations = assert_exact_windows(demo, store, start, end)
    rows = store.get_orders(TENANT, shop)
    by_number = {m["invoiceNumber"]: m for m in mutations}
    new_numbers = set(by_number) - {m["invoiceNumber"] for m in before_sales}
    states: Counter = Counter()
    for oid in in_range:
        order, row = shop[oid], rows.get(oid)
        assert row is not None, f"order {oid} ({order['date_upd']}) in the range was not read"
        hour = shop_moment(order["date_upd"]).in_timezone("UTC").start_of("hour")
        assert row["run_id"] == f"backfill__{utc_iso(hour + HOUR)}", (oid, order["date_upd"], row["run_id"])  # its own hour's run, no other
        states[row["state"]] += 1
        if int(order["current_state"]) not in PROCESS_STATUSES:
            assert row["state"] == "open" and row["reason"].startswith("Waiting for a status to book"), row
        elif row["state"] == "booked":
            mutation = by_number[row["sales_number"]]
            assert row["sales_number"].startswith(PREFIX) and row["sales_number"] in new_numbers
            assert mutation["amount"] == row["amount_incl"] == Decimal(order["total_paid_tax_incl"]), (oid, mutation["amount"], order["total_paid_tax_incl"])
            assert row["eb_id"] == mutation["id"]
        else:
            assert row["state"] == "error" and row["error_code"] in ("PRECHECK", "CONFIG") and row["reason"], row
    booked_in_range = {rows[oid]["sales_number"] for oid in in_range if rows[oid]["state"] == "booked"}
    assert states["booked"] > 50 and states["booked"] + states["error"] + states["open"] == len(in_range)
    assert booked_in_range <= new_numbers  # (others: orders of the scheduler's own hours, checked above)

    # a second backfill over the same hours that really runs each of them again books nothing
    second = backfill(demo, start, end, "--reprocess-behavior", "completed")
    assert sorted(second["runs"]) == sorted(runs)
    after = assert_exact_windows(demo, store, start, end)  # anything new came from the scheduler's own hours
    assert [m for m in after if m["invoiceNumber"] in by_number] == mutations, "the second backfill changed what e-Boekhouden holds"
    again = store.get_orders(TENANT, in_range)
    assert {oid: (r["state"], r["eb_id"], r["sales_number"]) for oid, r in again.items()} == {
        oid: (rows[oid]["state"], rows[oid]["eb_id"], rows[oid]["sales_number"]) for oid in in_range
    }

    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    figures = {
        "range_utc": [utc_iso(start), utc_iso(end)], "runs": len(runs), "orders_in_range": len(in_range),
        "booked": states["booked"], "errors": states["error"], "open": states["open"], "peak_parallel_runs": parallel,
        "first_backfill_seconds": first["seconds"], "second_backfill_seconds": second["seconds"],
        "waited_seconds": {"scheduled_runs": settled_after, "first_backfill_completed": second["waited"]},
        "error_reasons": Counter(rows[oid]["reason"].split(" on line")[0] for oid in in_range if rows[oid]["state"] == "error").most_common(5),
    }
    ARTIFACT.write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures, indent=2))
