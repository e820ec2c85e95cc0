"""Example: load what a tenant booked into a warehouse, scheduled on its asset events. Not loaded by default.

Copy this file into your DAGs folder (or a DAG bundle of its own) and set TENANT. Each time the tenant's hourly or
nightly run has booked sales (orders or credit slips; an idle hour or a run that booked nothing emits no event),
Airflow queues a run of this DAG; it reads the summary each triggering event carries (see the README, "Asset events")
and hands it to ``load``: replace the body of ``load`` with your warehouse's load. The rows themselves come from the
dashboard's JSON API, filtered on the event's run: ``GET /bookkeeping/api/tenants/<tenant>/orders?state=booked&run_id=<run_id>``.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Asset, task

TENANT = "demo"  # the tenant whose bookings this loads
SALES = Asset(name=f"{TENANT}_orders_booked", uri=f"x-bookkeeping://{TENANT}/orders")
CREDITS = Asset(name=f"{TENANT}_credits_booked", uri=f"x-bookkeeping://{TENANT}/credits")

with DAG(
    dag_id=f"{TENANT}__warehouse_load",
    schedule=SALES | CREDITS,  # either: orders booked by report, credit slips booked by book_credits
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=[TENANT, "bookkeeping", "example"],
    doc_md=__doc__,
):

    @task
    def read_events(*, triggering_asset_events=None) -> list[dict]:
        """One entry per booking that triggered this run (events of both assets, oldest first). Each event is also listed
        under the alias it went through ("<tenant>: orders booked"): read it by the asset only."""
        loads = []
        for asset in (SALES, CREDITS):
            for event in (triggering_asset_events or {}).get(asset, ()):
                extra = dict(event.extra or {})
                counters = extra.get("counters") or {}
                loads.append({
                    "asset": asset.uri, "kind": extra.get("kind"), "tenant": extra.get("tenant"),
                    "dag_id": extra.get("dag_id"), "run_id": extra.get("run_id"),
                    "data_interval_start": extra.get("data_interval_start"), "data_interval_end": extra.get("data_interval_end"),
                    "booked": int(counters.get("booked") or 0) + int(counters.get("adopted") or 0),
                    "amount_booked_incl": ((extra.get("states") or {}).get("booked") or {}).get("amount_incl"),
                    "note": extra.get("note"), "timestamp": event.timestamp.isoformat(),
                })
        return sorted(loads, key=lambda load: load["timestamp"])

    @task
    def load(loads: list[dict]) -> dict:
        """Your warehouse load goes here; this one logs what it would load and returns the totals."""
        for entry in loads:
            print(f"load {entry['kind']} of {entry['tenant']} run {entry['run_id']}: {entry['booked']} booked ({entry['note']})")
        return {"runs": len(loads), "booked": sum(entry["booked"] for entry in loads), "loads": loads}

    load(read_events())
