"""Issue 27 on the real scheduler: a booking run wakes the example warehouse DAG, which reads the run's summary from
the triggering asset event (idle hours wake nothing); the tasks' "Bookkeeping: this run" link leads to that run in the
dashboard; and a run stuck past its deadline is e-mailed through the notifier by the executor (the callback), while
runs that finish in time leave no deadline behind."""

from __future__ import annotations

import datetime as dt
import json

import pendulum
import psycopg2
import requests

from .conftest import AMS, assert_booked_once, local, make_orders
from .harness import wait_for

LAKE_HOUR = dt.datetime(2026, 11, 19, 9)  # shop-local hours no other test reads
LATE_HOUR = dt.datetime(2026, 11, 19, 8)
WAREHOUSE = "lake__warehouse_load"


def metadata(stack, sql: str, params: tuple = ()) -> list[tuple]:
    conn = psycopg2.connect(host="127.0.0.1", port=stack.postgres.port, user="postgres", dbname="airflow")
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()
    finally:
        conn.close()


def html(message) -> str:
    """The HTML part of an e-mail the notifier sent."""
    return "".join((part.get_payload(decode=True) or b"").decode() for part in message.walk() if part.get_content_type() == "text/html")


def hour_end(hour: dt.datetime) -> pendulum.DateTime:
    return local(hour.year, hour.month, hour.day, hour.hour + 1)


def test_a_booking_run_wakes_the_example_dag_with_its_summary_and_its_tasks_link_to_it_in_the_dashboard(stack):
    ids = make_orders(stack, LAKE_HOUR, 3, "lake")
    run_id = stack.trigger("lake__orders_hourly", hour_end=hour_end(LAKE_HOUR))
    assert stack.wait_run("lake__orders_hourly", run_id) == "success"
    assert_booked_once(stack, "lake", ids)

    # the asset event queues the example DAG; its task reads the summary from the triggering event
    (warehouse,) = wait_for(f"{WAREHOUSE} to run", lambda: [r for r in stack.dag_runs(WAREHOUSE) if r["state"] in ("success", "failed")], 120, 1)
    assert (warehouse["state"], warehouse["run_type"]) == ("success", "asset_triggered")
    answer = stack.api("GET", f"/api/v2/dags/{WAREHOUSE}/dagRuns/{warehouse['dag_run_id']}/taskInstances/load/xcomEntries/return_value")
    assert answer.ok, answer.text[:300]
    value = answer.json()["value"]
    loaded = value if isinstance(value, dict) else json.loads(value)
    assert (loaded["runs"], loaded["booked"]) == (1, 3)
    (entry,) = loaded["loads"]
    assert (entry["asset"], entry["kind"], entry["tenant"], entry["dag_id"], entry["run_id"], entry["note"]) == (
        "x-bookkeeping://lake/orders", "orders", "lake", "lake__orders_hourly", run_id, "3 booked"
    )
    assert pendulum.parse(entry["data_interval_start"]) == pendulum.instance(LAKE_HOUR, tz=AMS)

    # the lake tenant's own scheduled hour (idle: nothing booked) woke nothing
    scheduled = [r for r in stack.dag_runs("lake__orders_hourly") if r["run_type"] == "scheduled"]
    assert scheduled and all(stack.wait_run("lake__orders_hourly", r["dag_run_id"]) == "success" for r in scheduled)
    assert len(stack.dag_runs(WAREHOUSE)) == 1

    # "Bookkeeping: this run" on report and on a booking batch, made by the API server; it opens the run's rows
    base = f"/api/v2/dags/lake__orders_hourly/dagRuns/{run_id}/taskInstances"
    link = stack.api("GET", f"{base}/book_orders/links", params={"map_index": 0}).json()["extra_links"]["Bookkeeping: this run"]
    assert link == stack.api("GET", f"{base}/report/links").json()["extra_links"]["Bookkeeping: this run"]
    assert link.startswith("/bookkeeping/tenants/lake?tab=booked&run_id=")
    page = requests.get(stack.url + link, headers={"Authorization": f"Bearer {stack.token()}"}, timeout=60)
    assert page.status_code == 200 and 'id="run-filter"' in page.text and all(f'data-order="{oid}"' in page.text for oid in ids)
    rows = stack.api("GET", "/bookkeeping/api/tenants/lake/orders", params={"state": "booked", "run_id": run_id}).json()
    assert (rows["run_id"], rows["total"], sorted(r["order_id"] for r in rows["rows"])) == (run_id, 3, sorted(ids))


def test_a_run_stuck_past_its_deadline_is_e_mailed_and_runs_that_finish_in_time_leave_no_deadline(stack, smtp_inbox):
    dag_id, pool = "late__orders_hourly", "eboekhouden_late"
    stack.airflow("pools", "set", pool, "0", "no slots: the booking batch cannot start")
    ids = make_orders(stack, LATE_HOUR, 2, "late")
    run_id = stack.trigger(dag_id, hour_end=hour_end(LATE_HOUR))
    try:
        (message,) = wait_for("the deadline alert e-mail", lambda: [m for _, m in smtp_inbox.messages if run_id in html(m)], 180, 1)
        assert message["Subject"] == f"[late] {dag_id} (2026-11-19 08:00-09:00) has not finished 0.5 minutes after its hour"
        assert message["To"] == "boekhouding@late.example"
        assert "/bookkeeping/tenants/late?tab=booked&amp;run_id=" in html(message)
        assert stack.run_state(dag_id, run_id) == "running"
        states = {t["task_id"]: t["state"] for t in stack.task_instances(dag_id, run_id)}
        assert states["book_orders"] in ("scheduled", None)  # waiting for a pool slot
        ((missed, late_by),) = metadata(
            stack, "SELECT d.missed, EXTRACT(EPOCH FROM d.deadline_time - dr.queued_at) FROM deadline d JOIN dag_run dr ON dr.id = d.dagrun_id "
                   "WHERE dr.dag_id = %s AND dr.run_id = %s", (dag_id, run_id),
        )
        assert missed is True and 29 <= float(late_by) <= 31  # queued after its hour ended: 30 s after it was queued
        # the callback ran on a Celery worker and is recorded as done
        wait_for("the callback's success", lambda: metadata(stack, "SELECT state FROM callback WHERE data::text LIKE %s", (f"%{run_id}%",)) == [("success",)], 60, 1)
    finally:
        stack.airflow("pools", "set", pool, "4", "e-Boekhouden calls of late")
    assert stack.wait_run(dag_id, run_id) == "success"
    assert_booked_once(stack, "late", ids)
    # a run that succeeded before its deadline keeps none (Airflow prunes it); the stuck one keeps its missed deadline
    rows = metadata(
        stack, "SELECT dr.run_id, dr.run_type, dr.state, d.missed, d.deadline_time, dr.end_date FROM dag_run dr LEFT JOIN deadline d ON d.dagrun_id = dr.id "
               "WHERE dr.dag_id = %s", (dag_id,),
    )
    for rid, run_type, state, missed, deadline_time, end_date in rows:
        if rid == run_id:
            assert missed is True
        elif missed is None:  # no deadline left
            assert state == "success", (rid, run_type, state)
        else:  # only when the machine was slower than the 30 s (then it was missed, not silently dropped)
            assert missed is True and end_date > deadline_time, (rid, run_type, state, deadline_time, end_date)
    assert len([m for _, m in smtp_inbox.messages if run_id in html(m)]) == 1  # once
