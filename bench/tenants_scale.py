"""The cost of a tenant-hour, and orders through the real scheduler, on the distributed stack.

Starts the stack of tests/stack (PostgreSQL + Redis + Airflow 3 CeleryExecutor: api-server, scheduler,
dag-processor, two Celery workers) as local processes, and measures:

1. ``--tenants N ...``: N tenants on an idle shop (no order changes), ``--hours`` triggered hours per tenant.
   Prints task starts per tenant-hour (task instances that ran; skipped ones start no process), CPU-seconds
   per tenant-hour of the workers (Celery pool, task supervisors and task processes), of the API server
   (the tasks' execution API) and of the scheduler (its share per DAG run), the dag-processor's CPU per
   minute, and the extrapolation to 1,000 tenants (cores for the idle baseline).
2. ``--orders N ...``: N seeded orders (as bench/orders_throughput.py seeds them, 20 ms added per API call,
   concurrency 8, batches of 500) through one triggered run over two Celery workers: wall time from the
   trigger to the last booking, next to the in-process figure of bench/orders_throughput.py.

CPU is read per process tree (user + system, children that ended included), so other load on the machine
does not count. Writes bench/results/tenants_scale.json.

    .venv/bin/python bench/tenants_scale.py [--tenants 20 100] [--hours 3] [--orders 1000 10000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import pendulum

# Each measurement makes a throwaway state store: migrated on first use, as in the tests (a deployment runs
# `python -m prestashop_eboekhouden.setup migrate` instead).
os.environ.setdefault("PRESTA_EB_STATE_AUTO_MIGRATE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import sandbox_process, save, set_latency, table
from tests.stack.harness import Stack, tenant_file, wait_for

IDLE_DAY = (2026, 11, 10)  # hours in which the idle shop has no order
# bench/orders_throughput.py's in-process figures (REST, new customers) from the README, for comparison
IN_PROCESS = {1000: {"orders": 729, "orders_per_s": 133.4}, 10000: {"orders": 7256, "orders_per_s": 107.3}}


def metadata(stack: Stack, sql: str, params: tuple = ()) -> list[tuple]:
    import psycopg2

    conn = psycopg2.connect(host="127.0.0.1", port=stack.postgres.port, user="postgres", dbname="airflow")
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()
    finally:
        conn.close()


def cpu(stack: Stack) -> dict[str, float]:
    """CPU-seconds so far per part (workers summed)."""
    parts = {name: part.cpu_seconds() for name, part in stack.parts.items()}
    return {
        "workers": sum(v for k, v in parts.items() if k.startswith("worker")),
        "scheduler": parts["scheduler"], "api-server": parts["api-server"], "dag-processor": parts["dag-processor"],
    }


# --notify: each tenant e-mails (to nobody here: an idle hour sends nothing) and so has deadline alerts (issue 27)
NOTIFY = {"notify": {"email": ["bookkeeping@bench.example"], "on": ["failure"]}}
NO_DEADLINES = {**NOTIFY, "deadlines": {"enabled": False}}  # --notify --no-deadlines: what the alerts cost, apart


def idle_tenants(count: int, hours: int, preload: bool = True, notify: bool = False, deadlines: bool = True) -> dict:
    """N tenants, an idle shop, `hours` triggered hours each."""
    names = [f"t{i:04d}" for i in range(count)]
    with sandbox_process(0, days_back=1) as urls, tempfile.TemporaryDirectory(prefix="tenants-scale-") as tmp:
        sandbox = SimpleNamespace(prestashop_url=urls["prestashop"], eboekhouden_url=urls["eboekhouden"], vies_url=urls["vies"])
        stack = Stack(base=Path(tmp), tenants={n: tenant_file(n, f"T{i}-", **((NOTIFY if deadlines else NO_DEADLINES) if notify else {})) for i, n in enumerate(names)}, sandbox=sandbox, preload=preload)
        try:
            stack.start()
            # unpaused at creation, each hourly DAG first runs its latest real hour: let those finish
            wait_for("the scheduled runs", lambda: metadata(stack, "SELECT count(*) FROM dag_run WHERE run_type = 'scheduled' AND state IN ('success', 'failed')"
                                                                    " AND dag_id LIKE '%%__orders_hourly'")[0][0] >= count, 900, 2)
            time.sleep(3)
            before, started = cpu(stack), time.monotonic()
            runs = 0
            for h in range(hours):
                end = pendulum.datetime(*IDLE_DAY, 10 + h, tz="Europe/Amsterdam")
                for name in names:
                    stack.trigger(f"{name}__orders_hourly", hour_end=end)
                    runs += 1
            wait_for("the triggered hours", lambda: metadata(stack, "SELECT count(*) FROM dag_run WHERE run_type = 'manual' AND state IN ('success', 'failed')")[0][0]
                     >= runs, 3600, 2)
            time.sleep(3)  # the last task processes exit and are counted
            after, wall = cpu(stack), time.monotonic() - started
            states = dict(metadata(stack, "SELECT state, count(*) FROM dag_run WHERE run_type = 'manual' GROUP BY state"))
            deadlines = metadata(stack, "SELECT count(*) FROM deadline_alert")[0][0]
            starts = metadata(stack, "SELECT count(*) FROM task_instance ti JOIN dag_run dr ON dr.dag_id = ti.dag_id AND dr.run_id = ti.run_id "
                                     "WHERE dr.run_type = 'manual' AND ti.start_date IS NOT NULL AND ti.state <> 'skipped'")[0][0]
        finally:
            stack.stop()
    used = {k: after[k] - before[k] for k in after}
    per_hour = {k: used[k] / runs for k in ("workers", "api-server")}
    scheduler_per_run = used["scheduler"] / runs
    total = per_hour["workers"] + per_hour["api-server"] + scheduler_per_run
    return {
        "tenants": count, "preload": preload, "notify": notify, "deadline_alerts": deadlines, "hours": hours, "runs": runs, "run_states": states, "wall_s": round(wall, 1),
        "task_starts_per_tenant_hour": round(starts / runs, 2),
        "worker_cpu_s_per_tenant_hour": round(per_hour["workers"], 3),
        "api_cpu_s_per_tenant_hour": round(per_hour["api-server"], 3),
        "scheduler_cpu_s_per_run": round(scheduler_per_run, 3),
        "cpu_s_per_tenant_hour": round(total, 3),
        "dag_processor_cpu_s_per_min": round(used["dag-processor"] / wall * 60, 2),
        "cores_for_1000_tenants": round(total * 1000 / 3600, 3),
    }


def throughput(orders: int, latency_ms: int = 20) -> dict:
    """N seeded orders through one triggered run on two Celery workers; trigger → last booking."""
    with sandbox_process(orders, days_back=max(3, orders / 150)) as urls, tempfile.TemporaryDirectory(prefix="celery-throughput-") as tmp:
        sandbox = SimpleNamespace(prestashop_url=urls["prestashop"], eboekhouden_url=urls["eboekhouden"], vies_url=urls["vies"])
        tenant = tenant_file("bench", "", eboekhouden={"concurrency": 8}, processing={"batch_size": 500})
        stack = Stack(base=Path(tmp), tenants={"bench": tenant}, sandbox=sandbox)
        try:
            stack.start()
            set_latency(urls, latency_ms)
            store = stack.state_store()
            started_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
            started = time.monotonic()
            run_id = stack.trigger("bench__orders_hourly", conf={"since": "2000-01-01T00:00:00", "until": "2026-11-20T12:00:01"})
            state = stack.wait_run("bench__orders_hourly", run_id, timeout=3600)
            run_s = time.monotonic() - started
            from sqlalchemy import func, select

            from prestashop_eboekhouden.store import orders as table_

            with store.begin() as conn:
                booked, last = conn.execute(select(func.count(), func.max(table_.c.booked_at)).where(table_.c.tenant == "bench", table_.c.state == "booked")).one()
                handled = conn.execute(select(func.count()).where(table_.c.tenant == "bench", table_.c.run_id == run_id)).scalar_one()
            to_last = (last - started_at).total_seconds() if last else None
            tis = stack.task_instances("bench__orders_hourly", run_id)
            trigger_at = pendulum.instance(started_at, tz="UTC")
            tasks = [
                {"task": t["task_id"] + (f"[{t['map_index']}]" if t["map_index"] >= 0 else ""),
                 **{k: round((pendulum.parse(t[f]) - trigger_at).total_seconds(), 1) for k, f in (("queued", "queued_when"), ("start", "start_date"), ("end", "end_date")) if t.get(f)}}
                for t in sorted(tis, key=lambda t: t.get("start_date") or "")
            ]
        finally:
            stack.stop()
    ref = IN_PROCESS.get(orders, {})
    in_process_s = ref["orders"] / ref["orders_per_s"] if ref else None
    return {
        "seeded": orders, "state": state, "booked": booked, "orders_in_run": handled, "book_tasks": sum(t["task_id"] == "book_orders" for t in tis),
        "hosts": sorted({t["hostname"] for t in tis if t.get("hostname")}), "trigger_to_last_booking_s": round(to_last, 1) if to_last else None,
        "trigger_to_run_end_s": round(run_s, 1), "orders_per_s": round(booked / to_last, 1) if to_last else None,
        "in_process_s": round(in_process_s, 1) if in_process_s else None, "tasks": tasks,
        "ratio": round(to_last / in_process_s, 2) if to_last and in_process_s else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, nargs="*", default=[20, 100])
    parser.add_argument("--hours", type=int, default=3)
    parser.add_argument("--orders", type=int, nargs="*", default=[1000])
    parser.add_argument("--no-preload", action="store_true", help="also measure the idle hours without preloading in the Celery pool")
    parser.add_argument("--notify", action="store_true", help="tenants with a notify section, so with deadline alerts (issue 27)")
    parser.add_argument("--no-deadlines", action="store_true", help="with --notify: deadline alerts off (deadlines.enabled: false)")
    args = parser.parse_args()
    scale = []
    for count in args.tenants:
        for preload in ((False, True) if args.no_preload else (True,)):
            scale.append(idle_tenants(count, args.hours, preload, args.notify, not args.no_deadlines))
            print(json.dumps(scale[-1]), flush=True)
    flows = []
    for count in args.orders:
        flows.append(throughput(count))
        print(json.dumps(flows[-1]), flush=True)
    if scale:
        print(f"\nIdle tenant-hours on the Celery stack (2 workers x 4 slots; {args.hours} triggered hours per tenant, CPU per process tree):")
        print(table(scale, [
            ("tenants", "tenants"), ("preload", "preload"), ("notify", "notify"), ("runs", "tenant-hours"), ("task_starts_per_tenant_hour", "task starts/tenant-hour"),
            ("worker_cpu_s_per_tenant_hour", "worker CPU-s/tenant-hour"), ("api_cpu_s_per_tenant_hour", "API server CPU-s/tenant-hour"),
            ("scheduler_cpu_s_per_run", "scheduler CPU-s/run"), ("cpu_s_per_tenant_hour", "total CPU-s/tenant-hour"),
            ("cores_for_1000_tenants", "cores for 1,000 tenants"), ("dag_processor_cpu_s_per_min", "dag-processor CPU-s/min"),
        ]))
    if flows:
        print("\nOrders through the scheduler (Celery, 2 workers x 4 slots, pool 4 per tenant, batches of 500, concurrency 8, 20 ms per API call):")
        print(table(flows, [
            ("seeded", "seeded"), ("orders_in_run", "orders in run"), ("booked", "booked"), ("book_tasks", "book tasks"),
            ("trigger_to_last_booking_s", "trigger → last booking s"), ("orders_per_s", "orders/s"), ("in_process_s", "in-process s"), ("ratio", "× in-process"),
        ]))
        for flow in flows:
            print(f"  {flow['seeded']:,} orders, seconds after the trigger (queued / start / end):")
            for task in flow["tasks"]:
                print(f"    {task['task']:18} {task.get('queued', '')!s:>6} {task.get('start', '')!s:>6} {task.get('end', '')!s:>6}")
    print(f"\nwritten to {save('tenants_scale', {'hours': args.hours, 'idle': scale, 'throughput': flows})}")


if __name__ == "__main__":
    main()
