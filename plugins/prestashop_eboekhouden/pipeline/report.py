"""A run's summary: counts and amounts per state, as a small table for the task log."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from prestashop_eboekhouden.schema import BOOKED, ERROR, OPEN, STATES
from prestashop_eboekhouden.store import StateStore

COUNTERS = ("booked", "adopted", "refused", "skipped", "pending", "relations_created")


def summarize(store: StateStore, tenant: str, run_id: str, kind: str, results: Sequence[dict[str, Any]]) -> tuple[dict[str, Any], str]:
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


# ---- order tables for the task logs -----------------------------------------------------------------


def text_table(headers: Sequence[str], rows: Sequence[Sequence[object]], limit: int = 200) -> str:
    """A plain fixed-width table (the task log shows it as is); rows past `limit` are counted, not shown."""
    shown = [[("" if v is None else str(v)) for v in row] for row in rows[:limit]]
    widths = [max([len(h)] + [len(r[i]) for r in shown]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=False)).rstrip()

    out = [line(headers), line(["-" * w for w in widths])] + [line(r) for r in shown]
    if len(rows) > limit:
        out.append(f"… and {len(rows) - limit} more")
    return "\n".join(out)


def batch_label(what: str, ids: Sequence[int]) -> str:
    """A mapped batch's name in the Airflow UI: "orders 1041–1088 (37)"."""
    if not ids:
        return f"{what}: none"
    low, high = min(ids), max(ids)
    return f"{what} {low}" if low == high else f"{what} {low}–{high} ({len(ids)})"


def refused_table(rows: Sequence[dict[str, Any]]) -> str:
    """Orders refused by the prechecks: id, reference, code and reason."""
    ordered = sorted(rows, key=lambda r: r["order_id"])
    return text_table(["order", "reference", "code", "reason"], [(r["order_id"], r.get("reference"), r.get("error_code"), (r.get("reason") or "")[:160]) for r in ordered])


def order_outcome(row: dict[str, Any] | None, run_id: str, pending: bool) -> str:
    """What a booking task did with one order, read back from the store."""
    if row is None:
        return "skipped: not in the store"
    if row["state"] == BOOKED:
        if row.get("run_id") != run_id:
            return "already booked (earlier run)"
        return "adopted (e-Boekhouden already had it)" if (row.get("reason") or "").startswith("Adopted") else "booked"
    if row["state"] == ERROR:
        return f"refused {row.get('error_code') or ''}: {(row.get('reason') or '')[:120]}".replace("refused :", "refused:")
    if pending:
        if row.get("intent_at") is not None:
            return "pending: answer lost (in doubt), looked up again on the retry"
        return "pending: e-Boekhouden unreachable, retried"
    return "skipped: held by another run"


def outcome_table(ids: Sequence[int], rows: dict[int, dict[str, Any]], run_id: str, pending: set[int]) -> str:
    """One line per order of a batch: order, sales number, debtor code, outcome."""
    return text_table(
        ["order", "sales number", "debtor", "outcome"],
        [(oid, (rows.get(oid) or {}).get("sales_number"), (rows.get(oid) or {}).get("relation_code"), order_outcome(rows.get(oid), run_id, oid in pending)) for oid in ids],
    )


def why_nothing_was_booked(failure: dict[str, Any] | None, step: str) -> str:
    """The report's words when a step it depends on did not finish: the cause its failing task wrote down, else where to look."""
    if failure and failure.get("failed"):
        return f"Nothing was booked: {failure['failed']}"
    return f"Nothing was booked: {step} or a step before it did not finish (see their logs)"


def run_note(summary: dict[str, Any], errors: Sequence[dict[str, Any]], limit: int = 5, failure: str | None = None) -> str:
    """The run's note in the Airflow UI: "12 booked, 3 to Errors: 1041 (no VAT mapping for 9%), …", each error in words;
    a run that could not do its work says why first."""
    from prestashop_eboekhouden.domain.hints import in_words

    states, counters = summary["states"], summary.get("counters", {})
    what = "payments" if summary.get("kind") == "payments" else "orders"
    parts = []
    booked = counters.get("booked", 0)
    adopted = counters.get("adopted", 0)
    if booked or adopted or states[BOOKED]["count"]:
        parts.append(f"{booked} booked" + (f" ({adopted} adopted)" if adopted else ""))
    if states[OPEN]["count"]:
        parts.append(f"{states[OPEN]['count']} open")
    if counters.get("pending"):
        parts.append(f"{counters['pending']} pending")
    if states[ERROR]["count"]:
        named = ", ".join(f"{e['order_id'] if what == 'orders' else e.get('payment_id')} ({in_words(e.get('error_code'), e.get('reason'))})" for e in errors[:limit])
        more = f", … {len(errors) - limit} more" if len(errors) > limit else ""
        parts.append(f"{states[ERROR]['count']} to Errors: {named}{more}")
    missing = summary.get("not_in_shop") or []
    if missing:
        shown = ", ".join(map(str, missing[:limit])) + (f", … {len(missing) - limit} more" if len(missing) > limit else "")
        parts.append(f"no order in the shop with id {shown} (nothing stored)")
    if not parts and summary.get("already_booked"):
        n = summary["already_booked"]
        parts.append(f"nothing to book: {n} {what[:-1] if n == 1 else what} already booked or worked off")
    text = ", ".join(parts) if parts else f"No {what} in this run"
    if failure:
        return failure if not parts else f"{failure}. Before that: {text}"
    return text
