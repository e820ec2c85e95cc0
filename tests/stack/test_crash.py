"""A Celery worker killed with SIGKILL in the middle of a booking batch: the scheduler finds the task without
heartbeat, retries it (on either worker), the retry adopts the bookings e-Boekhouden committed but the
killed worker never heard of, and nothing is booked twice or lost."""

from __future__ import annotations

import datetime as dt
import time

from .conftest import assert_booked_once, local, make_orders, stack_logs
from .harness import wait_for

CRASH_HOUR = dt.datetime(2026, 11, 17, 10)


def test_sigkill_of_a_worker_mid_batch_is_retried_and_adopts_in_doubt_bookings(stack):
    ids = make_orders(stack, CRASH_HOUR, 40, "crash")
    dag_id = "crash__orders_hourly"
    # after 10 sales, e-Boekhouden commits each new one but holds its answer back for 45 s
    stack.sandbox.add_fault_rule("eboekhouden", method="POST", path="/v1/mutation", action="stall_after_commit", seconds=45, after=10, times=None)
    try:
        run_id = stack.trigger(dag_id, hour_end=local(2026, 11, 17, 11))
        wait_for("14 committed sales of the batch", lambda: len(stack.sale_mutations("CR-")) >= 14, 180, 0.2)
        booking = [ti for ti in stack.task_instances(dag_id, run_id) if ti["task_id"] == "book_orders" and ti["state"] == "running"]
        assert len(booking) == 1, booking
        victim = booking[0]["hostname"]
        number = int(victim.rsplit("-", 1)[1])
        stack.parts[victim].kill()  # the Celery worker, its pool, the task's supervisor and the task: all at once
        time.sleep(0.5)  # a request already on the wire is still committed by the emulator
    finally:
        stack.sandbox.clear_faults()
    committed = {m["invoiceNumber"] for m in stack.sale_mutations("CR-")}
    rows = stack.state_store().get_orders("crash", ids)
    in_doubt = [oid for oid, row in rows.items() if row["state"] == "open" and row["intent_at"] is not None and row["sales_number"] in committed]
    assert len(in_doubt) >= 4, "the kill left no committed-but-unrecorded bookings: the test proves nothing"
    stack.start_worker(number)  # back to two workers; the retry may land on either

    state = stack.wait_run(dag_id, run_id, timeout=240)
    assert state == "success", stack_logs(stack)
    tries = stack.tries(dag_id, run_id, "book_orders", booking[0]["map_index"])
    assert [t["state"] for t in tries][-1] == "success" and len(tries) >= 2, tries
    assert tries[0]["hostname"] == victim and tries[0]["state"] in ("failed", "up_for_retry"), tries[0]
    final = assert_booked_once(stack, "crash", ids)
    assert len(stack.sale_mutations("CR-")) == len(ids)
    # the in-doubt ones were adopted: their number is the one e-Boekhouden already had
    assert all(final[oid]["sales_number"] in committed for oid in in_doubt)
    xcom = stack.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/book_orders/xcomEntries/return_value",
                     params={"map_index": booking[0]["map_index"], "deserialize": True}).json()
    assert xcom["value"]["adopted"] >= len(in_doubt), xcom
