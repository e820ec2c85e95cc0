"""Booking on the distributed stack: three tenants an hour each, a 24-hour backfill over both workers."""

from __future__ import annotations

import datetime as dt

import pendulum

from .conftest import assert_booked_once, local, make_orders
from .harness import wait_for

TENANT_HOUR = dt.datetime(2026, 11, 20, 10)  # shop-local hour booked by alpha, beta and gamma
BACKFILL_DAY = dt.datetime(2026, 11, 18)  # the bulk tenant's 24 hours; orders in every fourth hour


# an hour without changed orders (and without credit slips): one task start, every other task skipped
IDLE = {"extract_orders": ["success"], "validate_orders": ["skipped"], "book_orders": ["skipped"], "report": ["skipped"], "book_credits": ["skipped"]}


def ran(tis: list[dict]) -> dict[str, list[str]]:
    states: dict[str, list[str]] = {}
    for ti in sorted(tis, key=lambda t: (t["task_id"], t["map_index"])):
        states.setdefault(ti["task_id"], []).append(ti["state"])
    return states


def test_three_tenants_book_an_hour_each_and_their_idle_scheduled_hours_start_one_task(stack):
    ids = make_orders(stack, TENANT_HOUR, 6, "drie")
    runs = {t: stack.trigger(f"{t}__orders_hourly", hour_end=local(2026, 11, 20, 11)) for t in ("alpha", "beta", "gamma")}
    for tenant, run_id in runs.items():
        assert stack.wait_run(f"{tenant}__orders_hourly", run_id) == "success"
    for tenant, run_id in runs.items():
        rows = assert_booked_once(stack, tenant, ids)
        assert {row["sales_number"][: len(tenant)] for row in rows.values()}  # one number per tenant and order
        tis = ran(stack.task_instances(f"{tenant}__orders_hourly", run_id))
        assert tis["extract_orders"] == tis["validate_orders"] == tis["report"] == ["success"] and set(tis["book_orders"]) == {"success"}
    numbers = [m["invoiceNumber"] for m in stack.sale_mutations()]
    assert len(numbers) == len(set(numbers))

    # unpaused at creation, each hourly DAG ran its latest real hour on its own: no order changed then
    for tenant in ("alpha", "beta", "gamma"):
        dag_id = f"{tenant}__orders_hourly"
        scheduled = wait_for(f"{dag_id}'s scheduled run", lambda dag_id=dag_id: [r for r in stack.dag_runs(dag_id) if r["run_type"] == "scheduled"], 60)
        assert stack.wait_run(dag_id, scheduled[0]["dag_run_id"]) == "success"
        tis = ran(stack.task_instances(dag_id, scheduled[0]["dag_run_id"]))
        assert tis == IDLE, tis


def test_a_24_hour_backfill_with_8_parallel_runs_spreads_over_both_workers_and_books_each_order_once(stack):
    busy_hours = [BACKFILL_DAY + dt.timedelta(hours=h) for h in range(1, 24, 4)]
    ids = [oid for hour in busy_hours for oid in make_orders(stack, hour, 3, f"bulk{hour.hour}")]
    dag_id = "bulk__orders_hourly"
    start, end = pendulum.instance(BACKFILL_DAY, tz="Europe/Amsterdam"), pendulum.instance(BACKFILL_DAY + dt.timedelta(hours=23), tz="Europe/Amsterdam")
    backfill = stack.backfill(dag_id, start, end, max_active_runs=8)

    def finished():
        runs = [r for r in stack.dag_runs(dag_id) if r["run_type"] == "backfill"]
        return len(runs) == 24 and all(r["state"] in ("success", "failed") for r in runs) and runs

    runs = wait_for("the 24 backfill runs", finished, 300, 2)
    assert {r["state"] for r in runs} == {"success"}
    wait_for("the backfill to complete", lambda: stack.api("GET", f"/api/v2/backfills/{backfill['id']}").json()["completed_at"], 30, 1)
    intervals = sorted((pendulum.parse(r["data_interval_start"]), pendulum.parse(r["data_interval_end"])) for r in runs)
    assert intervals[0][0] == start and all(a[1] == b[0] for a, b in zip(intervals, intervals[1:], strict=False)) and intervals[-1][1] == end.add(hours=1)

    tis = [ti for r in runs for ti in stack.task_instances(dag_id, r["dag_run_id"])]
    hosts = {ti["hostname"] for ti in tis if ti["state"] == "success"}
    assert hosts == {"worker-1", "worker-2"}, f"tasks ran on {hosts}"
    # parallel hours: up to 8 runs at once (never more), observed overlapping
    spans = sorted((pendulum.parse(r["start_date"]), pendulum.parse(r["end_date"])) for r in runs)
    overlap = max(sum(1 for s, e in spans if s <= t < e) for t, _ in spans)
    assert 2 <= overlap <= 8, overlap
    # idle hours started one task each, busy hours every task
    per_run: dict[str, dict[str, list[str]]] = {}
    for ti in tis:
        per_run.setdefault(ti["dag_run_id"], {}).setdefault(ti["task_id"], []).append(ti["state"])
    busy_starts = {pendulum.instance(h, tz="Europe/Amsterdam") for h in busy_hours}
    for r in runs:
        states = per_run[r["dag_run_id"]]
        if pendulum.parse(r["data_interval_start"]) in busy_starts:
            assert states["report"] == ["success"] and set(states["book_orders"]) == {"success"}, states
        else:
            assert states == IDLE, states
    assert_booked_once(stack, "bulk", ids)
    assert len(stack.sale_mutations("BF-")) == len(ids)
