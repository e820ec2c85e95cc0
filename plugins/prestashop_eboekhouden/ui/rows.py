"""How a stored row reads in the dashboard: the JSON API's order, credit, refund and payment rows, and the CSV export
of a tab (streamed). Amounts are exact strings, never floats; no plan and no e-mail address leave the store."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from prestashop_eboekhouden.schema import ERROR, OPEN
from prestashop_eboekhouden.store import StateStore
from prestashop_eboekhouden.ui.hints import fix_hint, is_cancelled
from prestashop_eboekhouden.ui.queries import DashboardQueries

ORDER_FIELDS = (
    "order_id", "reference", "sales_number", "order_date", "shop_status", "state", "reason", "error_code",
    "amount_incl", "amount_excl", "eb_kind", "eb_id", "eb_number", "relation_code", "attempts", "last_try",
    "booked_at", "first_seen", "payment_state", "customer_name", "run_id",
)
PAYMENT_FIELDS = (
    "payment_id", "order_id", "reference", "sales_number", "amount", "method", "transaction_id", "payment_date",
    "state", "reason", "error_code", "eb_id", "attempts", "last_try", "booked_at",
)
CSV_ORDER_COLUMNS = ("kind", "order_id", "slip_id", "reference", "order_date", "state", "sales_number", "amount_incl", "amount_excl", "amount_vat", "eb_kind", "eb_id", "eb_number", "relation_code", "customer_name", "reason", "error_code", "hint", "attempts", "last_try", "booked_at", "run_id")
CSV_PAYMENT_COLUMNS = PAYMENT_FIELDS


# ---- shaping rows ------------------------------------------------------------------------------


def plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def order_row(row: dict) -> dict:
    """An order as the JSON API shows it (amounts as exact strings; no plan, no e-mail address)."""
    out = {field: plain(row.get(field)) for field in ORDER_FIELDS}
    out["kind"] = row.get("kind") or "order"
    if out["kind"] == "credit":  # a credit slip (refund): its own id; order_id is the order it refunds
        out["slip_id"] = row.get("slip_id")
    incl, excl = row.get("amount_incl"), row.get("amount_excl")
    out["amount_vat"] = plain(incl - excl) if incl is not None and excl is not None else None
    state = row.get("state")
    out["in_doubt"] = bool(row.get("intent_at")) and state == OPEN
    out["cancelled"] = state == OPEN and is_cancelled(row.get("shop_status"), row.get("reason"))
    out["hint"] = fix_hint(row.get("error_code"), row.get("reason")) if state == ERROR else None
    out["vat_number"], out["vies"] = None, None  # ICP orders: the VAT number and VIES's verdict (ui/vies.py fills them)
    if out["in_doubt"]:
        out["reason"] = (
            f"In doubt: e-Boekhouden's answer was lost at {row['intent_at']:%Y-%m-%d %H:%M} UTC. The sales number is looked up "
            "again before anything is sent: at the booking task's next try, at the latest by the nightly recheck at 02:00."
        )
    elif out["cancelled"]:
        out["reason"] = "Cancelled in the shop: nothing to book"
    return out


REFUND_NOTE = "refund: settle in e-Boekhouden"


def refund_row(row: dict) -> dict:
    """A booked credit slip as the Payments tab names it: its refund is not booked here, but settled in e-Boekhouden."""
    return {
        "kind": "credit", "slip_id": row["slip_id"], "order_id": row["order_id"], "sales_number": row.get("sales_number"),
        "slip_date": plain(row.get("slip_date")), "amount": plain(row.get("amount_incl")), "eb_id": row.get("eb_id"), "note": REFUND_NOTE,
    }


def payment_row(row: dict) -> dict:
    """A payment as the JSON API shows it."""
    return {field: plain(row.get(field)) for field in PAYMENT_FIELDS}


def csv_lines(store: StateStore, kind: str, tenant: str, state: str | None, since: dt.date | None, until: dt.date | None, q: str | None) -> Iterator[str]:
    """The rows of a tab as CSV, streamed (a header, then a chunk of lines at a time)."""
    shape, columns = (order_row, CSV_ORDER_COLUMNS) if kind == "orders" else (payment_row, CSV_PAYMENT_COLUMNS)
    queries = DashboardQueries(store)
    rows = queries.iter_entries(tenant, state, since, until, q) if kind == "orders" else queries.iter_payments(tenant, state, since, until, q)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    count = 0
    for row in rows:
        shaped = shape(row)
        writer.writerow(["" if shaped.get(c) is None else shaped.get(c) for c in columns])
        count += 1
        if count % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
