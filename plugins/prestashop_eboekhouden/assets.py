"""The asset events a tenant's DAGs emit: a stable interface for what comes after the bookkeeping (see README).

| asset (name, uri) | emitted by | when | extra |
|---|---|---|---|
| ``<tenant>_orders_booked``, ``x-bookkeeping://<tenant>/orders`` | ``report`` of ``__orders_hourly`` and ``__open_orders_nightly`` | the run booked (or adopted) at least one order | the run's summary + where it came from |
| ``<tenant>_credits_booked``, ``x-bookkeeping://<tenant>/credits`` | ``book_credits`` of the same DAGs | it booked (or adopted) at least one credit slip | its counts + where they came from |
| ``<tenant>_payments_booked``, ``x-bookkeeping://<tenant>/payments`` | ``report`` of ``__payments_daily`` | the run booked at least one payment | the run's summary + where it came from |
| ``<tenant>_differences_found``, ``x-bookkeeping://<tenant>/differences`` | ``reconcile`` of ``__reconcile_daily`` | the reconciliation found at least one new difference | its period, counts per kind + where it came from |

An asset declared as a task's outlet gets an event every time the task succeeds; these go through an
``AssetAlias`` outlet instead (``<tenant>: orders booked`` …), to which the task adds the asset's event only when
something was booked. An idle hour (every task after ``extract_orders`` skipped) and a run that booked nothing
(orders seen but all still open or refused) emit nothing, so a DAG scheduled on the asset is not woken for them.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import Asset, AssetAlias

ORDERS, CREDITS, PAYMENTS, DIFFERENCES = "orders", "credits", "payments", "differences"
SCHEME = "x-bookkeeping"
_VERB = {DIFFERENCES: "found"}  # the others are "booked"


def _done(what: str) -> str:
    return f"{what}_{_VERB.get(what, 'booked')}"


def asset(tenant: str, what: str) -> Asset:
    """The asset of a tenant's booked orders, credit slips or payments, or of the reconciliation's new differences."""
    return Asset(name=f"{tenant}_{_done(what)}", uri=f"{SCHEME}://{tenant}/{what}")


def alias(tenant: str, what: str) -> AssetAlias:
    """The outlet through which that asset's events go (only when something was booked, or found)."""
    return AssetAlias(name=f"{tenant}: {_done(what).replace('_', ' ')}")


def ports(tenant: str, what: str) -> dict[str, list]:
    """A task's inlets/outlets for the asset it emits: the alias as its outlet (an event only when something was booked),
    and the asset itself as an inlet, so that Airflow registers the asset when it parses the DAG. Without that, the asset
    is created at its first event, and two first events at once (a backfill's parallel runs on a new deployment) race on
    creating it: UNIQUE constraint failed on asset (name, uri), the task's state update refused, the run failed."""
    return {"outlets": [alias(tenant, what)], "inlets": [asset(tenant, what)]}


def booked_count(counters: dict[str, Any]) -> int:
    """What a run booked: sales (or payments) sent now plus those found already in e-Boekhouden and adopted."""
    return int(counters.get("booked") or 0) + int(counters.get("adopted") or 0)


def origin(context: Any) -> dict[str, Any]:
    """Where an event comes from: DAG, run and the run's data interval (ISO; None for a run without one)."""
    ti = context["ti"]

    def iso(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "dag_id": ti.dag_id, "run_id": context["run_id"],
        "data_interval_start": iso(context.get("data_interval_start")), "data_interval_end": iso(context.get("data_interval_end")),
    }


def emit_if_booked(context: Any, outlets: list, tenant: str, what: str, extra: dict[str, Any], booked: int) -> bool:
    """Add the asset's event (with ``extra``) to the task's alias outlet when ``booked`` > 0; whether it did."""
    if booked <= 0:
        return False
    name = alias(tenant, what).name
    for outlet in outlets:
        if isinstance(outlet, AssetAlias) and outlet.name == name:
            context["outlet_events"][outlet].add(asset(tenant, what), extra=extra)
            return True
    return False
