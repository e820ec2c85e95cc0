"""The hourly run and a reprocess of the same orders at once, on two Celery workers: each order is booked once.

The claims are compare-and-set updates in the state store; here they hold on PostgreSQL's READ COMMITTED
isolation with two processes on two workers, not only on SQLite's single writer. The hour runs as a
one-hour backfill (a backfill has its own run limit: the DAG's max_active_runs=1 would queue a second
manual run behind the first) and the reprocess as a manual run with param order_ids.
"""

from __future__ import annotations

import datetime as dt

import pendulum

from .conftest import assert_booked_once, make_orders, stack_logs
from .harness import wait_for

RACE_HOUR = dt.datetime(2026, 11, 16, 10)


def test_the_hourly_run_and_a_reprocess_at_once_book_each_order_once_on_postgresql(stack):
    ids = make_orders(stack, RACE_HOUR, 30, "race")
    # the customers are known in e-Boekhouden, so both runs find their debtors: creating one is claimed per e-mail
    # address, and a run that finds the other creating it retries later instead of booking at the same time
    for who in sorted({i - i % 3 for i in range(30)}):
        stack.sandbox.books.create_relation({"type": "P", "code": f"RaceKlant{who}", "name": f"Klant{who} Race", "emailAddress": f"race.{who}@example.nl"})
    dag_id = "race__orders_hourly"
    # the first sale of either run keeps its booking task busy for 12 s: the other run's booking task starts meanwhile
    stack.sandbox.add_fault_rule("eboekhouden", method="POST", path="/v1/mutation", action="stall_after_commit", seconds=12, times=1)
    try:
        hour = pendulum.instance(RACE_HOUR, tz="Europe/Amsterdam")
        stack.backfill(dag_id, hour, hour, max_active_runs=1)
        reprocess = stack.trigger(dag_id, conf={"order_ids": ids})
        hourly = wait_for("the backfilled hour", lambda: [r["dag_run_id"] for r in stack.dag_runs(dag_id) if r["run_type"] == "backfill"], 60)[0]
        states = {run: stack.wait_run(dag_id, run, timeout=240) for run in (hourly, reprocess)}
    finally:
        stack.sandbox.clear_faults()
    assert states == {hourly: "success", reprocess: "success"}, stack_logs(stack)

    books = {run: [ti for ti in stack.task_instances(dag_id, run) if ti["task_id"] == "book_orders"] for run in (hourly, reprocess)}
    spans = {run: [(pendulum.parse(t["start_date"]), pendulum.parse(t["end_date"])) for t in tis] for run, tis in books.items()}
    first = [s for spans_ in spans.values() for s in spans_]
    assert any(a[0] < b[1] and b[0] < a[1] for a in spans[hourly] for b in spans[reprocess]), f"the two runs' bookings did not overlap: {first}"

    assert_booked_once(stack, "race", ids)
    assert len(stack.sale_mutations("RC-")) == len(ids)
