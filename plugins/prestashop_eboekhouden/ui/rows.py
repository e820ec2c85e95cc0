"""How a stored row reads in the dashboard: the JSON API's order, credit, payment and refund rows, and the CSV export
of a tab (streamed). Amounts are exact strings, never floats; no plan and no e-mail address leave the store. Times are
shown in the tenant's time zone, with their offset in JSON.

The CSV is safe to open in a spreadsheet: a text cell that starts with = + - @ (or a tab / carriage return) is written
with a leading apostrophe, so no spreadsheet runs it as a formula; numbers (amounts, a negative credit) stay numbers.
``excel-nl`` writes what Dutch Excel opens by a double click: a byte-order mark, ";" between cells, decimal commas.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

import pendulum

from prestashop_eboekhouden.domain.hints import fix_hint, is_cancelled
from prestashop_eboekhouden.schema import ERROR, OPEN, RESOLVED
from prestashop_eboekhouden.store import StateStore
from prestashop_eboekhouden.ui.queries import DashboardQueries

ORDER_FIELDS = (
    "order_id", "reference", "sales_number", "order_date", "shop_status", "state", "reason", "error_code",
    "amount_incl", "amount_excl", "eb_kind", "eb_id", "eb_number", "relation_code", "attempts", "last_try",
    "booked_at", "first_seen", "payment_state", "customer_name", "run_id",
    "resolution", "resolved_by", "resolved_at", "resolution_note",
)
PAYMENT_FIELDS = (
    "payment_id", "order_id", "reference", "sales_number", "amount", "method", "transaction_id", "payment_date",
    "state", "reason", "error_code", "eb_id", "attempts", "last_try", "booked_at",
    "resolution", "resolved_by", "resolved_at", "resolution_note",
)
TIMES = ("last_try", "booked_at", "first_seen", "resolved_at", "payment_date")
CSV_ORDER_COLUMNS = (
    "kind", "order_id", "slip_id", "reference", "order_date", "state", "sales_number", "amount_incl", "amount_excl", "amount_vat",
    "eb_kind", "eb_id", "eb_number", "relation_code", "customer_name", "reason", "error_code", "hint", "attempts", "last_try",
    "booked_at", "run_id", "payment_id", "shop_status_name", "resolution", "resolved_by", "resolved_at", "resolution_note",
)
CSV_PAYMENT_COLUMNS = PAYMENT_FIELDS
AMOUNTS = frozenset({"amount_incl", "amount_excl", "amount_vat", "amount", "rounding"})
CSV_FORMATS = ("csv", "excel-nl")
RESOLUTION_WORDS = {"by_hand": "booked by hand", "dismissed": "dismissed"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^-?[0-9]+([.,][0-9]+)?$")


# ---- shaping rows ------------------------------------------------------------------------------


def plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def local_time(value: dt.datetime | None, tz: str | None) -> pendulum.DateTime | None:
    """A store time (naive UTC) in the tenant's time zone."""
    if value is None:
        return None
    moment = pendulum.instance(value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value)
    return moment.in_timezone(tz) if tz else moment


def shown_time(value: Any, tz: str | None) -> str:
    """A time as the pages show it, in the tenant's time zone: "2026-12-03 11:02" (the column header names the zone)."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    moment = local_time(value, tz) if isinstance(value, dt.datetime) else None
    return moment.strftime("%Y-%m-%d %H:%M") if moment else ""


def _times(out: dict, row: Mapping, tz: str | None) -> None:
    """Times in the tenant's time zone with their offset (ISO 8601), never a bare UTC time without a zone."""
    for field in TIMES:
        if field in out and isinstance(row.get(field), dt.datetime):
            out[field] = local_time(row[field], tz).isoformat()  # type: ignore[union-attr]


def order_row(row: dict, tz: str | None = None, statuses: Mapping[int, str] | None = None, tenant_file: str | None = None) -> dict:
    """An order, credit slip or payment (``kind``) as the JSON API shows it (amounts as exact strings; no plan, no e-mail)."""
    out = {field: plain(row.get(field)) for field in ORDER_FIELDS}
    kind = out["kind"] = row.get("kind") or "order"
    if kind == "credit":  # a credit slip (refund): its own id; order_id is the order it refunds
        out["slip_id"] = row.get("slip_id")
    if kind == "payment":  # a refused payment in Errors: its own id and method; order_id is the order it pays
        out["payment_id"], out["method"] = row.get("payment_id"), row.get("method")
    _times(out, row, tz)
    incl, excl = row.get("amount_incl"), row.get("amount_excl")
    out["amount_vat"] = plain(incl - excl) if incl is not None and excl is not None else None
    state = row.get("state")
    status = row.get("shop_status")
    out["shop_status_name"] = (statuses or {}).get(status) if status is not None else None
    out["in_doubt"] = bool(row.get("intent_at")) and state == OPEN
    out["cancelled"] = state == OPEN and is_cancelled(status, row.get("reason"))
    out["hint"] = fix_hint(row.get("error_code"), row.get("reason"), tenant_file, kind) if state in (ERROR, RESOLVED) else None
    out["resolution_words"] = RESOLUTION_WORDS.get(row.get("resolution") or "")
    out["rounding"] = None  # the amount of the sale's rounding row, when it has one (ui/pages.py fills it)
    out["vat_number"], out["vies"] = None, None  # ICP orders: the VAT number and VIES's verdict (ui/vies.py fills them)
    if out["in_doubt"]:
        out["reason"] = (
            f"In doubt: e-Boekhouden's answer was lost at {shown_time(row['intent_at'], tz)} ({tz or 'UTC'}). The sales number is looked up "
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


def payment_row(row: dict, tz: str | None = None, tenant_file: str | None = None) -> dict:
    """A payment as the JSON API shows it."""
    out = {field: plain(row.get(field)) for field in PAYMENT_FIELDS}
    _times(out, row, tz)
    out["hint"] = fix_hint(row.get("error_code"), row.get("reason"), tenant_file, "payment") if row.get("state") in (ERROR, RESOLVED) else None
    out["resolution_words"] = RESOLUTION_WORDS.get(row.get("resolution") or "")
    return out


# ---- CSV ---------------------------------------------------------------------------------------


def safe_cell(value: Any) -> str:
    """A CSV cell no spreadsheet runs as a formula: text starting with = + - @ (tab, CR) gets a leading apostrophe;
    a number (an amount, a negative credit) stays a number."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START) and not _NUMBER.match(text):
        return "'" + text
    return text


def csv_lines(
    store: StateStore, kind: str, tenant: str, state: str | None, since: dt.date | None, until: dt.date | None, q: str | None,
    fmt: str = "csv", tz: str | None = None, tenant_file: str | None = None,
) -> Iterator[str]:
    """The rows of a tab as CSV, streamed (a header, then a chunk of lines at a time); fmt "excel-nl" for Dutch Excel."""
    columns = CSV_ORDER_COLUMNS if kind == "orders" else CSV_PAYMENT_COLUMNS
    queries = DashboardQueries(store)
    statuses = store.status_names(tenant) if kind == "orders" else {}
    rows = queries.iter_entries(tenant, state, since, until, q) if kind == "orders" else queries.iter_payments(tenant, state, since, until, q)
    excel = fmt == "excel-nl"
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";" if excel else ",")
    if excel:
        buffer.write("\ufeff")  # the byte-order mark that makes Excel read UTF-8
    writer.writerow(columns)
    count = 0
    for row in rows:
        shaped = order_row(row, tz, statuses, tenant_file) if kind == "orders" else payment_row(row, tz, tenant_file)
        cells = []
        for column in columns:
            value = shaped.get(column)
            if excel and column in AMOUNTS and isinstance(value, str) and _NUMBER.match(value):
                value = value.replace(".", ",")
            cells.append(safe_cell(value))
        writer.writerow(cells)
        count += 1
        if count % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
