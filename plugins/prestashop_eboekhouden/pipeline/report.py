"""A run's summary: counts and amounts per state, as a small table for the task log."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from prestashop_eboekhouden.store import STATES, StateStore

COUNTERS = ("booked", "adopted", "refused", "skipped", "pending", "relations_created")


def summarize(store: StateStore, tenant: str, run_id: str, kind: str, results: Sequence[dict]) -> tuple[dict, str]:
    """Counts and amounts per state of what this run touched, the booking counters, and a table to log."""
    import pandas as pd

    rows = store.run_orders(tenant, run_id) if kind == "orders" else store.run_payments(tenant, run_id)
    frame = pd.DataFrame(rows, columns=["state", "amount_incl"])
    frame["amount_incl"] = [a if a is not None else Decimal("0.00") for a in frame["amount_incl"]]
    grouped = frame.groupby("state")["amount_incl"].agg(["count", "sum"]) if len(frame) else None
    per_state = {
        state: {
            "count": int(grouped.loc[state, "count"]) if grouped is not None and state in grouped.index else 0,
            "amount_incl": str(grouped.loc[state, "sum"]) if grouped is not None and state in grouped.index else "0.00",
        }
        for state in STATES
    }
    counters = {name: sum(int(r.get(name, 0)) for r in results) for name in COUNTERS}
    summary = {"tenant": tenant, "kind": kind, "states": per_state, "counters": counters}
    label = "orders" if kind == "orders" else "payments"
    table = pd.DataFrame([{"state": s, label: v["count"], "amount incl VAT": v["amount_incl"]} for s, v in per_state.items()]).to_string(index=False)
    extra = ", ".join(f"{k} {v}" for k, v in counters.items() if v)
    return summary, table + (f"\n{extra}" if extra else "")
